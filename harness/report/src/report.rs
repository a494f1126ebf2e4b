//! Result tables of a suite on one commit and machine: terminal (tabled), Markdown and CSV.
//!
//! A table shows the runs of the experiments of the same name (`har`, `kd`, `ablation`), plus
//! the teacher in `har` and `kd`; `cost` lists every model and method of the suite. Scores are those of
//! the best-validation checkpoint (or, asked for, the last epoch's model) on the test split (or,
//! asked for, the validation split: selection runs withhold the test split), in percent, mean ±
//! sample standard deviation over seeds (LOSO folds are averaged within a seed first).

pub use crate::cost_table::CostCells;
use crate::stats;
use harbench_suite::plan::{Plan, Role};
use harbench_suite::record::{Headline, RunRecord};
use harbench_suite::spec::{TableKind, NO_DISTILLATION};
use std::collections::BTreeMap;
use tabled::builder::Builder;
use tabled::settings::Style;

/// One score of a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    TestAccuracy,
    TestMacroF1,
    ValAccuracy,
    ValMacroF1,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::TestAccuracy => "test_accuracy",
            Metric::TestMacroF1 => "test_macro_f1",
            Metric::ValAccuracy => "val_accuracy",
            Metric::ValMacroF1 => "val_macro_f1",
        }
    }

    /// The score without its split: `accuracy` or `macro-F1`.
    pub fn label(self) -> &'static str {
        match self {
            Metric::TestAccuracy | Metric::ValAccuracy => "accuracy",
            Metric::TestMacroF1 | Metric::ValMacroF1 => "macro-F1",
        }
    }

    pub fn split(self) -> Split {
        match self {
            Metric::TestAccuracy | Metric::TestMacroF1 => Split::Test,
            Metric::ValAccuracy | Metric::ValMacroF1 => Split::Validation,
        }
    }

    /// The score in `h`; `None` for a test score of a run that withheld the test split.
    pub fn of(self, h: &Headline) -> Option<f64> {
        match self {
            Metric::TestAccuracy => h.test_accuracy,
            Metric::TestMacroF1 => h.test_macro_f1,
            Metric::ValAccuracy => Some(h.val_accuracy),
            Metric::ValMacroF1 => Some(h.val_macro_f1),
        }
    }
}

/// The split a report scores runs on. The test split is the default and the number to publish;
/// the validation split is what runs that withheld the test split (`test_split: withheld`,
/// selection runs) have, and what a choice among configurations may look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Split {
    #[default]
    Test,
    Validation,
}

impl Split {
    /// Accuracy and macro-F1 on this split.
    pub fn metrics(self) -> [Metric; 2] {
        match self {
            Split::Test => [Metric::TestAccuracy, Metric::TestMacroF1],
            Split::Validation => [Metric::ValAccuracy, Metric::ValMacroF1],
        }
    }

    pub fn accuracy(self) -> Metric {
        self.metrics()[0]
    }

    /// The name `--split` takes: `test` or `validation`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Test => "test",
            Split::Validation => "validation",
        }
    }

    /// Suffix of the report's files: empty for the test split, `-val` for validation (so that a
    /// validation report never overwrites the test tables).
    pub fn suffix(self) -> &'static str {
        match self {
            Split::Test => "",
            Split::Validation => "-val",
        }
    }

    /// This split's metrics in `scores` (`None`: the test split was withheld).
    pub fn of(self, scores: &harbench_train::trainer::Scores) -> Option<&harbench_train::metrics::Metrics> {
        match self {
            Split::Test => scores.test.as_ref(),
            Split::Validation => Some(&scores.val),
        }
    }
}

impl std::str::FromStr for Split {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "test" => Ok(Split::Test),
            "validation" | "val" => Ok(Split::Validation),
            _ => Err(format!("unknown split '{s}': test or validation")),
        }
    }
}

/// Which model of a run is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Checkpoint {
    /// The best-validation checkpoint (model selection on the validation split).
    #[default]
    Best,
    /// The model after the last epoch (a fixed schedule; nothing selected). Where the validation
    /// split is small and noisy (UCI-HAR's three subjects), this is the number to quote.
    Last,
    /// A diagnostic, never a result: the epoch with the best test accuracy, the SMLDist authors'
    /// selection (their held-out probands are also their validation set). Only runs with
    /// `test_every_epoch` have it; it shows how much that protocol inflates a row.
    BestTest,
}

