//! Bit-for-bit comparison of two result sets: the regression gate of portable numerics, where a
//! re-run on any x86-64-v3 machine must give every number of the reference to the last bit.
//!
//! A record's numbers are everything it holds except what a re-run cannot repeat: timings
//! (wall, training and per-epoch speeds, search-candidate latencies), the cost profile (timed),
//! the environment and machine (host, CPU), the commit, and the teacher's store key (it names the
//! commit that trained the teacher) and whether the teacher came from the store. Floats compare
//! by value as the record's JSON holds them, which round-trips `f64`.

use crate::record::RunRecord;
use serde_json::Value;
use std::collections::BTreeMap;

/// Top-level record fields that describe how and where a run ran, not what it computed.
const RUN_CIRCUMSTANCES: &[&str] = &["timings", "git", "machine", "harbench_version", "failure"];
/// Fields anywhere in a record's output that hold timings or provenance.
const TIMED_FIELDS: &[&str] = &["train_seconds", "samples_per_second", "latency_ms", "environment", "cost", "reused", "store_key"];

/// One run whose numbers differ: the first field (a JSON path) where they do, and both values.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDifference {
    pub key: String,
    pub field: String,
    pub a: String,
    pub b: String,
    /// Both runs have the same configuration (`config_hash`), so the code's inputs agree and
    /// the difference comes from how it computed.
    pub same_config: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exact {
    /// Runs on both sides.
    pub compared: usize,
    pub differing: Vec<RunDifference>,
    /// Run keys on one side only.
    pub only_a: Vec<String>,
    pub only_b: Vec<String>,
}

impl Exact {
    pub fn identical(&self) -> bool {
        self.differing.is_empty() && self.only_a.is_empty() && self.compared > 0
    }
}

/// A record's numbers as JSON: the record without [`RUN_CIRCUMSTANCES`] and [`TIMED_FIELDS`].
pub fn numbers(record: &RunRecord) -> Value {
    let mut value = serde_json::to_value(record).expect("a record serialises");
    if let Value::Object(fields) = &mut value {
        for name in RUN_CIRCUMSTANCES {
            fields.remove(*name);
        }
    }
    strip(&mut value);
    value
}

fn strip(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for name in TIMED_FIELDS {
                fields.remove(*name);
            }
            fields.values_mut().for_each(strip);
        }
        Value::Array(items) => items.iter_mut().for_each(strip),
        _ => {}
    }
}

/// The first path where `a` and `b` differ, depth first in field order, with both values.
fn first_difference(path: &str, a: &Value, b: &Value) -> Option<(String, String, String)> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                let (va, vb) = (x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null));
                first_difference(&format!("{path}.{k}"), va, vb)
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (va, vb))| first_difference(&format!("{path}[{i}]"), va, vb))
        }
        _ if a == b => None,
        _ => Some((path.trim_start_matches('.').to_string(), short(a), short(b))),
    }
}

fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text
    }
}

/// Compares every run of `a` with the run of the same key in `b`, bit for bit.
pub fn exact(a: &[RunRecord], b: &[RunRecord]) -> Exact {
    let by_key = |records: &[RunRecord]| records.iter().map(|r| (r.key.clone(), r.clone())).collect::<BTreeMap<_, _>>();
    let (ma, mb) = (by_key(a), by_key(b));
    let mut out = Exact {
        only_a: ma.keys().filter(|k| !mb.contains_key(*k)).cloned().collect(),
        only_b: mb.keys().filter(|k| !ma.contains_key(*k)).cloned().collect(),
        ..Default::default()
    };
    for (key, ra) in &ma {
        let Some(rb) = mb.get(key) else { continue };
        out.compared += 1;
        if let Some((field, va, vb)) = first_difference("", &numbers(ra), &numbers(rb)) {
            out.differing.push(RunDifference { key: key.clone(), field, a: va, b: vb, same_config: ra.config_hash == rb.config_hash });
        }
    }
    out
}

impl Exact {
    /// Lines for the terminal; `a` and `b` name the two sides.
    pub fn render(&self, a: &str, b: &str) -> String {
        let mut out = format!(
            "bit for bit: {} of {} runs on both sides identical (timings, costs and environment aside)\n",
            self.compared - self.differing.len(),
            self.compared
        );
        for d in &self.differing {
            out.push_str(&format!("  {}: {} is {} in {a}, {} in {b}\n", d.key, d.field, d.a, d.b));
        }
        for (side, keys) in [(a, &self.only_a), (b, &self.only_b)] {
            if !keys.is_empty() {
                out.push_str(&format!("  only in {side}: {}\n", keys.join(", ")));
            }
        }
        out
    }
}
