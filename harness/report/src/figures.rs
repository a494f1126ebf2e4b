//! What the figures show, worked out from a suite's plan and records, apart from drawing them:
//! accuracy against cost with its Pareto front, per-method bars, training curves and confusion
//! matrices. Each is plain data, so tests check the numbers without looking at pixels.

use crate::cost_table;
use crate::report::{self, seed_values, Checkpoint, CostCells, Metric, Split};
use harbench_suite::plan::Plan;
use harbench_suite::profiles::{ArchitectureProfile, ProfileDevice};
use harbench_suite::record::RunRecord;
use harbench_suite::spec::TableKind;
use std::collections::BTreeMap;

/// A cost a model is plotted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    Parameters,
    Macs,
    /// Single-window latency, milliseconds.
    Latency,
    /// Energy per single-window inference, millijoules.
    Energy,
}

impl Axis {
    pub const ALL: [Axis; 4] = [Axis::Parameters, Axis::Macs, Axis::Latency, Axis::Energy];

    pub fn name(self) -> &'static str {
        match self {
            Axis::Parameters => "params",
            Axis::Macs => "macs",
            Axis::Latency => "latency",
            Axis::Energy => "energy",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Axis::Parameters => "learned parameters (log scale)",
            Axis::Macs => "MACs per window (log scale)",
            Axis::Latency => "single-window latency, ms (log scale)",
            Axis::Energy => "energy per window, mJ (log scale)",
        }
    }

    /// The group's value on this axis: mean parameters, or the median over its runs' profiles.
    fn of(self, runs: &[&RunRecord]) -> Option<f64> {
        let finished: Vec<&&RunRecord> = runs.iter().filter(|r| r.finished()).collect();
        if self == Axis::Parameters {
            let p: Vec<f64> = finished.iter().filter_map(|r| r.parameters.map(|p| p as f64)).collect();
            return harbench_common::stats::mean(&p);
        }
        let profiles: Vec<&harbench_cost::Profile> = finished.iter().filter_map(|r| r.profile()).collect();
        let cells = CostCells::of(&profiles);
        match self {
            Axis::Parameters => unreachable!("handled above"),
            Axis::Macs => cells.macs,
            Axis::Latency => cells.latency_s.map(|s| s * 1e3),
            Axis::Energy => cells.energy_j.map(|j| j * 1e3),
        }
    }
}

/// A model/method on one dataset: its score over seeds (percent) and its cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub model: String,
    pub method: String,
    pub x: f64,
    /// Mean over seeds, percent.
    pub y: f64,
    /// Sample standard deviation over seeds, percent (0 with one seed).
    pub y_std: f64,
    pub seeds: usize,
}

impl Point {
    pub fn label(&self) -> String {
        label(&self.model, &self.method)
    }
}

/// How a row is named in figures: the model, and the method unless it is `none`.
pub fn label(model: &str, method: &str) -> String {
    if method == "none" {
        model.to_string()
    } else {
        format!("{model} + {method}")
    }
}

/// The indices of the points that no other point dominates, fewer cost (x) and a higher score
/// (y) being better: p is dominated when some q has q.x ≤ p.x and q.y ≥ p.y, one of them strictly.
/// Sorted by x. Equal points are all kept.
pub fn pareto_front(points: &[(f64, f64)]) -> Vec<usize> {
    let dominated = |p: (f64, f64)| points.iter().any(|&q| q.0 <= p.0 && q.1 >= p.1 && (q.0 < p.0 || q.1 > p.1));
    let mut front: Vec<usize> = (0..points.len()).filter(|&i| !dominated(points[i])).collect();
    front.sort_by(|&a, &b| points[a].0.total_cmp(&points[b].0).then(points[b].1.total_cmp(&points[a].1)));
    front
}

/// Score against one cost on one dataset, with the Pareto front.
#[derive(Debug, Clone, PartialEq)]
pub struct Scatter {
    pub dataset: String,
    pub axis: Axis,
    pub metric: Metric,
    pub points: Vec<Point>,
    /// Indices into `points`, by increasing cost.
    pub front: Vec<usize>,
    /// Latency and energy: the device of the per-architecture profiles they come from (`None`:
    /// the runs' own profiles, or an axis that needs none).
    pub device: Option<ProfileDevice>,
}

impl Scatter {
    /// The x axis's caption and label part naming the device, e.g. ` on jetson MAXN`.
    pub fn on_device(&self) -> String {
        self.device.as_ref().map(|d| format!(" on {}", d.label)).unwrap_or_default()
    }
}

/// A group's latency (ms) or energy (mJ) on `device`, from its architecture's profile there.
fn device_value(axis: Axis, profiles: &[ArchitectureProfile], device: &ProfileDevice, runs: &[&RunRecord]) -> Option<f64> {
    let p = &cost_table::profile_on(profiles, device, runs)?.profile;
    match axis {
        Axis::Latency => Some(p.single.latency.median * 1e3),
        Axis::Energy => p.energy.joules_per_window().map(|j| j * 1e3),
        Axis::Parameters | Axis::Macs => None,
    }
}

