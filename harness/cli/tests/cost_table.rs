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

/// A writable copy of a fixture tree.
fn copy_tree(from: &Path, to: &Path) {
    harbench_common::fs::copy_tree(from, to).unwrap();
}

/// The Jetson Nano fixture as a whole board: its rails, its device-tree model and its
/// `nvpmodel` power mode (MAXN).
fn jetson_board(root: &Path) {
    copy_tree(&jetson_nano(), root);
    for (file, text) in [
        ("proc/device-tree/model", "NVIDIA Jetson Nano Developer Kit\0"),
        ("var/lib/nvpmodel/status", "pmode:0000\n"),
        ("etc/nvpmodel.conf", "< POWER_MODEL ID=0 NAME=MAXN >\nCPU_ONLINE CORE_0 1\n< POWER_MODEL ID=1 NAME=5W >\n"),
    ] {
        std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
        std::fs::write(root.join(file), text).unwrap();
    }
}

#[test]
fn a_jetson_profile_of_a_suite_fills_the_cost_table_and_the_energy_figure() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::write(cwd.join("cost.yaml"), SUITE).unwrap();
    ok(harbench(cwd).args(["run", "cost.yaml"]));
    let board = cwd.join("board");
    jetson_board(&board);
    let quick = ["--min-seconds", "0.05", "--warmup", "0", "--min-samples", "5", "--idle-seconds", "0.05", "--energy-seconds", "0.05"];
    let printed = ok(harbench(cwd).args(["profile", "cost.yaml"]).args(quick).env("HARBENCH_SYSFS_ROOT", &board));
    assert!(printed.contains("NVIDIA Jetson Nano Developer Kit, power mode MAXN"), "{printed}");

    // Two architectures: the teacher, and the student that both student rows export.
    let device = "jetson-nvidia-jetson-nano-developer-kit-maxn";
    let dir = cwd.join("results/profiles/cost").join(device);
    let mut energy = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let p: serde_json::Value = serde_json::from_slice(&std::fs::read(entry.path()).unwrap()).unwrap();
        let single = &p["profile"]["energy"]["single"];
        assert_eq!(single["meter"], "jetson-ina3221");
        assert!((single["active_watts"].as_f64().unwrap() - 2.5).abs() < 1e-9, "{single}");
        assert_eq!(p["device"]["power_mode"], "MAXN");
        let rows: Vec<String> =
            p["rows"].as_array().unwrap().iter().map(|r| format!("{}/{}", r[1].as_str().unwrap(), r[2].as_str().unwrap())).collect();
        energy.push((rows, single["joules_per_window"].as_f64().unwrap() * 1e3));
    }
    energy.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        energy.iter().map(|e| e.0.clone()).collect::<Vec<_>>(),
        vec![vec!["student/none".to_string(), "student/kd".into()], vec!["teacher/none".into()]]
    );

    // The report: one energy per architecture, the same on both student rows, in the table and
    // its CSV; the device's columns named by board and power mode.
    let table = ok(harbench(cwd).args(["report", "cost.yaml"]));
    assert!(table.contains("energy mJ, jetson MAXN") && table.contains("power W, jetson MAXN"), "{table}");
    let rows = csv_rows(&cwd.join("results/cost/nogit/tables.csv"));
    for (names, mj) in &energy {
        for name in names {
            let (model, method) = name.split_once('/').unwrap();
            let cell = rows
                .iter()
                .find(|r| r.0 == model && r.1 == method && r.2 == format!("energy_mj@{device}"))
                .unwrap_or_else(|| panic!("{rows:?}"));
            assert!((cell.3 - mj).abs() < 1e-9, "{model}/{method}: {} vs {mj}", cell.3);
            let line = table.lines().find(|l| l.contains(&format!(" {model} ")) && l.contains(&format!(" {method} "))).unwrap();
            assert!(line.contains(&format!("{mj:.3}")) && line.contains("2.50 (idle 2.50)"), "{line}");
        }
    }
    // The Pareto figure of accuracy against that energy, named by the device.
    let figure = cwd.join(format!("results/cost/nogit/figures/pareto-synthetic-energy-{device}.svg"));
    let svg = std::fs::read_to_string(&figure).unwrap_or_else(|e| panic!("{}: {e}", figure.display()));
    assert!(svg.contains("on jetson MAXN"), "the caption names the device");
    let page = std::fs::read_to_string(cwd.join("results/cost/nogit/report.html")).unwrap();
    assert!(
        page.contains(&format!("{:.3}", energy[1].1)) && page.contains("measured on NVIDIA Jetson Nano Developer Kit"),
        "the page has the teacher's energy and the figure"
    );
}
