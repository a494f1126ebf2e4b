//! The results store: `results/<suite>/<commit>/<machine>/<run-key>.json`, one file per run,
//! `machine.json` beside them, `tables.md` / `tables.csv` per suite and commit (asv-like).
//!
//! Every file is written to a temporary file in its folder, flushed to disk and renamed, so a
//! reader (or a runner killed with SIGKILL) never sees half a file. A run is claimed with a lock
//! file created with `O_EXCL` holding the owner's host, pid and process start time; a lock whose
//! process is gone (on this host) is stale and is taken over.

use crate::record::RunRecord;
use harbench_common::fs::FileError;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a valid run record: {message}")]
    Corrupt { path: PathBuf, message: String },
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

/// The folder of `results/` that holds the teacher store, beside the suites' folders (so no suite
/// may take this name).
pub const TEACHER_STORE_FOLDER: &str = "teachers";

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

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LockOwner {
    pub host: String,
    pub pid: u32,
    /// Process start time (clock ticks since boot, Linux), so a reused pid is not mistaken for
    /// the owner.
    pub start: Option<u64>,
}

impl LockOwner {
    pub fn me() -> LockOwner {
        let pid = std::process::id();
        LockOwner { host: hostname(), pid, start: process_start(pid) }
    }

    /// False only when the owner is certainly gone: same host and its process no longer exists
    /// (or the pid now belongs to a process started at another time).
    pub fn alive(&self) -> bool {
        if self.host != hostname() || !cfg!(target_os = "linux") {
            return true;
        }
        match process_start(self.pid) {
            None => false,
            Some(now) => self.start.is_none_or(|s| s == now),
        }
    }
}

fn hostname() -> String {
    sysinfo::System::host_name().unwrap_or_default()
}

/// Field 22 of /proc/<pid>/stat: the start time of the process.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; fields after its closing parenthesis are plain.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// A held run lock; removed when dropped.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[derive(Debug)]
pub enum Claim {
    Acquired(RunLock),
    /// Another live runner holds it.
    Busy(LockOwner),
}

/// Claims `key` in `dir` (`<key>.lock`), taking over a stale lock.
pub fn claim(dir: &Path, key: &str) -> Result<Claim, StoreError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(format!("{key}.lock"));
    let me = LockOwner::me();
    // Two rounds: the second follows the removal of a stale lock.
    for _ in 0..2 {
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                let text = serde_json::to_string(&me).expect("plain data serialises");
                f.write_all(text.as_bytes()).and_then(|()| f.sync_all()).map_err(io(&path))?;
                return Ok(Claim::Acquired(RunLock { path }));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let owner = std::fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str::<LockOwner>(&t).ok());
                match owner {
                    Some(o) if o.alive() => return Ok(Claim::Busy(o)),
                    // Unreadable: a holder killed between create and write, or a foreign file.
                    // Only take it over when it is not being written right now.
                    None if modified_recently(&path) => return Ok(Claim::Busy(LockOwner { host: "?".into(), pid: 0, start: None })),
                    _ => match std::fs::remove_file(&path) {
                        Ok(()) => continue,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(StoreError::Io { path, source: e }),
                    },
                }
            }
            Err(e) => return Err(StoreError::Io { path, source: e }),
        }
    }
    let owner = std::fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str(&t).ok());
    Ok(Claim::Busy(owner.unwrap_or(LockOwner { host: "?".into(), pid: 0, start: None })))
}

/// Removes `<key>.lock` in `dir` when its owner is gone. A runner killed after writing a
/// record and before releasing its lock leaves one behind; a later runner that skips the
/// finished run clears it this way. A live owner's lock is left alone.
pub fn release_if_stale(dir: &Path, key: &str) -> Result<(), StoreError> {
    if dir.join(format!("{key}.lock")).exists() {
        if let Claim::Acquired(lock) = claim(dir, key)? {
            drop(lock);
        }
    }
    Ok(())
}

fn modified_recently(path: &Path) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age < std::time::Duration::from_secs(5))
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

    /// The owner of a lock whose process has exited: its pid is no longer a live process (until
    /// reused, which the start time guards against).
    fn dead_owner() -> LockOwner {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        LockOwner { host: hostname(), pid, start: Some(1) }
    }

    #[test]
    fn a_stale_lock_of_a_dead_process_is_taken_over() {
        let tmp = tempfile::tempdir().unwrap();
        let dead = dead_owner();
        let pid = dead.pid;
        std::fs::write(tmp.path().join("k.lock"), serde_json::to_string(&dead).unwrap()).unwrap();
        assert!(!dead.alive());
        assert!(matches!(claim(tmp.path(), "k").unwrap(), Claim::Acquired(_)));
        // A lock of another host is never judged from here.
        let foreign = LockOwner { host: "elsewhere.example".into(), pid, start: None };
        assert!(foreign.alive());
    }

    #[test]
    fn a_stale_lock_is_released_and_a_live_one_kept() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("k.lock"), serde_json::to_string(&dead_owner()).unwrap()).unwrap();
        release_if_stale(tmp.path(), "k").unwrap();
        assert!(!tmp.path().join("k.lock").exists());
        let held = match claim(tmp.path(), "live").unwrap() {
            Claim::Acquired(l) => l,
            Claim::Busy(o) => panic!("busy: {o:?}"),
        };
        release_if_stale(tmp.path(), "live").unwrap();
        assert!(tmp.path().join("live.lock").exists(), "a live owner's lock must stay");
        drop(held);
        release_if_stale(tmp.path(), "absent").unwrap();
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
