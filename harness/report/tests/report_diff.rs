//! Tables and diffs from hand-built result sets whose numbers are worked out by hand or by
//! tests/reference/welch.py.

#[path = "../../suite/tests/common/mod.rs"]
mod common;

use common::*;
use harbench_report::diff::{diff, DiffOptions, Verdict};
use harbench_report::report::{self, Checkpoint, Metric, Split};
use harbench_suite::record::{Headline, RunRecord, Status};
use harbench_suite::spec::TableKind;

const SUITE: &str = "\
datasets: [synthetic, uci-har]
seeds: [0, 1]
teacher: {model: mobilenetv3-large-1d}
experiments:
  - {name: kd, models: [mobilenetv3-small-1d], methods: [none, kd, dkd]}
tables: [kd, cost, ablation]
";

fn find<'a>(p: &'a harbench_suite::plan::Plan, key: &str) -> &'a harbench_suite::plan::RunSpec {
    p.runs.iter().find(|r| r.key == key).unwrap_or_else(|| panic!("no run {key}"))
}

#[test]
fn tables_show_mean_and_std_over_seeds_and_say_what_is_missing() {
    let p = plan(SUITE);
    let mut records = vec![
        record(find(&p, "synthetic.mobilenetv3-small-1d.none.holdout.s0"), 0.90, 0.80),
        record(find(&p, "synthetic.mobilenetv3-small-1d.none.holdout.s1"), 0.92, 0.84),
        record(find(&p, "synthetic.teacher.none.holdout.s0"), 0.95, 0.94),
    ];
    let mut failed = record(find(&p, "synthetic.mobilenetv3-small-1d.kd.holdout.s0"), 0.0, 0.0);
    failed.status = Status::Failed;
    failed.best = None;
    failed.unavailable = true;
    records.push(failed);
    let mut broken = record(find(&p, "uci-har.mobilenetv3-small-1d.dkd.holdout.s1"), 0.0, 0.0);
    broken.status = Status::Failed;
    broken.best = None;
    records.push(broken);
    // A record of settings the suite no longer has is left out.
    let mut stale = record(find(&p, "uci-har.mobilenetv3-small-1d.none.holdout.s0"), 0.5, 0.5);
    stale.config_hash = "0000000000000000".into();
    records.push(stale);

    let r = report::build(&p, &records, "0123456789ab", "box", Checkpoint::Best, Split::Test, &[]);
    assert_eq!(r.tables.iter().map(|t| t.kind).collect::<Vec<_>>(), vec![TableKind::Kd, TableKind::Cost, TableKind::Ablation]);
    let kd = &r.tables[0];
    assert_eq!(
        kd.header[2..],
        ["synthetic acc %", "synthetic F1 %", "synthetic Δacc vs alone", "uci-har acc %", "uci-har F1 %", "uci-har Δacc vs alone"]
    );
    let row = |model: &str, method: &str| kd.rows.iter().find(|r| r[0] == model && r[1] == method).unwrap().clone();
    // By hand: mean(0.90, 0.92) = 91.00 %, sample std √((0.01² + 0.01²)/1) = 1.41 %;
    // F1 mean(0.80, 0.84) = 82.00 %, std √(2 × 0.02²) = 2.83 %.
    // Trained alone: nothing to compare with, so its Δ cells are blank.
    assert_eq!(row("mobilenetv3-small-1d", "none")[2..], ["91.00 ± 1.41", "82.00 ± 2.83", "", "—", "—", ""]);
    // One seed of two: marked, std 0.
    assert_eq!(row("teacher", "none")[2..4], ["95.00 ± 0.00*", "94.00 ± 0.00*"]);
    assert_eq!(row("mobilenetv3-small-1d", "kd")[2..4], ["n/a", "n/a"]);
    assert_eq!(row("mobilenetv3-small-1d", "dkd")[5..], ["failed", "failed", "—"]);
    let notes = kd.notes.join("\n");
    assert!(
        notes.contains("* fewer seeds than planned") && notes.contains("1 run(s) failed") && notes.contains("n/a: 1 run(s)"),
        "{notes}"
    );
    assert!(notes.contains("1 recorded run(s) with settings that differ"), "{notes}");

    let cost = &r.tables[1];
    // No profile in these records: no architecture to name.
    assert_eq!(cost.rows[0][..5], ["synthetic", "teacher", "none", "—", "5000"]);
    assert_eq!(cost.rows.len(), 2, "{:?}", cost.rows);
    assert!(r.tables[2].notes[0].contains("no experiment named 'ablation'"));

    let md = r.markdown();
    assert!(md.contains("| model ") && md.contains("| 91.00 ± 1.41 ") && md.contains("## Distillation methods compared (`kd`)"), "{md}");
    let csv = r.csv();
    assert!(csv.starts_with("table,dataset,model,method,metric,mean,std,n\n"));
    assert!(csv.contains("kd,synthetic,mobilenetv3-small-1d,none,test_accuracy,0.91,"), "{csv}");
    assert!(csv.contains("cost,synthetic,teacher,none,params,5000,0,1\n"), "{csv}");
    assert!(r.terminal().contains("┌"));
}

