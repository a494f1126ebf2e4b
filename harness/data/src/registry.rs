//! The dataset registry. A dataset is one file in `datasets/` that implements [`Dataset`];
//! adding one means writing that file and adding its line to `datasets!` in `datasets/mod.rs`
//! (as a method is one line of `methods!`, an energy meter one of `meters!`).

use crate::datasets;
use crate::error::{DataError, Result};
use crate::recording::RawData;
use crate::spec::DatasetSpec;
use std::path::Path;

/// A dataset: its declared facts, and a reader of its published files.
pub trait Dataset: Send + Sync {
    fn spec(&self) -> DatasetSpec;

    /// Reads every recording from `raw`, the folder holding one sub-folder per source
    /// (`raw/<source-id>/...`, in the published layout).
    fn read(&self, raw: &Path) -> Result<RawData>;
}

/// Every dataset harbench knows, in the order `data list` shows them.
pub static ALL: &[&dyn Dataset] = datasets::TABLE;

pub fn ids() -> Vec<&'static str> {
    ALL.iter().map(|d| d.spec().id).collect()
}

/// Looks a dataset up by id; an unknown id gets the nearest known one as a suggestion.
pub fn find(id: &str) -> Result<&'static dyn Dataset> {
    if let Some(found) = ALL.iter().find(|d| d.spec().id == id) {
        return Ok(*found);
    }
    let known = ids();
    let nearest = harbench_common::names::nearest(id, known.iter().copied()).map(str::to_string);
    Err(DataError::UnknownDataset { id: id.to_string(), nearest, known: known.join(", ") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_id_suggests_the_nearest() {
        let err = find("uci-hr").err().expect("unknown id must fail").to_string();
        assert!(err.contains("did you mean 'uci-har'"), "{err}");
        assert!(find("zzzzzzzzzzzz").err().unwrap().to_string().contains("known datasets"));
    }

    #[test]
    fn ids_are_unique_and_specs_consistent() {
        let ids = ids();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len());
        for d in ALL {
            let s = d.spec();
            assert!(!s.channels.is_empty() && !s.classes.is_empty() && !s.subjects.is_empty(), "{}", s.id);
            assert!(s.rate_hz > 0.0 && s.window_s > 0.0 && (0.0..1.0).contains(&s.overlap), "{}", s.id);
        }
    }
}
