//! `harbench run --jobs N` and `harbench slurm` as a user runs them, on a tiny synthetic suite.
//! (The real Slurm cluster test is ci/slurm-test.sh, run by .ci/run.)

use std::path::Path;
use std::process::Output;

mod common;
use common::harbench;

const SUITE: &str = "\
datasets: [synthetic]
seeds: [0, 1]
train: {epochs: 2, batch_size: 32, warmup_epochs: 0}
teacher: {model: mobilenetv3-large-1d, width: 0.25, heads: [hopfield]}
experiments:
  - name: kd
    models: [{preset: mobilenetv3-small-1d, width: 0.25, label: student}]
    methods: [none, kd, smldist]
tables: [kd]
";

fn run(cwd: &Path, args: &[&str]) -> (Output, String) {
    let o = harbench(cwd).args(args).output().unwrap();
    let text = format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    (o, text)
}

fn ok(cwd: &Path, args: &[&str]) -> String {
    let (o, text) = run(cwd, args);
    assert!(o.status.success(), "harbench {args:?} failed:\n{text}");
    text
}

fn fails(cwd: &Path, args: &[&str]) -> String {
    let (o, text) = run(cwd, args);
    assert!(!o.status.success(), "harbench {args:?} should fail:\n{text}");
    text
}

/// Every run record of a result set, by key.
fn records(dir: &Path) -> std::collections::BTreeMap<String, serde_json::Value> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("machine.json"))
        .map(|p| {
            let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (r["key"].as_str().unwrap().to_string(), r)
        })
        .collect()
}

fn entries(dir: &Path, extension: &str) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.flatten().filter(|e| e.path().extension().is_some_and(|x| x == extension)).count())
}

#[test]
fn two_workers_record_what_one_records_and_train_each_teacher_once() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::write(cwd.join("s.yaml"), SUITE).unwrap();
    let plan = ok(cwd, &["run", "s.yaml", "--dry-run", "--jobs", "2", "--results", "one"]);
    assert!(plan.contains("makespan on 2 worker(s)") && plan.contains("8 to run"), "{plan}");

    ok(cwd, &["run", "s.yaml", "--jobs", "1", "--threads-per-job", "1", "--results", "one"]);
    let out = ok(cwd, &["run", "s.yaml", "--jobs", "2", "--results", "two"]);
    assert!(out.contains("8 runs on 2 workers × 1 thread(s)") && out.contains("8 finished, 0 failed"), "{out}");

    let (one, two) = (records(&cwd.join("one/s/nogit/testbox")), records(&cwd.join("two/s/nogit/testbox")));
    assert_eq!(one.len(), 8);
    assert_eq!(one.keys().collect::<Vec<_>>(), two.keys().collect::<Vec<_>>());
    for (key, a) in &one {
        let b = &two[key];
        for field in ["status", "config_hash", "best", "last", "parameters"] {
            assert_eq!(a[field], b[field], "{key}: {field}");
        }
        // A distilling run loaded its teacher from the store: the teacher's run trained it.
        if let Some(teacher) = b["output"]["teacher"].as_object() {
            assert_eq!(teacher["reused"], true, "{key} trained its teacher again");
        }
    }
    assert!(two.values().any(|r| r["best"]["test_accuracy"].as_f64().unwrap() > 0.3), "runs that learn nothing test nothing");
    // One entry per teacher (two seeds), and no lock left anywhere.
    assert_eq!(entries(&cwd.join("two/teachers"), "json"), 2);
    assert_eq!(entries(&cwd.join("two/teachers"), "lock") + entries(&cwd.join("two/s/nogit/testbox"), "lock"), 0);

    // A second run has nothing to do, and says so.
    let again = ok(cwd, &["run", "s.yaml", "--jobs", "2", "--results", "two"]);
    assert!(again.contains("0 finished, 0 failed (0 of them unavailable in this build), 8 skipped"), "{again}");

    // Workers record under the commit their parent saw, not the one they would find themselves
    // (the checkout may change while a suite runs): here the parent's state is pinned.
    let pinned = r#"{"commit":"0123456789abcdef0123","dirty":true,"branch":null}"#;
    ok(cwd, &["run", "s.yaml", "--jobs", "2", "--results", "three", "--filter", "synthetic.student.none", "--pinned-git", pinned]);
    let three = records(&cwd.join("three/s/0123456789ab-dirty/testbox"));
    assert_eq!(three.len(), 2, "the workers' records are not under the parent's commit");
    assert!(three.values().all(|r| r["git"]["commit"] == "0123456789abcdef0123"));
    assert!(!cwd.join("three/s/nogit").exists());
}

#[test]
fn bad_parallel_and_slurm_input_gets_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::write(cwd.join("s.yaml"), SUITE).unwrap();
    let e = fails(cwd, &["run", "s.yaml", "--jobs", "0"]);
    assert!(e.contains("--jobs must be at least 1"), "{e}");
    let e = fails(cwd, &["run", "s.yaml", "--threads-per-job", "0"]);
    assert!(e.contains("--threads-per-job must be at least 1"), "{e}");
    let e = fails(cwd, &["run", "s.yaml", "--filter", "no-such-run"]);
    assert!(e.contains("no run of suite s matches --filter no-such-run"), "{e}");
    let e = fails(cwd, &["slurm", "submit", "s.yaml", "--tasks", "0"]);
    assert!(e.contains("--tasks must be at least 1"), "{e}");
    let e = fails(cwd, &["slurm", "status", "s.yaml"]);
    assert!(e.contains("no Slurm submission of suite s") && e.contains("harbench slurm submit"), "{e}");

    // No Slurm client on PATH: named, after the scripts were written for a look.
    let o = harbench(cwd).args(["slurm", "submit", "s.yaml", "--filter", "s0"]).env("PATH", cwd.join("empty")).output().unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.contains("`sbatch` is not on PATH"), "{e}");

    // The dry run writes a script that runs every task as a runner of the same result set.
    let out = ok(cwd, &["slurm", "submit", "s.yaml", "--dry-run", "--array-parallelism", "3", "--partition", "cpu", "--extra", "--mem=2G"]);
    for expected in [
        "#SBATCH --array=0-7%3",
        "#SBATCH --partition=cpu",
        "#SBATCH --mem=2G",
        "--jobs 1 --threads-per-job 1",
        "--machine slurm",
        "--dependency=afterany",
    ] {
        assert!(out.contains(expected), "{expected} missing:\n{out}");
    }

    // A suite with nothing left to do is not submitted.
    ok(cwd, &["run", "s.yaml", "--filter", "s1", "--machine", "slurm"]);
    let e = fails(cwd, &["slurm", "submit", "s.yaml", "--filter", "s1"]);
    assert!(e.contains("has no run to do matching --filter s1"), "{e}");
}