#[test]
fn an_empty_result_set_gives_tables_that_say_so() {
    let p = plan(SUITE);
    let r = report::build(&p, &[], "0123456789ab", "box", Checkpoint::Best, Split::Test, &[]);
    for t in &r.tables[..2] {
        assert!(t.notes[0].starts_with("No finished runs yet"), "{:?}", t.notes);
    }
    assert!(r.tables[0].rows.iter().all(|row| row[2..].iter().all(|c| c == "—" || c.is_empty())));
}

/// Records of `model` on synthetic for the given per-seed (accuracy, macro-F1).
fn side(p: &harbench_suite::plan::Plan, model: &str, values: &[(f64, f64)]) -> Vec<RunRecord> {
    values.iter().enumerate().map(|(seed, &(a, f))| record(find(p, &format!("synthetic.{model}.none.holdout.s{seed}")), a, f)).collect()
}

#[test]
fn diff_separates_a_real_change_from_noise() {
    let text = "datasets: [synthetic]\nseeds: [0, 1, 2]\nexperiments: [{name: har, models: [mobilenetv3-small-1d, mobilenetv3-large-1d], methods: [none]}]\n";
    let p = plan(text);
    // python3 tests/reference/welch.py, section "diff fixture" (ttest_ind(b, a, equal_var=False)):
    // clear: mean_a 0.91, mean_b 0.81, p = 0.00025521674944192465
    // noise: mean_a 0.9, mean_b 0.9033333333333333, p = 0.8829146288271986
    let clear = ([0.90, 0.91, 0.92], [0.80, 0.81, 0.82]);
    let noise = ([0.90, 0.93, 0.87], [0.91, 0.88, 0.92]);
    let pairs = |acc: [f64; 3], f1: [f64; 3]| acc.iter().zip(f1).map(|(&a, f)| (a, f)).collect::<Vec<_>>();
    let mut a = side(&p, "mobilenetv3-small-1d", &pairs(clear.0, noise.0));
    let mut b = side(&p, "mobilenetv3-small-1d", &pairs(clear.1, noise.1));
    // One seed per side for the large model: the threshold decides (1 point).
    a.extend(side(&p, "mobilenetv3-large-1d", &[(0.90, 0.90)]));
    b.extend(side(&p, "mobilenetv3-large-1d", &[(0.915, 0.905)]));
    let options = DiffOptions::default();
    let d = diff("t", &a, &b, &options);
    let row = |model: &str, metric: Metric| d.rows.iter().find(|r| r.group.model == model && r.metric == metric).unwrap();

    let acc = row("mobilenetv3-small-1d", Metric::TestAccuracy);
    assert!((acc.mean_a - 0.91).abs() < 1e-12 && (acc.mean_b - 0.81).abs() < 1e-12);
    assert!((acc.delta + 0.10).abs() < 1e-12);
    assert!((acc.p.unwrap() - 0.00025521674944192465).abs() < 1e-12, "{:?}", acc.p);
    assert_eq!(acc.verdict, Verdict::Regressed);
    let f1 = row("mobilenetv3-small-1d", Metric::TestMacroF1);
    assert!((f1.p.unwrap() - 0.8829146288271986).abs() < 1e-12, "{:?}", f1.p);
    assert_eq!(f1.verdict, Verdict::Same);

    let large_acc = row("mobilenetv3-large-1d", Metric::TestAccuracy);
    assert_eq!((large_acc.p, large_acc.verdict, large_acc.n_a), (None, Verdict::Improved, 1));
    assert_eq!(row("mobilenetv3-large-1d", Metric::TestMacroF1).verdict, Verdict::Same);
    assert_eq!(d.regressions(), 1);
    let text = d.render("old", "new", &options);
    assert!(text.contains("REGRESSED") && text.contains("1 improved, 1 regressed, 2 within noise"), "{text}");

    // A group on one side only is listed, not compared; failed runs never count.
    let mut only = a.clone();
    only.push(record(find(&p, "synthetic.mobilenetv3-small-1d.none.holdout.s0"), 0.1, 0.1));
    only.last_mut().unwrap().status = Status::Failed;
    let d = diff("t", &only, &b[..3], &options);
    assert_eq!(d.only_a, vec!["synthetic.mobilenetv3-large-1d.none"]);
    assert_eq!(d.rows.len(), 2);
}

