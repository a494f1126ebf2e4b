//! Signal processing used while preparing datasets: linear resampling, median filtering, and
//! zero-phase Butterworth low-pass filtering (the UCI-HAR protocol's noise and gravity filters).
//! The filter follows scipy.signal (`butter(output="sos")`, `sosfiltfilt`) so that the result can
//! be checked against it (`tests/reference/butterworth.py`).

/// Resamples a row-major `[time][channel]` signal by linear interpolation from `from_hz` to
/// `to_hz`. Returns the new signal and, for each new sample, the index of the nearest old one
/// (used to carry labels over).
pub fn resample_linear(samples: &[f32], channels: usize, from_hz: f64, to_hz: f64) -> (Vec<f32>, Vec<usize>) {
    let n = samples.len() / channels;
    if n == 0 {
        return (Vec::new(), Vec::new());
    }
    let duration = (n - 1) as f64 / from_hz;
    let m = (duration * to_hz).floor() as usize + 1;
    let mut out = Vec::with_capacity(m * channels);
    let mut nearest = Vec::with_capacity(m);
    for k in 0..m {
        let pos = k as f64 * from_hz / to_hz;
        let i = (pos.floor() as usize).min(n - 1);
        let j = (i + 1).min(n - 1);
        let frac = (pos - i as f64) as f32;
        for c in 0..channels {
            let a = samples[i * channels + c];
            let b = samples[j * channels + c];
            out.push(a + (b - a) * frac);
        }
        nearest.push(if frac < 0.5 { i } else { j });
    }
    (out, nearest)
}

/// Median filter of odd width `width` along time for every channel; near the ends the window
/// shrinks to the samples that exist (no zero padding, which would drag the ends towards 0).
pub fn median_filter(samples: &mut [f32], channels: usize, width: usize) {
    let n = samples.len() / channels;
    let half = width / 2;
    let mut column = vec![0f32; n];
    let mut buf = Vec::with_capacity(width);
    for c in 0..channels {
        for t in 0..n {
            column[t] = samples[t * channels + c];
        }
        for t in 0..n {
            buf.clear();
            buf.extend_from_slice(&column[t.saturating_sub(half)..(t + half + 1).min(n)]);
            buf.sort_by(f32::total_cmp);
            samples[t * channels + c] = buf[(buf.len() - 1) / 2];
        }
    }
}

/// One second-order section `[b0, b1, b2, 1, a1, a2]` as scipy writes them.
pub type Sos = [f64; 6];

/// Digital Butterworth low-pass of `order` with cut-off `cutoff_hz` at `rate_hz`, as cascaded
/// second-order sections (bilinear transform with pre-warping, as `scipy.signal.butter`).
pub fn butter_lowpass(order: usize, cutoff_hz: f64, rate_hz: f64) -> Vec<Sos> {
    assert!(order >= 1 && cutoff_hz > 0.0 && cutoff_hz < rate_hz / 2.0, "invalid Butterworth design");
    let k = (std::f64::consts::PI * cutoff_hz / rate_hz).tan();
    let mut sections = Vec::new();
    if order % 2 == 1 {
        // Real pole at s = -1: H(s) = K / (s + K).
        let a0 = 1.0 + k;
        sections.push([k / a0, k / a0, 0.0, 1.0, (k - 1.0) / a0, 0.0]);
    }
    for i in 0..order / 2 {
        // Conjugate pole pair of the analog prototype: s² + a·s + 1 with a = -2·Re(p).
        let theta = std::f64::consts::PI * (2 * i + order + 1) as f64 / (2 * order) as f64;
        let a = -2.0 * theta.cos();
        let a0 = 1.0 + a * k + k * k;
        let g = k * k / a0;
        sections.push([g, 2.0 * g, g, 1.0, (2.0 * k * k - 2.0) / a0, (1.0 - a * k + k * k) / a0]);
    }
    sections
}

/// Filters `x` forward with the sections, starting from states `zi` (transposed direct form II).
fn sosfilt(sos: &[Sos], x: &mut [f64], zi: &mut [[f64; 2]]) {
    for (s, z) in sos.iter().zip(zi.iter_mut()) {
        for v in x.iter_mut() {
            let input = *v;
            let y = s[0] * input + z[0];
            z[0] = s[1] * input - s[4] * y + z[1];
            z[1] = s[2] * input - s[5] * y;
            *v = y;
        }
    }
}

/// Steady-state initial states for a unit step (scipy's `sosfilt_zi`).
fn sosfilt_zi(sos: &[Sos]) -> Vec<[f64; 2]> {
    let mut scale = 1.0;
    sos.iter()
        .map(|s| {
            let gain = (s[0] + s[1] + s[2]) / (1.0 + s[4] + s[5]);
            let z1 = s[2] - s[5] * gain;
            let z0 = s[1] - s[4] * gain + z1;
            let zi = [z0 * scale, z1 * scale];
            scale *= gain;
            zi
        })
        .collect()
}

