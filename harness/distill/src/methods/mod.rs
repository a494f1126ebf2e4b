//! One file per distillation method. Each defines its `Config` (serde, every hyper-parameter
//! with the standard value of RepDistiller / mdistiller / the paper's code as default), the
//! method, and `build`, which the registry calls.

pub mod at;
pub mod cc;
pub mod crd;
pub mod dist;
pub mod dkd;
pub mod fitnets;
pub mod fsp;
pub mod ft;
pub mod kd;
pub mod logit_std;
pub mod nst;
pub mod pkt;
pub mod rkd;
pub mod smldist;
pub mod sp;
pub mod vid;

use crate::method::Shapes;
use crate::DistillError;
use serde::de::DeserializeOwned;

pub(crate) fn parse<C: DeserializeOwned>(method: &str, params: serde_json::Value) -> Result<C, DistillError> {
    serde_json::from_value(params).map_err(|e| DistillError::Config { method: method.into(), message: e.to_string() })
}

/// A weight must be finite and ≥ 0.
pub(crate) fn weight(method: &str, field: &str, value: f64) -> Result<(), DistillError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(DistillError::Config { method: method.into(), message: format!("`{field}` = {value} must be finite and ≥ 0") })
    }
}

/// A temperature or scale must be finite and > 0.
pub(crate) fn positive(method: &str, field: &str, value: f64) -> Result<(), DistillError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(DistillError::Config { method: method.into(), message: format!("`{field}` = {value} must be finite and > 0") })
    }
}

/// Anchor indices must exist in both models.
pub(crate) fn anchors_exist(method: &str, anchors: &[usize], student: &Shapes, teacher: &Shapes) -> Result<(), DistillError> {
    let n = student.anchors.len().min(teacher.anchors.len());
    if anchors.is_empty() {
        return Err(DistillError::Config { method: method.into(), message: "`anchors` is empty".into() });
    }
    match anchors.iter().find(|&&a| a >= n) {
        Some(a) => Err(DistillError::Shapes {
            method: method.into(),
            message: format!(
                "anchor {a} does not exist (student has {}, teacher {} anchors)",
                student.anchors.len(),
                teacher.anchors.len()
            ),
        }),
        None => Ok(()),
    }
}