#[test]
fn diff_compares_a_filtered_rerun_on_its_own_seeds_and_says_when_it_is_identical() {
    let text = "datasets: [synthetic]\nseeds: [0, 1, 2]\nexperiments: [{name: har, models: [mobilenetv3-small-1d, mobilenetv3-large-1d], methods: [none]}]\n";
    let p = plan(text);
    let reference = side(&p, "mobilenetv3-small-1d", &[(0.90, 0.80), (0.95, 0.85), (0.70, 0.60)]);
    // A re-run of seed 1 alone, to the last bit: compared with seed 1 (not the mean 85.00 %).
    let rerun = vec![record(find(&p, "synthetic.mobilenetv3-small-1d.none.holdout.s1"), 0.95, 0.85)];
    let options = DiffOptions::default();
    let d = diff("t", &reference, &rerun, &options);
    assert_eq!(d.rows.len(), 2);
    for row in &d.rows {
        assert_eq!((row.n_a, row.n_b, row.delta, row.verdict, row.identical), (1, 1, 0.0, Verdict::Same, true), "{row:?}");
    }
    assert_eq!(d.seeds_left_out.len(), 1);
    assert_eq!((d.seeds_left_out[0].only_a.clone(), d.seeds_left_out[0].only_b.clone()), (vec![0, 2], vec![]));
    let text = d.render("reference", "re-run", &options);
    assert!(text.contains("identical") && !text.contains("REGRESSED"), "{text}");
    assert!(
        text.contains("synthetic.mobilenetv3-small-1d.none: compared on the seeds both sides have; seed(s) 0, 2 only in reference"),
        "{text}"
    );
    assert!(text.contains("0 improved, 0 regressed, 2 within noise (2 of them identical on every seed)"), "{text}");

    // Off in the last digits: within noise, not identical.
    let near = vec![record(find(&p, "synthetic.mobilenetv3-small-1d.none.holdout.s1"), 0.95 + 1e-9, 0.85)];
    let d = diff("t", &reference, &near, &options);
    let acc = d.rows.iter().find(|r| r.metric == Metric::TestAccuracy).unwrap();
    assert_eq!((acc.verdict, acc.identical), (Verdict::Same, false));
    assert!(d.render("a", "b", &options).contains("(1 of them identical on every seed)"));

    // No seed in common: both sets are compared whole, as two samples, and nothing is identical.
    let other = vec![record(find(&p, "synthetic.mobilenetv3-small-1d.none.holdout.s0"), 0.90, 0.80)];
    let d = diff("t", &reference[1..], &other, &options);
    assert!(d.seeds_left_out.is_empty());
    assert!(d.rows.iter().all(|r| r.n_a == 2 && r.n_b == 1 && !r.identical), "{:?}", d.rows);
}

#[test]
fn distilled_rows_are_compared_with_their_model_trained_alone_by_welch_test() {
    let text = "datasets: [synthetic]\nseeds: [0, 1, 2]\nteacher: {model: mobilenetv3-large-1d}\n\
                experiments: [{name: kd, models: [mobilenetv3-small-1d], methods: [none, kd, dkd, {method: kd, label: kd-once}]}]\ntables: [kd]\n";
    let p = plan(text);
    let mut records = Vec::new();
    // python3 tests/reference/welch.py, section "diff fixture": the same samples, so the same p.
    let sets = [("none", [0.80, 0.81, 0.82]), ("kd", [0.90, 0.91, 0.92]), ("dkd", [0.79, 0.80, 0.81])];
    for (method, accs) in sets {
        for (seed, acc) in accs.into_iter().enumerate() {
            records.push(record(find(&p, &format!("synthetic.mobilenetv3-small-1d.{method}.holdout.s{seed}")), acc, 0.5));
        }
    }
    // One seed: the difference without a test.
    records.push(record(find(&p, "synthetic.mobilenetv3-small-1d.kd-once.holdout.s0"), 0.83, 0.5));
    let r = report::build(&p, &records, "0123456789ab", "box", Checkpoint::Best, Split::Test, &[]);
    let kd = &r.tables[0];
    assert_eq!(kd.header[4], "synthetic Δacc vs alone");
    let cell = |method: &str| kd.rows.iter().find(|r| r[0] == "mobilenetv3-small-1d" && r[1] == method).unwrap()[4].clone();
    // clear: +10 points, p = 0.00025521674944192465.
    assert_eq!(cell("kd"), "+10.00 (p 2.6e-4)");
    // dkd is every alone value minus 0.01. By hand: both sample variances 1e-4, so
    // t = −0.01 / √(2 · 1e-4 / 3) = −1.2247, df = 4 (Welch–Satterthwaite with equal variances and
    // sizes), and the two-sided p of Student's t with 4 degrees of freedom at |t| = 1.2247 is
    // 0.2879 (numerical integration of the t density).
    assert_eq!(cell("dkd"), "-1.00 (p 0.288)");
    assert_eq!(cell("kd-once"), "+2.00");
    assert_eq!(cell("none"), "");
    // The teacher is trained alone (method none): no comparison.
    assert_eq!(kd.rows.iter().find(|r| r[0] == "teacher").unwrap()[4], "");
    assert!(kd.notes.iter().any(|n| n.contains("Welch's t-test")), "{:?}", kd.notes);
}

