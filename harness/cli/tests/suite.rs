//! `harbench run / report / diff` as a user runs them, on tiny synthetic suites (no download).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

mod common;
use common::harbench;

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn ok(cwd: &Path, args: &[&str]) -> String {
    let o = harbench(cwd).args(args).output().unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "harbench {args:?} failed:\n{out}\n{err}");
    out
}

/// Run records (not machine.json) in `dir` with their bytes and modification times.
fn records(dir: &Path) -> Vec<(String, Vec<u8>, SystemTime)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    let mut v: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("machine.json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap(), std::fs::metadata(&p).unwrap().modified().unwrap())
        })
        .collect();
    v.sort();
    v
}

const TINY: &str = "\
description: resume test
datasets: [synthetic]
seeds: [0, 1, 2, 3, 4, 5]
train: {epochs: 1, batch_size: 32, warmup_epochs: 0}
experiments:
  - name: har
    models: [{preset: mobilenetv3-small-1d, width: 0.25, label: tiny}]
    methods: [none]
";

#[test]
fn a_suite_killed_with_sigkill_resumes_without_redoing_finished_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::write(cwd.join("tiny.yaml"), TINY).unwrap();
    ok(cwd, &["data", "prepare", "synthetic"]);
    let dir = cwd.join("results/tiny/nogit/testbox");

    // One runner in one process: the resume of the store, not the pool (tests/scale.rs).
    let mut child = harbench(cwd).args(["run", "tiny.yaml", "--jobs", "1"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while records(&dir).is_empty() {
        assert!(Instant::now() < deadline, "no run finished in 5 minutes");
        assert!(child.try_wait().unwrap().is_none(), "the runner exited before the first run was recorded");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = records(&dir);
    assert!(!before.is_empty() && before.len() < 6, "kill came too late to test resuming: {} runs were done", before.len());

    let o = harbench(cwd).args(["run", "tiny.yaml"]).output().unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    for (name, bytes, mtime) in &before {
        let key = name.trim_end_matches(".json");
        assert!(out.contains(&format!("{key}: skipped (finished earlier)")), "{key} not skipped:\n{out}");
        let path = dir.join(name);
        assert_eq!(&std::fs::read(&path).unwrap(), bytes, "{name} was rewritten");
        assert_eq!(&std::fs::metadata(&path).unwrap().modified().unwrap(), mtime, "{name} was touched");
    }
    let after = records(&dir);
    assert_eq!(after.len(), 6, "{out}");
    assert!(out.contains(&format!("{} finished, 0 failed", 6 - before.len())), "{out}");
    // The killed runner's lock was stale and taken over; nothing is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".json"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let record: serde_json::Value = serde_json::from_slice(&after[0].1).unwrap();
    assert_eq!(record["status"], "finished");
    assert_eq!(record["output"]["dataset"]["id"], "synthetic");
    assert!(record["output"]["dataset"]["cache_hash"].as_str().unwrap().len() == 12);
    assert!(record["best"]["test_accuracy"].as_f64().unwrap() > 0.0);
    assert!(cwd.join("results/tiny/nogit/testbox/machine.json").is_file());
}

const LONG: &str = "\
description: mid-run resume test
datasets: [synthetic]
seeds: [0]
train: {epochs: 6, batch_size: 32, warmup_epochs: 1}
experiments:
  - name: har
    models: [{preset: mobilenetv3-small-1d, width: 0.25, dropout: 0.2, label: tiny}]
    methods: [none]
";

/// The numbers of a record's outcome, without timings.
fn outcome_numbers(record: &[u8]) -> serde_json::Value {
    let mut outcome: serde_json::Value = serde_json::from_slice::<serde_json::Value>(record).unwrap()["output"]["outcome"].clone();
    for field in ["train_seconds", "samples_per_second"] {
        outcome[field] = serde_json::Value::Null;
    }
    for epoch in outcome["history"].as_array_mut().unwrap() {
        epoch["samples_per_second"] = serde_json::Value::Null;
    }
    outcome
}

#[test]
fn a_run_killed_mid_way_goes_on_from_its_last_epoch_to_the_same_numbers() {
    let killed = tempfile::tempdir().unwrap();
    let whole = tempfile::tempdir().unwrap();
    for cwd in [killed.path(), whole.path()] {
        std::fs::write(cwd.join("long.yaml"), LONG).unwrap();
        ok(cwd, &["data", "prepare", "synthetic"]);
    }
    let key = "synthetic.tiny.none.holdout.s0";
    let dir = killed.path().join("results/long/nogit/testbox");
    let mut child =
        harbench(killed.path()).args(["run", "long.yaml", "--jobs", "1"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let saved = dir.join(format!("{key}.epochs/state-2.json"));
    let deadline = Instant::now() + Duration::from_secs(300);
    while !saved.exists() {
        assert!(Instant::now() < deadline, "epoch 2 was not saved in 5 minutes");
        assert!(child.try_wait().unwrap().is_none(), "the runner exited before epoch 2 was saved");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL, during epoch 3 (or while it saves epoch 2's state)
    child.wait().unwrap();
    assert!(records(&dir).is_empty(), "the run finished before it was killed");

    let out = ok(killed.path(), &["run", "long.yaml"]);
    assert!(out.contains("1 finished, 0 failed"), "{out}");
    assert!(out.contains(&format!("{key}: running, from its checkpoint after epoch ")), "{out}");
    ok(whole.path(), &["run", "long.yaml"]);
    let resumed = records(&dir);
    let unbroken = records(&whole.path().join("results/long/nogit/testbox"));
    assert_eq!(outcome_numbers(&resumed[0].1), outcome_numbers(&unbroken[0].1));
    assert_eq!(outcome_numbers(&resumed[0].1)["history"].as_array().unwrap().len(), 6);
    // Recorded: the checkpoints are gone.
    assert!(!dir.join(format!("{key}.epochs")).exists());
}

const PIPELINE: &str = "\
datasets: [synthetic]
seeds: [0, 1]
train: {epochs: 1, batch_size: 32, warmup_epochs: 0}
teacher: {model: mobilenetv3-large-1d, width: 0.25}
experiments:
  - name: kd
    models: [{preset: mobilenetv3-small-1d, width: 0.25, label: student}]
    methods: [none, kd]
tables: [kd, cost]
";

#[test]
fn run_report_and_diff_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::create_dir(cwd.join("suites")).unwrap();
    std::fs::write(cwd.join("suites/pipe.yaml"), PIPELINE).unwrap();

    let plan = ok(cwd, &["run", "pipe", "--dry-run"]);
    assert!(plan.contains("synthetic.teacher.none.holdout.s0") && plan.contains("6 runs, 0 done, 0 not in this build, 6 to run"), "{plan}");

    // Teachers first (through the teacher store), then the students, alone and distilled.
    let out = ok(cwd, &["run", "pipe"]);
    assert!(out.contains("6 finished, 0 failed"), "{out}");
    let teachers: Vec<_> = std::fs::read_dir(cwd.join("results/teachers")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(teachers.len(), 4, "two teachers, .bpk + .json each: {teachers:?}");

    let again = ok(cwd, &["run", "pipe", "--dry-run"]);
    assert!(again.contains("6 done, 0 not in this build, 0 to run"), "{again}");
    // Pending runs on a dataset whose cache exists: the estimate reads it (regression: this
    // borrowed the loaded-datasets cell twice and panicked).
    std::fs::write(cwd.join("suites/pipe2.yaml"), PIPELINE.replace("seeds: [0, 1]", "seeds: [7]")).unwrap();
    let pending = ok(cwd, &["run", "pipe2", "--dry-run"]);
    assert!(pending.contains("0 done, 0 not in this build, 3 to run") && pending.contains("samples/s"), "{pending}");

    let report = ok(cwd, &["report", "pipe"]);
    assert!(report.contains("Distillation methods compared"), "{report}");
    // Every trained model was profiled: MACs and latency are filled; energy is absent here.
    assert!(report.contains(" M ") && report.contains(" ms ") && report.contains("absent (no meter)"), "{report}");
    let md = std::fs::read_to_string(cwd.join("results/pipe/nogit/tables.md")).unwrap();
    assert!(md.contains("| teacher ") && md.contains("| student "), "{md}");
    let csv = std::fs::read_to_string(cwd.join("results/pipe/nogit/tables.csv")).unwrap();
    assert_eq!(csv.lines().filter(|l| l.starts_with("kd,synthetic,")).count(), 6, "{csv}");
    // LaTeX, the page and the figures beside the tables (profiles give latency and MACs axes).
    let commit_dir = cwd.join("results/pipe/nogit");
    for file in [
        "tables.tex",
        "report.html",
        "figures/pareto-synthetic-params.png",
        "figures/pareto-synthetic-latency.svg",
        "figures/pareto-synthetic-macs.svg",
        "figures/bars-kd-synthetic.png",
        "figures/curves-synthetic.svg",
        "figures/confusion-synthetic-teacher-none.png",
    ] {
        assert!(commit_dir.join(file).is_file(), "report wrote no {file}: {report}");
    }
    let html = std::fs::read_to_string(commit_dir.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Distillation methods compared") && html.contains("commit nogit"), "{html}");
    // --md-out: the Markdown tables (here the last-epoch ones) also go to a file of the user's,
    // headed by the command that regenerates it.
    ok(cwd, &["report", "pipe", "--checkpoint", "last", "--no-plots", "--format", "md", "--md-out", "docs/tables.md"]);
    let doc = std::fs::read_to_string(cwd.join("docs/tables.md")).unwrap();
    assert!(doc.starts_with("<!-- Written by `harbench report pipe --commit nogit --checkpoint last"), "{doc}");
    assert!(doc.contains("Last-epoch model") && doc.contains("| student ") && doc.contains("Δacc vs alone"), "{doc}");

    // The same results under a second name: nothing changed, to the last bit.
    copy_dir(&cwd.join("results/pipe/nogit"), &cwd.join("results/pipe/copy"));
    let d = ok(cwd, &["diff", "nogit", "copy", "--fail-on-regression"]);
    assert!(d.contains("0 improved, 0 regressed, 6 within noise (6 of them identical on every seed)"), "{d}");
    assert!(!d.contains("other CPU kernels"), "{d}");

    // This checkout's machine.json as if written on other CPU kernels: diff says so, and a run
    // does not add to that folder (its numbers would not be comparable), naming the file.
    let machine_json = cwd.join("results/pipe/nogit/testbox/machine.json");
    let original = std::fs::read_to_string(&machine_json).unwrap();
    let mut machine: serde_json::Value = serde_json::from_str(&original).unwrap();
    assert!(machine["kernels"]["simd"].is_string(), "{original}");
    // Portable numerics share a folder whatever the SIMD level; native kernels of another level do not.
    machine["kernels"]["simd"] = serde_json::json!("elsewhere-simd");
    machine["kernels"]["numerics"] = serde_json::json!("native");
    std::fs::write(&machine_json, machine.to_string()).unwrap();
    let d = ok(cwd, &["diff", "nogit", "copy"]);
    assert!(d.contains("ran on other CPU kernels") && d.contains("elsewhere-simd"), "{d}");
    std::fs::remove_file(cwd.join("results/pipe/nogit/testbox/synthetic.student.kd.holdout.s1.json")).unwrap();
    let o = harbench(cwd).args(["run", "pipe"]).output().unwrap();
    let (out, err) = text(&o);
    assert!(
        !o.status.success() && err.contains("machine.json") && err.contains("other CPU kernels (native: elsewhere-simd"),
        "{out}\n{err}"
    );
    assert!(!cwd.join("results/pipe/nogit/testbox/synthetic.student.kd.holdout.s1.json").exists(), "a run was made");
    assert_eq!(std::fs::read_to_string(&machine_json).unwrap(), machine.to_string(), "machine.json was replaced");
    std::fs::write(&machine_json, &original).unwrap();
    assert!(ok(cwd, &["run", "pipe"]).contains("1 finished, 0 failed"));

    // A teacher that trained to other numbers than the set's teacher record (here the record is
    // edited, as if another CPU had made it) teaches no row of that set: the distilling run
    // fails, naming the record and the first difference, and runs again once they agree.
    let teacher_json = cwd.join("results/pipe/nogit/testbox/synthetic.teacher.none.holdout.s1.json");
    let recorded = std::fs::read_to_string(&teacher_json).unwrap();
    let mut edited: serde_json::Value = serde_json::from_str(&recorded).unwrap();
    let loss = edited["output"]["outcome"]["history"][0]["train_loss"].as_f64().unwrap();
    edited["output"]["outcome"]["history"][0]["train_loss"] = serde_json::json!(loss + 1e-3);
    std::fs::write(&teacher_json, edited.to_string()).unwrap();
    let student = cwd.join("results/pipe/nogit/testbox/synthetic.student.kd.holdout.s1.json");
    std::fs::remove_file(&student).unwrap();
    let o = harbench(cwd).args(["run", "pipe"]).output().unwrap();
    let (out, err) = text(&o);
    assert!(!o.status.success() && out.contains("1 failed"), "{out}\n{err}");
    let failed: serde_json::Value = serde_json::from_slice(&std::fs::read(&student).unwrap()).unwrap();
    let why = failed["failure"].as_str().unwrap();
    assert!(
        why.contains("does not reproduce the teacher record")
            && why.contains("synthetic.teacher.none.holdout.s1.json")
            && why.contains("epoch 1 training loss"),
        "{why}"
    );
    std::fs::write(&teacher_json, &recorded).unwrap();
    assert!(ok(cwd, &["run", "pipe"]).contains("1 finished, 0 failed"));

    let o = harbench(cwd).args(["diff", "nogit", "HEAD"]).output().unwrap();
    assert!(!o.status.success());

    // A suite continued at a second commit: the teacher rows only there, joined in one table.
    let later = cwd.join("results/pipe/later/testbox");
    std::fs::create_dir_all(&later).unwrap();
    for teacher in ["synthetic.teacher.none.holdout.s0.json", "synthetic.teacher.none.holdout.s1.json"] {
        std::fs::rename(cwd.join("results/pipe/copy/testbox").join(teacher), later.join(teacher)).unwrap();
    }
    let joined =
        ok(cwd, &["report", "pipe", "--commit", "copy", "--commit", "later", "--format", "md", "--no-plots", "--md-out", "docs/joined.md"]);
    assert!(joined.contains("records of 2 commits joined") && joined.contains("later (2 run(s): synthetic.teacher.none)"), "{joined}");
    let doc = std::fs::read_to_string(cwd.join("docs/joined.md")).unwrap();
    assert!(doc.starts_with("<!-- Written by `harbench report pipe --commit copy --commit later --checkpoint best"), "{doc}");
    let teacher_row = |text: &str| text.lines().find(|l| l.starts_with("| teacher ")).unwrap().to_string();
    assert_eq!(teacher_row(&doc), teacher_row(&md), "the joined table lost the teacher rows");
    let o = harbench(cwd).args(["report", "pipe", "--commit", "copy", "--commit", "nowhere"]).output().unwrap();
    assert!(!o.status.success() && text(&o).1.contains("nowhere"), "{}", text(&o).1);
    // The teacher rows moved to a machine folder of their own, made on other kernels: joined
    // with `--commit REV:MACHINE`, each set named with its machine and kernels.
    let other = cwd.join("results/pipe/later/otherbox");
    std::fs::rename(&later, &other).unwrap();
    let mut machine: serde_json::Value = serde_json::from_str(&original).unwrap();
    (machine["name"], machine["kernels"]["simd"]) = (serde_json::json!("otherbox"), serde_json::json!("elsewhere-simd"));
    machine["kernels"]["numerics"] = serde_json::json!("native");
    std::fs::write(other.join("machine.json"), machine.to_string()).unwrap();
    let joined = ok(cwd, &["report", "pipe", "--commit", "copy", "--commit", "later:otherbox", "--no-plots", "--md-out", "docs/joined.md"]);
    assert!(
        joined.contains("records of 2 result sets joined") && joined.contains("later on otherbox (2 run(s): synthetic.teacher.none)"),
        "{joined}"
    );
    assert!(
        joined.contains("kernels: testbox portable-x86-64-v3 (here on x86-64") && joined.contains("otherbox native: elsewhere-simd"),
        "{joined}"
    );
    let doc = std::fs::read_to_string(cwd.join("docs/joined.md")).unwrap();
    assert!(doc.starts_with("<!-- Written by `harbench report pipe --commit copy --commit later:otherbox --checkpoint best"), "{doc}");
    assert_eq!(teacher_row(&doc), teacher_row(&md), "the joined table lost the teacher rows");
    let page = std::fs::read_to_string(cwd.join("results/pipe/copy/report.html")).unwrap();
    assert!(page.contains("Machine testbox: ") && page.contains("Machine otherbox: ") && page.contains("elsewhere-simd"), "{page}");
    let o = harbench(cwd).args(["report", "pipe", "--commit", "copy", "--commit", "later:nobox"]).output().unwrap();
    assert!(!o.status.success() && text(&o).1.contains("later/nobox"), "{}", text(&o).1);
    // A fresh clone has no results of its own: `report` joins every result set of the committed
    // reference, whatever this machine is called.
    let fresh = tempfile::tempdir().unwrap();
    std::fs::create_dir(fresh.path().join("suites")).unwrap();
    std::fs::write(fresh.path().join("suites/pipe.yaml"), PIPELINE).unwrap();
    copy_dir(&cwd.join("results/pipe/copy/testbox"), &fresh.path().join("results/reference/pipe/copy/testbox"));
    copy_dir(&other, &fresh.path().join("results/reference/pipe/later/otherbox"));
    let o = harbench(fresh.path())
        .env("HARBENCH_MACHINE", "elsewhere")
        .args(["report", "pipe", "--format", "md", "--no-plots"])
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(
        out.contains("holds 2 result sets of suite pipe: joining them all") && out.contains("records of 2 result sets joined"),
        "{out}"
    );
    assert!(out.contains("copy on testbox") && out.contains("later on otherbox"), "{out}");
    let tables = std::fs::read_to_string(fresh.path().join("results/reference/pipe/later/tables.md")).unwrap();
    assert_eq!(teacher_row(&tables), teacher_row(&md), "the joined table lost the teacher rows");

    // The regression gate: the results as a reference store, compared with this checkout's.
    copy_dir(&cwd.join("results/pipe/nogit"), &cwd.join("reference/pipe/reference-commit"));
    let gate = ok(cwd, &["diff", "--against", "reference", "--suite", "pipe", "--fail-on-regression"]);
    assert!(gate.contains("reference reference-commit → nogit/testbox") && gate.contains("0 regressed"), "{gate}");
    // A reference kept per kernels: another machine folder beside it, made on other kernels,
    // is not the one compared; renamed, the folder with this machine's kernels still is.
    let reference = cwd.join("reference/pipe/reference-commit");
    copy_dir(&reference.join("testbox"), &reference.join("otherbox"));
    std::fs::write(reference.join("otherbox/machine.json"), machine.to_string()).unwrap();
    let gate = ok(cwd, &["diff", "--against", "reference", "--suite", "pipe"]);
    assert!(gate.contains("reference reference-commit → nogit/testbox") && !gate.contains("note:"), "{gate}");
    std::fs::rename(reference.join("testbox"), reference.join("samebox")).unwrap();
    let gate = ok(cwd, &["diff", "--against", "reference", "--suite", "pipe"]);
    assert!(gate.contains("the reference ran on machine samebox") && !gate.contains("other CPU kernels"), "{gate}");
    std::fs::remove_dir_all(reference.join("otherbox")).unwrap();
    // A deliberately worse student with kd (10 points lower on both seeds) fails it, by name.
    for seed in [0, 1] {
        let path = cwd.join(format!("results/pipe/nogit/testbox/synthetic.student.kd.holdout.s{seed}.json"));
        let text = std::fs::read_to_string(&path).unwrap();
        let mut record: serde_json::Value = serde_json::from_str(&text).unwrap();
        for metric in ["test_accuracy", "test_macro_f1"] {
            let v = record["best"][metric].as_f64().unwrap();
            record["best"][metric] = serde_json::json!(v - 0.10 - 0.01 * seed as f64);
        }
        std::fs::write(&path, serde_json::to_string(&record).unwrap()).unwrap();
    }
    let o = harbench(cwd).args(["diff", "--against", "reference", "--suite", "pipe", "--fail-on-regression"]).output().unwrap();
    let (out, err) = text(&o);
    assert!(!o.status.success(), "the gate passed a worse commit:\n{out}");
    assert!(out.contains("synthetic.student.kd") && out.contains("REGRESSED") && err.contains("regressed beyond noise"), "{out}\n{err}");
    let o = harbench(cwd).args(["diff", "--against", "nowhere"]).output().unwrap();
    assert!(text(&o).1.contains("--against nowhere: no such folder"), "{:?}", text(&o));
    let o = harbench(cwd).args(["report", "nosuch"]).output().unwrap();
    assert!(text(&o).1.contains("no suite file 'nosuch'") && text(&o).1.contains("pipe"), "{:?}", text(&o));
}

/// A selection suite: the test split withheld in every run, teacher included.
const SELECTION: &str = "\
datasets: [synthetic]
seeds: [0]
train: {epochs: 1, batch_size: 32, warmup_epochs: 0, test_split: withheld}
teacher: {model: mobilenetv3-large-1d, width: 0.25}
experiments:
  - name: kd
    models: [{preset: mobilenetv3-small-1d, width: 0.25, label: student}]
    methods: [none, kd]
tables: [kd]
";

#[test]
fn a_selection_suite_never_scores_the_test_split_and_reports_validation() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::write(cwd.join("select.yaml"), SELECTION).unwrap();
    let out = ok(cwd, &["run", "select.yaml", "--jobs", "1"]);
    assert!(out.contains("3 finished, 0 failed"), "{out}");
    assert!(out.contains("validation (test withheld) accuracy"), "{out}");
    let dir = cwd.join("results/select/nogit/testbox");
    for (name, bytes, _) in records(&dir) {
        let text = String::from_utf8(bytes).unwrap();
        // No test score anywhere in the record: not the headline, the outcome or the teacher's.
        assert!(!text.contains("test_accuracy") && !text.contains("\"test\""), "{name} holds a test score");
        let record: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(record["config"]["train"]["test_split"], "withheld", "{name}");
        assert!(record["best"]["val_accuracy"].as_f64().is_some(), "{name}");
    }
    // The default report has nothing to show and says how to see the validation scores.
    let report = ok(cwd, &["report", "select.yaml", "--no-plots", "--format", "md"]);
    assert!(report.contains("withheld") && report.contains("--split validation"), "{report}");
    let val = ok(cwd, &["report", "select.yaml", "--split", "validation", "--format", "md", "--no-plots"]);
    assert!(val.contains("scored on the validation split") && !val.contains("| withheld"), "{val}");
    let md = std::fs::read_to_string(cwd.join("results/select/nogit/tables-val.md")).unwrap();
    let student = md.lines().find(|l| l.starts_with("| student ") && l.contains("| none ")).unwrap();
    assert!(student.contains(" ± "), "{md}");
    assert!(cwd.join("results/select/nogit/tables.md").is_file(), "the test report keeps its own file");
}

#[test]
fn a_broken_suite_is_reported_with_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::write(cwd.join("bad.yaml"), PIPELINE.replace("methods: [none, kd]", "methods: [none, fitnet]")).unwrap();
    let o = harbench(cwd).args(["run", "bad.yaml", "--dry-run"]).output().unwrap();
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("bad.yaml:8:21: ") && err.contains("unknown method 'fitnet' (did you mean 'fitnets'?)"), "{err}");
}

#[test]
fn every_shipped_suite_validates() {
    let suites = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../suites");
    let tmp = tempfile::tempdir().unwrap();
    let mut n = 0;
    for e in std::fs::read_dir(&suites).unwrap().flatten() {
        let path = e.path();
        if path.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        let out = ok(tmp.path(), &["run", path.to_str().unwrap(), "--dry-run"]);
        assert!(out.contains(" to run; estimate"), "{}: {out}", path.display());
        n += 1;
    }
    assert!(n >= 7, "only {n} suites found in {}", suites.display());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn a_diverging_run_is_recorded_as_failed_and_fails_the_command() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    // A learning rate of 1e30 overflows the weights within a few steps: the loss becomes NaN/inf.
    let suite = TINY.replace("seeds: [0, 1, 2, 3, 4, 5]", "seeds: [0, 1]").replace("warmup_epochs: 0}", "warmup_epochs: 0, lr: 1.0e30}");
    std::fs::write(cwd.join("nan.yaml"), suite).unwrap();
    let o = harbench(cwd).args(["run", "nan.yaml"]).output().unwrap();
    let (out, err) = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("0 finished, 2 failed (0 of them unavailable"), "{out}");
    assert!(err.contains("2 run(s) failed"), "{err}");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cwd.join("results/nan/nogit/testbox/synthetic.tiny.none.holdout.s1.json")).unwrap()).unwrap();
    assert_eq!(record["status"], "failed");
    let failure = record["failure"].as_str().unwrap();
    assert!(failure.contains("loss became") && failure.contains("at epoch 1"), "{failure}");
}

/// `git ARGS` in `dir` (with a committer, as on a fresh CI machine); its output, trimmed.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let o = Command::new("git")
        .args(["-c", "user.name=test", "-c", "user.email=test@example.org"])
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    o.status.success().then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

#[test]
fn a_binary_built_from_another_commit_files_no_records_under_this_checkout() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"));
    let version = ok(source, &["--version"]);
    let Some(built) = git(source, &["rev-parse", "HEAD"]) else {
        // A source archive: nothing to compare with, and the binary says so.
        assert!(version.contains("built outside git"), "{version}");
        return;
    };
    assert!(version.contains(&format!("built from commit {}", &built[..12])), "{version}");

    // A checkout at another commit: the run is refused before anything is written.
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::create_dir(cwd.join("suites")).unwrap();
    std::fs::write(cwd.join("suites/pipe.yaml"), PIPELINE).unwrap();
    git(cwd, &["init", "-q"]).expect("git init");
    git(cwd, &["add", "-A"]).expect("git add");
    git(cwd, &["commit", "-qm", "a suite"]).expect("git commit");
    let here = git(cwd, &["rev-parse", "HEAD"]).unwrap();
    let o = harbench(cwd).args(["run", "pipe"]).output().unwrap();
    let (out, err) = text(&o);
    assert!(!o.status.success(), "{out}\n{err}");
    assert!(err.contains(&format!("built from commit {} but the checkout here is at {}", &built[..12], &here[..12])), "{err}");
    assert!(!cwd.join("results").exists(), "records were written");
}
