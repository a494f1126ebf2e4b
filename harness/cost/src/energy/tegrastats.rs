//! `tegrastats`, the fallback on Jetson boards whose rails sysfs does not expose (or does not
//! let this user read): the program prints one line per interval, and each line carries every
//! power rail as `NAME current/average`:
//! - JetPack 4: `POM_5V_IN 3456/3456 POM_5V_GPU 0/0` (milliwatts, no unit);
//! - JetPack 5/6: `VDD_IN 5000mW/5000mW VDD_CPU_GPU_CV 800mW/800mW`.
//!
//! The current value of every rail becomes one power sample; samples are integrated over the
//! window as for the sysfs rails. Its resolution is the interval (50 ms here), so the minimum
//! window is long (2 s).

use super::rails::{self, RailSum};
use super::sampler::integrate_rails;
use super::{EnergyError, EnergyMeter, EnergyWindow};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const ID: &str = "tegrastats";

/// The power rails of one tegrastats line: `(name, milliwatts now)`, in line order.
pub fn parse_line(line: &str) -> Vec<(String, f64)> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let is_name = |t: &str| {
        t.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && t.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    };
    // "1234" or "1234mW"; other units (RAM "2037/3964MB", IRAM "0/252kB") are not power.
    let milliwatts = |t: &str| -> Option<f64> {
        let digits = t.strip_suffix("mW").unwrap_or(t);
        (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())).then(|| digits.parse().ok()).flatten()
    };
    tokens
        .windows(2)
        .filter(|w| is_name(w[0]))
        .filter_map(|w| {
            let (now, avg) = w[1].split_once('/')?;
            let now = milliwatts(now)?;
            milliwatts(avg)?;
            Some((w[0].to_string(), now))
        })
        .collect()
}

/// Lines read so far: `(instant, rails)`.
type Log = Arc<Mutex<(Vec<(Instant, Vec<(String, f64)>)>, Option<String>)>>;

pub struct Tegrastats {
    /// The program to run (`tegrastats` on a board; a script printing recorded lines in tests).
    pub program: PathBuf,
    pub interval: Duration,
    pub policy: RailSum,
    running: Option<(Child, JoinHandle<()>, Log, Instant)>,
}

impl Tegrastats {
    /// Finds the program: `program` when given, else `tegrastats` on `PATH` or in `/usr/bin`.
    pub fn probe(program: Option<&Path>) -> Result<Tegrastats, String> {
        let found = match program {
            Some(p) => p.is_file().then(|| p.to_path_buf()),
            None => std::env::var_os("PATH")
                .map(|paths| std::env::split_paths(&paths).map(|d| d.join("tegrastats")).collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .chain([PathBuf::from("/usr/bin/tegrastats")])
                .find(|p| p.is_file()),
        };
        let program = found.ok_or_else(|| match program {
            Some(p) => format!("{} does not exist", p.display()),
            None => "no tegrastats program on PATH or in /usr/bin (not a Jetson board)".into(),
        })?;
        Ok(Tegrastats { program, interval: Duration::from_millis(50), policy: RailSum::Auto, running: None })
    }

    fn kill(child: &mut Child) {
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn last_time(log: &Log) -> Option<Instant> {
    log.lock().expect("tegrastats log").0.last().map(|s| s.0)
}

fn wait_for_line_after(log: &Log, t: Instant, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if last_time(log).is_some_and(|s| s >= t) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

impl EnergyMeter for Tegrastats {
    fn id(&self) -> &'static str {
        ID
    }

    fn describe(&self) -> String {
        format!("Jetson rails parsed from `{} --interval {}`", self.program.display(), self.interval.as_millis())
    }

    fn min_window(&self) -> Duration {
        self.interval * 40
    }

    fn start(&mut self) -> Result<(), EnergyError> {
        let before = Instant::now();
        let mut child = Command::new(&self.program)
            .arg("--interval")
            .arg(self.interval.as_millis().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| EnergyError::Meter { meter: ID, message: format!("running {}: {e}", self.program.display()) })?;
        let stdout = child.stdout.take().expect("piped stdout");
        let log: Log = Arc::new(Mutex::new((Vec::new(), None)));
        let thread_log = log.clone();
        let handle = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let rails = parse_line(&line);
                let mut log = thread_log.lock().expect("tegrastats log");
                if rails.is_empty() {
                    log.1.get_or_insert_with(|| format!("a line without power rails: '{line}'"));
                } else {
                    log.0.push((Instant::now(), rails));
                }
            }
        });
        if !wait_for_line_after(&log, before, self.interval * 10 + Duration::from_secs(2)) {
            Tegrastats::kill(&mut child);
            let _ = handle.join();
            let message = log.lock().expect("tegrastats log").1.clone().unwrap_or_else(|| "printed no power rails".into());
            return Err(EnergyError::Meter { meter: ID, message: format!("{}: {message}", self.program.display()) });
        }
        self.running = Some((child, handle, log, Instant::now()));
        Ok(())
    }

    fn stop(&mut self) -> Result<EnergyWindow, EnergyError> {
        let end = Instant::now();
        let (mut child, handle, log, start) = self.running.take().ok_or(EnergyError::NotStarted { meter: ID })?;
        let bracketed = wait_for_line_after(&log, end, self.interval * 10 + Duration::from_secs(2));
        Tegrastats::kill(&mut child);
        let _ = handle.join();
        if !bracketed {
            return Err(EnergyError::Meter { meter: ID, message: "tegrastats stopped printing before the window closed".into() });
        }
        let lines = std::mem::take(&mut log.lock().expect("tegrastats log").0);
        // Rails in the order of the first line; a rail missing from a later line reads 0.
        let names: Vec<String> = lines[0].1.iter().map(|r| r.0.clone()).collect();
        let samples: Vec<(Instant, Vec<f64>)> = lines
            .iter()
            .map(|(t, rails)| (*t, names.iter().map(|n| rails.iter().find(|r| &r.0 == n).map_or(0.0, |r| r.1 / 1e3)).collect()))
            .collect();
        let (joules, inside) = integrate_rails(&samples, start, end, names.len());
        let parts: Vec<(String, f64)> = names.into_iter().zip(joules).collect();
        let (total, rule) = rails::total(&parts, self.policy);
        Ok(EnergyWindow { joules: total, seconds: (end - start).as_secs_f64(), parts, rule, samples: Some(inside) })
    }
}

impl Drop for Tegrastats {
    fn drop(&mut self) {
        if let Some((mut child, handle, _, _)) = self.running.take() {
            Tegrastats::kill(&mut child);
            let _ = handle.join();
        }
    }
}
