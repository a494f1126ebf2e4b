//! The results store: `results/<suite>/<commit>/<machine>/<run-key>.json`, one file per run,
//! `machine.json` beside them, `tables.md` / `tables.csv` per suite and commit (asv-like).
//!
//! Every file is written to a temporary file in its folder, flushed to disk and renamed, so a
//! reader (or a runner killed with SIGKILL) never sees half a file. A run is claimed with a lock
//! file ([`harbench_common::lock`]) holding the owner's host, pid and process start time; a lock
//! whose process is gone (on this host) is stale and is taken over.

use crate::machine::Machine;
use crate::record::RunRecord;
use harbench_common::fs::FileError;
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a valid run record: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error(
        "{path}: its records were made on other CPU kernels ({recorded}) than this machine's ({here}), and a seed \
         gives other numbers there; new runs would not be comparable with them. Give this machine a result set \
         of its own with --machine NAME (or HARBENCH_MACHINE), or run where the records were made"
    )]
    OtherKernels { path: PathBuf, recorded: String, here: String },
    /// No result set answers what was asked (an unknown revision, a missing folder, several
    /// machines to choose from, committed records that no longer match their suite).
    #[error("{0}")]
    Choice(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_path_buf(), source }
}

impl From<FileError> for StoreError {
    fn from(e: FileError) -> Self {
        StoreError::Io { path: e.path, source: e.source }
    }
}

/// Writes `bytes` to `path` atomically ([`harbench_common::fs::write_atomic`]: temp file in the
/// same folder, fsync, rename, fsync the folder).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    Ok(harbench_common::fs::write_atomic(path, bytes)?)
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), StoreError> {
    let mut text = serde_json::to_string_pretty(value).expect("plain data serialises");
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// `dir`'s `machine.json`, when there is one and it reads.
pub fn read_machine(dir: &Path) -> Option<Machine> {
    serde_json::from_str(&std::fs::read_to_string(dir.join("machine.json")).ok()?).ok()
}

/// Writes `machine` as `dir`'s `machine.json`, unless the file there names other CPU kernels
/// ([`Machine::other_kernels`]): records made there would not be comparable with new runs. A
/// file that predates the field is replaced as before, with a warning to show (`Some`): its
/// records may have come from other kernels, and nothing here can tell. A file that does not read
/// is replaced.
pub fn claim_machine_folder(dir: &Path, machine: &Machine) -> Result<Option<String>, StoreError> {
    let path = dir.join("machine.json");
    let recorded = read_machine(dir);
    let warning = match (&recorded, &machine.kernels) {
        (Some(r), Some(here)) if r.kernels.is_none() => Some(format!(
            "warning: {} predates the record of CPU kernels: its records may come from other kernels than this \
             machine's ({}), and then give other numbers for the same seed (docs/results.md)",
            path.display(),
            here.describe()
        )),
        _ => None,
    };
    if let Some((recorded, here)) = recorded.and_then(|r| machine.other_kernels(&r)) {
        return Err(StoreError::OtherKernels { path, recorded, here });
    }
    write_json(&path, machine)?;
    Ok(warning)
}

/// The folder of `results/` that holds the teacher store, beside the suites' folders (so no suite
/// may take this name).
pub const TEACHER_STORE_FOLDER: &str = "teachers";

/// Folder of the results root that holds the committed reference result sets, a results store
/// of its own (`results/reference/<suite>/<commit>/<machine>/`): what `harbench report` shows on
/// a fresh clone and what CI's regression gate compares with.
pub const REFERENCE_FOLDER: &str = "reference";

/// The store rooted at `results/`.
#[derive(Debug, Clone)]
pub struct ResultsStore {
    pub root: PathBuf,
}

impl ResultsStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ResultsStore { root: root.into() }
    }

    pub fn commit_dir(&self, suite: &str, commit: &str) -> PathBuf {
        self.root.join(suite).join(commit)
    }

    pub fn run_dir(&self, suite: &str, commit: &str, machine: &str) -> PathBuf {
        self.commit_dir(suite, commit).join(machine)
    }

    /// Default home of the teacher store.
    pub fn teachers_dir(&self) -> PathBuf {
        self.root.join(TEACHER_STORE_FOLDER)
    }

    /// Sub-folders of `dir` (suites, commits or machines), sorted; none when it does not exist
    /// ([`harbench_common::fs::subfolders`]).
    pub fn folders(dir: &Path) -> Vec<String> {
        harbench_common::fs::subfolders(dir)
    }

    pub fn record_path(dir: &Path, key: &str) -> PathBuf {
        dir.join(format!("{key}.json"))
    }

    /// The record of `key` in `dir`, if one was written.
    pub fn read(dir: &Path, key: &str) -> Result<Option<RunRecord>, StoreError> {
        let path = Self::record_path(dir, key);
        match std::fs::read_to_string(&path) {
            Ok(text) => read_record(&path, &text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Io { path, source: e }),
        }
    }

    /// Every run record in `dir`, sorted by key (machine.json and other files are skipped).
    pub fn records(dir: &Path) -> Result<Vec<RunRecord>, StoreError> {
        harbench_common::fs::files_with_extension(dir, "json")?
            .into_iter()
            .filter(|p| p.file_name().is_some_and(|n| n != "machine.json"))
            .map(|p| {
                let text = std::fs::read_to_string(&p).map_err(io(&p))?;
                read_record(&p, &text)
            })
            .collect()
    }

    pub fn write(dir: &Path, record: &RunRecord) -> Result<PathBuf, StoreError> {
        let path = Self::record_path(dir, &record.key);
        write_json(&path, record)?;
        Ok(path)
    }
}

