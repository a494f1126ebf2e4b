//! The `harbench` binary as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the binary inside `data_dir` (a temporary folder), so that defaults relative to the
/// working directory (`results/`, the teacher store) never land in the source tree.
fn harbench(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harbench"))
        .args(args)
        .current_dir(data_dir)
        .env("HARBENCH_DATA_DIR", data_dir)
        .env_remove("HARBENCH_DATA_MIRROR")
        .output()
        .expect("harbench runs")
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn mirror() -> Option<PathBuf> {
    let m = std::env::var("HARBENCH_DATA_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"));
    if m.is_dir() {
        Some(m)
    } else {
        assert!(std::env::var("HARBENCH_DATA_MIRROR").is_err(), "HARBENCH_DATA_MIRROR is set but is not a folder");
        eprintln!("NOTE: no dataset mirror; skipping the end-to-end fetch test");
        None
    }
}

#[test]
fn help_teaches_with_examples() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [&["--help"][..], &["data", "--help"], &["data", "fetch", "--help"], &["data", "prepare", "--help"]] {
        let o = harbench(tmp.path(), args);
        let (out, _) = text(&o);
        assert!(o.status.success() && out.contains("harbench data"), "{args:?}: {out}");
    }
}

#[test]
fn list_shows_every_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, _) = text(&harbench(tmp.path(), &["data", "list"]));
    for id in harbench_data::registry::ids() {
        assert!(out.contains(id), "{id} missing from:\n{out}");
    }
    assert!(out.contains("generated") && out.contains("not fetched"));
}

#[test]
fn unknown_dataset_suggests_a_name_and_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let o = harbench(tmp.path(), &["data", "prepare", "motionsens"]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("unknown dataset 'motionsens'") && err.contains("did you mean 'motionsense'"), "{err}");
}

#[test]
fn synthetic_prepares_and_summarises_without_any_download() {
    let tmp = tempfile::tempdir().unwrap();
    let o = harbench(tmp.path(), &["data", "prepare", "synthetic"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let (out, _) = text(&harbench(tmp.path(), &["data", "stats", "synthetic", "--json"]));
    let stats: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(stats[0]["dataset"], "synthetic");
    assert_eq!(stats[0]["subjects"], 8);
    assert_eq!(stats[0]["windows"], 960);
    // Reused the second time.
    let (out, _) = text(&harbench(tmp.path(), &["data", "prepare", "synthetic"]));
    assert!(out.contains("(reused)"), "{out}");
}

#[test]
fn bad_settings_and_missing_sources_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, err) = text(&harbench(tmp.path(), &["data", "prepare", "synthetic", "--overlap", "1.5"]));
    assert!(err.contains("invalid setting `overlap`: 1.5 is outside [0, 1)"), "{err}");
    let (_, err) = text(&harbench(tmp.path(), &["data", "prepare", "uci-har"]));
    assert!(err.contains("preparing uci-har") && err.contains("run `harbench data fetch uci-har`"), "{err}");
    let (_, err) = text(&harbench(tmp.path(), &["data", "fetch", "usc-had", "--mirror", "/nonexistent-mirror"]));
    assert!(err.contains("/nonexistent-mirror/usc-had.tar.zst"), "{err}");
    let o = harbench(tmp.path(), &["data", "prepare"]);
    assert!(!o.status.success() && text(&o).1.contains("--all"));
}

/// The "done when": fetch --all from the mirror, prepare --all, stats.
#[test]
fn fetch_prepare_stats_from_the_mirror() {
    let Some(mirror) = mirror() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let m = mirror.display().to_string();
    let o = harbench(tmp.path(), &["data", "fetch", "--all", "--mirror", &m]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("verified 131 files") && out.contains("skipped: not in the mirror"), "{out}");
    let o = harbench(tmp.path(), &["data", "prepare", "--all"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("10411") && out.contains("skipped (not fetched): pamap2"), "{out}");
    let o = harbench(tmp.path(), &["data", "stats"]);
    let (out, _) = text(&o);
    assert!(o.status.success());
    for id in ["synthetic", "uci-har", "usc-had", "motionsense", "wisdm2019-watch", "daphnet-fog"] {
        assert!(out.contains(id), "{id}:\n{out}");
    }
    let o = harbench(tmp.path(), &["data", "verify", "--all"]);
    assert!(o.status.success() && text(&o).0.contains("ok: 843 files"), "{:?}", text(&o));
}

#[test]
fn train_names_every_model_and_suggests_on_a_typo() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, _) = text(&harbench(tmp.path(), &["train", "--help"]));
    for model in ["mobilenetv3-large-1d", "mobilenetv3-small-1d", "deepconvlstm", "tinyhar", "resnet1d", "cnn3"] {
        assert!(out.contains(model), "{model} missing from train --help:\n{out}");
    }
    let o = harbench(tmp.path(), &["train", "--dataset", "synthetic", "--model", "deepconvlstn"]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("unknown model 'deepconvlstn'") && err.contains("did you mean 'deepconvlstm'"), "{err}");
}