impl Checkpoint {
    pub fn of(self, r: &RunRecord) -> Option<&Headline> {
        match self {
            Checkpoint::Best => r.best.as_ref(),
            Checkpoint::Last => r.last.as_ref(),
            Checkpoint::BestTest => r.best_test.as_ref(),
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Checkpoint::Best => "Best-validation checkpoint",
            Checkpoint::Last => "Last-epoch model",
            Checkpoint::BestTest => "Best epoch on the test subjects (the authors' protocol; optimistic, a diagnostic)",
        }
    }

    /// The name `--checkpoint` takes: `best`, `last` or `best-test`.
    pub fn name(self) -> &'static str {
        match self {
            Checkpoint::Best => "best",
            Checkpoint::Last => "last",
            Checkpoint::BestTest => "best-test",
        }
    }

    /// Stem of the table files: `tables` for the best checkpoint, `tables-last` for the last
    /// (then [`Split::suffix`]).
    pub fn file_stem(self) -> &'static str {
        match self {
            Checkpoint::Best => "tables",
            Checkpoint::Last => "tables-last",
            Checkpoint::BestTest => "tables-best-test",
        }
    }

    /// Suffix of the other report files (`report.html`, `figures/`): empty for the best checkpoint.
    pub fn suffix(self) -> &'static str {
        match self {
            Checkpoint::Best => "",
            Checkpoint::Last => "-last",
            Checkpoint::BestTest => "-best-test",
        }
    }

    /// The scores of this checkpoint in a run's output (with its confusion matrix); the
    /// best-test diagnostic has none.
    pub fn scores(self, o: &harbench_train::TrainOutcome) -> Option<&harbench_train::trainer::Scores> {
        match self {
            Checkpoint::Best => Some(&o.best),
            Checkpoint::Last => Some(&o.last),
            Checkpoint::BestTest => None,
        }
    }
}

impl std::str::FromStr for Checkpoint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [Checkpoint::Best, Checkpoint::Last, Checkpoint::BestTest]
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("unknown checkpoint '{s}': best, last or best-test"))
    }
}

/// What runs are grouped by: everything but the seed and the fold.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Group {
    pub dataset: String,
    pub model: String,
    pub method: String,
}

impl Group {
    pub fn of(r: &RunRecord) -> Group {
        Group { dataset: r.config.dataset.clone(), model: r.config.model.label.clone(), method: r.config.method.label.clone() }
    }
    pub fn key(&self) -> String {
        format!("{}.{}.{}", self.dataset, self.model, self.method)
    }
}

/// Per seed, the metric averaged over that seed's finished folds.
pub fn seed_values(records: &[&RunRecord], metric: Metric, checkpoint: Checkpoint) -> Vec<f64> {
    let mut by_seed: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.finished()) {
        if let Some(value) = checkpoint.of(r).and_then(|h| metric.of(h)) {
            by_seed.entry(r.config.seed).or_default().push(value);
        }
    }
    by_seed.values().map(|v| stats::mean(v)).collect()
}

/// Which way a column's numbers are better (for marking the best value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub kind: TableKind,
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// The number behind each cell of `rows` (a score's mean, a cost), where there is one.
    pub values: Vec<Vec<Option<f64>>>,
    /// The spread of each cell's number (low, high: a latency's p10–p90), where it has one; a
    /// best value is marked only when its spread clears every other row's.
    pub spread: Vec<Vec<Option<(f64, f64)>>>,
    /// Per column: which way is better, for columns of numbers.
    pub better: Vec<Option<Better>>,
    /// Shown under the table (what is missing, what marks mean).
    pub notes: Vec<String>,
    /// Long-format CSV rows: table, dataset, model, method, metric, mean, std, n.
    pub csv: Vec<[String; 8]>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub suite: String,
    /// The commit folder the records come from (several joined by `+`, see `commits`).
    pub commit: String,
    /// When the records of several commits are joined ([`join_commits`]): what each gave.
    pub commits: Vec<CommitRuns>,
    pub machine: String,
    pub checkpoint: Checkpoint,
    /// The split the scores come from.
    pub split: Split,
    /// The split protocols of the suite's runs, e.g. `holdout-subjects (validation 15 % of the
    /// training subjects)`.
    pub protocols: Vec<String>,
    pub tables: Vec<Table>,
    /// The results store's folder as the user named it (`--results`; `results` unless set), so
    /// the provenance names the folders the records are in.
    pub store: String,
    /// Replaces the provenance line when set: a summary of several suites names its own sources.
    pub sources: Option<String>,
}

