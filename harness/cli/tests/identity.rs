//! Run identity cannot drift silently: every record committed under `results/reference/` is still
//! matched by the run its suite plans today (same key, same settings hash). A new setting that
//! serialises into the run's settings without keeping old hashes (a default that is written out)
//! fails here, naming the records and the first setting that differs, instead of emptying the
//! committed tables with a quiet note in `harbench report`.

use harbench_suite::plan::{self, RunSpec};
use harbench_suite::spec::{self, Known};
use harbench_suite::store::ResultsStore;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn known() -> Known {
    Known::new(&harbench_data::registry::ids(), &harbench_models::preset_names(), &harbench_run::known_methods())
}

#[test]
fn every_committed_reference_record_is_still_matched_by_its_suite() {
    let reference = repo().join("results/reference");
    let mut checked = 0;
    let mut drifted = Vec::new();
    for suite in ResultsStore::folders(&reference).into_iter().filter(|s| s != "teachers" && s != "profiles") {
        let file = repo().join("suites").join(format!("{suite}.yaml"));
        assert!(file.is_file(), "results/reference/{suite} has no suites/{suite}.yaml");
        let plan = plan::expand(&spec::load(&file, &known()).unwrap()).unwrap();
        let planned: BTreeMap<&str, &RunSpec> = plan.runs.iter().map(|r| (r.key.as_str(), r)).collect();
        for commit in ResultsStore::folders(&reference.join(&suite)) {
            for machine in ResultsStore::folders(&reference.join(&suite).join(&commit)) {
                for record in ResultsStore::records(&reference.join(&suite).join(&commit).join(&machine)).unwrap() {
                    checked += 1;
                    let place = format!("results/reference/{suite}/{commit}/{machine}/{}.json", record.key);
                    let Some(run) = planned.get(record.key.as_str()) else {
                        drifted.push(format!("{place}: no run of that key in suites/{suite}.yaml"));
                        continue;
                    };
                    if run.config_hash() != record.config_hash {
                        // The settings as written on disk, not as this build reads them back.
                        let raw: Value = serde_json::from_slice(&std::fs::read(repo().join(&place)).unwrap()).unwrap();
                        drifted.push(format!("{place}: {}", plan::drift(run, &raw["config"])));
                    }
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} committed records found under {}", reference.display());
    assert!(
        drifted.is_empty(),
        "{} of {checked} committed records no longer match their suite's runs:\n{}",
        drifted.len(),
        drifted.join("\n")
    );
}
