//! One file per dataset, each implementing [`crate::registry::Dataset`].

pub mod daphnet_fog;
pub mod motionsense;
pub mod synthetic;
pub mod uci_har;
pub mod usc_had;
pub mod wisdm2019_watch;

use crate::error::{DataError, Result};
use std::path::{Path, PathBuf};

/// The entries of a folder, sorted by name; a missing folder says how to get it.
pub(crate) fn list_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DataError::Missing {
            path: dir.to_path_buf(),
            hint: "run `harbench data fetch <dataset>` (with --mirror DIR to use a local copy)".into(),
        },
        _ => DataError::io(dir, e),
    })?;
    let mut out = entries.map(|e| e.map(|e| e.path()).map_err(|err| DataError::io(dir, err))).collect::<Result<Vec<_>>>()?;
    out.sort();
    Ok(out)
}

/// The file name as text (all published names here are ASCII).
pub(crate) fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

/// Parses the number that follows `prefix` at the start of `name` (e.g. `sub_` in `sub_12.csv`).
pub(crate) fn number_after(name: &str, prefix: &str) -> Option<u32> {
    let rest = name.strip_prefix(prefix)?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}
