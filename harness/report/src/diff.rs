//! Differences between two result sets (two commits): per run group (the run key without its
//! seed and fold) and metric, both means, the delta, and whether it is beyond noise — Welch's
//! t-test over seeds when both sides have at least two, otherwise an absolute threshold.
//!
//! Where the two sides share seeds of a group, only the shared seeds are compared: a `--filter`ed
//! re-run of one seed is checked against that seed of the reference, not against the mean of
//! all three. A group whose every compared seed is equal on both sides is marked identical.

use crate::report::{seed_list, seed_values, Checkpoint, Group, Metric, Split};
use crate::stats;
use harbench_suite::record::RunRecord;
use std::collections::{BTreeMap, BTreeSet};
use tabled::builder::Builder;
use tabled::settings::Style;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiffOptions {
    /// Significance level of the two-sided Welch test.
    pub alpha: f64,
    /// With a single seed on either side: a change larger than this (absolute, 0.01 = one
    /// percentage point) counts as beyond noise.
    pub threshold: f64,
    /// A change smaller than this (absolute) is within noise whatever the test says: seeds that
    /// agree closely on both sides make a tiny shift "significant". 0: the test alone decides.
    pub min_effect: f64,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions { alpha: 0.05, threshold: 0.01, min_effect: 0.0 }
    }
}

impl DiffOptions {
    /// Why these options cannot be used, if so: `alpha` in (0, 1), `threshold` ≥ 0.
    pub fn check(&self) -> Result<(), String> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(format!("--alpha {} must be in (0, 1)", self.alpha));
        }
        if !(self.threshold.is_finite() && self.threshold >= 0.0) {
            return Err(format!("--threshold {} must be ≥ 0", self.threshold));
        }
        if !(self.min_effect.is_finite() && self.min_effect >= 0.0) {
            return Err(format!("--min-effect {} must be ≥ 0", self.min_effect));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Improved,
    Regressed,
    /// Within noise.
    Same,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DiffRow {
    pub suite: String,
    pub group: Group,
    pub metric: Metric,
    pub mean_a: f64,
    pub mean_b: f64,
    pub n_a: usize,
    pub n_b: usize,
    /// `mean_b − mean_a`.
    pub delta: f64,
    /// Welch p-value, when both sides have two or more seeds.
    pub p: Option<f64>,
    pub verdict: Verdict,
    /// Both sides have the same seeds and every seed's value is equal (a re-run to the last bit).
    pub identical: bool,
}

/// Seeds of a group that one side has and the other lacks, left out of its comparison because
/// the two sides share other seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedsLeftOut {
    pub group: String,
    pub only_a: Vec<u64>,
    pub only_b: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diff {
    pub rows: Vec<DiffRow>,
    /// Groups with finished runs on one side only.
    pub only_a: Vec<String>,
    pub only_b: Vec<String>,
    /// Groups compared on the seeds both sides have, with the seeds left out.
    pub seeds_left_out: Vec<SeedsLeftOut>,
}

fn seeds(records: &[&RunRecord]) -> BTreeSet<u64> {
    records.iter().map(|r| r.config.seed).collect()
}

/// One group's records as compared: the seeds both sides have, where they share any; else all of
/// them (two sets of other seeds are compared as samples).
struct Compared<'r> {
    a: Vec<&'r RunRecord>,
    b: Vec<&'r RunRecord>,
    left_out: Option<SeedsLeftOut>,
    /// Both sides have the same seeds, so their values pair up seed by seed.
    same_seeds: bool,
}