impl Table {
    /// A table with its columns and nothing in it yet.
    pub fn empty(kind: TableKind, title: impl Into<String>, header: Vec<String>, better: Vec<Option<Better>>) -> Table {
        Table { kind, title: title.into(), header, rows: vec![], values: vec![], spread: vec![], better, notes: vec![], csv: vec![] }
    }

    /// Per column, the rows of its best value (every row that ties, such as rows of one
    /// architecture), for columns that have a direction and at least two values; none when the
    /// best value's spread overlaps another row's (a difference inside the noise).
    pub fn best_rows(&self) -> Vec<Vec<usize>> {
        (0..self.header.len()).map(|c| self.best_in(c)).collect()
    }

    fn spread_of(&self, r: usize, c: usize) -> Option<(f64, f64)> {
        self.spread.get(r).and_then(|row| row.get(c)).copied().flatten()
    }

    fn best_in(&self, c: usize) -> Vec<usize> {
        let Some(better) = self.better.get(c).copied().flatten() else { return vec![] };
        let values: Vec<(usize, f64)> =
            self.values.iter().enumerate().filter_map(|(r, row)| Some((r, row.get(c).copied().flatten()?))).collect();
        if values.len() < 2 {
            return vec![];
        }
        let pick = |a: f64, b: f64| match better {
            Better::Higher => b > a,
            Better::Lower => b < a,
        };
        let best = values.iter().map(|v| v.1).reduce(|a, b| if pick(a, b) { b } else { a }).expect("two values");
        let (tied, others): (Vec<_>, Vec<_>) = values.into_iter().partition(|v| v.1 == best);
        let (low, high) = self.spread_of(tied[0].0, c).unwrap_or((best, best));
        let clears = |(r, v): &(usize, f64)| {
            let (o_low, o_high) = self.spread_of(*r, c).unwrap_or((*v, *v));
            match better {
                Better::Lower => high < o_low,
                Better::Higher => low > o_high,
            }
        };
        if others.iter().all(clears) {
            tied.into_iter().map(|v| v.0).collect()
        } else {
            vec![]
        }
    }
}

/// The split protocols of `plan`'s runs, described.
fn protocols(plan: &Plan) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in &plan.runs {
        let s = &r.split;
        let text = match s.protocol {
            harbench_data::split::Protocol::Random => {
                format!("random windows (validation {:.0} %, test {:.0} %)", 100.0 * s.val_fraction, 100.0 * s.test_fraction)
            }
            p => format!("{p} (validation: {:.0} % of the training subjects)", 100.0 * s.val_fraction),
        };
        if !out.contains(&text) {
            out.push(text);
        }
    }
    out
}

pub(crate) fn pct(mean: f64, std: f64) -> String {
    format!("{:.2} ± {:.2}", 100.0 * mean, 100.0 * std)
}

/// The records that belong to the plan as it is now (same run key, same settings).
pub fn current<'a>(plan: &Plan, records: &'a [RunRecord]) -> Vec<&'a RunRecord> {
    let planned: BTreeMap<&str, String> = plan.runs.iter().map(|r| (r.key.as_str(), r.config_hash())).collect();
    records.iter().filter(|r| planned.get(r.key.as_str()) == Some(&r.config_hash)).collect()
}

/// The plan's datasets, in plan order.
pub fn datasets(plan: &Plan) -> Vec<String> {
    let mut datasets: Vec<String> = Vec::new();
    for r in &plan.runs {
        if !datasets.contains(&r.dataset) {
            datasets.push(r.dataset.clone());
        }
    }
    datasets
}

