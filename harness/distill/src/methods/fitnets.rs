//! FitNets: Romero et al., "FitNets: Hints for Thin Deep Nets" (ICLR 2015). A regressor maps
//! the student's hint layer to the teacher's guided layer; loss `β · MSE(r(F_s), F_t)`
//! (RepDistiller `HintLoss` + `ConvReg`, β = 100, trained jointly with CE).
//!
//! 1-D: the regressor is a conv over time (kernel 3 as RepDistiller's ConvReg) + batch norm,
//! followed by linear interpolation along time when the anchor lengths differ.

use crate::method::{Context, Features, Method, Term};
use crate::ops::{mse, resize_time};
use crate::parts::{ConvHead, Part, Parts};
use crate::DistillError;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub beta: f64,
    /// Anchor used as hint (student) and guided layer (teacher); RepDistiller's `hint_layer=2`
    /// is the middle stage.
    pub anchor: usize,
    pub kernel: usize,
    /// ReLU after the regressor. RepDistiller's ConvReg has one because its ResNet features
    /// are post-ReLU; our anchors are linear-bottleneck outputs (signed), so off by default [ours].
    pub relu: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config { beta: 100.0, anchor: 1, kernel: 3, relu: false }
    }
}

pub struct FitNets {
    c: Config,
    teacher_length: usize,
}

pub fn build(params: serde_json::Value) -> Result<Box<dyn Method>, DistillError> {
    let c: Config = super::parse("fitnets", params)?;
    super::weight("fitnets", "beta", c.beta)?;
    if c.kernel % 2 == 0 {
        return Err(DistillError::Config { method: "fitnets".into(), message: format!("`kernel` = {} must be odd", c.kernel) });
    }
    Ok(Box::new(FitNets { c, teacher_length: 0 }))
}

impl Method for FitNets {
    fn name(&self) -> &'static str {
        "fitnets"
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.c).expect("plain config")
    }
    fn build(&mut self, ctx: &Context, device: &Device) -> Result<Parts, DistillError> {
        super::anchors_exist("fitnets", &[self.c.anchor], &ctx.student, &ctx.teacher)?;
        let (cs, _) = ctx.student.anchors[self.c.anchor];
        let (ct, lt) = ctx.teacher.anchors[self.c.anchor];
        self.teacher_length = lt;
        let mut parts = Parts::default();
        parts.push(Part::Conv(ConvHead::new(&[cs, ct], self.c.kernel, true, true, self.c.relu, device)));
        Ok(parts)
    }
    fn loss(&mut self, parts: &Parts, f: &Features) -> Vec<Term> {
        let a = self.c.anchor;
        let hint = resize_time(parts.conv(0).forward(f.student.anchors[a].clone()), self.teacher_length);
        vec![Term::new("hint", mse(hint, f.teacher.anchors[a].clone()) * self.c.beta)]
    }
}
