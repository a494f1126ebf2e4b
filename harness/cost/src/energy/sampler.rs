//! Power sampled on a background thread and integrated over a window: the engine of the meters
//! that read instantaneous power (Jetson INA3221 rails, `tegrastats`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One reading: watts of every rail, in a fixed order.
pub type Reading = Vec<f64>;

/// Energy (joules) of a piecewise-linear power signal over `[a, b]` (seconds). `samples` are
/// `(time, watts)` sorted by time; before the first and after the last sample the power is held
/// at that sample's value. Trapezoidal rule on the samples inside the window, with the power at
/// `a` and `b` interpolated.
pub fn integrate(samples: &[(f64, f64)], a: f64, b: f64) -> f64 {
    if samples.is_empty() || b <= a {
        return 0.0;
    }
    let power_at = |t: f64| -> f64 {
        let i = samples.partition_point(|s| s.0 <= t);
        if i == 0 {
            return samples[0].1;
        }
        if i == samples.len() {
            return samples[i - 1].1;
        }
        let (t0, p0) = samples[i - 1];
        let (t1, p1) = samples[i];
        if t1 > t0 {
            p0 + (p1 - p0) * (t - t0) / (t1 - t0)
        } else {
            p1
        }
    };
    let mut points = vec![(a, power_at(a))];
    points.extend(samples.iter().copied().filter(|s| s.0 > a && s.0 < b));
    points.push((b, power_at(b)));
    points.windows(2).map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0).sum()
}

/// Samples gathered so far: `(instant, watts per rail)`, and the first read error if any.
#[derive(Default)]
struct Log {
    samples: Vec<(Instant, Reading)>,
    error: Option<String>,
}

/// A thread that calls `read` every `period` until stopped.
pub struct Sampler {
    log: Arc<Mutex<Log>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Starts sampling now. `read` returns watts per rail or an error message; an error ends the
    /// sampling and is reported by [`Sampler::finish`].
    pub fn start(mut read: impl FnMut() -> Result<Reading, String> + Send + 'static, period: Duration) -> Sampler {
        let log = Arc::new(Mutex::new(Log::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_log, thread_stop) = (log.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            let mut next = Instant::now();
            loop {
                let reading = read();
                let now = Instant::now();
                let mut log = thread_log.lock().expect("sampler log");
                match reading {
                    Ok(r) => log.samples.push((now, r)),
                    Err(e) => {
                        log.error = Some(e);
                        return;
                    }
                }
                drop(log);
                if thread_stop.load(Ordering::Relaxed) {
                    return;
                }
                next += period;
                let now = Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                } else {
                    next = now;
                }
            }
        });
        Sampler { log, stop, handle: Some(handle) }
    }

    /// Waits until the thread has logged a sample taken at or after `t` (so that both ends of a
    /// window are bracketed), or `timeout` passes.
    pub fn wait_for_sample_after(&self, t: Instant, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let log = self.log.lock().expect("sampler log");
                if log.error.is_some() || log.samples.last().is_some_and(|s| s.0 >= t) {
                    return log.error.is_none();
                }
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Stops the thread; returns the samples or the read error.
    pub fn finish(mut self) -> Result<Vec<(Instant, Reading)>, String> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.join().map_err(|_| "the sampling thread panicked".to_string())?;
        }
        let log = std::mem::take(&mut *self.log.lock().expect("sampler log"));
        match log.error {
            Some(e) => Err(e),
            None => Ok(log.samples),
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Joules per rail over `[start, end]` from timed samples; also the number of samples inside.
pub fn integrate_rails(samples: &[(Instant, Reading)], start: Instant, end: Instant, rails: usize) -> (Vec<f64>, usize) {
    let origin = samples.first().map(|s| s.0.min(start)).unwrap_or(start);
    let secs = |t: Instant| t.duration_since(origin).as_secs_f64();
    let (a, b) = (secs(start), secs(end));
    let inside = samples.iter().filter(|s| s.0 >= start && s.0 <= end).count();
    let joules = (0..rails)
        .map(|r| {
            let series: Vec<(f64, f64)> = samples.iter().map(|s| (secs(s.0), s.1.get(r).copied().unwrap_or(0.0))).collect();
            integrate(&series, a, b)
        })
        .collect();
    (joules, inside)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integration_matches_hand_computed_areas() {
        // Constant 2.5 W over 0.4 s: 1 J, whatever the sample times.
        assert!((integrate(&[(0.0, 2.5), (0.1, 2.5), (0.35, 2.5)], 0.0, 0.4) - 1.0).abs() < 1e-12);
        // A ramp 0 → 4 W over [0, 2] s: triangle, 4 J; window [0.5, 1.5]: trapezoid (1 + 3)/2 · 1 = 2 J.
        let ramp = [(0.0, 0.0), (2.0, 4.0)];
        assert!((integrate(&ramp, 0.0, 2.0) - 4.0).abs() < 1e-12);
        assert!((integrate(&ramp, 0.5, 1.5) - 2.0).abs() < 1e-12);
        // A step sampled at 0, 1, 2 s (1, 1, 3 W) over [0, 2]: 1·1 + (1+3)/2·1 = 3 J.
        assert!((integrate(&[(0.0, 1.0), (1.0, 1.0), (2.0, 3.0)], 0.0, 2.0) - 3.0).abs() < 1e-12);
        // Held beyond the samples: one sample of 2 W, window [5, 8]: 6 J.
        assert!((integrate(&[(0.0, 2.0)], 5.0, 8.0) - 6.0).abs() < 1e-12);
        // Empty or reversed windows hold no energy.
        assert_eq!(integrate(&[], 0.0, 1.0), 0.0);
        assert_eq!(integrate(&ramp, 1.0, 1.0), 0.0);
    }

    #[test]
    fn the_sampler_brackets_the_window_and_reports_errors() {
        let sampler = Sampler::start(|| Ok(vec![2.0, 0.5]), Duration::from_millis(5));
        let t0 = Instant::now();
        assert!(sampler.wait_for_sample_after(t0, Duration::from_secs(2)));
        std::thread::sleep(Duration::from_millis(100));
        let t1 = Instant::now();
        assert!(sampler.wait_for_sample_after(t1, Duration::from_secs(2)));
        let samples = sampler.finish().unwrap();
        let (joules, inside) = integrate_rails(&samples, t0, t1, 2);
        let secs = (t1 - t0).as_secs_f64();
        assert!((joules[0] - 2.0 * secs).abs() < 1e-9 && (joules[1] - 0.5 * secs).abs() < 1e-9, "{joules:?} over {secs}");
        assert!(inside >= 5, "{inside} samples in 100 ms at 5 ms");

        let mut calls = 0;
        let failing = Sampler::start(
            move || {
                calls += 1;
                if calls < 3 {
                    Ok(vec![1.0])
                } else {
                    Err("rail vanished".into())
                }
            },
            Duration::from_millis(1),
        );
        assert!(!failing.wait_for_sample_after(Instant::now() + Duration::from_millis(50), Duration::from_secs(2)));
        assert_eq!(failing.finish().unwrap_err(), "rail vanished");
    }
}
