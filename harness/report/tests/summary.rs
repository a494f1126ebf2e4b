//! The cross-dataset summary: one row per method, one column per dataset, Welch's test against the
//! student alone and a win / tie / loss count, over hand-made records of two suites.

#[path = "../../suite/tests/common/mod.rs"]
mod common;

use common::*;
use harbench_report::report::{Checkpoint, Split};
use harbench_report::summary::{across, SuiteRuns, Tally};

fn find<'a>(p: &'a harbench_suite::plan::Plan, key: &str) -> &'a harbench_suite::plan::RunSpec {
    p.runs.iter().find(|r| r.key == key).unwrap_or_else(|| panic!("no run {key}"))
}

fn suite(dataset: &str) -> String {
    format!(
        "\
datasets: [{dataset}]
seeds: [0, 1, 2]
teacher: {{model: mobilenetv3-large-1d}}
experiments:
  - {{name: kd, models: [mobilenetv3-small-1d], methods: [none, kd, dkd]}}
"
    )
}

#[test]
fn methods_are_counted_against_the_student_alone_on_every_dataset() {
    let (a, b) = (plan(&suite("synthetic")), plan(&suite("uci-har")));
    let records_of = |p: &harbench_suite::plan::Plan, d: &str, accuracies: &[(&str, [f64; 3])]| {
        let mut out = Vec::new();
        for (method, values) in accuracies {
            for (seed, v) in values.iter().enumerate() {
                out.push(record(find(p, &format!("{d}.mobilenetv3-small-1d.{method}.holdout.s{seed}")), *v, *v));
            }
        }
        out
    };
    // synthetic: kd clearly above the student alone, dkd clearly below; uci-har: both within noise.
    let ra = records_of(&a, "synthetic", &[("none", [0.80, 0.81, 0.79]), ("kd", [0.90, 0.91, 0.89]), ("dkd", [0.70, 0.71, 0.69])]);
    let rb = records_of(&b, "uci-har", &[("none", [0.90, 0.92, 0.88]), ("kd", [0.91, 0.89, 0.90]), ("dkd", [0.90, 0.93, 0.87])]);
    let s = across(
        &[SuiteRuns { plan: &a, records: &ra, source: "a".into() }, SuiteRuns { plan: &b, records: &rb, source: "b".into() }],
        Checkpoint::Best,
        Split::Test,
        0.05,
    );
    assert_eq!(s.datasets, ["synthetic", "uci-har"]);
    let row = |method: &str| s.rows.iter().position(|(m, x)| m == "mobilenetv3-small-1d" && x == method).unwrap();
    assert_eq!(s.tallies[row("kd")], Some(Tally { wins: 1, ties: 1, losses: 0 }));
    assert_eq!(s.tallies[row("dkd")], Some(Tally { wins: 0, ties: 1, losses: 1 }));
    assert_eq!(s.tallies[row("none")], None);
    // By hand: kd on synthetic, 0.90 - 0.80 = +10 points; equal variances 1e-4, n 3: t = 0.1 /
    // sqrt(2e-4 / 3) = 12.247 on 4 degrees of freedom; two-sided p = I_x(2, 1/2) with
    // x = 4 / (4 + t²), which is 1 - sqrt(1 - x)(1 + x/2) = 2.5522e-4.
    let cell = s.cells[row("kd")][0].as_ref().unwrap();
    let (delta, p) = cell.versus_alone.unwrap();
    assert!((delta - 0.10).abs() < 1e-12 && (p - 2.5522e-4).abs() < 1e-8, "{delta} {p}");
    let t = s.table();
    assert_eq!(t.header.last().unwrap(), "W/T/L vs alone");
    let kd = &t.rows[row("kd")];
    assert_eq!((kd[2].as_str(), kd[3].as_str(), kd.last().unwrap().as_str()), ("90.00 ± 1.00", "+10.00 (p 2.6e-4)", "1/1/0"));
    // The teacher row (from the suite's teacher) has no records here.
    assert!(t.rows.iter().any(|r| r[0] == "teacher" && r[2] == "—"));
    let markdown = s.report("results").markdown();
    assert!(markdown.contains("Across datasets") && markdown.contains("W/T/L"), "{markdown}");
}