/// Builds the suite's tables (all four when the suite names none) from `records`, scoring
/// `checkpoint` on `split`. Records whose settings no longer match the plan are left out and
/// counted in a note.
pub fn build(
    plan: &Plan,
    records: &[RunRecord],
    commit: &str,
    machine: &str,
    checkpoint: Checkpoint,
    split: Split,
    profiles: &[harbench_suite::profiles::ArchitectureProfile],
) -> Report {
    let current = current(plan, records);
    let stale = records.len() - current.len();
    let kinds = if plan.tables.is_empty() { TableKind::ALL.to_vec() } else { plan.tables.clone() };
    let datasets = datasets(plan);
    let tables = kinds
        .into_iter()
        .map(|kind| {
            let mut t = match kind {
                TableKind::Cost => crate::cost_table::cost_table(plan, &current, profiles),
                TableKind::Checkpoints => crate::checkpoints_table::checkpoints_table(plan, &current),
                _ => score_table(kind, plan, &current, &datasets, checkpoint, split),
            };
            if stale > 0 {
                t.notes.push(format!("{stale} recorded run(s) with settings that differ from the suite now are left out."));
            }
            t
        })
        .collect();
    Report {
        suite: plan.suite.clone(),
        commit: commit.into(),
        commits: Vec::new(),
        machine: machine.into(),
        checkpoint,
        split,
        protocols: protocols(plan),
        tables,
        sources: None,
        store: "results".into(),
    }
}

/// What one result set (a commit folder on one machine folder) gave to a report that joins several.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitRuns {
    pub commit: String,
    /// The machine folder under the commit folder.
    pub machine: String,
    /// The kernels its `machine.json` names ([`harbench_suite::machine::Kernels::describe`]; `None`: not
    /// recorded there).
    pub kernels: Option<String>,
    /// Records taken from this folder.
    pub runs: usize,
    /// The groups they belong to (dataset, model and method: `uci-har.cnn3.none`, [`Group::key`]),
    /// once each.
    pub rows: Vec<String>,
}

pub use harbench_suite::sets::ResultSet;

/// Joins the records of one suite run at several commits (a suite continued after a code
/// change, with the rows it added at the new commit), or on several machines (rows added on
/// other kernels, kept in a machine folder of their own): each run key is taken from the first
/// set, in the order given, that has it finished, else from the first that has it at all.
/// Returns the records and what each set gave.
pub fn join_commits(sets: Vec<ResultSet>) -> (Vec<RunRecord>, Vec<CommitRuns>) {
    let mut chosen: BTreeMap<String, (bool, usize, RunRecord)> = BTreeMap::new();
    for (index, set) in sets.iter().enumerate() {
        for r in &set.records {
            let better = chosen.get(&r.key).is_none_or(|(finished, _, _)| !finished && r.finished());
            if better {
                chosen.insert(r.key.clone(), (r.finished(), index, r.clone()));
            }
        }
    }
    let mut parts: Vec<CommitRuns> = sets
        .into_iter()
        .map(|set| CommitRuns { commit: set.commit, machine: set.machine, kernels: set.kernels, runs: 0, rows: Vec::new() })
        .collect();
    let mut records = Vec::new();
    for (_, (_, index, record)) in chosen {
        let part = &mut parts[index];
        part.runs += 1;
        let row = Group::of(&record).key();
        if !part.rows.contains(&row) {
            part.rows.push(row);
        }
        records.push(record);
    }
    (records, parts)
}

/// The machine folders of joined result sets, each once, in order, joined by `+`.
pub fn machines_of(parts: &[CommitRuns]) -> String {
    first_seen(parts.iter().map(|p| p.machine.as_str())).join("+")
}

/// `items` without repeats, each where it first appears.
pub fn first_seen<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

pub fn title(kind: TableKind) -> &'static str {
    match kind {
        TableKind::Har => "SMLDist and the HAR architectures",
        TableKind::Kd => "Distillation methods compared",
        TableKind::Cost => "Cost",
        TableKind::Ablation => "SMLDist ablation",
        TableKind::Checkpoints => "Test accuracy at each checkpoint, against the model trained alone",
    }
}

