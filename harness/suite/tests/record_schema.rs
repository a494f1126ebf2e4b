//! Records written by earlier commits: schema 1 (an untyped `extra`) still reads, into the typed
//! fields; a newer schema is refused with an error that names the file and the version.

use harbench_suite::record::{Cost, RunRecord, RECORD_SCHEMA};
use harbench_suite::store::ResultsStore;
use std::path::Path;

fn fixture() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/record-schema1-kd.json")).unwrap()
}

#[test]
fn a_schema_1_record_reads_into_typed_fields() {
    let raw: serde_json::Value = serde_json::from_str(&fixture()).unwrap();
    assert_eq!(raw["schema"], 1);
    let record = RunRecord::parse(&fixture()).unwrap();
    let output = record.output.as_ref().unwrap();
    let d = output.distillation.as_ref().expect("extra.distillation became `distillation`");
    assert_eq!(d.method, raw["output"]["extra"]["distillation"]["method"].as_str().unwrap());
    assert_eq!(d.part_parameters as u64, raw["output"]["extra"]["distillation"]["part_parameters"].as_u64().unwrap());
    // The profile reads: MACs and latency as recorded; the old resident-set memory (masked by
    // training) is shown as absent with its reason, not as a number.
    let profile = record.profile().expect("extra.cost became a profile");
    assert_eq!(profile.macs, raw["output"]["extra"]["cost"]["macs"].as_u64().unwrap());
    assert_eq!(profile.single.latency.median, raw["output"]["extra"]["cost"]["single"]["latency"]["median"].as_f64().unwrap());
    assert!(profile.memory.as_ref().unwrap_err().contains("older harbench"), "{:?}", profile.memory);
    assert!(matches!(output.cost, Cost::Profiled(_)));
    assert!(output.environment.is_none());
    assert_eq!(record.best.as_ref().unwrap().test_accuracy.unwrap(), raw["best"]["test_accuracy"].as_f64().unwrap());
    // Written again, it is a current record that reads back the same.
    let mut upgraded = record.clone();
    upgraded.schema = RECORD_SCHEMA;
    let again = RunRecord::parse(&serde_json::to_string(&upgraded).unwrap()).unwrap();
    assert_eq!(again.output.as_ref().unwrap().distillation, output.distillation);
}

#[test]
fn a_newer_schema_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut raw: serde_json::Value = serde_json::from_str(&fixture()).unwrap();
    raw["schema"] = serde_json::json!(RECORD_SCHEMA + 1);
    let path = dir.path().join("future.json");
    std::fs::write(&path, raw.to_string()).unwrap();
    let err = ResultsStore::read(dir.path(), "future").unwrap_err().to_string();
    assert!(err.contains("future.json"), "{err}");
    assert!(err.contains(&format!("schema {}", RECORD_SCHEMA + 1)), "{err}");
}
