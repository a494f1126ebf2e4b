//! Summary counts of a prepared dataset, as `harbench data stats` shows them.

use crate::cache::Prepared;
use crate::error::Result;
use crate::spec::Holdout;
use crate::split::{self, SplitConfig};
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetStats {
    pub dataset: String,
    pub subjects: usize,
    pub classes: usize,
    pub windows: usize,
    /// (class name, windows) in class order.
    pub per_class: Vec<(String, usize)>,
    pub channels: usize,
    pub rate_hz: f64,
    pub window_length: usize,
    pub window_s: f64,
    /// Windows in train / validation / test of the default holdout-subjects split.
    pub split: [usize; 3],
    pub test_subjects: Vec<u32>,
    pub cache: String,
}

pub fn compute(prepared: &Prepared, holdout: &Holdout, cache: &str) -> Result<DatasetStats> {
    let w = &prepared.windows;
    let meta = &prepared.meta;
    let per_class =
        meta.classes.iter().enumerate().map(|(k, name)| (name.clone(), w.y.iter().filter(|&&y| y as usize == k).count())).collect();
    let fold = split::folds(w, meta, holdout, &SplitConfig::default())?.remove(0);
    Ok(DatasetStats {
        dataset: meta.config.dataset.clone(),
        subjects: w.subject.iter().collect::<BTreeSet<_>>().len(),
        classes: meta.classes.len(),
        windows: w.len(),
        per_class,
        channels: w.channels,
        rate_hz: meta.config.rate_hz,
        window_length: w.length,
        window_s: meta.config.window_s,
        split: [fold.train.len(), fold.val.len(), fold.test.len()],
        test_subjects: fold.test_subjects,
        cache: cache.to_string(),
    })
}