/// Rows (model, method) in plan order for the runs of experiment `kind` (and the teacher in har
/// and kd; every run in checkpoints).
pub fn rows_of(kind: TableKind, plan: &Plan) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = Vec::new();
    for r in &plan.runs {
        let wanted = kind == TableKind::Checkpoints
            || r.experiments.iter().any(|e| e == kind.name())
            || (matches!(kind, TableKind::Har | TableKind::Kd) && r.role == Role::Teacher);
        let row = (r.model.label.clone(), r.method.label.clone());
        if wanted && !rows.contains(&row) {
            rows.push(row);
        }
    }
    rows
}

fn score_table(kind: TableKind, plan: &Plan, records: &[&RunRecord], datasets: &[String], checkpoint: Checkpoint, split: Split) -> Table {
    let rows = rows_of(kind, plan);
    // Distilled rows are compared with their model trained alone (method `none`).
    let compares = rows.iter().any(|(_, method)| method != NO_DISTILLATION);
    // The har table asks whether the distilled student beats the HAR architectures trained
    // alone: with one distilled row, every other row is compared with it too.
    let reference = match kind {
        TableKind::Har => only_distilled_row(&rows),
        _ => None,
    };
    let planned_seeds = plan.runs.iter().map(|r| r.seed).collect::<std::collections::BTreeSet<_>>().len();
    let mut s = ScoreTable {
        table: score_header(kind, datasets, compares, reference.as_ref()),
        plan,
        records,
        checkpoint,
        split,
        compares,
        reference,
        planned_seeds,
        seen: Seen::default(),
    };
    if rows.is_empty() {
        s.table.notes.push(format!("The suite has no experiment named '{}'.", kind.name()));
        return s.table;
    }
    for (model, method) in rows {
        s.row(&model, &method, datasets);
    }
    s.finish()
}

/// The score table's header: model, method, and per dataset accuracy, macro-F1 and the
/// comparison columns.
fn score_header(kind: TableKind, datasets: &[String], compares: bool, reference: Option<&(String, String)>) -> Table {
    let mut header = vec!["model".to_string(), "method".to_string()];
    let mut better = vec![None, None];
    for d in datasets {
        header.extend([format!("{d} acc %"), format!("{d} F1 %")]);
        better.extend([Some(Better::Higher), Some(Better::Higher)]);
        if compares {
            header.push(format!("{d} Δacc vs alone"));
            better.push(None);
        }
        if let Some((model, method)) = reference {
            header.push(format!("{d} Δacc vs {model} {method}"));
            better.push(None);
        }
    }
    Table::empty(kind, title(kind), header, better)
}

/// What the cells of a score table met, for its notes.
#[derive(Default)]
struct Seen {
    any: bool,
    short: bool,
    failed: usize,
    unavailable: usize,
    withheld: bool,
    joined: Vec<String>,
}

/// A score table while its rows are filled.
struct ScoreTable<'a> {
    table: Table,
    plan: &'a Plan,
    records: &'a [&'a RunRecord],
    checkpoint: Checkpoint,
    split: Split,
    /// Distilled rows are compared with their model trained alone.
    compares: bool,
    /// The row every other row is compared with (the har table's one distilled row).
    reference: Option<(String, String)>,
    planned_seeds: usize,
    seen: Seen,
}

