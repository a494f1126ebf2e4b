//! A teacher as a result set recorded it. The teacher store is not committed, so a fresh machine
//! trains a set's teachers again before distilling from them; on a CPU with other kernels the
//! same seed trains to other numbers from the first epoch on (docs/results.md, "Numbers depend
//! on the CPU's kernels"), and rows distilled from that teacher would not belong in the set. A
//! distilling run given its teacher's record refuses a teacher whose training differs from it.

use harbench_train::trainer::EpochLog;

/// The recorded training of the teacher a run must learn from.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedTeacher {
    /// Where it was recorded (a teacher run's record), named in the error.
    pub source: String,
    pub history: Vec<EpochLog>,
}

/// Relative tolerance of the comparison: a record's numbers went through JSON, which serde_json
/// parses to the nearest double only approximately; other kernels differ by far more (1e-3 of
/// the first epoch's loss on the machines of 2026-12-03).
const RELATIVE_TOLERANCE: f64 = 1e-12;

fn same(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= RELATIVE_TOLERANCE * a.abs().max(b.abs())
}

impl RecordedTeacher {
    /// The first difference between `history` (the teacher at hand) and the recorded training:
    /// the number of epochs, then each epoch's training loss and validation scores in order.
    /// Timings may differ.
    pub fn first_difference(&self, history: &[EpochLog]) -> Option<String> {
        if history.len() != self.history.len() {
            return Some(format!("{} epochs here, {} recorded", history.len(), self.history.len()));
        }
        for (got, want) in history.iter().zip(&self.history) {
            let fields = [
                ("training loss", got.train_loss, want.train_loss),
                ("validation accuracy", got.val_accuracy, want.val_accuracy),
                ("validation macro-F1", got.val_macro_f1, want.val_macro_f1),
            ];
            if let Some((name, g, w)) = fields.into_iter().find(|(_, g, w)| !same(*g, *w)) {
                return Some(format!("epoch {} {name} {g} here, {w} recorded", want.epoch));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(epoch: usize, train_loss: f64, val_accuracy: f64) -> EpochLog {
        EpochLog {
            epoch,
            train_loss,
            val_accuracy,
            val_macro_f1: val_accuracy - 0.01,
            samples_per_second: 100.0,
            head_weights: vec![],
            test_accuracy: None,
            test_macro_f1: None,
        }
    }

    fn recorded() -> RecordedTeacher {
        RecordedTeacher { source: "t.json".into(), history: vec![epoch(1, 1.1738108149682633, 0.6168), epoch(2, 0.9032, 0.7943)] }
    }

    #[test]
    fn the_same_training_passes_whatever_its_speed() {
        let mut here = recorded().history;
        here[1].samples_per_second = 3.0;
        assert_eq!(recorded().first_difference(&here), None);
    }

    #[test]
    fn a_json_round_trip_of_the_last_bit_passes() {
        let mut here = recorded().history;
        here[0].train_loss = f64::from_bits(here[0].train_loss.to_bits() + 1);
        assert_eq!(recorded().first_difference(&here), None);
    }

    #[test]
    fn the_first_differing_epoch_and_field_are_named() {
        // Session 21's AVX-512 machine: the teacher of seed 1 read 1.1838620214751272 at epoch 1.
        let mut here = recorded().history;
        here[0].train_loss = 1.1838620214751272;
        here[1].val_accuracy = 0.5;
        let d = recorded().first_difference(&here).unwrap();
        assert_eq!(d, "epoch 1 training loss 1.1838620214751272 here, 1.1738108149682633 recorded");
        let mut later = recorded().history;
        later[1].val_macro_f1 += 1e-9;
        assert!(recorded().first_difference(&later).unwrap().starts_with("epoch 2 validation macro-F1 "));
    }

    #[test]
    fn another_number_of_epochs_differs() {
        let here = &recorded().history[..1];
        assert_eq!(recorded().first_difference(here).as_deref(), Some("1 epochs here, 2 recorded"));
    }
}
