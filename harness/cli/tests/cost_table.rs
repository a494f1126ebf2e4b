//! The cost table of `harbench report`, filled by `harbench run` end to end: energy from a fake
//! Jetson's INA3221 rails (the cost crate's sysfs fixture), memory counted by the allocator.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::harbench;

fn ok(command: &mut Command) -> String {
    let o = command.output().unwrap();
    let (out, err) = (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned());
    assert!(o.status.success(), "{command:?} failed:\n{out}\n{err}");
    out
}

/// A Jetson Nano's sysfs: POM_5V_IN reads a constant 2500 mW (harness/cost/tests/fixtures).
fn jetson_nano() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../cost/tests/fixtures/jetpack4-nano")
}

const SUITE: &str = "\
description: cost table test
datasets: [synthetic]
seeds: [0]
train: {epochs: 1, batch_size: 32, warmup_epochs: 0}
teacher: {model: mobilenetv3-large-1d, width: 0.5}
experiments:
  - name: kd
    models: [{preset: mobilenetv3-small-1d, width: 0.25, label: student}]
    methods: [none, kd]
tables: [cost]
";

/// The `cost` rows of tables.csv: (model, method, metric) → value.
fn csv_rows(path: &Path) -> Vec<(String, String, String, f64)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("cost,"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[2].to_string(), f[3].to_string(), f[4].to_string(), f[5].parse().unwrap())
        })
        .collect()
}

#[test]
fn energy_from_a_jetson_and_inference_memory_reach_the_cost_table() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::write(cwd.join("cost.yaml"), SUITE).unwrap();
    ok(harbench(cwd).args(["run", "cost.yaml"]).env("HARBENCH_SYSFS_ROOT", jetson_nano()));
    let table = ok(harbench(cwd).args(["report", "cost.yaml"]));

    // Every record's profile measured energy on the fixture's rails: 2.5 W over the timed loop.
    let dir = cwd.join("results/cost/nogit/testbox");
    let mut measured = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap().flatten().filter(|e| !e.file_name().to_string_lossy().starts_with("machine")) {
        let record: serde_json::Value = serde_json::from_slice(&std::fs::read(entry.path()).unwrap()).unwrap();
        let single = &record["output"]["cost"]["energy"]["single"];
        assert_eq!(single["meter"], "jetson-ina3221", "{}: {}", entry.path().display(), record["output"]["cost"]);
        let (joules, seconds, calls) = (
            single["active"]["joules"].as_f64().unwrap(),
            single["active"]["seconds"].as_f64().unwrap(),
            single["calls"].as_f64().unwrap(),
        );
        assert!((joules - 2.5 * seconds).abs() < 1e-6, "{joules} J over {seconds} s is not 2.5 W");
        let per_window = single["joules_per_window"].as_f64().unwrap();
        assert!((per_window - joules / calls).abs() < 1e-12);
        measured.push((record["config"]["model"]["label"].as_str().unwrap().to_string(), per_window));
    }
    assert_eq!(measured.len(), 3, "teacher, student alone, student with KD");

    // The terminal table shows each row's energy in mJ (one run per row here, so the median
    // is that run's figure), and never "absent".
    assert!(!table.contains("absent"), "{table}");
    let rows = csv_rows(&dir.parent().unwrap().join("tables.csv"));
    for (model, method) in [("teacher", "none"), ("student", "none"), ("student", "kd")] {
        let energy = rows.iter().find(|r| r.0 == model && r.1 == method && r.2 == "energy_mj").unwrap_or_else(|| panic!("{rows:?}"));
        assert!(measured.iter().any(|(m, j)| m == model && (j * 1e3 - energy.3).abs() < 1e-9), "{energy:?} vs {measured:?}");
        let line = table.lines().find(|l| l.contains(model) && l.contains(&format!(" {method} "))).unwrap();
        assert!(line.contains(&format!("{:.3} mJ", energy.3)), "{line}");
    }

    // Memory: non-zero for every row, the student's below the teacher's.
    let memory = |model: &str, method: &str| rows.iter().find(|r| r.0 == model && r.1 == method && r.2 == "memory_mib").unwrap().3;
    for (model, method) in [("teacher", "none"), ("student", "none"), ("student", "kd")] {
        assert!(memory(model, method) > 0.0, "{model}/{method}: {rows:?}");
    }
    assert!(memory("student", "none") < memory("teacher", "none"), "{rows:?}");
    assert!(memory("student", "kd") < memory("teacher", "none"), "{rows:?}");
    assert!(!table.contains(" 0.00 MiB"), "{table}");
}
