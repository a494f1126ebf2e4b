//! The cost table: parameters and MACs of each row's trained model, and what it costs to run.
//!
//! Latency and energy come from the quiet per-architecture profiles of `harbench profile SUITE`
//! ([`harbench_suite::profiles`]), one column group per device they ran on: rows that export the same
//! architecture share one profile and show one number. Without such profiles they come from
//! the short profile each run took beside its training, and the table says so. Every latency is
//! a median with its p10–p90 spread, and a value is bold only when its spread clears every
//! other row's.

use crate::report::{title, Better, Table};
use crate::stats;
use harbench_suite::plan::Plan;
use harbench_suite::profiles::{self, ArchitectureProfile, ProfileDevice, Row};
use harbench_suite::record::RunRecord;
use harbench_suite::spec::TableKind;

/// The cost table's figures for one row from its runs' own profiles: medians over the runs.
pub struct CostCells {
    pub macs: Option<f64>,
    /// Single-window latency, seconds (each run's median, then the median over runs).
    pub latency_s: Option<f64>,
    /// The runs' spread of single-window latency, seconds: lowest p10, highest p90.
    pub latency_spread_s: Option<(f64, f64)>,
    /// Heap of one-window inference: weights + activations.
    pub memory_bytes: Option<f64>,
    /// Energy per single-window inference, joules.
    pub energy_j: Option<f64>,
}

impl CostCells {
    pub fn of(profiles: &[&harbench_cost::Profile]) -> Self {
        let median = |f: &dyn Fn(&harbench_cost::Profile) -> Option<f64>| {
            let values: Vec<f64> = profiles.iter().filter_map(|p| f(p)).collect();
            harbench_common::stats::median(&values)
        };
        let low = profiles.iter().map(|p| p.single.latency.p10).reduce(f64::min);
        let high = profiles.iter().map(|p| p.single.latency.p90).reduce(f64::max);
        CostCells {
            macs: median(&|p| Some(p.macs as f64)),
            latency_s: median(&|p| Some(p.single.latency.median)),
            latency_spread_s: low.zip(high),
            memory_bytes: median(&|p| p.memory.as_ref().ok().map(|m| m.single_peak_bytes as f64)),
            energy_j: median(&|p| p.energy.joules_per_window()),
        }
    }
}

/// The devices of `profiles`, once each, in order of first appearance.
pub fn devices(profiles: &[ArchitectureProfile]) -> Vec<&ProfileDevice> {
    let mut out: Vec<&ProfileDevice> = Vec::new();
    for p in profiles {
        if !out.iter().any(|d| d.key == p.device.key) {
            out.push(&p.device);
        }
    }
    out
}

/// The profile of the architecture `records` export, on `device` (`None`: not profiled there).
pub fn profile_on<'a>(
    profiles: &'a [ArchitectureProfile],
    device: &ProfileDevice,
    records: &[&RunRecord],
) -> Option<&'a ArchitectureProfile> {
    let key = records.iter().find_map(|r| profiles::Architecture::of(r))?.key();
    profiles.iter().find(|p| p.device.key == device.key && p.key == key)
}

/// A device's columns: latency and energy (`absent (no meter)` where the device has none), and
/// average power when one of its profiles measured energy.
struct DeviceColumns<'a> {
    device: &'a ProfileDevice,
    energy: bool,
}

fn ms_cell(median_ms: f64, low_ms: f64, high_ms: f64, contended: bool) -> String {
    format!("{median_ms:.3} ({low_ms:.3}–{high_ms:.3}){}", if contended { "*" } else { "" })
}

fn header(devices: &[DeviceColumns]) -> (Vec<String>, Vec<Option<Better>>) {
    let mut header: Vec<String> = ["dataset", "model", "method", "arch", "params", "FLOPs (MACs)", "memory"].map(String::from).to_vec();
    let mut better = vec![None, None, None, None, Some(Better::Lower), Some(Better::Lower), Some(Better::Lower)];
    if devices.is_empty() {
        header.extend(["latency (beside training)".into(), "energy".into()]);
        better.extend([Some(Better::Lower), Some(Better::Lower)]);
    }
    for d in devices {
        header.extend([format!("latency ms, {}", d.device.label), format!("energy mJ, {}", d.device.label)]);
        better.extend([Some(Better::Lower), Some(Better::Lower)]);
        if d.energy {
            header.push(format!("power W, {}", d.device.label));
            better.push(None);
        }
    }
    (header, better)
}