fn on_shared_seeds<'r>(group: &Group, a: &[&'r RunRecord], b: &[&'r RunRecord]) -> Compared<'r> {
    let (sa, sb) = (seeds(a), seeds(b));
    let shared: BTreeSet<u64> = sa.intersection(&sb).copied().collect();
    if shared.is_empty() || (shared.len() == sa.len() && shared.len() == sb.len()) {
        return Compared { a: a.to_vec(), b: b.to_vec(), left_out: None, same_seeds: sa == sb };
    }
    let keep = |records: &[&'r RunRecord]| records.iter().copied().filter(|r| shared.contains(&r.config.seed)).collect::<Vec<_>>();
    let left_out = SeedsLeftOut {
        group: group.key(),
        only_a: sa.difference(&shared).copied().collect(),
        only_b: sb.difference(&shared).copied().collect(),
    };
    Compared { a: keep(a), b: keep(b), left_out: Some(left_out), same_seeds: true }
}

fn groups(records: &[RunRecord]) -> BTreeMap<Group, Vec<&RunRecord>> {
    let mut g: BTreeMap<Group, Vec<&RunRecord>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.finished()) {
        g.entry(Group::of(r)).or_default().push(r);
    }
    g
}

/// Compares suite `suite`'s records `a` (the base) with `b`.
pub fn diff(suite: &str, a: &[RunRecord], b: &[RunRecord], options: &DiffOptions) -> Diff {
    let (ga, gb) = (groups(a), groups(b));
    let mut out = Diff {
        only_a: ga.keys().filter(|k| !gb.contains_key(*k)).map(Group::key).collect(),
        only_b: gb.keys().filter(|k| !ga.contains_key(*k)).map(Group::key).collect(),
        ..Default::default()
    };
    for (group, ra) in &ga {
        let Some(rb) = gb.get(group) else { continue };
        let Compared { a: ra, b: rb, left_out, same_seeds } = on_shared_seeds(group, ra, rb);
        out.seeds_left_out.extend(left_out);
        let (ra, rb) = (&ra[..], &rb[..]);
        // Test scores where both sides have them; validation scores where a side withheld the
        // test split (selection runs), so that those are compared too.
        let scored = |records: &[&RunRecord]| !seed_values(records, Metric::TestAccuracy, Checkpoint::Best).is_empty();
        let split = if scored(ra) && scored(rb) { Split::Test } else { Split::Validation };
        for metric in split.metrics() {
            let (va, vb) = (seed_values(ra, metric, Checkpoint::Best), seed_values(rb, metric, Checkpoint::Best));
            if va.is_empty() || vb.is_empty() {
                continue;
            }
            let (mean_a, mean_b) = (stats::mean(&va), stats::mean(&vb));
            let delta = mean_b - mean_a;
            let p = stats::welch(&vb, &va).map(|w| w.p);
            let beyond = delta.abs() >= options.min_effect
                && match p {
                    Some(p) => p < options.alpha,
                    None => delta.abs() > options.threshold,
                };
            let verdict = match (beyond, delta > 0.0) {
                (false, _) => Verdict::Same,
                (true, true) => Verdict::Improved,
                (true, false) => Verdict::Regressed,
            };
            out.rows.push(DiffRow {
                suite: suite.into(),
                group: group.clone(),
                metric,
                mean_a,
                mean_b,
                n_a: va.len(),
                n_b: vb.len(),
                delta,
                p,
                verdict,
                // seed_values orders by seed, so equal seed sets pair the values up.
                identical: same_seeds && va == vb,
            });
        }
    }
    out
}

impl Diff {
    pub fn extend(&mut self, other: Diff) {
        self.rows.extend(other.rows);
        self.only_a.extend(other.only_a);
        self.only_b.extend(other.only_b);
        self.seeds_left_out.extend(other.seeds_left_out);
    }

    pub fn regressions(&self) -> usize {
        self.rows.iter().filter(|r| r.verdict == Verdict::Regressed).count()
    }

    /// A table for the terminal; `a` and `b` name the two sides.
    pub fn render(&self, a: &str, b: &str, options: &DiffOptions) -> String {
        let mut t = Builder::new();
        t.push_record(["suite", "run", "metric", &format!("{a} %"), &format!("{b} %"), "delta", "seeds", "p (Welch)", "verdict"]);
        for r in &self.rows {
            t.push_record([
                r.suite.clone(),
                r.group.key(),
                r.metric.name().to_string(),
                format!("{:.2}", 100.0 * r.mean_a),
                format!("{:.2}", 100.0 * r.mean_b),
                format!("{:+.2}", 100.0 * r.delta),
                format!("{} / {}", r.n_a, r.n_b),
                r.p.map(|p| format!("{p:.4}")).unwrap_or_else(|| "— (threshold)".into()),
                match r.verdict {
                    Verdict::Improved => "improved",
                    Verdict::Regressed => "REGRESSED",
                    Verdict::Same if r.identical => "identical",
                    Verdict::Same => "within noise",
                }
                .to_string(),
            ]);
        }
        let mut table = t.build();
        table.with(Style::sharp());
        let mut out = if self.rows.is_empty() { "No run finished on both sides.\n".to_string() } else { format!("{table}\n") };
        out.push_str(&format!(
            "Beyond noise: Welch p < {} with ≥ 2 seeds on both sides, else |delta| > {:.2} points{}.\n",
            options.alpha,
            100.0 * options.threshold,
            if options.min_effect > 0.0 {
                format!("; and always |delta| ≥ {:.2} points", 100.0 * options.min_effect)
            } else {
                String::new()
            }
        ));
        if !self.only_a.is_empty() {
            out.push_str(&format!("Only in {a}: {}\n", self.only_a.join(", ")));
        }
        if !self.only_b.is_empty() {
            out.push_str(&format!("Only in {b}: {}\n", self.only_b.join(", ")));
        }
        for left in &self.seeds_left_out {
            let sides = [(a, &left.only_a), (b, &left.only_b)]
                .iter()
                .filter(|(_, seeds)| !seeds.is_empty())
                .map(|(side, seeds)| format!("seed(s) {} only in {side}", seed_list(seeds)))
                .collect::<Vec<_>>()
                .join(", ");
            out.push_str(&format!("{}: compared on the seeds both sides have; {sides}\n", left.group));
        }
        let identical = self.rows.iter().filter(|r| r.identical).count();
        out.push_str(&format!(
            "{} improved, {} regressed, {} within noise{}.\n",
            self.rows.iter().filter(|r| r.verdict == Verdict::Improved).count(),
            self.regressions(),
            self.rows.iter().filter(|r| r.verdict == Verdict::Same).count(),
            if identical > 0 { format!(" ({identical} of them identical on every seed)") } else { String::new() }
        ));
        out
    }
}
