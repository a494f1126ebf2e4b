//! Cutting recordings into fixed-length labelled windows.

use crate::recording::{Recording, UNLABELLED};
use crate::spec::LabelRule;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowSpec {
    /// Samples per window.
    pub length: usize,
    /// Samples between the starts of two consecutive windows.
    pub step: usize,
    pub rule: LabelRule,
}

/// Windows in the layout the models consume: `x` is `[N][C][L]` (channel-major per window).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Windows {
    pub channels: usize,
    pub length: usize,
    pub x: Vec<f32>,
    pub y: Vec<u16>,
    pub subject: Vec<u32>,
}

impl Windows {
    pub fn new(channels: usize, length: usize) -> Self {
        Windows { channels, length, ..Default::default() }
    }
    pub fn len(&self) -> usize {
        self.y.len()
    }
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
    pub fn window(&self, i: usize) -> &[f32] {
        let size = self.channels * self.length;
        &self.x[i * size..(i + 1) * size]
    }
    pub fn append(&mut self, mut other: Windows) {
        self.x.append(&mut other.x);
        self.y.append(&mut other.y);
        self.subject.append(&mut other.subject);
    }

    fn push(&mut self, rec: &Recording, start: usize, label: u16) {
        let c = rec.channels;
        for ch in 0..c {
            self.x.extend((start..start + self.length).map(|t| rec.samples[t * c + ch]));
        }
        self.y.push(label);
        self.subject.push(rec.subject);
    }
}

/// Cuts one recording. Windows whose label resolves to [`UNLABELLED`] are dropped, as are
/// windows that would run past the end (no padding).
pub fn cut(rec: &Recording, spec: &WindowSpec) -> Windows {
    let mut out = Windows::new(rec.channels, spec.length);
    let (n, len, step) = (rec.len(), spec.length, spec.step.max(1));
    if len == 0 || n < len {
        return out;
    }
    match spec.rule {
        LabelRule::Pure => {
            for (run_start, run_end) in label_runs(&rec.labels) {
                let label = rec.labels[run_start];
                if label == UNLABELLED {
                    continue;
                }
                let mut start = run_start;
                while start + len <= run_end {
                    out.push(rec, start, label);
                    start += step;
                }
            }
        }
        LabelRule::Centre => {
            for start in (0..=n - len).step_by(step) {
                let label = rec.labels[start + len / 2];
                if label != UNLABELLED {
                    out.push(rec, start, label);
                }
            }
        }
        LabelRule::Majority => {
            let mut counts = std::collections::BTreeMap::<u16, usize>::new();
            for start in (0..=n - len).step_by(step) {
                counts.clear();
                for &l in &rec.labels[start..start + len] {
                    *counts.entry(l).or_default() += 1;
                }
                // Highest count wins; among equals the smallest label (classes before UNLABELLED).
                let (&label, _) = counts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).expect("window not empty");
                if label != UNLABELLED {
                    out.push(rec, start, label);
                }
            }
        }
    }
    out
}

/// `[start, end)` of each maximal run of equal labels.
fn label_runs(labels: &[u16]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=labels.len() {
        if i == labels.len() || labels[i] != labels[start] {
            runs.push((start, i));
            start = i;
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    const U: u16 = UNLABELLED;

    fn rec(labels: Vec<u16>) -> Recording {
        // Two channels: value t and 100 + t, so windows can be checked by content.
        let samples = (0..labels.len()).flat_map(|t| [t as f32, 100.0 + t as f32]).collect();
        Recording { subject: 7, origin: "test".into(), channels: 2, samples, labels }
    }

    fn spec(length: usize, step: usize, rule: LabelRule) -> WindowSpec {
        WindowSpec { length, step, rule }
    }

    #[test]
    fn layout_is_channel_major_and_windows_do_not_run_past_the_end() {
        let w = cut(&rec(vec![0; 7]), &spec(4, 2, LabelRule::Majority));
        assert_eq!(w.len(), 2); // starts 0 and 2; start 4 would need samples 4..8
        assert_eq!(w.window(1), &[2.0, 3.0, 4.0, 5.0, 102.0, 103.0, 104.0, 105.0]);
        assert_eq!(w.subject, vec![7, 7]);
    }

    #[test]
    fn too_short_recordings_give_no_windows() {
        assert!(cut(&rec(vec![0; 3]), &spec(4, 2, LabelRule::Centre)).is_empty());
        assert!(cut(&rec(vec![]), &spec(4, 2, LabelRule::Pure)).is_empty());
    }

    #[test]
    fn majority_breaks_ties_towards_the_class_and_drops_unlabelled() {
        let w = cut(&rec(vec![1, 1, U, U, U, U, 2, 2]), &spec(4, 2, LabelRule::Majority));
        // windows: [1,1,U,U] tie → 1; [U,U,U,U] dropped; [U,U,2,2] tie → 2
        assert_eq!(w.y, vec![1, 2]);
        let w = cut(&rec(vec![3, 2, 2, 3]), &spec(4, 4, LabelRule::Majority));
        assert_eq!(w.y, vec![2]);
    }

    #[test]
    fn centre_uses_the_middle_sample() {
        let w = cut(&rec(vec![0, 0, 1, 1, U, U]), &spec(4, 1, LabelRule::Centre));
        // starts 0,1,2: centre samples 2,3,4 → 1,1,dropped
        assert_eq!(w.y, vec![1, 1]);
    }

    #[test]
    fn pure_windows_stay_inside_runs_and_restart_at_each_run() {
        let labels = vec![0, 0, 0, 0, 0, 1, 1, 1, 1, U, U, U, U, 2, 2, 2];
        let w = cut(&rec(labels), &spec(3, 2, LabelRule::Pure));
        // run 0: [0,5) → starts 0,2; run 1: [5,9) → start 5; U skipped; run 2: [13,16) → 13
        assert_eq!(w.y, vec![0, 0, 1, 2]);
        assert_eq!(w.window(2)[0], 5.0);
        assert_eq!(w.window(3)[0], 13.0);
    }
}
