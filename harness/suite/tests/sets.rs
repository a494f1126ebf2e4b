//! Choosing result sets: the committed reference is refused, loudly and by name, when its
//! records no longer match the runs their suite plans; sets are joined in the order their runs
//! finished; machine folders are picked, or asked for.

mod common;

use common::*;
use harbench_suite::sets::{self, Lookup};
use harbench_suite::store::{ResultsStore, REFERENCE_FOLDER};
use std::path::Path;

const SUITE: &str = "\
datasets: [synthetic]
seeds: [0, 1]
experiments:
  - {name: alone, models: [mobilenetv3-small-1d], methods: [none]}
";

/// Writes `records` as the result set `commit`/`machine` of suite `t` under `root`.
fn write_set(root: &Path, commit: &str, machine: &str, records: &[harbench_suite::record::RunRecord]) -> std::path::PathBuf {
    let dir = ResultsStore::new(root).run_dir("t", commit, machine);
    std::fs::create_dir_all(&dir).unwrap();
    for r in records {
        ResultsStore::write(&dir, r).unwrap();
    }
    dir
}

#[test]
fn a_reference_whose_records_drifted_from_their_suite_is_refused_naming_the_record_and_the_setting() {
    let p = plan(SUITE);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("results");
    let reference = root.join(REFERENCE_FOLDER);
    let dir = write_set(&reference, "aaaaaaaaaaaa", "vm", &[record(&p.runs[0], 0.9, 0.8), record(&p.runs[1], 0.9, 0.8)]);
    let lookup = Lookup { repo: tmp.path(), machine: None };
    // Matching records: read from the reference, said so.
    let chosen = sets::choose(&p, &root, &[], lookup).unwrap();
    assert!(chosen.from_reference);
    assert_eq!(chosen.sets.len(), 1);
    assert_eq!(chosen.sets[0].records.len(), 2);
    assert!(chosen.notes[0].contains("reporting the committed reference"), "{:?}", chosen.notes);

    // Seed 1's record as an older build wrote it: another epoch count, another hash.
    let path = dir.join(format!("{}.json", p.runs[1].key));
    let mut raw: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    raw["config"]["train"]["epochs"] = serde_json::json!(7);
    raw["config_hash"] = serde_json::json!("0000");
    std::fs::write(&path, serde_json::to_vec(&raw).unwrap()).unwrap();
    let err = sets::choose(&p, &root, &[], lookup).unwrap_err().to_string();
    assert!(err.contains("1 committed record(s) of suite t no longer match"), "{err}");
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("epochs"), "{err}");
    let err = sets::default_sets(&p, &root, lookup).unwrap_err().to_string();
    assert!(err.contains(&p.runs[1].key), "{err}");
    // The reference given as the store itself (`--results results/reference`) is read as one:
    // checked, and every set joined, by `choose` as by `default_sets`.
    let err = sets::choose(&p, &reference, &[], lookup).unwrap_err().to_string();
    assert!(err.contains("1 committed record(s) of suite t no longer match"), "{err}");
    std::fs::remove_file(&path).unwrap();
    write_set(&reference, "bbbbbbbbbbbb", "vm", &[record(&p.runs[1], 0.9, 0.8)]);
    let chosen = sets::choose(&p, &reference, &[], lookup).unwrap();
    assert!(chosen.from_reference && chosen.notes.iter().all(|n| !n.contains("No results of suite")), "{:?}", chosen.notes);
    assert_eq!(chosen.sets.iter().map(|s| s.commit.as_str()).collect::<Vec<_>>(), ["aaaaaaaaaaaa", "bbbbbbbbbbbb"]);
    let (joined, listed) = sets::default_sets(&p, &reference, lookup).unwrap();
    assert_eq!((joined.len(), listed.contains("aaaaaaaaaaaa/vm, bbbbbbbbbbbb/vm")), (2, true), "{listed}");
}

#[test]
fn every_result_set_comes_in_the_order_its_runs_finished_and_machines_are_picked_or_asked_for() {
    let p = plan(SUITE);
    let tmp = tempfile::tempdir().unwrap();
    let mut late = record(&p.runs[1], 0.9, 0.8);
    late.timings.finished = 50.0;
    let mut early = record(&p.runs[0], 0.9, 0.8);
    early.timings.finished = 10.0;
    let b = write_set(tmp.path(), "bbbbbbbbbbbb", "vm-b", &[late]);
    let a = write_set(tmp.path(), "aaaaaaaaaaaa", "vm-a", &[early]);
    let suite_dir = tmp.path().join("t");
    let listed = sets::every_result_set(&suite_dir).unwrap();
    assert_eq!(listed, vec![("aaaaaaaaaaaa".to_string(), "vm-a".to_string()), ("bbbbbbbbbbbb".to_string(), "vm-b".to_string())]);
    assert_eq!(sets::newest_commit(&suite_dir).unwrap().as_deref(), Some("bbbbbbbbbbbb"));
    // One machine folder: that one; an asked-for one: that one, whatever is there.
    let commit_a = a.parent().unwrap().to_path_buf();
    assert_eq!(sets::pick_machine(std::slice::from_ref(&commit_a), None).unwrap(), "vm-a");
    assert_eq!(sets::pick_machine(std::slice::from_ref(&commit_a), Some("other")).unwrap(), "other");
    // Two machines in one commit folder, neither this machine's: the choice is asked for.
    std::fs::rename(&b, commit_a.join("vm-b")).unwrap();
    let err = sets::pick_machine(std::slice::from_ref(&commit_a), None).unwrap_err().to_string();
    assert!(err.contains("vm-a, vm-b") && err.contains("--machine"), "{err}");
    assert_eq!(sets::split_machine("HEAD~1:My VM"), ("HEAD~1", Some(harbench_suite::machine::folder_name("My VM"))));
    assert_eq!(sets::split_machine("abc:"), ("abc", None));
}