#[test]
fn the_har_table_compares_each_model_trained_alone_with_the_distilled_student() {
    let text = "datasets: [synthetic]\nseeds: [0, 1, 2]\nteacher: {model: mobilenetv3-large-1d}\n\
                experiments: [{name: har, models: [mobilenetv3-small-1d, cnn3], methods: [none]},\n\
                {name: har, models: [mobilenetv3-small-1d], methods: [dkd]}]\ntables: [har]\n";
    let p = plan(text);
    let mut records = Vec::new();
    // The samples of the Welch fixtures above. The distilled student (dkd stands for SMLDist,
    // which the test registry lacks) loses to cnn3 clearly (p 0.00025521674944192465, python3
    // tests/reference/welch.py) and beats the student alone by one point (p 0.2879, worked out
    // by hand in the test above).
    let sets = [
        ("mobilenetv3-small-1d.none", [0.79, 0.80, 0.81]),
        ("cnn3.none", [0.90, 0.91, 0.92]),
        ("mobilenetv3-small-1d.dkd", [0.80, 0.81, 0.82]),
    ];
    for (row, accs) in sets {
        for (seed, acc) in accs.into_iter().enumerate() {
            records.push(record(find(&p, &format!("synthetic.{row}.holdout.s{seed}")), acc, 0.5));
        }
    }
    let r = report::build(&p, &records, "0123456789ab", "box", Checkpoint::Best, Split::Test, &[]);
    let har = &r.tables[0];
    assert_eq!(har.kind, TableKind::Har);
    assert_eq!(har.header[4..], ["synthetic Δacc vs alone", "synthetic Δacc vs mobilenetv3-small-1d dkd"]);
    let cells = |model: &str, method: &str| har.rows.iter().find(|r| r[0] == model && r[1] == method).unwrap()[4..].to_vec();
    assert_eq!(cells("cnn3", "none"), ["", "+10.00 (p 2.6e-4)"]);
    assert_eq!(cells("mobilenetv3-small-1d", "none"), ["", "-1.00 (p 0.288)"]);
    assert_eq!(cells("mobilenetv3-small-1d", "dkd"), ["+1.00 (p 0.288)", ""]);
    // The teacher has no seeds here: nothing to compare.
    assert_eq!(cells("teacher", "none"), ["", "—"]);
    assert!(har.notes.iter().any(|n| n.contains("whether the distilled model beats each model trained alone")), "{:?}", har.notes);

    // Two distilled rows: which one the architectures face is not for the report to pick.
    let two = plan(&text.replace("methods: [dkd]", "methods: [dkd, kd]"));
    let r = report::build(&two, &records, "0123456789ab", "box", Checkpoint::Best, Split::Test, &[]);
    assert!(r.tables[0].header.iter().all(|h| !h.contains("vs mobilenetv3")), "{:?}", r.tables[0].header);
}

