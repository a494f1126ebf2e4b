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

/// CPU time counters at one moment: the whole machine's busy time (`/proc/stat`) and this
/// process's own (`/proc/self/stat`), both in clock ticks. Two of them tell how much of the
/// machine *other* processes used in between: a profile taken beside a training run is marked
/// contended by it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuTicks {
    /// Busy ticks summed over every CPU: user, nice, system, irq, softirq, steal.
    pub machine_busy: u64,
    /// User and system ticks of this process (all its threads).
    pub own: u64,
    /// Seconds since an arbitrary origin (a monotonic clock).
    pub at: f64,
}

/// Busy ticks from the text of `/proc/stat`: the `cpu ` line's fields except idle and iowait
/// (guest time is already counted in user).
pub fn parse_machine_busy(stat: &str) -> Result<u64, String> {
    let line = stat.lines().find(|l| l.starts_with("cpu ")).ok_or("no 'cpu ' line")?;
    let f: Vec<u64> =
        line.split_whitespace().skip(1).map(|v| v.parse().map_err(|_| format!("'{v}' in '{line}'"))).collect::<Result<_, _>>()?;
    if f.len() < 8 {
        return Err(format!("'{line}' has {} fields, expected at least 8", f.len()));
    }
    // user nice system idle iowait irq softirq steal …
    Ok(f[0] + f[1] + f[2] + f[5] + f[6] + f[7])
}

/// User + system ticks from the text of `/proc/<pid>/stat` (fields 14 and 15; the command name,
/// field 2, may hold spaces and parentheses, so fields are counted after its last `)`).
pub fn parse_own_ticks(stat: &str) -> Result<u64, String> {
    let rest = &stat[stat.rfind(')').ok_or("no ')' after the command name")? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, index 11 here.
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).ok_or_else(|| format!("no field {} in '{stat}'", i + 3));
    Ok(tick(11)? + tick(12)?)
}

impl Proc {
    /// The machine's and this process's CPU ticks now; `root` stands for `/` (tests hand a fake).
    pub fn cpu_ticks(&self, root: &std::path::Path, clock: &std::time::Instant) -> Result<CpuTicks, String> {
        let read = |p: PathBuf| std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()));
        let machine_busy = parse_machine_busy(&read(root.join("proc/stat"))?)?;
        let own = parse_own_ticks(&read(self.dir.join("stat"))?)?;
        Ok(CpuTicks { machine_busy, own, at: clock.elapsed().as_secs_f64() })
    }
}

impl CpuTicks {
    /// Cores' worth of CPU that other processes used between `self` and `later`, on average
    /// (`ticks_per_second`: the kernel's `USER_HZ`, see [`ticks_per_second`]).
    pub fn others_cores(&self, later: &CpuTicks, ticks_per_second: f64) -> f64 {
        let seconds = (later.at - self.at).max(1e-9);
        let machine = later.machine_busy.saturating_sub(self.machine_busy) as f64;
        let own = later.own.saturating_sub(self.own) as f64;
        ((machine - own) / ticks_per_second / seconds).max(0.0)
    }
}

/// The kernel's `USER_HZ`, the unit of `/proc`'s tick counts (100 on every common Linux).
pub fn ticks_per_second() -> f64 {
    // SAFETY: sysconf reads a constant and has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

/// Pins the calling thread (and the threads it starts afterwards, which inherit the mask) to
/// `core`; `None` picks the last core this process may run on. Returns the core.
#[cfg(target_os = "linux")]
pub fn pin_to_core(core: Option<usize>) -> Result<usize, String> {
    // SAFETY: cpu_set_t is plain data; sched_{get,set}affinity write or read only the set given.
    unsafe {
        let mut allowed: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut allowed) != 0 {
            return Err(format!("sched_getaffinity: {}", std::io::Error::last_os_error()));
        }
        let cores: Vec<usize> = (0..libc::CPU_SETSIZE as usize).filter(|&c| libc::CPU_ISSET(c, &allowed)).collect();
        let core = match core {
            Some(c) if cores.contains(&c) => c,
            Some(c) => return Err(format!("core {c} is not one this process may run on ({cores:?})")),
            None => *cores.last().ok_or("no core in this process's affinity mask")?,
        };
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut one);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &one) != 0 {
            return Err(format!("sched_setaffinity to core {core}: {}", std::io::Error::last_os_error()));
        }
        Ok(core)
    }
}

/// Elsewhere than Linux there is no affinity call here: the profile runs unpinned and says so.
#[cfg(not(target_os = "linux"))]
pub fn pin_to_core(_core: Option<usize>) -> Result<usize, String> {
    Err("pinning to a core needs Linux".into())
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
    fn machine_and_own_ticks_are_parsed_and_others_share_worked_out() {
        // user nice system idle iowait irq softirq steal guest guest_nice
        let stat = "cpu  100 5 20 9000 40 3 2 1 0 0\ncpu0 50 2 10 4500 20 1 1 0 0 0\n";
        assert_eq!(parse_machine_busy(stat).unwrap(), 100 + 5 + 20 + 3 + 2 + 1);
        assert!(parse_machine_busy("intr 5\n").unwrap_err().contains("cpu"));
        // A command name with spaces and parentheses; utime 700, stime 50.
        let own = "42 (har (bench) x) R 1 42 42 0 -1 4194304 100 0 0 0 700 50 0 0 20 0 3 0 1 2 3";
        assert_eq!(parse_own_ticks(own).unwrap(), 750);
        assert!(parse_own_ticks("42 (x) R 1").is_err());
        // Over 2 s at 100 ticks/s the machine was busy 300 ticks, this process 100: the others
        // used 200 ticks = 2 s of CPU in 2 s, one core.
        let a = CpuTicks { machine_busy: 1000, own: 10, at: 1.0 };
        let b = CpuTicks { machine_busy: 1300, own: 110, at: 3.0 };
        assert!((a.others_cores(&b, 100.0) - 1.0).abs() < 1e-12);
        // A quiet machine: all the busy time is this process's own.
        let c = CpuTicks { machine_busy: 1100, own: 110, at: 3.0 };
        assert_eq!(a.others_cores(&c, 100.0), 0.0);
    }

    #[test]
    fn a_fake_proc_tree_gives_cpu_ticks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc/self")).unwrap();
        std::fs::write(dir.path().join("proc/stat"), "cpu  10 0 5 100 0 0 0 0\n").unwrap();
        std::fs::write(dir.path().join("proc/self/stat"), "1 (x) S 0 1 1 0 -1 0 0 0 0 0 3 4 0 0\n").unwrap();
        let proc = Proc { dir: dir.path().join("proc/self") };
        let t = proc.cpu_ticks(dir.path(), &std::time::Instant::now()).unwrap();
        assert_eq!((t.machine_busy, t.own), (15, 7));
        let e = Proc { dir: dir.path().join("nope") }.cpu_ticks(dir.path(), &std::time::Instant::now()).unwrap_err();
        assert!(e.contains("nope/stat"), "{e}");
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