/// One table row under construction: text, value and spread of each cell, and its CSV lines.
struct RowCells<'t> {
    text: Vec<String>,
    values: Vec<Option<f64>>,
    spread: Vec<Option<(f64, f64)>>,
    row: &'t Row,
    csv: Vec<[String; 8]>,
}

impl RowCells<'_> {
    fn push(&mut self, text: String, value: Option<f64>, spread: Option<(f64, f64)>) {
        self.text.push(text);
        self.values.push(value);
        self.spread.push(spread);
    }

    fn csv(&mut self, metric: &str, value: f64, spread: f64, n: usize) {
        let [dataset, model, method] = self.row.clone();
        self.csv.push(["cost".into(), dataset, model, method, metric.into(), format!("{value}"), format!("{spread}"), n.to_string()]);
    }
}

/// The latency and energy of rows without quiet profiles: the runs' own profiles.
fn per_run_cells(cells: &mut RowCells, c: &CostCells, n: usize) {
    match (c.latency_s, c.latency_spread_s) {
        (Some(s), Some((lo, hi))) => {
            cells.push(ms_cell(s * 1e3, lo * 1e3, hi * 1e3, false) + " ms", Some(s * 1e3), Some((lo * 1e3, hi * 1e3)));
            cells.csv("latency_ms", s * 1e3, 0.0, n);
        }
        _ => cells.push("—".into(), None, None),
    }
    match (c.energy_j, n) {
        (Some(j), _) => {
            cells.push(format!("{:.3} mJ", j * 1e3), Some(j * 1e3), None);
            cells.csv("energy_mj", j * 1e3, 0.0, n);
        }
        (None, 0) => cells.push("—".into(), None, None),
        (None, _) => cells.push("absent (no meter)".into(), None, None),
    }
}

/// A device's cells of one row, from the profile of the row's architecture there.
fn device_cells(cells: &mut RowCells, d: &DeviceColumns, p: Option<&ArchitectureProfile>) {
    let width = if d.energy { 3 } else { 2 };
    let Some(p) = p else {
        for _ in 0..width {
            cells.push("— (not profiled)".into(), None, None);
        }
        return;
    };
    let l = &p.profile.single.latency;
    let (ms, lo, hi) = (l.median * 1e3, l.p10 * 1e3, l.p90 * 1e3);
    let contended = !p.conditions.quiet;
    cells.push(ms_cell(ms, lo, hi, contended), Some(ms), Some((lo, hi)));
    cells.csv(&format!("latency_ms@{}", d.device.key), ms, l.mad * 1e3, l.samples);
    if !d.energy {
        cells.push("absent (no meter)".into(), None, None);
        return;
    }
    match &p.profile.energy {
        harbench_cost::Energy::Measured { single, .. } => {
            let mj = single.joules_per_window * 1e3;
            // One energy loop has no spread of its own; the latency's relative spread stands for it.
            let spread = (mj * l.p10 / l.median, mj * l.p90 / l.median);
            cells.push(format!("{mj:.3}{}", if contended { "*" } else { "" }), Some(mj), Some(spread));
            cells.push(format!("{:.2} (idle {:.2})", single.active_watts, single.idle_watts), None, None);
            cells.csv(&format!("energy_mj@{}", d.device.key), mj, 0.0, single.calls);
            cells.csv(&format!("power_w@{}", d.device.key), single.active_watts, 0.0, single.calls);
        }
        harbench_cost::Energy::Absent { .. } => {
            cells.push("absent (no meter)".into(), None, None);
            cells.push("—".into(), None, None);
        }
    }
}

/// The suite's rows that have finished runs, with those runs, in plan order.
fn rows<'a>(plan: &Plan, records: &[&'a RunRecord]) -> Vec<(Row, Vec<&'a RunRecord>)> {
    let mut out: Vec<(Row, Vec<&RunRecord>)> = Vec::new();
    for r in &plan.runs {
        let row: Row = [r.dataset.clone(), r.model.label.clone(), r.method.label.clone()];
        if out.iter().any(|(x, _)| *x == row) {
            continue;
        }
        let runs: Vec<&RunRecord> = records.iter().copied().filter(|x| x.finished() && profiles::row_of(x) == row).collect();
        if runs.iter().any(|x| x.parameters.is_some()) {
            out.push((row, runs));
        }
    }
    out
}