#[test]
fn the_last_epoch_model_can_be_scored_instead_of_the_best_checkpoint() {
    let p = plan(SUITE);
    let mut records = Vec::new();
    for (seed, last) in [(0, 0.94), (1, 0.96)] {
        let mut r = record(find(&p, &format!("synthetic.mobilenetv3-small-1d.none.holdout.s{seed}")), 0.90, 0.80);
        r.last.as_mut().unwrap().test_accuracy = Some(last);
        // Seed 0 scored every epoch on test: its best test epoch read 0.99.
        if seed == 0 {
            let mut best_test = r.last.clone().unwrap();
            best_test.test_accuracy = Some(0.99);
            r.best_test = Some(best_test);
        }
        records.push(r);
    }
    let cell = |checkpoint| {
        let r = report::build(&p, &records, "0123456789ab", "box", checkpoint, Split::Test, &[]);
        let kd = r.tables.into_iter().next().unwrap();
        let row = kd.rows.iter().find(|r| r[0] == "mobilenetv3-small-1d" && r[1] == "none").unwrap()[2].clone();
        (row, kd.notes.join("\n"))
    };
    let (best, note) = cell(Checkpoint::Best);
    assert_eq!(best, "90.00 ± 0.00");
    assert!(note.contains("Best-validation checkpoint"), "{note}");
    // By hand: mean(0.94, 0.96) = 95.00 %, sample std √(2 × 0.01²) = 1.41 %.
    let (last, note) = cell(Checkpoint::Last);
    assert_eq!(last, "95.00 ± 1.41");
    assert!(note.contains("Last-epoch model"), "{note}");
    assert_eq!("last".parse::<Checkpoint>(), Ok(Checkpoint::Last));
    // The authors' selection, a diagnostic: only the run that scored every epoch has it.
    let (best_test, note) = cell(Checkpoint::BestTest);
    assert!(best_test.starts_with("99.00"), "one seed of two: {best_test}");
    assert!(note.contains("the authors' protocol; optimistic, a diagnostic"), "{note}");
    assert_eq!("best-test".parse::<Checkpoint>(), Ok(Checkpoint::BestTest));
    assert!("final".parse::<Checkpoint>().unwrap_err().contains("best, last or best-test"));
}

/// The records of one commit folder on one machine folder, kernels not recorded.
fn set(commit: &str, machine: &str, records: Vec<RunRecord>) -> report::ResultSet {
    report::ResultSet { commit: commit.into(), machine: machine.into(), kernels: None, records }
}

#[test]
fn records_of_several_commits_join_each_run_from_the_first_commit_that_finished_it() {
    let p = plan(SUITE);
    let none0 = "synthetic.mobilenetv3-small-1d.none.holdout.s0";
    let none1 = "synthetic.mobilenetv3-small-1d.none.holdout.s1";
    let kd0 = "synthetic.mobilenetv3-small-1d.kd.holdout.s0";
    let mut failed = record(find(&p, none1), 0.0, 0.0);
    failed.status = Status::Failed;
    failed.best = None;
    let first = vec![record(find(&p, none0), 0.90, 0.80), failed];
    // The later commit re-ran none.s0 (ignored: the first commit has it), finished none.s1
    // (taken: the first commit's failed), and added kd.s0.
    let later = vec![record(find(&p, none0), 0.10, 0.10), record(find(&p, none1), 0.92, 0.84), record(find(&p, kd0), 0.94, 0.90)];
    let (records, parts) = report::join_commits(vec![set("aaaaaaaaaaaa", "box", first), set("bbbbbbbbbbbb", "box", later)]);
    let by_key = |key: &str| records.iter().find(|r| r.key == key).unwrap().best.clone().unwrap().test_accuracy;
    assert_eq!(records.len(), 3);
    assert_eq!((by_key(none0), by_key(none1), by_key(kd0)), (Some(0.90), Some(0.92), Some(0.94)));
    assert_eq!((parts[0].runs, parts[1].runs), (1, 2));
    assert_eq!(parts[1].rows, ["synthetic.mobilenetv3-small-1d.kd", "synthetic.mobilenetv3-small-1d.none"]);

    let mut r = report::build(&p, &records, "aaaaaaaaaaaa+bbbbbbbbbbbb", "box", Checkpoint::Best, Split::Test, &[]);
    r.commits = parts;
    let kd = &r.tables[0];
    let row = |model: &str, method: &str| kd.rows.iter().find(|r| r[0] == model && r[1] == method).unwrap().clone();
    // Both seeds of the student alone, one from each commit: mean 91.00, std 1.41 (as above).
    assert_eq!(row("mobilenetv3-small-1d", "none")[2..4], ["91.00 ± 1.41", "82.00 ± 2.83"]);
    let said = r.provenance();
    assert!(said.contains("records of 2 commits joined"), "{said}");
    assert!(said.contains("aaaaaaaaaaaa (1 run(s))"), "{said}");
    assert!(said.contains("bbbbbbbbbbbb (2 run(s): synthetic.mobilenetv3-small-1d.kd, synthetic.mobilenetv3-small-1d.none)"), "{said}");
    assert!(said.contains("results/t/{aaaaaaaaaaaa,bbbbbbbbbbbb}/box"), "{said}");
}

