//! Peak memory of the process, from Linux's `/proc/self/status`:
//! - `VmRSS`: resident set now;
//! - `VmHWM`: the resident set's high-water mark, which writing `5` to `/proc/self/clear_refs`
//!   resets to the current resident set (Linux ≥ 4.0).
//!
//! The profile reads the resident set before the model is built, resets the high-water mark,
//! builds the model and runs every timed inference, then reads the mark again. Their difference
//! is the peak host memory that loading and running the model added (weights, activations,
//! the backend's buffers and thread pools); it is host RAM only, not GPU memory.
//!
//! Reading `/proc` lives in [`harbench_common::proc`] (shared with the training benchmark's peak
//! memory); it is re-exported here.

pub use harbench_common::proc::{parse_status, Proc, Status};
use serde::Serialize;

/// Peak memory of a measured stretch of work.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryReport {
    /// Resident set before the model was built.
    pub baseline_rss_bytes: u64,
    /// High-water mark of the resident set at the end.
    pub peak_rss_bytes: u64,
    /// `peak − baseline`: what building and running the model added at its peak.
    pub peak_above_baseline_bytes: u64,
    /// Whether the high-water mark was reset at the baseline; if not, `peak` may come from
    /// earlier in the process's life and the difference is an upper bound.
    pub peak_was_reset: bool,
    pub what: String,
}

/// Reads the baseline and resets the peak: call before the work.
pub fn begin(proc: &Proc) -> Result<(Status, bool), String> {
    let reset = proc.reset_peak();
    Ok((proc.status()?, reset))
}

/// Reads the peak: call after the work.
pub fn end(proc: &Proc, baseline: Status, reset: bool) -> Result<MemoryReport, String> {
    let now = proc.status()?;
    let peak = now.hwm_bytes.max(now.rss_bytes);
    Ok(MemoryReport {
        baseline_rss_bytes: baseline.rss_bytes,
        peak_rss_bytes: peak,
        peak_above_baseline_bytes: peak.saturating_sub(baseline.rss_bytes),
        peak_was_reset: reset,
        what: "host resident set (VmRSS/VmHWM of /proc/self/status); GPU memory is not included".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn fake_status(dir: &Path, rss_kb: u64, hwm_kb: u64) -> std::io::Result<()> {
        std::fs::write(dir.join("status"), format!("Name:\tharbench\nVmPeak:\t  900000 kB\nVmHWM:\t  {hwm_kb} kB\nVmRSS:\t  {rss_kb} kB\n"))
    }

    #[test]
    fn the_peak_is_measured_from_the_baseline() {
        let dir = tempfile::tempdir().unwrap();
        let proc = Proc { dir: dir.path().to_path_buf() };
        fake_status(dir.path(), 100_000, 150_000).unwrap();
        let (baseline, reset) = begin(&proc).unwrap();
        // A plain directory accepts the clear_refs write, like the kernel does.
        assert!(reset);
        fake_status(dir.path(), 120_000, 180_000).unwrap();
        let report = end(&proc, baseline, reset).unwrap();
        assert_eq!(report.peak_rss_bytes, 180_000 * 1024);
        assert_eq!(report.peak_above_baseline_bytes, 80_000 * 1024);
        assert!(Proc { dir: dir.path().join("missing") }.status().is_err());
    }

    #[test]
    fn this_process_has_a_resident_set() {
        let proc = Proc::default();
        let (baseline, _) = begin(&proc).unwrap();
        let block = vec![1u8; 64 << 20];
        let report = end(&proc, baseline, true).unwrap();
        assert!(block.iter().map(|&b| b as usize).sum::<usize>() == 64 << 20);
        // 64 MiB touched after the baseline shows in the peak (other tests' threads may free
        // memory meanwhile, hence the margin).
        assert!(report.peak_above_baseline_bytes >= 32 << 20, "{report:?}");
    }
}
