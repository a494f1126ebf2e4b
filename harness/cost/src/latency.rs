//! Wall-clock timing, criterion-style: warm up, then time single calls until there are at least
//! `min_samples` of them *and* `min_time` has passed, and summarise with robust statistics
//! (median, 10th/90th percentiles, median absolute deviation) that a few preempted runs on a
//! busy machine do not move.

use harbench_common::stats;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencyConfig {
    /// Calls before any is timed (caches, allocator, thread pool, lazy initialisation).
    pub warmup: Duration,
    pub min_samples: usize,
    pub min_time: Duration,
    /// Stop here even with fewer than `min_samples` (a very slow model).
    pub max_time: Duration,
}

impl Default for LatencyConfig {
    fn default() -> Self {
        LatencyConfig {
            warmup: Duration::from_millis(500),
            min_samples: 50,
            min_time: Duration::from_secs(2),
            max_time: Duration::from_secs(60),
        }
    }
}

impl LatencyConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.min_samples == 0 {
            return Err("min_samples must be at least 1".into());
        }
        if self.max_time < self.min_time {
            return Err(format!("max_time {:?} is shorter than min_time {:?}", self.max_time, self.min_time));
        }
        Ok(())
    }
}

/// Summary of timed samples, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub samples: usize,
    pub median: f64,
    pub p10: f64,
    pub p90: f64,
    /// Median absolute deviation from the median (unscaled).
    pub mad: f64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// Quantile `q ∈ [0, 1]` of sorted values, interpolating linearly between order statistics
/// (numpy's default).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The summary of `samples` (with none, every statistic but the mean is NaN). The median and
/// the MAD are [`harbench_common::stats::median`] (the mean of the two middles for an even
/// count, as numpy's `median`; [`quantile`] at 0.5 equals it up to rounding); p10 and p90
/// interpolate.
pub fn summarize(samples: &[f64]) -> Summary {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = stats::median(&sorted).unwrap_or(f64::NAN);
    let deviations: Vec<f64> = sorted.iter().map(|x| (x - median).abs()).collect();
    Summary {
        samples: sorted.len(),
        median,
        p10: quantile(&sorted, 0.1),
        p90: quantile(&sorted, 0.9),
        mad: stats::median(&deviations).unwrap_or(f64::NAN),
        mean: sorted.iter().sum::<f64>() / sorted.len().max(1) as f64,
        min: sorted.first().copied().unwrap_or(f64::NAN),
        max: sorted.last().copied().unwrap_or(f64::NAN),
    }
}

/// Times `call` as configured. `call` must finish its work before returning (read results back
/// from the device), or only the launch is timed.
pub fn measure(config: &LatencyConfig, mut call: impl FnMut()) -> Summary {
    let start = Instant::now();
    loop {
        call();
        if start.elapsed() >= config.warmup {
            break;
        }
    }
    let mut samples = Vec::with_capacity(config.min_samples);
    let start = Instant::now();
    loop {
        let t = Instant::now();
        call();
        samples.push(t.elapsed().as_secs_f64());
        let elapsed = start.elapsed();
        if (samples.len() >= config.min_samples && elapsed >= config.min_time) || elapsed >= config.max_time {
            break;
        }
    }
    summarize(&samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn statistics_match_numpy() {
        // python3 tests/reference/latency_stats.py
        let s = summarize(&[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0]);
        assert!(close(s.median, 3.5) && close(s.p10, 1.0) && close(s.p90, 6.299999999999999), "{s:?}");
        assert!(close(s.mad, 1.5) && close(s.mean, 3.9) && s.min == 1.0 && s.max == 9.0 && s.samples == 10, "{s:?}");
        let s = summarize(&[0.0021, 0.0019, 0.0020, 0.0022, 0.0150, 0.0020, 0.0018, 0.0021]);
        assert!(close(s.median, 0.0020499999999999997) && close(s.p10, 0.00187) && close(s.p90, 0.006039999999999998), "{s:?}");
        assert!(close(s.mad, 9.999999999999994e-05) && close(s.mean, 0.0036375), "{s:?}");
        let s = summarize(&[7.5]);
        assert!(s.median == 7.5 && s.p10 == 7.5 && s.p90 == 7.5 && s.mad == 0.0);
    }

    #[test]
    fn measurement_runs_until_both_minimums_hold() {
        let config = LatencyConfig {
            warmup: Duration::from_millis(20),
            min_samples: 5,
            min_time: Duration::from_millis(60),
            max_time: Duration::from_secs(5),
        };
        let mut calls = 0;
        let s = measure(&config, || {
            calls += 1;
            std::thread::sleep(Duration::from_millis(2));
        });
        // 60 ms of 2 ms calls: more than 5 samples; the warm-up calls are not among them.
        assert!(s.samples > 5 && calls > s.samples, "{} samples of {calls} calls", s.samples);
        assert!(s.median >= 0.002 && s.min >= 0.002, "{s:?}");
        // Slow calls: the sample count, not the time, ends the run.
        let config = LatencyConfig { warmup: Duration::ZERO, min_samples: 4, min_time: Duration::ZERO, max_time: Duration::from_secs(5) };
        let s = measure(&config, || std::thread::sleep(Duration::from_millis(10)));
        assert_eq!(s.samples, 4);
        // max_time caps a run that cannot reach min_samples.
        let config =
            LatencyConfig { warmup: Duration::ZERO, min_samples: 1000, min_time: Duration::ZERO, max_time: Duration::from_millis(30) };
        let s = measure(&config, || std::thread::sleep(Duration::from_millis(10)));
        assert!(s.samples < 1000 && s.samples >= 2, "{}", s.samples);
        assert!(LatencyConfig { min_samples: 0, ..config }.validate().is_err());
    }
}