#[test]
fn result_sets_of_two_machines_name_each_machine_and_its_kernels() {
    let p = plan(SUITE);
    let none0 = "synthetic.mobilenetv3-small-1d.none.holdout.s0";
    let kd0 = "synthetic.mobilenetv3-small-1d.kd.holdout.s0";
    let kd1 = "synthetic.mobilenetv3-small-1d.kd.holdout.s1";
    // The first machine has the student alone and KD's seed 0; the second re-ran KD's seed 0
    // (ignored: the first set has it) and added seed 1.
    let first = vec![record(find(&p, none0), 0.90, 0.80), record(find(&p, kd0), 0.94, 0.90)];
    let mut second = vec![record(find(&p, kd0), 0.10, 0.10), record(find(&p, kd1), 0.96, 0.92)];
    for r in &mut second {
        r.machine = "box-avx2".into();
    }
    let mut other = set("aaaaaaaaaaaa", "box-avx2", second);
    other.kernels = Some("x86-64 avx2+fma with caches L2 512K".into());
    let (records, parts) = report::join_commits(vec![set("aaaaaaaaaaaa", "box", first), other]);
    assert_eq!(records.len(), 3);
    let kd0_record = records.iter().find(|r| r.key == kd0).unwrap();
    assert_eq!(kd0_record.best.as_ref().unwrap().test_accuracy, Some(0.94));
    assert_eq!(report::machines_of(&parts), "box+box-avx2");

    let mut r = report::build(&p, &records, "aaaaaaaaaaaa+aaaaaaaaaaaa", &report::machines_of(&parts), Checkpoint::Best, Split::Test, &[]);
    r.commits = parts;
    let said = r.provenance();
    assert!(said.contains("records of 2 result sets joined"), "{said}");
    assert!(said.contains("aaaaaaaaaaaa on box (2 run(s));"), "{said}");
    assert!(said.contains("aaaaaaaaaaaa on box-avx2 (1 run(s): synthetic.mobilenetv3-small-1d.kd)"), "{said}");
    assert!(said.contains("kernels: box not recorded; box-avx2 x86-64 avx2+fma with caches L2 512K"), "{said}");
    assert!(said.contains("results/t/{aaaaaaaaaaaa/box,aaaaaaaaaaaa/box-avx2}"), "{said}");
    // A store other than `results/` is named as the user gave it.
    r.store = "results/reference".into();
    let said = r.provenance();
    assert!(said.contains("(results/reference/t/{aaaaaaaaaaaa/box,aaaaaaaaaaaa/box-avx2})."), "{said}");
    let kd = &r.tables[0];
    let row = kd.rows.iter().find(|row| row[0] == "mobilenetv3-small-1d" && row[1] == "kd").unwrap();
    // KD's two seeds, one from each machine: 95.00 ± 1.41, marked as joined from two sets, and a
    // note says which seed came from where; the student alone, from one set, is not marked.
    assert_eq!(row[2..4], ["95.00 ± 1.41†", "91.00 ± 1.41†"]);
    let alone = kd.rows.iter().find(|row| row[0] == "mobilenetv3-small-1d" && row[1] == "none").unwrap();
    assert!(!alone[2].contains('†'), "{alone:?}");
    let note = kd.notes.iter().find(|n| n.starts_with('†')).expect("a note for the joined row");
    assert!(
        note.contains("mobilenetv3-small-1d kd on synthetic: seed 0 from 0123456789ab on box, seed 1 from 0123456789ab on box-avx2"),
        "{note}"
    );
    assert!(!note.contains("none on"), "{note}");
}

/// A record of `run` as a selection run leaves it: validation scores, the test split withheld.
fn withheld(run: &harbench_suite::plan::RunSpec, val_accuracy: f64, val_macro_f1: f64) -> RunRecord {
    let mut r = record(run, 0.0, 0.0);
    for h in [r.best.as_mut().unwrap(), r.last.as_mut().unwrap()] {
        (h.val_accuracy, h.val_macro_f1, h.test_accuracy, h.test_macro_f1) = (val_accuracy, val_macro_f1, None, None);
    }
    r
}