impl<'a> ScoreTable<'a> {
    fn runs_of(&self, d: &str, model: &str, method: &str) -> Vec<&'a RunRecord> {
        let matches = |r: &&&RunRecord| r.config.dataset == d && r.config.model.label == model && r.config.method.label == method;
        self.records.iter().filter(matches).copied().collect()
    }

    /// One row: per dataset its metrics and comparisons.
    fn row(&mut self, model: &str, method: &str, datasets: &[String]) {
        let mut cells = vec![model.to_string(), method.to_string()];
        let mut numbers = vec![None, None];
        for d in datasets {
            let group = self.runs_of(d, model, method);
            self.seen.failed += group.iter().filter(|r| !r.finished() && !r.unavailable).count();
            self.seen.unavailable += group.iter().filter(|r| r.unavailable).count();
            let sets = seeds_by_set(&group);
            let from_several = sets.len() > 1;
            if from_several {
                self.seen.joined.push(format!("{model} {method} on {d}: {}", describe_sets(&sets)));
            }
            let mut accuracies = vec![];
            for metric in self.split.metrics() {
                let values = seed_values(&group, metric, self.checkpoint);
                if metric == self.split.accuracy() {
                    accuracies.clone_from(&values);
                }
                let (cell, number) = self.metric_cell(d, (model, method), &group, &values, metric, from_several);
                cells.push(cell);
                numbers.push(number);
            }
            if self.compares {
                let alone = seed_values(&self.runs_of(d, model, NO_DISTILLATION), self.split.accuracy(), self.checkpoint);
                let (text, delta) = versus(&accuracies, &alone, method == NO_DISTILLATION);
                cells.push(text);
                numbers.push(delta);
            }
            if let Some((ref_model, ref_method)) = &self.reference {
                let theirs = seed_values(&self.runs_of(d, ref_model, ref_method), self.split.accuracy(), self.checkpoint);
                let (text, delta) = versus(&accuracies, &theirs, (model, method) == (ref_model.as_str(), ref_method.as_str()));
                cells.push(text);
                numbers.push(delta);
            }
        }
        self.table.rows.push(cells);
        self.table.values.push(numbers);
    }

    /// One metric's cell (mean ± std, marked) and its CSV line, or the state of a row without
    /// values: not planned, not run, n/a, withheld or failed.
    fn metric_cell(
        &mut self,
        d: &str,
        (model, method): (&str, &str),
        group: &[&RunRecord],
        values: &[f64],
        metric: Metric,
        from_several: bool,
    ) -> (String, Option<f64>) {
        if values.is_empty() {
            let planned = self.plan.runs.iter().any(|r| r.dataset == d && r.model.label == model && r.method.label == method);
            let state = if !planned {
                ""
            } else if group.is_empty() {
                "—"
            } else if group.iter().all(|r| r.unavailable) {
                "n/a"
            } else if group.iter().any(|r| r.finished()) {
                // Finished without this split's score: the runs withheld the test split.
                self.seen.withheld = true;
                "withheld"
            } else {
                "failed"
            };
            return (state.into(), None);
        }
        self.seen.any = true;
        let (m, s) = (stats::mean(values), stats::std_dev(values));
        let few = values.len() < self.planned_seeds;
        self.seen.short |= few;
        let mark = format!("{}{}", if few { "*" } else { "" }, if from_several { "†" } else { "" });
        let names = [self.table.kind.name(), d, model, method, metric.name()].map(String::from);
        let [kind, dataset, model, method, metric] = names;
        self.table.csv.push([kind, dataset, model, method, metric, format!("{m}"), format!("{s}"), values.len().to_string()]);
        (format!("{}{mark}", pct(m, s)), Some(100.0 * m))
    }

    /// The table with its notes: what the numbers are, and what is missing and why.
    fn finish(self) -> Table {
        let (mut t, seen, split) = (self.table, self.seen, self.split);
        if !seen.any {
            t.notes.insert(0, "No finished runs yet: run `harbench run` on this suite first.".into());
        }
        t.notes.push(format!(
            "{} on the {} split, mean ± std over {} seed(s); — not run yet{}.",
            self.checkpoint.describe(),
            split.name(),
            self.planned_seeds,
            if seen.short { "; * fewer seeds than planned" } else { "" }
        ));
        if !seen.joined.is_empty() {
            t.notes.push(format!(
                "† seeds from several result sets (commit on machine): {}. A seed on other CPU kernels is another draw of the same \
                 experiment, not a re-run of the same numbers, and a distilled seed there learnt from that set's own teacher of the seed.",
                seen.joined.join("; ")
            ));
        }
        if self.compares {
            t.notes.push(format!(
                "Δacc vs alone: mean {} accuracy minus that of the same model trained without distillation (method none), in \
                     points, and the two-sided Welch's t-test over seeds (p); a blank p needs two seeds on each side.",
                split.name()
            ));
        }
        if let Some((model, method)) = &self.reference {
            t.notes.push(format!(
                "Δacc vs {model} {method}: mean {} accuracy of the row minus that of {model} {method}, in points, and the two-sided \
                 Welch's t-test over seeds (p): whether the distilled model beats each model trained alone.",
                split.name()
            ));
        }
        if seen.withheld {
            t.notes.push(
                "withheld: the runs withheld the test split (`test_split: withheld`, selection runs); `harbench report --split \
                 validation` shows their validation scores."
                    .into(),
            );
        }
        if seen.failed > 0 {
            t.notes.push(format!("{} run(s) failed; their reasons are in the run records (`failure`).", seen.failed));
        }
        if seen.unavailable > 0 {
            t.notes.push(format!("n/a: {} run(s) need a method or model this build does not have.", seen.unavailable));
        }
        t
    }
}

