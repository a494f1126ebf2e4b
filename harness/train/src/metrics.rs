//! Classification metrics: accuracy, macro-F1, per-class precision / recall / F1 and the
//! confusion matrix. Conventions follow scikit-learn (`zero_division=0`): a ratio with a zero
//! denominator is 0, and macro-F1 averages over the classes that occur in the truth or the
//! predictions, so a class absent from an evaluation set does not count as a failure.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Number of true samples of the class.
    pub support: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub accuracy: f64,
    pub macro_f1: f64,
    pub per_class: Vec<ClassMetrics>,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<usize>>,
}

/// Counts predictions against the truth for `classes` classes.
#[derive(Debug, Clone, PartialEq)]
pub struct Confusion {
    counts: Vec<Vec<usize>>,
}

impl Confusion {
    pub fn new(classes: usize) -> Self {
        Confusion { counts: vec![vec![0; classes]; classes] }
    }

    /// Adds a batch; labels outside `0..classes` are a programming error upstream.
    pub fn add(&mut self, truth: &[usize], predicted: &[usize]) {
        assert_eq!(truth.len(), predicted.len(), "truth and predictions differ in length");
        for (&t, &p) in truth.iter().zip(predicted) {
            self.counts[t][p] += 1;
        }
    }

    pub fn metrics(&self) -> Metrics {
        let k = self.counts.len();
        let total: usize = self.counts.iter().flatten().sum();
        let correct: usize = (0..k).map(|i| self.counts[i][i]).sum();
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let mut per_class = Vec::with_capacity(k);
        let mut f1_sum = 0.0;
        let mut present = 0;
        for c in 0..k {
            let tp = self.counts[c][c];
            let support: usize = self.counts[c].iter().sum();
            let predicted: usize = (0..k).map(|t| self.counts[t][c]).sum();
            let precision = ratio(tp, predicted);
            let recall = ratio(tp, support);
            let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
            if support + predicted > 0 {
                f1_sum += f1;
                present += 1;
            }
            per_class.push(ClassMetrics { precision, recall, f1, support });
        }
        Metrics {
            accuracy: ratio(correct, total),
            macro_f1: if present == 0 { 0.0 } else { f1_sum / present as f64 },
            per_class,
            confusion: self.counts.clone(),
        }
    }
}

/// Metrics of one set of predictions.
pub fn evaluate(classes: usize, truth: &[usize], predicted: &[usize]) -> Metrics {
    let mut c = Confusion::new(classes);
    c.add(truth, predicted);
    c.metrics()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    // python3 tests/reference/metrics.py, case "mixed":
    // accuracy 0.625, macro_f1 0.6166666666666667,
    // precision [0.5, 0.6666666666666666, 1.0, 0.5, 0.0], recall [0.5, 1.0, 0.3333333333333333, 1.0, 0.0],
    // f1 [0.5, 0.8, 0.5, 0.6666666666666666, 0.0], support [2, 2, 3, 1, 0]
    #[test]
    fn matches_scikit_learn_with_a_class_that_never_occurs() {
        let m = evaluate(5, &[0, 0, 1, 1, 2, 2, 2, 3], &[0, 1, 1, 1, 2, 0, 3, 3]);
        assert!(close(m.accuracy, 0.625));
        assert!(close(m.macro_f1, 0.6166666666666667), "{}", m.macro_f1);
        let p: Vec<f64> = m.per_class.iter().map(|c| c.precision).collect();
        let r: Vec<f64> = m.per_class.iter().map(|c| c.recall).collect();
        let f: Vec<f64> = m.per_class.iter().map(|c| c.f1).collect();
        for (mine, theirs) in p.iter().zip([0.5, 0.6666666666666666, 1.0, 0.5, 0.0]) {
            assert!(close(*mine, theirs));
        }
        for (mine, theirs) in r.iter().zip([0.5, 1.0, 0.3333333333333333, 1.0, 0.0]) {
            assert!(close(*mine, theirs));
        }
        for (mine, theirs) in f.iter().zip([0.5, 0.8, 0.5, 0.6666666666666666, 0.0]) {
            assert!(close(*mine, theirs));
        }
        assert_eq!(m.per_class.iter().map(|c| c.support).collect::<Vec<_>>(), vec![2, 2, 3, 1, 0]);
        assert_eq!(m.confusion[2], vec![1, 0, 1, 1, 0]);
    }

    // Case "absent": class 2 predicted once but absent from the truth.
    // accuracy 0.6666666666666666, macro_f1 0.3333333333333333, f1 [1.0, 0.0, 0.0]
    #[test]
    fn a_class_absent_from_the_truth_but_predicted_counts_as_zero() {
        let m = evaluate(3, &[0, 0, 1], &[0, 0, 2]);
        assert!(close(m.accuracy, 2.0 / 3.0));
        assert!(close(m.macro_f1, 1.0 / 3.0));
        assert_eq!(m.per_class[2], ClassMetrics { precision: 0.0, recall: 0.0, f1: 0.0, support: 0 });
    }

    #[test]
    fn batches_accumulate_and_empty_input_is_zero_not_nan() {
        let mut c = Confusion::new(2);
        c.add(&[0, 1], &[0, 0]);
        c.add(&[1], &[1]);
        assert_eq!(c.metrics(), evaluate(2, &[0, 1, 1], &[0, 0, 1]));
        let empty = Confusion::new(3).metrics();
        assert_eq!((empty.accuracy, empty.macro_f1), (0.0, 0.0));
        // By hand: perfect predictions give 1 everywhere.
        let perfect = evaluate(3, &[0, 1, 2, 2], &[0, 1, 2, 2]);
        assert!(perfect.per_class.iter().all(|c| c.f1 == 1.0) && perfect.macro_f1 == 1.0);
    }
}