/// The (model, method) rows of every run of `plan`, in plan order.
fn all_rows(plan: &Plan) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = Vec::new();
    for r in &plan.runs {
        let row = (r.model.label.clone(), r.method.label.clone());
        if !rows.contains(&row) {
            rows.push(row);
        }
    }
    rows
}

/// The records of one dataset, model and method.
fn group<'a>(records: &[&'a RunRecord], dataset: &str, model: &str, method: &str) -> Vec<&'a RunRecord> {
    records
        .iter()
        .copied()
        .filter(|r| r.config.dataset == dataset && r.config.model.label == model && r.config.method.label == method)
        .collect()
}

/// Every model/method with a score and a cost, per dataset, axis and metric. Latency and energy
/// come from the per-architecture `profiles`, one figure per device, when there are any, else
/// from the runs' own profiles. Axes no run has a value for (energy without a meter) are left out.
pub fn scatters(
    plan: &Plan,
    records: &[&RunRecord],
    profiles: &[ArchitectureProfile],
    checkpoint: Checkpoint,
    split: Split,
) -> Vec<Scatter> {
    let devices = cost_table::devices(profiles);
    let mut out = Vec::new();
    for dataset in report::datasets(plan) {
        for axis in Axis::ALL {
            let on_devices = !devices.is_empty() && matches!(axis, Axis::Latency | Axis::Energy);
            let sources: Vec<Option<&ProfileDevice>> = if on_devices { devices.iter().copied().map(Some).collect() } else { vec![None] };
            for device in sources {
                for metric in split.metrics() {
                    let x_of = |runs: &[&RunRecord]| match device {
                        Some(d) => device_value(axis, profiles, d, runs),
                        None => axis.of(runs),
                    };
                    let points = points(plan, records, &dataset, metric, checkpoint, x_of);
                    if points.is_empty() {
                        continue;
                    }
                    let front = pareto_front(&points.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>());
                    out.push(Scatter { dataset: dataset.clone(), axis, metric, points, front, device: device.cloned() });
                }
            }
        }
    }
    out
}

/// One dataset's points (model/method with a score) against the cost `x_of` gives their runs.
fn points(
    plan: &Plan,
    records: &[&RunRecord],
    dataset: &str,
    metric: Metric,
    checkpoint: Checkpoint,
    x_of: impl Fn(&[&RunRecord]) -> Option<f64>,
) -> Vec<Point> {
    let mut points = Vec::new();
    for (model, method) in all_rows(plan) {
        let runs = group(records, dataset, &model, &method);
        let values = seed_values(&runs, metric, checkpoint);
        let Some(x) = x_of(&runs).filter(|x| *x > 0.0) else { continue };
        if values.is_empty() {
            continue;
        }
        let y = 100.0 * crate::stats::mean(&values);
        let y_std = 100.0 * crate::stats::std_dev(&values);
        points.push(Point { model, method, x, y, y_std, seeds: values.len() });
    }
    points
}

/// One bar: a row's score over seeds, percent.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub mean: f64,
    pub std: f64,
    pub seeds: usize,
}

/// A score table as a figure: one bar per row, for one dataset and metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    pub table: TableKind,
    pub dataset: String,
    pub metric: Metric,
    pub bars: Vec<Bar>,
}

/// Bars of each score table the suite asks for, per dataset and metric (rows without a finished
/// run are left out).
pub fn bars(plan: &Plan, records: &[&RunRecord], checkpoint: Checkpoint, split: Split) -> Vec<Bars> {
    let kinds = if plan.tables.is_empty() { TableKind::ALL.to_vec() } else { plan.tables.clone() };
    let mut out = Vec::new();
    for table in kinds.into_iter().filter(|k| !matches!(k, TableKind::Cost | TableKind::Checkpoints)) {
        for dataset in report::datasets(plan) {
            for metric in split.metrics() {
                let bars: Vec<Bar> = report::rows_of(table, plan)
                    .into_iter()
                    .filter_map(|(model, method)| {
                        let values = seed_values(&group(records, &dataset, &model, &method), metric, checkpoint);
                        (!values.is_empty()).then(|| Bar {
                            label: label(&model, &method),
                            mean: 100.0 * crate::stats::mean(&values),
                            std: 100.0 * crate::stats::std_dev(&values),
                            seeds: values.len(),
                        })
                    })
                    .collect();
                if !bars.is_empty() {
                    out.push(Bars { table, dataset: dataset.clone(), metric, bars });
                }
            }
        }
    }
    out
}

/// One row's training curve: per epoch, the mean over its runs that reached that epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    pub label: String,
    /// (epoch, mean training loss).
    pub train_loss: Vec<(f64, f64)>,
    /// (epoch, mean validation macro-F1, percent).
    pub val_macro_f1: Vec<(f64, f64)>,
    pub runs: usize,
}

/// The training curves of every row of one dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Curves {
    pub dataset: String,
    pub curves: Vec<Curve>,
}

