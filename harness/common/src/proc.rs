//! Resident memory of a process, from Linux's `/proc/<pid>/status`:
//! - `VmRSS`: the resident set now;
//! - `VmHWM`: the resident set's high-water mark, which writing `5` to `/proc/<pid>/clear_refs`
//!   resets to the current resident set (Linux ≥ 4.0).
//!
//! Both the cost profile (peak memory of building and running a model) and the training
//! benchmark (peak memory of the process) read these, so the parsing lives here once. The
//! folder is injectable ([`Proc::dir`]) so tests can hand it a fake `status` file. Elsewhere
//! than Linux there is no `/proc`: every reading is an error or `None`.

use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Status {
    pub rss_bytes: u64,
    pub hwm_bytes: u64,
}

/// `VmRSS` and `VmHWM` from the text of a `/proc/<pid>/status` file, in bytes (the kernel
/// writes them in kB, meaning KiB).
pub fn parse_status(text: &str) -> Result<Status, String> {
    let field = |key: &str| -> Result<u64, String> {
        let line = text.lines().find(|l| l.starts_with(key)).ok_or_else(|| format!("no {key} line"))?;
        let mut parts = line[key.len()..].split_whitespace();
        let value: u64 = parts.next().and_then(|v| v.parse().ok()).ok_or_else(|| format!("{key}: no number in '{line}'"))?;
        match parts.next() {
            Some("kB") => Ok(value * 1024),
            other => Err(format!("{key}: unit {other:?}, expected kB")),
        }
    };
    Ok(Status { rss_bytes: field("VmRSS:")?, hwm_bytes: field("VmHWM:")? })
}

/// The process whose memory is read: `/proc/self` by default, injectable for tests.
#[derive(Debug, Clone)]
pub struct Proc {
    pub dir: PathBuf,
}

impl Default for Proc {
    fn default() -> Self {
        Proc { dir: PathBuf::from("/proc/self") }
    }
}

impl Proc {
    pub fn status(&self) -> Result<Status, String> {
        let path = self.dir.join("status");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        parse_status(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Resets the high-water mark; false when the kernel does not allow it.
    pub fn reset_peak(&self) -> bool {
        std::fs::write(self.dir.join("clear_refs"), "5").is_ok()
    }
}

/// The peak resident set of this process so far (`VmHWM` of `/proc/self/status`), in bytes;
/// `None` where the kernel does not say (not Linux).
pub fn peak_rss_bytes() -> Option<u64> {
    Proc::default().status().ok().map(|s| s.hwm_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_parsed_in_bytes() {
        let text = "Name:\tx\nVmHWM:\t   20480 kB\nVmRSS:\t    10240 kB\n";
        assert_eq!(parse_status(text).unwrap(), Status { rss_bytes: 10240 * 1024, hwm_bytes: 20480 * 1024 });
        assert!(parse_status("VmRSS: 1 kB\n").unwrap_err().contains("VmHWM"));
        assert!(parse_status("VmRSS: 1 MB\nVmHWM: 2 kB\n").unwrap_err().contains("unit"));
        assert!(parse_status("VmRSS: lots kB\nVmHWM: 2 kB\n").unwrap_err().contains("no number"));
    }

    #[test]
    fn a_fake_proc_folder_is_read_and_its_peak_reset() {
        let dir = tempfile::tempdir().unwrap();
        let proc = Proc { dir: dir.path().to_path_buf() };
        std::fs::write(dir.path().join("status"), "Name:\tharbench\nVmPeak:\t  9000 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1024 kB\n").unwrap();
        assert_eq!(proc.status().unwrap(), Status { rss_bytes: 1024 * 1024, hwm_bytes: 2048 * 1024 });
        // A plain folder accepts the clear_refs write, like the kernel does.
        assert!(proc.reset_peak());
        assert_eq!(std::fs::read_to_string(dir.path().join("clear_refs")).unwrap(), "5");
        let e = Proc { dir: dir.path().join("missing") }.status().unwrap_err();
        assert!(e.contains("missing/status"), "{e}");
        assert!(!Proc { dir: dir.path().join("missing") }.reset_peak());
    }

    #[test]
    fn this_process_has_a_peak_at_least_its_resident_set() {
        if !cfg!(target_os = "linux") {
            assert_eq!(peak_rss_bytes(), None);
            return;
        }
        let block = vec![1u8; 16 << 20];
        let peak = peak_rss_bytes().unwrap();
        assert!(block.iter().map(|&b| b as usize).sum::<usize>() == 16 << 20);
        assert!(peak >= 16 << 20, "{peak}");
    }
}