/// The seeds of a row's finished runs by the result set that made them (`commit on machine`, from
/// each record's own git commit and machine folder), in order of their first seed.
fn seeds_by_set(group: &[&RunRecord]) -> Vec<(String, Vec<u64>)> {
    let mut sets: Vec<(String, Vec<u64>)> = Vec::new();
    let mut finished: Vec<&&RunRecord> = group.iter().filter(|r| r.finished()).collect();
    finished.sort_by_key(|r| r.config.seed);
    for r in finished {
        let commit = r.git.commit.as_deref().map_or("no commit".to_string(), |c| c.chars().take(12).collect());
        let label = format!("{commit} on {}", r.machine);
        match sets.iter_mut().find(|(l, _)| *l == label) {
            Some((_, seeds)) if !seeds.contains(&r.config.seed) => seeds.push(r.config.seed),
            Some(_) => {}
            None => sets.push((label, vec![r.config.seed])),
        }
    }
    sets
}

/// `0, 1, 2`: seeds as a reader lists them.
pub(crate) fn seed_list(seeds: &[u64]) -> String {
    seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

/// `seeds 0, 1 from A, seed 2 from B`.
fn describe_sets(sets: &[(String, Vec<u64>)]) -> String {
    let part = |(label, seeds): &(String, Vec<u64>)| {
        format!("{} {} from {label}", if seeds.len() == 1 { "seed" } else { "seeds" }, seed_list(seeds))
    };
    sets.iter().map(part).collect::<Vec<_>>().join(", ")
}

/// The one distilled row (method other than `none`) among `rows`, if there is exactly one.
fn only_distilled_row(rows: &[(String, String)]) -> Option<(String, String)> {
    match rows.iter().filter(|(_, method)| method != NO_DISTILLATION).collect::<Vec<_>>()[..] {
        [row] => Some(row.clone()),
        _ => None,
    }
}

/// The cell comparing a row's per-seed accuracies with a reference row's (its model trained
/// alone, or the har table's distilled student), e.g. `+1.23 (p 0.041)`, and the difference in
/// points; empty for the reference row itself.
pub(crate) fn versus(values: &[f64], reference: &[f64], is_reference: bool) -> (String, Option<f64>) {
    if is_reference {
        return (String::new(), None);
    }
    if values.is_empty() || reference.is_empty() {
        return ("—".into(), None);
    }
    let delta = 100.0 * (stats::mean(values) - stats::mean(reference));
    let text = match stats::welch(values, reference) {
        Some(w) => format!("{delta:+.2} (p {})", p_value(w.p)),
        None => format!("{delta:+.2}"),
    };
    (text, Some(delta))
}

/// p with three significant decimals, small values in scientific notation.
pub(crate) fn p_value(p: f64) -> String {
    if p < 0.001 {
        format!("{p:.1e}")
    } else {
        format!("{p:.3}")
    }
}

impl Table {
    fn grid(&self, style: impl FnOnce(&mut tabled::Table)) -> String {
        let mut b = Builder::new();
        b.push_record(self.header.clone());
        for r in &self.rows {
            b.push_record(r.clone());
        }
        let mut table = b.build();
        style(&mut table);
        table.to_string()
    }
}

impl Report {
    pub fn heading(&self) -> String {
        if self.sources.is_some() {
            return self.suite.clone();
        }
        format!("suite {}, commit {}, machine {}", self.suite, self.commit, self.machine)
    }

    /// Where the numbers come from, in the store's terms: checkpoint, split protocol, commit and
    /// machine.
    pub fn provenance(&self) -> String {
        if let Some(sources) = &self.sources {
            return format!("{} scored on the {} split; {sources}", self.checkpoint.describe(), self.split.name());
        }
        let scored = format!(
            "{} scored on the {} split; split: {}",
            self.checkpoint.describe(),
            self.split.name(),
            if self.protocols.is_empty() { "none planned".to_string() } else { self.protocols.join("; ") }
        );
        if self.commits.len() <= 1 {
            let (commit, machine, suite, store) = (&self.commit, &self.machine, &self.suite, &self.store);
            return format!("{scored}; commit {commit}, machine {machine} ({store}/{suite}/{commit}/{machine}).");
        }
        // Sets of one machine are named by their commit; of several, by commit and machine,
        // with each machine's kernels, since numbers depend on them (docs/results.md).
        let one_machine = self.commits.iter().all(|c| c.machine == self.commits[0].machine);
        let label = |c: &CommitRuns| if one_machine { c.commit.clone() } else { format!("{} on {}", c.commit, c.machine) };
        let parts: Vec<String> = self
            .commits
            .iter()
            .enumerate()
            // The first set gives most rows; the later ones name theirs.
            .map(|(i, c)| match i {
                0 => format!("{} ({} run(s))", label(c), c.runs),
                _ => format!("{} ({} run(s): {})", label(c), c.runs, if c.rows.is_empty() { "none".into() } else { c.rows.join(", ") }),
            })
            .collect();
        let (n, parts, suite, store) = (self.commits.len(), parts.join("; "), &self.suite, &self.store);
        if one_machine {
            let folders: Vec<&str> = self.commits.iter().map(|c| c.commit.as_str()).collect();
            let machine = &self.machine;
            return format!(
                "{scored}; the suite's records of {n} commits joined, each run from the first commit that has it: {parts}; machine {machine} ({store}/{suite}/{{{}}}/{machine}).",
                folders.join(",")
            );
        }
        let kernels = first_seen(self.commits.iter().map(|c| format!("{} {}", c.machine, c.kernels.as_deref().unwrap_or("not recorded"))));
        let folders: Vec<String> = self.commits.iter().map(|c| format!("{}/{}", c.commit, c.machine)).collect();
        format!(
            "{scored}; the suite's records of {n} result sets joined, each run from the first set that has it: {parts}; kernels: {} ({store}/{suite}/{{{}}}).",
            kernels.join("; "),
            folders.join(",")
        )
    }

    pub fn terminal(&self) -> String {
        let mut out = format!("{}\n{}\n", self.heading(), self.provenance());
        for t in &self.tables {
            out.push_str(&format!("\n{} ({})\n", t.title, t.kind.name()));
            out.push_str(&t.grid(|g| {
                g.with(Style::sharp());
            }));
            out.push('\n');
            for n in &t.notes {
                out.push_str(&format!("  {n}\n"));
            }
        }
        out
    }

    pub fn markdown(&self) -> String {
        let mut out = format!("# Results: {}\n\nWritten by `harbench report`. {}\n", self.heading(), self.provenance());
        for t in &self.tables {
            out.push_str(&format!("\n## {} (`{}`)\n\n", t.title, t.kind.name()));
            out.push_str(&t.grid(|g| {
                g.with(Style::markdown());
            }));
            out.push_str("\n\n");
            for n in &t.notes {
                out.push_str(&format!("{n}\n"));
            }
        }
        out
    }

    pub fn csv(&self) -> String {
        let mut out = String::from("table,dataset,model,method,metric,mean,std,n\n");
        for t in &self.tables {
            for row in &t.csv {
                out.push_str(&row.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(","));
                out.push('\n');
            }
        }
        out
    }
}

/// RFC 4180 quoting where needed.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