#[test]
fn runs_that_withheld_the_test_split_are_reported_and_diffed_on_validation() {
    let p = plan(SUITE);
    let key = |method: &str, seed: u64| format!("synthetic.mobilenetv3-small-1d.{method}.holdout.s{seed}");
    let records: Vec<RunRecord> = [("none", 0, 0.80), ("none", 1, 0.82), ("kd", 0, 0.90), ("kd", 1, 0.94)]
        .into_iter()
        .map(|(method, seed, acc)| withheld(find(&p, &key(method, seed)), acc, acc - 0.1))
        .collect();
    let cells = |split| {
        let r = report::build(&p, &records, "0123456789ab", "box", Checkpoint::Best, split, &[]);
        let kd = &r.tables[0];
        let row = |method: &str| kd.rows.iter().find(|r| r[0] == "mobilenetv3-small-1d" && r[1] == method).unwrap()[2..5].to_vec();
        (row("none"), row("kd"), kd.notes.join("\n"), r.provenance())
    };
    // On the test split there is nothing to show, and the table says why.
    let (none, kd, notes, _) = cells(Split::Test);
    assert_eq!(none, ["withheld", "withheld", ""]);
    assert_eq!(kd, ["withheld", "withheld", "—"]);
    assert!(notes.contains("--split validation"), "{notes}");
    // By hand: none mean(0.80, 0.82) = 81.00 %, std √(2 × 0.01²) = 1.41 %; F1 0.1 lower;
    // kd mean(0.90, 0.94) = 92.00 %, std √(2 × 0.02²) = 2.83 %; Δ = +11.00 points (its Welch p
    // is tested with the test-split tables above).
    let (none, kd, notes, provenance) = cells(Split::Validation);
    assert_eq!(none, ["81.00 ± 1.41", "71.00 ± 1.41", ""]);
    assert_eq!(kd[..2], ["92.00 ± 2.83", "82.00 ± 2.83"]);
    assert!(kd[2].starts_with("+11.00 (p "), "{}", kd[2]);
    assert!(notes.contains("on the validation split") && !notes.contains("withheld"), "{notes}");
    assert!(provenance.contains("scored on the validation split"), "{provenance}");
    assert_eq!("val".parse::<Split>(), Ok(Split::Validation));
    assert!("train".parse::<Split>().unwrap_err().contains("test or validation"));

    // A diff of two selection result sets compares validation scores.
    let shifted: Vec<RunRecord> = records
        .iter()
        .map(|r| {
            let v = r.best.as_ref().unwrap().val_accuracy;
            withheld(&r.config, v + 0.05, v - 0.05)
        })
        .collect();
    let d = diff("s", &records, &shifted, &DiffOptions::default());
    let metrics: Vec<Metric> = d.rows.iter().map(|r| r.metric).collect();
    assert_eq!(metrics, [Metric::ValAccuracy, Metric::ValMacroF1, Metric::ValAccuracy, Metric::ValMacroF1]);
    assert!((d.rows[0].delta - 0.05).abs() < 1e-12, "{:?}", d.rows[0]);
}

#[test]
fn exact_comparison_ignores_timings_and_names_the_first_differing_number() {
    use harbench_suite::exact::exact;
    let p = plan(SUITE);
    let (k0, k1) = ("synthetic.mobilenetv3-small-1d.none.holdout.s0", "synthetic.mobilenetv3-small-1d.kd.holdout.s0");
    let with_output = |key: &str| RunRecord { output: Some(output(7)), ..record(find(&p, key), 0.7, 0.7) };
    let reference = vec![with_output(k0), with_output(k1)];

    // Another machine: other timings, host, commit and environment, the same numbers.
    let mut reference = reference;
    for r in &mut reference {
        r.output.as_mut().unwrap().teacher = Some(harbench_suite::record::TeacherInfo {
            store_key: "key-0123456789abcdef".into(),
            reused: false,
            test_accuracy: Some(0.5),
            test_macro_f1: Some(0.5),
        });
    }
    let mut rerun = reference.clone();
    for r in &mut rerun {
        r.timings.wall_seconds = 99.0;
        r.machine = "elsewhere".into();
        r.git = git("fedcba9876543210");
        let o = r.output.as_mut().unwrap();
        // The teacher store's key names the commit that trained the teacher.
        o.teacher = Some(harbench_suite::record::TeacherInfo {
            store_key: format!("key-{}", r.git.commit.as_deref().unwrap_or_default()),
            reused: true,
            test_accuracy: Some(0.5),
            test_macro_f1: Some(0.5),
        });
        o.outcome.train_seconds = 5.0;
        o.outcome.samples_per_second = 1.0;
    }
    let same = exact(&reference, &rerun);
    assert!(same.identical() && same.compared == 2, "{same:?}");

    // The last bit of one epoch's training loss.
    let mut history = output(7).outcome;
    history.history = vec![harbench_train::trainer::EpochLog {
        epoch: 1,
        train_loss: 0.5,
        val_accuracy: 0.7,
        val_macro_f1: 0.7,
        samples_per_second: 10.0,
        head_weights: vec![],
        test_accuracy: None,
        test_macro_f1: None,
    }];
    let mut a = reference.clone();
    a[1].output.as_mut().unwrap().outcome = history.clone();
    let mut b = a.clone();
    b[1].output.as_mut().unwrap().outcome.history[0].train_loss = f64::from_bits(0.5f64.to_bits() + 1);
    b[1].output.as_mut().unwrap().outcome.history[0].samples_per_second = 20.0;
    let found = exact(&a, &b);
    assert!(!found.identical());
    assert_eq!(found.differing.len(), 1, "{found:?}");
    let d = &found.differing[0];
    assert_eq!((d.key.as_str(), d.field.as_str(), d.a.as_str()), (k1, "output.outcome.history[0].train_loss", "0.5"));
    assert_eq!(d.b, "0.5000000000000001");
    assert!(d.same_config);
    assert!(found.render("reference", "here").contains("bit for bit: 1 of 2 runs"));

    // A run of the reference missing on the other side is not identical either.
    let missing = exact(&reference, &reference[..1]);
    assert!(!missing.identical() && missing.only_a == vec![k1.to_string()]);
}