/// The cost table of `records`, with the per-architecture `profiles` where there are any.
pub fn cost_table(plan: &Plan, records: &[&RunRecord], profiles: &[ArchitectureProfile]) -> Table {
    let devices: Vec<DeviceColumns> = devices(profiles)
        .into_iter()
        .map(|device| DeviceColumns {
            device,
            energy: profiles.iter().any(|p| p.device.key == device.key && p.profile.energy.joules_per_window().is_some()),
        })
        .collect();
    let (header, better) = header(&devices);
    let mut t = Table::empty(TableKind::Cost, title(TableKind::Cost), header, better);
    let mut arch_ids: Vec<(String, String)> = Vec::new();
    let rows = rows(plan, records);
    for (row, runs) in &rows {
        let params: Vec<f64> = runs.iter().filter_map(|x| x.parameters.map(|p| p as f64)).collect();
        let p = stats::mean(&params);
        let run_profiles: Vec<&harbench_cost::Profile> = runs.iter().filter_map(|x| x.profile()).collect();
        let c = CostCells::of(&run_profiles);
        let arch = runs.iter().find_map(|r| profiles::Architecture::of(r));
        let arch_id = arch.as_ref().map(|a| {
            let key = a.key();
            if !arch_ids.iter().any(|(k, _)| *k == key) {
                arch_ids.push((key.clone(), format!("{} ({})", row[1], a.describe())));
            }
            format!("A{}", arch_ids.iter().position(|(k, _)| *k == key).expect("just added") + 1)
        });
        let mut cells = RowCells { text: row.to_vec(), values: vec![None; 3], spread: vec![None; 3], row, csv: vec![] };
        cells.push(arch_id.unwrap_or_else(|| "—".into()), None, None);
        cells.push(format!("{p:.0}"), Some(p), None);
        cells.csv("params", p, 0.0, params.len());
        cells.push(c.macs.map(|m| format!("{:.2} M", m / 1e6)).unwrap_or_else(|| "—".into()), c.macs.map(|m| m / 1e6), None);
        cells.push(
            c.memory_bytes.map(|b| format!("{:.2} MiB", b / 1048576.0)).unwrap_or_else(|| "—".into()),
            c.memory_bytes.map(|b| b / 1048576.0),
            None,
        );
        for (metric, value) in [("macs", c.macs), ("memory_mib", c.memory_bytes.map(|b| b / 1048576.0))] {
            if let Some(v) = value {
                cells.csv(metric, v, 0.0, run_profiles.len());
            }
        }
        if devices.is_empty() {
            per_run_cells(&mut cells, &c, run_profiles.len());
        }
        for d in &devices {
            device_cells(&mut cells, d, profile_on(profiles, d.device, runs));
        }
        t.rows.push(cells.text);
        t.values.push(cells.values);
        t.spread.push(cells.spread);
        t.csv.extend(cells.csv);
    }
    t.notes = notes(&rows, &devices, profiles, &arch_ids);
    t
}

fn notes(
    rows: &[(Row, Vec<&RunRecord>)],
    devices: &[DeviceColumns],
    profiles: &[ArchitectureProfile],
    arch: &[(String, String)],
) -> Vec<String> {
    let mut notes = Vec::new();
    if rows.is_empty() {
        notes.push("No finished runs yet: run `harbench run` on this suite first.".into());
    }
    notes.push(
        "Learned parameters of the trained model (mean over runs); MACs per window; heap memory of one-window inference (weights + \
         activations, counted by the allocator; median over the runs' profiles)."
            .into(),
    );
    if !arch.is_empty() {
        let list: Vec<String> = arch.iter().enumerate().map(|(i, (key, d))| format!("A{} = {d} [{key}]", i + 1)).collect();
        notes.push(format!(
            "arch: rows with the same architecture export the same model and share one profile per device. {}.",
            list.join("; ")
        ));
    }
    if devices.is_empty() {
        notes.push(
            "Latency: median over runs of each run's single-window median (lowest p10–highest p90 over the runs), from the short \
             profile each run took on the machine that trained it, beside whatever else ran there (other workers): noisy, not a \
             measurement to compare models by. `harbench profile SUITE` profiles each architecture once, quietly, and this table \
             then shows those profiles instead."
                .into(),
        );
    }
    for d in devices {
        notes.push(device_note(d, profiles));
    }
    notes.push("Bold: a best value whose spread (p10–p90) clears the spread of every other row's value; none where they overlap.".into());
    notes
}

