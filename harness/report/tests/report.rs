//! A made-up result set whose Pareto front, best cells and figures are known by construction:
//! the front's members, the bold cells of the LaTeX and HTML tables, and the files written
//! (PNG decoded, SVG and HTML read back).

#[path = "../../suite/tests/common/mod.rs"]
mod common;

use common::*;
use harbench_report::figures::{self, Axis};
use harbench_report::report::{self, Checkpoint, Metric, Split};
use harbench_report::{Format, Source};
use harbench_suite::plan::Plan;
use harbench_suite::record::RunRecord;
use harbench_train::trainer::EpochLog;

const SUITE: &str = "\
datasets: [synthetic]
seeds: [0, 1]
teacher: {model: mobilenetv3-large-1d}
experiments:
  - {name: har, models: [cnn3, mobilenetv3-small-1d], methods: [none]}
  - {name: kd, models: [mobilenetv3-small-1d], methods: [none, kd, dkd]}
tables: [har, kd, cost]
";

/// (run key without seed, parameters, accuracy of seed 0 and seed 1).
/// By construction: cnn3 is the cheapest (on the front); small+kd beats small alone and small+dkd
/// at the same size (on the front; the other two are dominated); the teacher is the most accurate
/// (on the front).
const ROWS: [(&str, usize, [f64; 2]); 5] = [
    ("synthetic.teacher.none.holdout", 100_000, [0.95, 0.93]),
    ("synthetic.cnn3.none.holdout", 5_000, [0.84, 0.86]),
    ("synthetic.mobilenetv3-small-1d.none.holdout", 10_000, [0.90, 0.92]),
    ("synthetic.mobilenetv3-small-1d.kd.holdout", 10_000, [0.92, 0.94]),
    ("synthetic.mobilenetv3-small-1d.dkd.holdout", 10_000, [0.80, 0.82]),
];

fn made_up() -> (Plan, Vec<RunRecord>) {
    let p = plan(SUITE);
    let mut records = Vec::new();
    for (key, params, accuracies) in ROWS {
        for (seed, acc) in accuracies.into_iter().enumerate() {
            let run = p.runs.iter().find(|r| r.key == format!("{key}.s{seed}")).unwrap_or_else(|| panic!("no run {key}.s{seed}"));
            let mut r = record(run, acc, acc - 0.05);
            r.parameters = Some(params);
            let mut out = output(7 + seed);
            out.outcome.history = (1..=3)
                .map(|e| EpochLog {
                    epoch: e,
                    train_loss: 1.0 / e as f64,
                    val_accuracy: acc * e as f64 / 3.0,
                    val_macro_f1: acc * e as f64 / 3.0,
                    samples_per_second: 100.0,
                    head_weights: vec![],
                    test_accuracy: None,
                    test_macro_f1: None,
                })
                .collect();
            r.output = Some(out);
            records.push(r);
        }
    }
    (p, records)
}

#[test]
fn the_pareto_front_of_a_made_up_result_set_is_the_constructed_one() {
    let (p, records) = made_up();
    let current = report::current(&p, &records);
    let scatters = figures::scatters(&p, &current, &[], Checkpoint::Best, Split::Test);
    // Without profiles, parameters are the only cost: one scatter per metric.
    assert_eq!(
        scatters.iter().map(|s| (s.axis, s.metric)).collect::<Vec<_>>(),
        [(Axis::Parameters, Metric::TestAccuracy), (Axis::Parameters, Metric::TestMacroF1)]
    );
    for s in &scatters {
        let front: Vec<String> = s.front.iter().map(|&i| s.points[i].label()).collect();
        assert_eq!(front, ["cnn3", "mobilenetv3-small-1d + kd", "teacher"], "{:?}", s.metric);
        let teacher = s.points.iter().find(|p| p.model == "teacher").unwrap();
        let shift = if s.metric == Metric::TestAccuracy { 0.0 } else { 5.0 };
        assert!((teacher.y - (94.0 - shift)).abs() < 1e-9 && (teacher.y_std - 2f64.sqrt()).abs() < 1e-9, "{teacher:?}");
        assert_eq!((teacher.x, teacher.seeds), (100_000.0, 2));
    }
}

