//! Shared by the integration tests: the mirror of the shipped datasets, fetched once per test
//! process into a temporary data folder.

#![allow(dead_code)]

use harbench_common::progress::Silent;
use harbench_data::fetch::{self, FetchOptions, Origin};
use harbench_data::prepare::DataDir;
use harbench_data::registry;
use std::path::PathBuf;
use std::sync::OnceLock;

/// `HARBENCH_DATA_MIRROR`, else `../shared/datasets` beside the checkout. `None` (the tests
/// that need it return early, saying so) only when neither is set or present; when the
/// variable is set, a missing folder is a failure.
pub fn mirror() -> Option<PathBuf> {
    if let Ok(m) = std::env::var("HARBENCH_DATA_MIRROR") {
        let p = PathBuf::from(m);
        assert!(p.is_dir(), "HARBENCH_DATA_MIRROR={} is not a folder", p.display());
        return Some(p);
    }
    let default = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets");
    if default.is_dir() {
        Some(default)
    } else {
        eprintln!("NOTE: no dataset mirror (set HARBENCH_DATA_MIRROR); skipping tests on the shipped data");
        None
    }
}

/// A data folder with every mirrored dataset fetched and verified (once per process).
pub fn fetched() -> Option<&'static DataDir> {
    static DIR: OnceLock<Option<(tempfile::TempDir, DataDir)>> = OnceLock::new();
    DIR.get_or_init(|| {
        let mirror = mirror()?;
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path());
        let options = FetchOptions { origin: Origin::Mirror(mirror.display().to_string()), force: false, allow_unverified: false };
        for d in registry::ALL {
            for s in d.spec().sources {
                if mirror.join(format!("{}.tar.zst", s.id)).is_file() {
                    fetch::fetch(&dir.raw(), s, &options, &Silent).unwrap();
                }
            }
        }
        Some((tmp, dir))
    })
    .as_ref()
    .map(|(_, d)| d)
}

pub fn close(a: f32, b: f32, tol: f32) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}