fn device_note(d: &DeviceColumns, profiles: &[ArchitectureProfile]) -> String {
    let on: Vec<&ArchitectureProfile> = profiles.iter().filter(|p| p.device.key == d.device.key).collect();
    let samples: Vec<usize> = on.iter().flat_map(|p| p.rounds.iter().map(|r| r.samples)).collect();
    let rounds: Vec<usize> = on.iter().map(|p| p.rounds.len()).collect();
    let contended = on.iter().filter(|p| !p.conditions.quiet).count();
    let meter = on.iter().find_map(|p| match &p.profile.energy {
        harbench_cost::Energy::Measured { single, .. } => Some(single.what.clone()),
        harbench_cost::Energy::Absent { .. } => None,
    });
    let mut text = format!(
        "{}: {} ({} architecture profile(s), `harbench profile`): single-window latency, the median round's median and the lowest \
         p10–highest p90 over {} round(s) of n = {}–{} timed calls each, one process pinned to one core",
        d.device.label,
        d.device.name,
        on.len(),
        rounds.iter().max().unwrap_or(&0),
        samples.iter().min().unwrap_or(&0),
        samples.iter().max().unwrap_or(&0)
    );
    if d.energy {
        text.push_str(&format!(
            "; energy per window and average power (idle beside it) of a timed single-window loop, from {}",
            meter.unwrap_or_else(|| "the meter".into())
        ));
    }
    text.push_str(&match contended {
        0 => format!("; every profile quiet (other processes used at most {} cores meanwhile)", profiles::QUIET_LIMIT_CORES),
        n => format!("; * {n} profile(s) taken beside other work (contended): re-run `harbench profile` on a quiet machine"),
    });
    text.push('.');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-column table of latencies with their spreads.
    fn latencies(cells: &[(f64, f64, f64)]) -> Table {
        let mut t = Table::empty(TableKind::Cost, "t", vec!["latency".into()], vec![Some(Better::Lower)]);
        for &(v, lo, hi) in cells {
            t.rows.push(vec![format!("{v}")]);
            t.values.push(vec![Some(v)]);
            t.spread.push(vec![Some((lo, hi))]);
        }
        t
    }

    #[test]
    fn a_best_value_is_bold_only_beyond_the_others_spread() {
        // 0.38 ms against 0.72 ms, spreads apart: bold.
        assert_eq!(latencies(&[(0.72, 0.70, 0.80), (0.38, 0.36, 0.45)]).best_rows(), vec![vec![1]]);
        // The best's p90 reaches into the other's p10–p90: a difference inside the noise.
        assert_eq!(latencies(&[(0.72, 0.50, 0.80), (0.38, 0.36, 0.55)]).best_rows(), vec![Vec::<usize>::new()]);
        // Rows of one architecture share one profile: all of them bold.
        assert_eq!(latencies(&[(0.46, 0.45, 0.47), (1.1, 1.0, 1.2), (0.46, 0.45, 0.47)]).best_rows(), vec![vec![0, 2]]);
        // Without spreads (parameters, scores) the best value alone decides, ties all bold.
        let mut t = latencies(&[(3.0, 3.0, 3.0), (2.0, 2.0, 2.0), (2.0, 2.0, 2.0)]);
        t.spread.clear();
        assert_eq!(t.best_rows(), vec![vec![1, 2]]);
        // Higher is better: the low end of the best must clear the others' high ends.
        let mut t = latencies(&[(90.0, 89.0, 91.0), (95.0, 94.0, 96.0)]);
        t.better = vec![Some(Better::Higher)];
        assert_eq!(t.best_rows(), vec![vec![1]]);
        t.spread[1] = vec![Some((90.5, 96.0))];
        assert_eq!(t.best_rows(), vec![Vec::<usize>::new()]);
    }
}