/// Per dataset, each row's training loss and validation macro-F1 per epoch, from the records'
/// histories (mean over the seeds and folds that ran the epoch).
pub fn curves(plan: &Plan, records: &[&RunRecord]) -> Vec<Curves> {
    let mut out = Vec::new();
    for dataset in report::datasets(plan) {
        let mut curves = Vec::new();
        for (model, method) in all_rows(plan) {
            let runs: Vec<&RunRecord> = group(records, &dataset, &model, &method).into_iter().filter(|r| r.finished()).collect();
            let mut loss: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
            let mut f1: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
            for r in &runs {
                for e in r.output.iter().flat_map(|o| &o.outcome.history) {
                    loss.entry(e.epoch).or_default().push(e.train_loss);
                    f1.entry(e.epoch).or_default().push(100.0 * e.val_macro_f1);
                }
            }
            if loss.is_empty() {
                continue;
            }
            let mean_per_epoch = |m: BTreeMap<usize, Vec<f64>>| -> Vec<(f64, f64)> {
                m.into_iter()
                    .filter_map(|(e, v)| Some((e as f64, harbench_common::stats::mean(&v)?)))
                    .filter(|(_, v)| v.is_finite())
                    .collect()
            };
            curves.push(Curve {
                label: label(&model, &method),
                train_loss: mean_per_epoch(loss),
                val_macro_f1: mean_per_epoch(f1),
                runs: runs.len(),
            });
        }
        if !curves.is_empty() {
            out.push(Curves { dataset, curves });
        }
    }
    out
}

/// A row's test confusion matrix, summed over its runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfusionMap {
    pub dataset: String,
    pub model: String,
    pub method: String,
    pub classes: Vec<String>,
    /// `counts[true][predicted]`.
    pub counts: Vec<Vec<usize>>,
    pub runs: usize,
}

impl ConfusionMap {
    /// Each true class's share of predictions per predicted class (rows sum to 1; 0 for an
    /// empty row).
    pub fn row_shares(&self) -> Vec<Vec<f64>> {
        self.counts
            .iter()
            .map(|row| {
                let total: usize = row.iter().sum();
                row.iter().map(|&c| if total == 0 { 0.0 } else { c as f64 / total as f64 }).collect()
            })
            .collect()
    }
}

/// Per dataset and row, the confusion matrix of the scored checkpoint on `split`, summed over
/// runs (runs that withheld the test split have none there).
pub fn confusions(plan: &Plan, records: &[&RunRecord], checkpoint: Checkpoint, split: Split) -> Vec<ConfusionMap> {
    let mut out = Vec::new();
    for dataset in report::datasets(plan) {
        for (model, method) in all_rows(plan) {
            let mut map: Option<ConfusionMap> = None;
            for r in group(records, &dataset, &model, &method).into_iter().filter(|r| r.finished()) {
                let Some(output) = &r.output else { continue };
                let Some(scores) = checkpoint.scores(&output.outcome).and_then(|s| split.of(s)) else { continue };
                let counts = &scores.confusion;
                let m = map.get_or_insert_with(|| ConfusionMap {
                    dataset: dataset.clone(),
                    model: model.clone(),
                    method: method.clone(),
                    classes: output.dataset.classes.clone(),
                    counts: vec![vec![0; counts.len()]; counts.len()],
                    runs: 0,
                });
                if m.counts.len() != counts.len() {
                    continue;
                }
                for (sum, row) in m.counts.iter_mut().zip(counts) {
                    for (s, c) in sum.iter_mut().zip(row) {
                        *s += c;
                    }
                }
                m.runs += 1;
            }
            out.extend(map);
        }
    }
    out
}

/// The cross-dataset summary as bars: a panel per dataset, a bar per row with a finished run.
pub fn summary_bars(summary: &crate::summary::Summary) -> Vec<Bars> {
    summary
        .datasets
        .iter()
        .enumerate()
        .filter_map(|(d, dataset)| {
            let bars: Vec<Bar> = summary
                .rows
                .iter()
                .zip(&summary.cells)
                .filter_map(|((model, method), cells)| {
                    cells[d].as_ref().map(|c| Bar { label: label(model, method), mean: 100.0 * c.mean, std: 100.0 * c.std, seeds: c.seeds })
                })
                .collect();
            (!bars.is_empty()).then(|| Bars { table: TableKind::Kd, dataset: dataset.clone(), metric: summary.split.accuracy(), bars })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_front_keeps_exactly_the_points_nothing_dominates() {
        // (cost, score): b dominates a (cheaper and better); c is better but dearer than b;
        // d is dominated by c; e ties b exactly and stays; f is the cheapest.
        let points = [(10.0, 80.0), (5.0, 85.0), (20.0, 90.0), (30.0, 89.0), (5.0, 85.0), (1.0, 50.0)];
        assert_eq!(pareto_front(&points), vec![5, 1, 4, 2]);
        assert_eq!(pareto_front(&[]), Vec::<usize>::new());
        assert_eq!(pareto_front(&[(3.0, 1.0)]), vec![0]);
    }
}