fn read_record(path: &Path, text: &str) -> Result<RunRecord, StoreError> {
    RunRecord::parse(text).map_err(|e| StoreError::Corrupt { path: path.into(), message: e.to_string() })
}

pub use harbench_common::lock::{Claim, Lock as RunLock, LockOwner};

/// The lock file of run `key` in `dir`.
pub fn lock_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("{key}.lock"))
}

/// The folder where run `key` in `dir` keeps its state after each epoch until its record is
/// written ([`harbench_train::EpochCheckpoints`]).
pub fn checkpoints_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("{key}.epochs"))
}

/// Claims `key` in `dir` (`<key>.lock`), taking over a stale lock ([`harbench_common::lock`]).
pub fn claim(dir: &Path, key: &str) -> Result<Claim, StoreError> {
    let path = lock_path(dir, key);
    harbench_common::lock::claim(&path).map_err(|source| StoreError::Io { path, source })
}

/// Removes `<key>.lock` in `dir` when its owner is gone. A runner killed after writing a
/// record and before releasing its lock leaves one behind; a later runner that skips the
/// finished run clears it this way. A live owner's lock is left alone.
pub fn release_if_stale(dir: &Path, key: &str) -> Result<(), StoreError> {
    let path = lock_path(dir, key);
    harbench_common::lock::release_if_stale(&path).map_err(|source| StoreError::Io { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_files_and_leaves_no_temporaries() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a/b/x.json");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second, longer").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second, longer");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("x.json")]);
    }

    #[test]
    fn a_lock_excludes_a_second_claim_and_is_released_on_drop() {
        let tmp = tempfile::tempdir().unwrap();
        let lock = match claim(tmp.path(), "k").unwrap() {
            Claim::Acquired(l) => l,
            Claim::Busy(o) => panic!("busy: {o:?}"),
        };
        match claim(tmp.path(), "k").unwrap() {
            Claim::Busy(o) => assert_eq!(o.pid, std::process::id()),
            Claim::Acquired(_) => panic!("claimed twice"),
        }
        drop(lock);
        assert!(!tmp.path().join("k.lock").exists());
        assert!(matches!(claim(tmp.path(), "k").unwrap(), Claim::Acquired(_)));
    }

    #[test]
    fn reading_a_corrupt_record_names_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("k.json"), "{ not json").unwrap();
        let e = ResultsStore::read(tmp.path(), "k").unwrap_err().to_string();
        assert!(e.contains("k.json") && e.contains("not a valid run record"), "{e}");
        assert!(ResultsStore::read(tmp.path(), "absent").unwrap().is_none());
    }
}