#[test]
fn bars_curves_and_confusions_follow_the_records() {
    let (p, records) = made_up();
    let current = report::current(&p, &records);
    let bars = figures::bars(&p, &current, Checkpoint::Best, Split::Test);
    let kd = bars.iter().find(|b| b.table.name() == "kd" && b.metric == Metric::TestAccuracy).unwrap();
    assert_eq!(
        kd.bars.iter().map(|b| b.label.as_str()).collect::<Vec<_>>(),
        ["teacher", "mobilenetv3-small-1d", "mobilenetv3-small-1d + kd", "mobilenetv3-small-1d + dkd"]
    );
    assert!((kd.bars[2].mean - 93.0).abs() < 1e-9);
    let curves = figures::curves(&p, &current);
    let teacher = curves[0].curves.iter().find(|c| c.label == "teacher").unwrap();
    // Epoch 3: val macro-F1 = accuracy, mean over seeds 94 %.
    assert_eq!(teacher.train_loss[2], (3.0, 1.0 / 3.0));
    assert!((teacher.val_macro_f1[2].1 - 94.0).abs() < 1e-9 && teacher.runs == 2);
    // Seeds 0 and 1 got 7 and 8 of 10 test windows right: the sums' diagonal is 15 of 20.
    let c = figures::confusions(&p, &current, Checkpoint::Best, Split::Test).into_iter().find(|c| c.model == "cnn3").unwrap();
    assert_eq!((c.runs, c.counts[0][0] + c.counts[1][1], c.counts.iter().flatten().sum::<usize>()), (2, 15, 20));
    assert_eq!(c.row_shares()[0].iter().sum::<f64>(), 1.0);
}

#[test]
fn every_format_and_figure_is_written_and_readable() {
    let (p, records) = made_up();
    let r = report::build(&p, &records, "0123456789ab", "box", Checkpoint::Best, Split::Test, &[]);
    let dir = tempfile::tempdir().unwrap();
    let m = machine("box");
    let source = Source { plan: &p, records: &records, report: &r, machines: std::slice::from_ref(&m), profiles: &[] };
    let written = harbench_report::write(&source, dir.path(), &Format::ALL, true).unwrap();
    let names: Vec<String> = written.iter().map(|f| f.strip_prefix(dir.path()).unwrap().display().to_string()).collect();
    for want in [
        "tables.md",
        "tables.csv",
        "tables.tex",
        "report.html",
        "figures/pareto-synthetic-params.svg",
        "figures/pareto-synthetic-params.png",
        "figures/bars-kd-synthetic.png",
        "figures/curves-synthetic.svg",
        "figures/confusion-synthetic-cnn3-none.png",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    // The PNG decodes, has the size drawn and is not blank: the red of the front is in it.
    let png = image::open(dir.path().join("figures/pareto-synthetic-params.png")).unwrap().to_rgb8();
    assert_eq!(png.dimensions(), (1200, 520));
    assert!(png.pixels().any(|px| px.0 == [200, 30, 30]), "no Pareto-front red in the PNG");
    let svg = std::fs::read_to_string(dir.path().join("figures/pareto-synthetic-params.svg")).unwrap();
    assert!(svg.contains("mobilenetv3-small-1d + kd") && svg.contains("Pareto front"));
    // Bold: the best of each column, the teacher's accuracy (94.00) and the cheapest parameters.
    let tex = std::fs::read_to_string(dir.path().join("tables.tex")).unwrap();
    assert!(tex.contains(r"\textbf{94.00 $\pm$ 1.41}"), "{tex}");
    assert!(tex.contains(r"\toprule") && tex.contains(r"\bottomrule") && tex.contains(r"\textbf{5000}"), "{tex}");
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.contains("<td class=\"best\">94.00 ± 1.41</td>"), "best cell not marked");
    assert!(html.matches("<svg").count() >= 6 && !html.contains("<?xml"), "figures not inlined");
    assert!(
        html.contains("Best-validation checkpoint") && html.contains("holdout-subjects") && html.contains("test cpu"),
        "provenance missing"
    );
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "the page must read offline");
}

#[test]
fn a_second_report_replaces_figures_of_rows_that_are_gone() {
    let (p, records) = made_up();
    let dir = tempfile::tempdir().unwrap();
    let r = report::build(&p, &records, "0123456789ab", "box", Checkpoint::Best, Split::Test, &[]);
    harbench_report::write(
        &Source { plan: &p, records: &records, report: &r, machines: &[], profiles: &[] },
        dir.path(),
        &[Format::Markdown],
        true,
    )
    .unwrap();
    let without_dkd: Vec<RunRecord> = records.into_iter().filter(|r| r.config.method.label != "dkd").collect();
    let r = report::build(&p, &without_dkd, "0123456789ab", "box", Checkpoint::Best, Split::Test, &[]);
    harbench_report::write(
        &Source { plan: &p, records: &without_dkd, report: &r, machines: &[], profiles: &[] },
        dir.path(),
        &[Format::Markdown],
        true,
    )
    .unwrap();
    assert!(!dir.path().join("figures/confusion-synthetic-mobilenetv3-small-1d-dkd.svg").exists());
    assert!(dir.path().join("figures/confusion-synthetic-mobilenetv3-small-1d-kd.svg").exists());
}