/// Zero-phase filtering of one series, as `scipy.signal.sosfiltfilt` with its default odd
/// padding. Series too short for the padding are padded with what exists.
pub fn sosfiltfilt(sos: &[Sos], x: &[f64]) -> Vec<f64> {
    let n = x.len();
    if n < 2 {
        return x.to_vec();
    }
    let zeros_b = sos.iter().filter(|s| s[2] == 0.0).count();
    let zeros_a = sos.iter().filter(|s| s[5] == 0.0).count();
    let padlen = (3 * (2 * sos.len() + 1 - zeros_b.min(zeros_a))).min(n - 1);
    let mut ext = Vec::with_capacity(n + 2 * padlen);
    ext.extend((1..=padlen).rev().map(|i| 2.0 * x[0] - x[i]));
    ext.extend_from_slice(x);
    ext.extend((1..=padlen).map(|i| 2.0 * x[n - 1] - x[n - 1 - i]));
    let zi = sosfilt_zi(sos);
    let mut state: Vec<[f64; 2]> = zi.iter().map(|z| [z[0] * ext[0], z[1] * ext[0]]).collect();
    sosfilt(sos, &mut ext, &mut state);
    ext.reverse();
    let mut state: Vec<[f64; 2]> = zi.iter().map(|z| [z[0] * ext[0], z[1] * ext[0]]).collect();
    sosfilt(sos, &mut ext, &mut state);
    ext.reverse();
    ext[padlen..padlen + n].to_vec()
}

/// Applies [`sosfiltfilt`] to every channel of a row-major signal.
pub fn filtfilt_channels(sos: &[Sos], samples: &[f32], channels: usize) -> Vec<f32> {
    let n = samples.len() / channels;
    let mut out = vec![0f32; samples.len()];
    let mut column = vec![0f64; n];
    for c in 0..channels {
        for t in 0..n {
            column[t] = samples[t * channels + c] as f64;
        }
        for (t, v) in sosfiltfilt(sos, &column).into_iter().enumerate() {
            out[t * channels + c] = v as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    // Values printed by `python3 tests/reference/butterworth.py` (scipy 1.x).
    #[test]
    fn butterworth_matches_scipy() {
        // Gains are spread differently over the sections, so compare the cascades' impulse
        // responses (and the poles, i.e. the denominators, one by one).
        let sos = butter_lowpass(3, 20.0, 50.0);
        let scipy = reference::BUTTER_3_20_50.to_vec();
        let impulse = |s: &[Sos]| {
            let mut x = vec![0.0; 40];
            x[0] = 1.0;
            sosfilt(s, &mut x, &mut vec![[0.0; 2]; s.len()]);
            x
        };
        for (a, b) in impulse(&sos).iter().zip(impulse(&scipy)) {
            assert!(close(*a, b, 1e-12), "impulse response {a} vs scipy {b}");
        }
        for (mine, theirs) in sort_sections(sos).iter().zip(sort_sections(scipy).iter()) {
            assert!(close(mine[4], theirs[4], 1e-12) && close(mine[5], theirs[5], 1e-12));
        }
        let sos = butter_lowpass(3, 0.3, 50.0);
        let x: Vec<f64> = (0..200).map(|i| (i as f64 * 0.37).sin() + 0.01 * i as f64).collect();
        let y = sosfiltfilt(&sos, &x);
        for (i, expected) in reference::FILTFILT_03_50 {
            assert!(close(y[i], expected, 1e-6), "y[{i}] = {} vs scipy {expected}", y[i]);
        }
    }

    /// Section order differs between designs; compare them as a set.
    fn sort_sections(mut s: Vec<Sos>) -> Vec<Sos> {
        s.sort_by(|a, b| a[5].total_cmp(&b[5]));
        s
    }

    #[test]
    fn low_pass_keeps_dc_and_removes_high_frequency() {
        let sos = butter_lowpass(3, 0.3, 50.0);
        let dc = sosfiltfilt(&sos, &vec![2.5; 500]);
        assert!(dc.iter().all(|v| (v - 2.5).abs() < 1e-9));
        let fast: Vec<f64> = (0..2000).map(|i| (i as f64 * 2.0 * std::f64::consts::PI * 10.0 / 50.0).sin()).collect();
        let out = sosfiltfilt(&sos, &fast);
        // scipy's sosfiltfilt: max |y| over 600..1400 is 9e-7 (edge transients decay before).
        assert!(out[600..1400].iter().all(|v| v.abs() < 1e-5));
    }

    #[test]
    fn resampling_interpolates_and_maps_labels() {
        // 0, 1, 2, 3 at 4 Hz → 8 Hz.
        let (y, nearest) = resample_linear(&[0.0, 1.0, 2.0, 3.0], 1, 4.0, 8.0);
        assert_eq!(y, vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]);
        assert_eq!(nearest, vec![0, 1, 1, 2, 2, 3, 3]);
        let (y, _) = resample_linear(&[0.0, 10.0, 1.0, 11.0, 2.0, 12.0], 2, 2.0, 1.0);
        assert_eq!(y, vec![0.0, 10.0, 2.0, 12.0]);
    }

    #[test]
    fn median_filter_removes_spikes_and_keeps_edges() {
        let mut x = vec![1.0, 1.0, 9.0, 1.0, 1.0, 5.0];
        median_filter(&mut x, 1, 3);
        assert_eq!(x, vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
    }

    pub(super) mod reference {
        include!("../../../tests/reference/butterworth_values.rs");
    }
}
