//! The checkpoints table (`tables: [checkpoints]`): every row's test accuracy at the three
//! models a run scores, side by side, each against the same model trained alone:
//! - the last epoch's (a fixed schedule, nothing selected);
//! - the best-validation epoch's (selection on the validation split);
//! - the best epoch on the test subjects, the SMLDist authors' selection (their held-out
//!   probands are also their validation set): a diagnostic, optimistic by construction, shown to
//!   measure how much that protocol inflates a row. Only runs with `test_every_epoch` have it,
//!   and nothing is chosen by it.
//!
//! The table is the same whichever `--checkpoint` the report scores its other tables at.

use crate::report::{datasets, pct, rows_of, seed_values, title, versus, Better, Checkpoint, Metric, Table};
use crate::stats;
use harbench_suite::plan::Plan;
use harbench_suite::record::RunRecord;
use harbench_suite::spec::{TableKind, NO_DISTILLATION};

/// The columns' checkpoints, in the order a reader weighs them.
const CHECKPOINTS: [(Checkpoint, &str); 3] =
    [(Checkpoint::Last, "last epoch"), (Checkpoint::Best, "best-val"), (Checkpoint::BestTest, "best-test (diagnostic)")];

pub fn checkpoints_table(plan: &Plan, records: &[&RunRecord]) -> Table {
    let mut header: Vec<String> = ["dataset", "model", "method"].map(String::from).to_vec();
    let mut better = vec![None, None, None];
    for (_, name) in CHECKPOINTS {
        header.extend([format!("{name} acc %"), format!("{name} Δ vs alone")]);
        better.extend([Some(Better::Higher), None]);
    }
    let mut t = Table::empty(TableKind::Checkpoints, title(TableKind::Checkpoints), header, better);
    let planned_seeds = plan.runs.iter().map(|r| r.seed).collect::<std::collections::BTreeSet<_>>().len();
    let mut short = false;
    for dataset in datasets(plan) {
        for (model, method) in rows_of(TableKind::Checkpoints, plan) {
            let planned = |r: &&harbench_suite::plan::RunSpec| r.dataset == dataset && r.model.label == model && r.method.label == method;
            if !plan.runs.iter().any(|r| planned(&r)) {
                continue;
            }
            let group = runs_of(records, &dataset, &model, &method);
            let alone = runs_of(records, &dataset, &model, NO_DISTILLATION);
            let (mut cells, mut numbers) = (vec![dataset.clone(), model.clone(), method.clone()], vec![None, None, None]);
            for (checkpoint, _) in CHECKPOINTS {
                let values = seed_values(&group, Metric::TestAccuracy, checkpoint);
                let (cell, number) = if values.is_empty() {
                    ("—".to_string(), None)
                } else {
                    let (m, s) = (stats::mean(&values), stats::std_dev(&values));
                    short |= values.len() < planned_seeds;
                    let metric = format!("test_accuracy@{}", checkpoint.name());
                    let names = [TableKind::Checkpoints.name(), &dataset, &model, &method, &metric].map(String::from);
                    let [kind, d, mo, me, metric] = names;
                    t.csv.push([kind, d, mo, me, metric, format!("{m}"), format!("{s}"), values.len().to_string()]);
                    (format!("{}{}", pct(m, s), if values.len() < planned_seeds { "*" } else { "" }), Some(100.0 * m))
                };
                let alone_values = seed_values(&alone, Metric::TestAccuracy, checkpoint);
                let (delta, _) = versus(&values, &alone_values, method == NO_DISTILLATION);
                cells.extend([cell, delta]);
                numbers.extend([number, None]);
            }
            t.rows.push(cells);
            t.values.push(numbers);
        }
    }
    t.notes.push(format!(
        "Test accuracy, mean ± std over {planned_seeds} seed(s){}; — not run yet (or, for best-test, runs without \
         test_every_epoch). last epoch: the model after the last epoch. best-val: the epoch with the best validation macro-F1. \
         best-test: the epoch with the best test accuracy, the SMLDist authors' selection; a diagnostic, optimistic by \
         construction, that chose nothing.",
        if short { "; * fewer seeds than planned" } else { "" }
    ));
    t.notes.push(
        "Δ vs alone: the row's mean test accuracy minus that of the same model trained without distillation (method none), \
         both at the column's checkpoint, in points, and the two-sided Welch's t-test over seeds (p); a blank p needs two seeds \
         on each side."
            .into(),
    );
    t
}

fn runs_of<'a>(records: &[&'a RunRecord], dataset: &str, model: &str, method: &str) -> Vec<&'a RunRecord> {
    let matches = |r: &&&RunRecord| r.config.dataset == dataset && r.config.model.label == model && r.config.method.label == method;
    records.iter().filter(matches).copied().collect()
}
