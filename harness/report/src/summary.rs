//! The cross-dataset summary, the paper's kind of table: rows are the distillation comparison's
//! rows (model and method), columns the datasets of several suites (one suite per dataset, or
//! any mix), each cell the test accuracy's mean ± std over seeds beside its difference from the
//! same model trained alone with Welch's p, and per method a win / tie / loss count over the
//! datasets where that test could be made (`harbench report SUITE SUITE …`).

use crate::report::{self, seed_values, Checkpoint, Report, Split, Table};
use crate::stats;
use harbench_suite::plan::Plan;
use harbench_suite::record::RunRecord;
use harbench_suite::spec::{TableKind, NO_DISTILLATION};

/// One suite's plan and the records read for it.
pub struct SuiteRuns<'a> {
    pub plan: &'a Plan,
    pub records: &'a [RunRecord],
    /// Where the records came from (commit and machine folders), for the provenance.
    pub source: String,
}

/// A row's accuracy on one dataset (fractions, not percent).
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub mean: f64,
    pub std: f64,
    pub seeds: usize,
    /// Against the same model trained alone: (difference of means, Welch's two-sided p), when
    /// both sides have two seeds or more.
    pub versus_alone: Option<(f64, f64)>,
}

/// How a distilled row fared against its model trained alone over the datasets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub wins: usize,
    pub ties: usize,
    pub losses: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub datasets: Vec<String>,
    /// (model label, method label), in the order the suites list them.
    pub rows: Vec<(String, String)>,
    /// `cells[row][dataset]`.
    pub cells: Vec<Vec<Option<Cell>>>,
    /// Per row; `None` for rows trained alone.
    pub tallies: Vec<Option<Tally>>,
    pub alpha: f64,
    pub checkpoint: Checkpoint,
    pub split: Split,
    pub sources: Vec<String>,
}

/// The summary of `suites` at `checkpoint` on `split`; a difference counts as a win or a loss
/// when Welch's p is below `alpha`.
pub fn across(suites: &[SuiteRuns], checkpoint: Checkpoint, split: Split, alpha: f64) -> Summary {
    let (mut datasets, mut rows) = (Vec::new(), Vec::new());
    for s in suites {
        push_new(&mut datasets, report::datasets(s.plan));
        push_new(&mut rows, report::rows_of(TableKind::Kd, s.plan));
    }
    let current: Vec<Vec<&RunRecord>> = suites.iter().map(|s| report::current(s.plan, s.records)).collect();
    // The records of one (dataset, model, method), from every suite that has that dataset.
    let group = |dataset: &str, model: &str, method: &str| -> Vec<&RunRecord> {
        current
            .iter()
            .flatten()
            .copied()
            .filter(|r| r.config.dataset == dataset && r.config.model.label == model && r.config.method.label == method)
            .collect()
    };
    let accuracy = |dataset: &str, model: &str, method: &str| seed_values(&group(dataset, model, method), split.accuracy(), checkpoint);
    let mut cells = Vec::with_capacity(rows.len());
    let mut tallies = Vec::with_capacity(rows.len());
    for (model, method) in &rows {
        let mut row = Vec::with_capacity(datasets.len());
        let mut tally = Tally::default();
        for d in &datasets {
            let values = accuracy(d, model, method);
            if values.is_empty() {
                row.push(None);
                continue;
            }
            let versus_alone = if method == NO_DISTILLATION {
                None
            } else {
                let alone = accuracy(d, model, NO_DISTILLATION);
                stats::welch(&values, &alone).map(|w| (stats::mean(&values) - stats::mean(&alone), w.p))
            };
            match versus_alone {
                Some((delta, p)) if p < alpha && delta > 0.0 => tally.wins += 1,
                Some((delta, p)) if p < alpha && delta < 0.0 => tally.losses += 1,
                Some(_) => tally.ties += 1,
                None => {}
            }
            row.push(Some(Cell { mean: stats::mean(&values), std: stats::std_dev(&values), seeds: values.len(), versus_alone }));
        }
        cells.push(row);
        tallies.push((method != NO_DISTILLATION).then_some(tally));
    }
    Summary { datasets, rows, cells, tallies, alpha, checkpoint, split, sources: suites.iter().map(|s| s.source.clone()).collect() }
}

fn push_new<T: PartialEq>(into: &mut Vec<T>, items: Vec<T>) {
    for item in items {
        if !into.contains(&item) {
            into.push(item);
        }
    }
}

impl Summary {
    /// The summary as a score table (rendered like `harbench report`'s tables: terminal,
    /// Markdown, CSV, LaTeX).
    pub fn table(&self) -> Table {
        let mut header = vec!["model".to_string(), "method".to_string()];
        let mut better = vec![None, None];
        for d in &self.datasets {
            header.extend([format!("{d} acc %"), format!("{d} Δ vs alone")]);
            better.extend([Some(report::Better::Higher), None]);
        }
        header.push("W/T/L vs alone".into());
        better.push(None);
        let mut t = Table::empty(TableKind::Kd, "Across datasets: the distillation methods against the student alone", header, better);
        for (((model, method), cells), tally) in self.rows.iter().zip(&self.cells).zip(&self.tallies) {
            let mut text = vec![model.clone(), method.clone()];
            let mut values = vec![None, None];
            for (d, cell) in self.datasets.iter().zip(cells) {
                match cell {
                    None => {
                        text.extend(["—".to_string(), String::new()]);
                        values.extend([None, None]);
                    }
                    Some(c) => {
                        text.push(format!("{:.2} ± {:.2}", 100.0 * c.mean, 100.0 * c.std));
                        text.push(match c.versus_alone {
                            Some((delta, p)) => format!("{:+.2} (p {})", 100.0 * delta, report::p_value(p)),
                            None => String::new(),
                        });
                        values.extend([Some(100.0 * c.mean), c.versus_alone.map(|(delta, _)| 100.0 * delta)]);
                        t.csv.push([
                            "summary".into(),
                            d.clone(),
                            model.clone(),
                            method.clone(),
                            self.split.accuracy().name().into(),
                            format!("{}", c.mean),
                            format!("{}", c.std),
                            c.seeds.to_string(),
                        ]);
                    }
                }
            }
            text.push(tally.map_or(String::new(), |t| format!("{}/{}/{}", t.wins, t.ties, t.losses)));
            values.push(None);
            t.rows.push(text);
            t.values.push(values);
        }
        if self.cells.iter().flatten().all(Option::is_none) {
            t.notes.push("No finished runs yet in any of the suites.".into());
        }
        t.notes.push(format!(
            "{} on the {} split, accuracy in percent, mean ± std over seeds; — no finished run.",
            self.checkpoint.describe(),
            self.split.name()
        ));
        t.notes.push(format!(
            "Δ vs alone: mean accuracy minus that of the same model trained without distillation, in points, with the \
             two-sided Welch's t-test over seeds (needs two seeds on each side). W/T/L: datasets where the row is above \
             (win) or below (loss) the model trained alone at p < {}, or within noise (tie); datasets without the test \
             are not counted.",
            self.alpha
        ));
        t
    }

    /// A report holding the summary table, so that every renderer of reports writes it.
    pub fn report(&self, store: &str) -> Report {
        Report {
            suite: format!("summary of {} dataset(s): {}", self.datasets.len(), self.datasets.join(", ")),
            commit: "several".into(),
            commits: vec![],
            machine: "several".into(),
            checkpoint: self.checkpoint,
            split: self.split,
            protocols: vec![],
            tables: vec![self.table()],
            store: store.into(),
            sources: Some(format!("each dataset with its suite's split; records: {}.", self.sources.join("; "))),
        }
    }
}