/// Values by hand; Welch's p of (0.91, 0.93, 0.92) against (0.85, 0.86, 0.84) is
/// tests/reference/welch.py's 0.00102.
#[test]
fn the_checkpoints_table_sets_last_best_validation_and_best_test_side_by_side() {
    let p = plan(
        "datasets: [synthetic]\nseeds: [0, 1, 2]\nteacher: {model: mobilenetv3-large-1d}\n\
         experiments:\n  - {name: kd, models: [mobilenetv3-small-1d], methods: [none, kd]}\ntables: [checkpoints]\n",
    );
    let headline = |accuracy: f64| Headline {
        epoch: 3,
        val_accuracy: 0.5,
        val_macro_f1: 0.5,
        test_accuracy: Some(accuracy),
        test_macro_f1: Some(accuracy),
    };
    let mut records = Vec::new();
    for (seed, (alone, kd)) in [(0.85, 0.91), (0.86, 0.93), (0.84, 0.92)].into_iter().enumerate() {
        let mut none = record(find(&p, &format!("synthetic.mobilenetv3-small-1d.none.holdout.s{seed}")), alone, alone);
        // At the best-validation epoch the two rows swap.
        none.best = Some(headline(kd));
        let mut distilled = record(find(&p, &format!("synthetic.mobilenetv3-small-1d.kd.holdout.s{seed}")), kd, kd);
        distilled.best = Some(headline(alone));
        // Only two seeds of the distilled row scored every epoch on test.
        distilled.best_test = (seed < 2).then(|| headline([0.95, 0.97][seed]));
        records.extend([none, distilled]);
    }
    let r = report::build(&p, &records, "0123456789ab", "box", Checkpoint::Last, Split::Test, &[]);
    let t = &r.tables[0];
    assert_eq!(t.kind, TableKind::Checkpoints);
    assert_eq!(
        t.header[3..],
        [
            "last epoch acc %",
            "last epoch Δ vs alone",
            "best-val acc %",
            "best-val Δ vs alone",
            "best-test (diagnostic) acc %",
            "best-test (diagnostic) Δ vs alone"
        ]
    );
    let row = |model: &str, method: &str| t.rows.iter().find(|r| r[1] == model && r[2] == method).unwrap()[3..].to_vec();
    assert_eq!(row("mobilenetv3-small-1d", "none"), ["85.00 ± 1.00", "", "92.00 ± 1.00", "", "—", ""]);
    assert_eq!(
        row("mobilenetv3-small-1d", "kd"),
        ["92.00 ± 1.00", "+7.00 (p 0.001)", "85.00 ± 1.00", "-7.00 (p 0.001)", "96.00 ± 1.41*", "—"]
    );
    assert_eq!(row("teacher", "none"), ["—", "", "—", "", "—", ""]);
    assert!(t.notes[0].contains("a diagnostic, optimistic by construction, that chose nothing"), "{:?}", t.notes);
    // The same table whichever checkpoint the other tables are scored at.
    let best = report::build(&p, &records, "0123456789ab", "box", Checkpoint::Best, Split::Test, &[]);
    assert_eq!(best.tables[0].rows, t.rows);
    assert!(t.csv.iter().any(|line| line[4] == "test_accuracy@best-test" && line[7] == "2"));
}
