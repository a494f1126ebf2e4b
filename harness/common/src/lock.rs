//! Lock files that say who holds them: a run of a suite, a teacher being trained.
//!
//! A lock is a file created with `O_EXCL` holding its owner's host, pid and process start time.
//! A lock whose process is gone (on this host) is stale and is taken over, so a runner killed
//! with SIGKILL never blocks the next one. A lock held on another host is trusted: only that
//! host can tell whether its owner lives (docs/scale.md says what to do when a node dies).

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

    /// The owner of a lock file being written right now (unreadable yet).
    fn unknown() -> LockOwner {
        LockOwner { host: "?".into(), pid: 0, start: None }
    }
}

impl std::fmt::Display for LockOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} on {}", self.pid, self.host)
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

/// A held lock; its file is removed when dropped.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[derive(Debug)]
pub enum Claim {
    Acquired(Lock),
    /// Another live process holds it.
    Busy(LockOwner),
}

/// Claims the lock file `path` (its folder is created), taking over a stale lock.
pub fn claim(path: &Path) -> std::io::Result<Claim> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let me = LockOwner::me();
    // Two rounds: the second follows the removal of a stale lock.
    for _ in 0..2 {
        match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
            Ok(mut f) => {
                let text = serde_json::to_string(&me).expect("plain data serialises");
                f.write_all(text.as_bytes()).and_then(|()| f.sync_all())?;
                return Ok(Claim::Acquired(Lock { path: path.to_path_buf() }));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match owner(path) {
                Some(o) if o.alive() => return Ok(Claim::Busy(o)),
                // Unreadable: a holder killed between create and write, or a foreign file.
                // Only take it over when it is not being written right now.
                None if modified_recently(path) => return Ok(Claim::Busy(LockOwner::unknown())),
                _ => match std::fs::remove_file(path) {
                    Ok(()) => continue,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                },
            },
            Err(e) => return Err(e),
        }
    }
    Ok(Claim::Busy(owner(path).unwrap_or_else(LockOwner::unknown)))
}

/// The owner written in the lock file `path`, if it exists and reads.
pub fn owner(path: &Path) -> Option<LockOwner> {
    std::fs::read_to_string(path).ok().and_then(|t| serde_json::from_str(&t).ok())
}

/// Removes the lock file `path` when its owner is gone; a live owner's lock is left alone.
pub fn release_if_stale(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        if let Claim::Acquired(lock) = claim(path)? {
            drop(lock);
        }
    }
    Ok(())
}

/// How waiting for a lock ended.
#[derive(Debug)]
pub enum Waited {
    Acquired(Lock),
    /// `stop` was raised first.
    Stopped,
}

/// Claims `path`, waiting while another live process holds it; `waiting` is told who holds it
/// once, when the wait begins. Checks `stop` every `poll`.
pub fn claim_waiting(path: &Path, poll: Duration, stop: &AtomicBool, waiting: &dyn Fn(&LockOwner)) -> std::io::Result<Waited> {
    let mut told = false;
    loop {
        match claim(path)? {
            Claim::Acquired(lock) => return Ok(Waited::Acquired(lock)),
            Claim::Busy(owner) => {
                if !told {
                    waiting(&owner);
                    told = true;
                }
            }
        }
        if stop.load(Ordering::SeqCst) {
            return Ok(Waited::Stopped);
        }
        std::thread::sleep(poll);
    }
}

fn modified_recently(path: &Path) -> bool {
    std::fs::metadata(path).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok()).is_some_and(|age| age < Duration::from_secs(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dead_owner() -> LockOwner {
        // A child that has exited: its pid names no process of ours any more.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        LockOwner { host: hostname(), pid, start: Some(1) }
    }

    #[test]
    fn a_lock_is_exclusive_and_released_on_drop() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a/x.lock");
        let Claim::Acquired(lock) = claim(&path).unwrap() else { panic!("first claim") };
        assert!(matches!(claim(&path).unwrap(), Claim::Busy(o) if o == LockOwner::me()));
        drop(lock);
        assert!(!path.exists());
        assert!(matches!(claim(&path).unwrap(), Claim::Acquired(_)));
    }

    #[test]
    fn a_dead_owners_lock_is_taken_over_and_a_foreign_hosts_is_not() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.lock");
        std::fs::write(&path, serde_json::to_string(&dead_owner()).unwrap()).unwrap();
        assert!(matches!(claim(&path).unwrap(), Claim::Acquired(_)));
        let far = LockOwner { host: "another-node".into(), pid: 1, start: None };
        std::fs::write(&path, serde_json::to_string(&far).unwrap()).unwrap();
        assert!(matches!(claim(&path).unwrap(), Claim::Busy(o) if o == far));
        release_if_stale(&path).unwrap();
        assert!(path.exists(), "a live (foreign) owner's lock stays");
    }

    #[test]
    fn waiting_ends_when_the_holder_lets_go_or_on_stop() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.lock");
        let Claim::Acquired(held) = claim(&path).unwrap() else { panic!() };
        let stop = AtomicBool::new(true);
        let told = std::sync::Mutex::new(Vec::new());
        let w = claim_waiting(&path, Duration::from_millis(5), &stop, &|o| told.lock().unwrap().push(o.clone())).unwrap();
        assert!(matches!(w, Waited::Stopped));
        assert_eq!(*told.lock().unwrap(), vec![LockOwner::me()]);
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(50));
                drop(held);
            });
            let w = claim_waiting(&path, Duration::from_millis(5), &stop, &|_| {}).unwrap();
            assert!(matches!(w, Waited::Acquired(_)));
        });
    }
}