/// `harbench train --method`: a teacher trained in-process, then reused from its checkpoint;
/// wrong teachers and settings are clear errors.
#[test]
fn distils_a_student_and_reuses_the_teacher_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r/kd.json");
    let o = out.display().to_string();
    let common = ["--dataset", "synthetic", "--student", "mobilenetv3-small-1d", "--width", "0.25", "--epochs", "1", "--batch-size", "32"];
    let mut args = vec!["train", "--teacher", "mobilenetv3-large-1d", "--teacher-width", "0.25", "--method", "KD", "--out", &o];
    args.extend(common);
    let run = harbench(tmp.path(), &args);
    let (stdout, stderr) = text(&run);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("student (kd)") && stdout.contains("teacher"), "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["distillation"]["method"], "kd");
    assert_eq!(report["distillation"]["mix"]["ce"], 0.1);
    assert!(report["distillation"]["terms"]["kd"].as_f64().unwrap().is_finite());
    let teacher = tmp.path().join("r/kd.teacher.bpk");
    assert!(teacher.is_file() && out.with_extension("bpk").is_file());

    let t = teacher.display().to_string();
    let o2 = tmp.path().join("r/dkd.json").display().to_string();
    let mut args = vec!["train", "--teacher-checkpoint", &t, "--method", "dkd", "--param", "warmup=1", "--out", &o2];
    args.extend(common);
    let run = harbench(tmp.path(), &args);
    assert!(run.status.success(), "{:?}", text(&run));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&o2).unwrap()).unwrap();
    assert_eq!(report["distillation"]["params"]["warmup"], 1);

    // A teacher of another split could have seen the test subjects.
    let mut args = vec!["train", "--teacher-checkpoint", &t, "--method", "at", "--split", "random"];
    args.extend(common);
    let (_, err) = text(&harbench(tmp.path(), &args));
    assert!(err.contains("a teacher must be trained on the same split"), "{err}");
    let (_, err) = text(&harbench(tmp.path(), &["train", "--dataset", "synthetic", "--student", "mobilenetv3-small-1d", "--method", "kd"]));
    assert!(err.contains("needs a teacher"), "{err}");
    let mut args = vec!["train", "--teacher-checkpoint", &t, "--method", "at", "--param", "betta=1"];
    args.extend(common);
    let (_, err) = text(&harbench(tmp.path(), &args));
    assert!(err.contains("unknown field `betta`"), "{err}");
    let (_, err) = text(&harbench(
        tmp.path(),
        &[
            "train",
            "--dataset",
            "synthetic",
            "--student",
            "mobilenetv3-small-1d",
            "--method",
            "fitnett",
            "--teacher",
            "mobilenetv3-large-1d",
        ],
    ));
    assert!(err.contains("did you mean 'fitnets'"), "{err}");
}

#[test]
fn profile_prints_a_table_and_writes_json_without_a_meter() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("profile/small.json");
    let quick = ["--warmup", "0", "--min-samples", "3", "--min-seconds", "0", "--batch", "4", "--meter", "none"];
    let mut args = vec!["profile", "--model", "mobilenetv3-small-1d", "--width", "0.25", "--out", out.to_str().unwrap()];
    args.extend(quick);
    let o = harbench(tmp.path(), &args);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    for row in [
        "parameters (learned)",
        "MACs per window",
        "latency, 1 window",
        "throughput, batch 4",
        "heap: weights",
        "heap: inference, 1 window",
        "energy per window",
    ] {
        assert!(stdout.contains(row), "{row} missing from:\n{stdout}");
    }
    assert!(stdout.contains("absent") && stdout.contains("--meter none"), "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let device = harbench_models::device::test_device();
    let model = harbench_models::ModelConfig::preset("mobilenetv3-small-1d", Some(0.25)).unwrap().build(9, 6, &device);
    assert_eq!(report["profile"]["macs"], model.macs(9, 128));
    assert_eq!(report["profile"]["energy"]["status"], "absent");
    assert_eq!(report["profile"]["single"]["latency"]["samples"], 3);
    assert_eq!(report["energy_meters"].as_array().unwrap().len(), 4);
    // The weights' heap holds at least their f32 values; one window's inference needs more.
    let memory = &report["profile"]["memory"]["Ok"];
    let f32_bytes =
        4 * (report["profile"]["parameters"]["learned"].as_u64().unwrap() + report["profile"]["parameters"]["buffers"].as_u64().unwrap());
    assert!(memory["weights_bytes"].as_u64().unwrap() >= f32_bytes, "{memory} vs {f32_bytes} bytes of f32");
    assert!(memory["single_peak_bytes"].as_u64().unwrap() > memory["weights_bytes"].as_u64().unwrap(), "{memory}");
    // --dataset takes the input shape from the declaration: PAMAP2 is 18 channels.
    let out2 = tmp.path().join("pamap2.json");
    let mut args =
        vec!["profile", "--model", "mobilenetv3-small-1d", "--width", "0.25", "--dataset", "pamap2", "--out", out2.to_str().unwrap()];
    args.extend(quick);
    let o = harbench(tmp.path(), &args);
    assert!(o.status.success(), "{:?}", text(&o));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out2).unwrap()).unwrap();
    let spec = harbench_data::registry::find("pamap2").unwrap().spec();
    assert_eq!(report["profile"]["input"]["channels"], spec.channels.len());
    assert_eq!(report["profile"]["input"]["length"], (spec.window_s * spec.rate_hz).round() as usize);
}

#[test]
fn profile_errors_name_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["profile", "--model", "mobilenetv3-smal-1d"], "did you mean 'mobilenetv3-small-1d'"),
        (&["profile", "--model", "mobilenetv3-small-1d", "--meter", "wattmeter"], "unknown meter 'wattmeter'"),
        (&["profile", "--model", "mobilenetv3-small-1d", "--checkpoint", "missing.bpk"], "checkpoint missing.bpk does not exist"),
        (&["profile", "--model", "mobilenetv3-small-1d", "--batch", "0", "--meter", "none"], "batch"),
    ];
    for (args, want) in cases {
        let o = harbench(tmp.path(), args);
        let (_, err) = text(&o);
        assert!(!o.status.success() && err.contains(want), "{args:?}: {err}");
    }
    let o = harbench(tmp.path(), &["profile", "--help"]);
    assert!(text(&o).0.contains("harbench profile --model mobilenetv3-small-1d"));
}
