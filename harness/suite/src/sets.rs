//! Which result sets a command reads: from a revision or a results folder name to a commit
//! folder, from a commit folder to its machine folder, the committed reference of a suite (every
//! set in it, checked against the suite's plan), and the two sides of a comparison. `report`,
//! `diff`, `profile` and the cross-dataset summary all choose their records here, so they agree.
//!
//! Nothing here prints: what a person should be told (a fallback to the newest commit, a
//! reference from another machine) comes back as a note.

use crate::gitinfo::{self, GitInfo};
use crate::machine::{folder_name, Machine};
use crate::plan::{self, Plan, RunSpec};
use crate::record::RunRecord;
use crate::store::{self, ResultsStore, StoreError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The records of one suite from one commit folder on one machine folder.
#[derive(Debug, Clone)]
pub struct ResultSet {
    pub commit: String,
    pub machine: String,
    /// The CPU kernels the set's `machine.json` names, for the provenance line.
    pub kernels: Option<String>,
    pub records: Vec<RunRecord>,
}

/// How a command looks result sets up: the git checkout that resolves revisions, and the
/// machine folder asked for (`--machine`), if any.
#[derive(Debug, Clone, Copy)]
pub struct Lookup<'a> {
    pub repo: &'a Path,
    pub machine: Option<&'a str>,
}

fn choice(message: String) -> StoreError {
    StoreError::Choice(message)
}

/// A revision or a literal results folder name → the folder under `suite_dir`.
pub fn commit_folder(suite_dir: &Path, rev: &str, repo: &Path) -> Result<String, StoreError> {
    if suite_dir.join(rev).is_dir() {
        return Ok(rev.to_string());
    }
    gitinfo::resolve(repo, rev).map_err(choice)
}

/// The commit folder under `suite_dir` whose runs finished last (`None`: no folder has a record).
pub fn newest_commit(suite_dir: &Path) -> Result<Option<String>, StoreError> {
    let mut newest: Option<(f64, String)> = None;
    for commit in ResultsStore::folders(suite_dir) {
        for machine in ResultsStore::folders(&suite_dir.join(&commit)) {
            for r in ResultsStore::records(&suite_dir.join(&commit).join(&machine))? {
                if newest.as_ref().is_none_or(|(t, _)| r.timings.finished > *t) {
                    newest = Some((r.timings.finished, commit.clone()));
                }
            }
        }
    }
    Ok(newest.map(|(_, c)| c))
}

/// The current checkout's folder when the store has it, else the newest one there, with a note
/// that says so.
pub fn current_or_newest(suite_dir: &Path, repo: &Path) -> Result<(String, Option<String>), StoreError> {
    let here = GitInfo::discover(repo).folder();
    if suite_dir.join(&here).is_dir() {
        return Ok((here, None));
    }
    Ok(match newest_commit(suite_dir)? {
        Some(newest) => {
            let note = format!(
                "No results for the current checkout ({here}) in {}; reporting {newest}, the newest there (choose with --commit).",
                suite_dir.display()
            );
            (newest, Some(note))
        }
        None => (here, None),
    })
}

/// `REV:MACHINE` → (`REV`, the machine folder); a bare `REV` → (`REV`, `None`). A revision that
/// names a commit never holds `:` (git's `REV:PATH` names a file).
pub fn split_machine(value: &str) -> (&str, Option<String>) {
    match value.split_once(':') {
        Some((rev, machine)) if !machine.is_empty() => (rev, Some(folder_name(machine))),
        _ => (value.trim_end_matches(':'), None),
    }
}

/// Every (commit, machine) folder of a suite in the store, the one whose first run finished
/// earliest first (the suite's own start, then the rows added later).
pub fn every_result_set(suite_dir: &Path) -> Result<Vec<(String, String)>, StoreError> {
    let mut sets = Vec::new();
    for commit in ResultsStore::folders(suite_dir) {
        for machine in ResultsStore::folders(&suite_dir.join(&commit)) {
            let records = ResultsStore::records(&suite_dir.join(&commit).join(&machine))?;
            let first = records.iter().map(|r| r.timings.finished).fold(f64::INFINITY, f64::min);
            sets.push((first, commit.clone(), machine));
        }
    }
    sets.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(sets.into_iter().map(|(_, commit, machine)| (commit, machine)).collect())
}

/// The machine folder to read in all of `commit_dirs`: the one asked for, this machine's, or
/// the only one they share.
pub fn pick_machine(commit_dirs: &[PathBuf], asked: Option<&str>) -> Result<String, StoreError> {
    let common: Vec<String> = {
        let mut sets = commit_dirs.iter().map(|d| ResultsStore::folders(d));
        let first = sets.next().unwrap_or_default();
        let rest: Vec<Vec<String>> = sets.collect();
        first.into_iter().filter(|m| rest.iter().all(|s| s.contains(m))).collect()
    };
    if let Some(m) = asked {
        return Ok(m.to_string());
    }
    let here = Machine::detect().name;
    if common.contains(&here) || common.is_empty() {
        return Ok(here);
    }
    if common.len() == 1 {
        return Ok(common[0].clone());
    }
    Err(choice(format!("results of several machines: {}; choose one with --machine", common.join(", "))))
}

/// The committed reference must still be what its suite plans: a record whose settings no
/// longer hash as its planned run's is an error naming the record and the first setting that
/// differs. (Left out quietly, such records would empty the committed tables: a setting added
/// without keeping old hashes does that to every record.)
pub fn check_reference(plan: &Plan, machine_dir: &Path, records: &[RunRecord]) -> Result<(), StoreError> {
    let planned: BTreeMap<&str, &RunSpec> = plan.runs.iter().map(|r| (r.key.as_str(), r)).collect();
    let mut drifted = Vec::new();
    for r in records {
        let Some(run) = planned.get(r.key.as_str()) else { continue };
        if run.config_hash() == r.config_hash {
            continue;
        }
        let path = machine_dir.join(format!("{}.json", r.key));
        // The settings as written, not as this build reads them back.
        let raw = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        let recorded = raw.map(|v| v["config"].clone()).unwrap_or(serde_json::Value::Null);
        drifted.push(format!("  {}: {}", path.display(), plan::drift(run, &recorded)));
    }
    if drifted.is_empty() {
        return Ok(());
    }
    Err(choice(format!(
        "{} committed record(s) of suite {} no longer match the runs suites/{}.yaml plans (a changed suite, or a new setting \
         that changes old runs' hashes):\n{}",
        drifted.len(),
        plan.suite,
        plan.suite,
        drifted.join("\n")
    )))
}

/// The results store a suite is reported from, and whether it is the committed reference:
/// `root`, or the reference beside it when `root` has no results of the suite and the reference
/// has. A root that is the reference itself (`--results results/reference`) is read as one.
pub fn store_for(root: &Path, suite: &str) -> (ResultsStore, bool) {
    let reference = root.join(store::REFERENCE_FOLDER);
    if !root.join(suite).is_dir() && reference.join(suite).is_dir() {
        (ResultsStore::new(reference), true)
    } else {
        (ResultsStore::new(root), root.ends_with(store::REFERENCE_FOLDER))
    }
}

/// What `harbench report SUITE` reads: the result sets, their machines' files and where they
/// are.
#[derive(Debug)]
pub struct Chosen {
    pub store: ResultsStore,
    /// The store is the committed reference (the suite has no results of its own).
    pub from_reference: bool,
    /// One per set, in the order given: the commit folder and whether its machine was named.
    pub commits: Vec<String>,
    pub named_machines: Vec<Option<String>>,
    pub commit_dirs: Vec<PathBuf>,
    pub sets: Vec<ResultSet>,
    /// Each machine's `machine.json`, once per machine name.
    pub machines: Vec<Machine>,
    /// What a person should know about the choice.
    pub notes: Vec<String>,
}

/// The result sets of `plan`'s suite under `root` that `asked` names (`REV` or `REV:MACHINE`,
/// each a set; none: the current or newest commit, or every set of the committed reference).
pub fn choose(plan: &Plan, root: &Path, asked: &[String], lookup: Lookup) -> Result<Chosen, StoreError> {
    let (store, from_reference) = store_for(root, &plan.suite);
    let mut notes = Vec::new();
    if from_reference && store.root != root {
        notes.push(format!(
            "No results of suite {} in {}; reporting the committed reference in {}.",
            plan.suite,
            root.display(),
            store.root.display()
        ));
    }
    let suite_dir = store.root.join(&plan.suite);
    let mut asked: Vec<(String, Option<String>)> = asked.iter().map(|v| split_machine(v)).map(|(rev, m)| (rev.to_string(), m)).collect();
    if from_reference && asked.is_empty() {
        // The committed reference of a suite is every result set in it (rows added at later
        // commits or on other kernels), as its tables in docs/ join them.
        asked = every_result_set(&suite_dir)?.into_iter().map(|(c, m)| (c, Some(m))).collect();
        if asked.len() > 1 {
            notes.push(format!(
                "The reference holds {} result sets of suite {}: joining them all (choose with --commit).",
                asked.len(),
                plan.suite
            ));
        }
    }
    let commits = match asked.as_slice() {
        [] => {
            let (commit, note) = current_or_newest(&suite_dir, lookup.repo)?;
            notes.extend(note);
            vec![commit]
        }
        revs => revs.iter().map(|(rev, _)| commit_folder(&suite_dir, rev, lookup.repo)).collect::<Result<Vec<_>, _>>()?,
    };
    let commit_dirs: Vec<PathBuf> = commits.iter().map(|c| store.commit_dir(&plan.suite, c)).collect();
    if commits.len() > 1 {
        if let Some(missing) = commit_dirs.iter().find(|d| !d.is_dir()) {
            return Err(choice(format!("no results of suite {} in {}", plan.suite, missing.display())));
        }
    }
    let named_machines: Vec<Option<String>> = (0..commits.len()).map(|i| asked.get(i).and_then(|(_, m)| m.clone())).collect();
    let mut chosen = Chosen { store, from_reference, commits, named_machines, commit_dirs, sets: vec![], machines: vec![], notes };
    chosen.read_sets(plan, &asked, lookup)?;
    Ok(chosen)
}

impl Chosen {
    /// Reads each set's records and machine file; sets without a machine of their own read the
    /// machine [`pick_machine`] finds in all of them.
    fn read_sets(&mut self, plan: &Plan, asked: &[(String, Option<String>)], lookup: Lookup) -> Result<(), StoreError> {
        let unnamed: Vec<PathBuf> =
            self.commit_dirs.iter().zip(&self.named_machines).filter(|(_, m)| m.is_none()).map(|(d, _)| d.clone()).collect();
        let default_machine = if unnamed.is_empty() { None } else { Some(pick_machine(&unnamed, lookup.machine)?) };
        for (i, (commit, dir)) in self.commits.iter().zip(&self.commit_dirs).enumerate() {
            let named = self.named_machines[i].clone();
            let machine = named.clone().or_else(|| default_machine.clone()).expect("a machine for every set");
            let machine_dir = dir.join(&machine);
            if named.is_some() && !machine_dir.is_dir() {
                let from = &asked[i].0;
                return Err(choice(format!(
                    "no results of suite {} in {} (from --commit {from}:{machine})",
                    plan.suite,
                    machine_dir.display()
                )));
            }
            let file = store::read_machine(&machine_dir);
            let kernels = file.as_ref().and_then(|m| m.kernels.as_ref()).map(|k| k.describe());
            if let Some(m) = file.filter(|m| !self.machines.iter().any(|d| d.name == m.name)) {
                self.machines.push(m);
            }
            let records = ResultsStore::records(&machine_dir)?;
            if self.from_reference {
                check_reference(plan, &machine_dir, &records)?;
            }
            self.sets.push(ResultSet { commit: commit.clone(), machine, kernels, records });
        }
        Ok(())
    }
}

/// One suite's result sets as `harbench report SUITE` reads them by default (the current or
/// newest commit on this machine; the committed reference, every set, for a suite with no
/// results in the store), and a line saying where they came from.
pub fn default_sets(plan: &Plan, root: &Path, lookup: Lookup) -> Result<(Vec<ResultSet>, String), StoreError> {
    let chosen = choose(plan, root, &[], lookup)?;
    let folders: Vec<String> = chosen.sets.iter().map(|set| format!("{}/{}", set.commit, set.machine)).collect();
    let listed = if folders.is_empty() { "none".into() } else { folders.join(", ") };
    Ok((chosen.sets, format!("{} in {} ({listed})", plan.suite, chosen.store.root.display())))
}

/// The two record folders a comparison reads: (label, folder) each.
#[derive(Debug, Clone)]
pub struct Sides {
    pub a: (String, PathBuf),
    pub b: (String, PathBuf),
    /// What a person should know (the sides ran on other machines).
    pub note: Option<String>,
}

/// Both sides from two revisions (`REV` or `REV:MACHINE`) in the store. `Ok(None)`: the suite
/// lacks one of them and was not asked for by name (`named` false).
pub fn revision_sides(
    store: &ResultsStore,
    suite: &str,
    revs: (&str, &str),
    named: bool,
    lookup: Lookup,
) -> Result<Option<Sides>, StoreError> {
    let suite_dir = store.root.join(suite);
    let ((rev_a, machine_a), (rev_b, machine_b)) = (split_machine(revs.0), split_machine(revs.1));
    let folders = commit_folder(&suite_dir, rev_a, lookup.repo).and_then(|a| Ok((a, commit_folder(&suite_dir, rev_b, lookup.repo)?)));
    let (a, b) = match folders {
        Ok(ab) => ab,
        Err(_) if !named => return Ok(None),
        Err(e) => return Err(choice(format!("suite {suite}: {e}"))),
    };
    let (da, db) = (suite_dir.join(&a), suite_dir.join(&b));
    if !da.is_dir() || !db.is_dir() {
        if named {
            let missing = if da.is_dir() { rev_b } else { rev_a };
            return Err(choice(format!("suite {suite}: no results for {missing} in {}", suite_dir.display())));
        }
        return Ok(None);
    }
    let (machine_a, machine_b) = match (machine_a, machine_b) {
        (None, None) => {
            let machine = pick_machine(&[da.clone(), db.clone()], lookup.machine)?;
            (machine.clone(), machine)
        }
        (a, b) => {
            let or_picked = |m: Option<String>, dir: &PathBuf| {
                m.or(lookup.machine.map(String::from)).map_or_else(|| pick_machine(std::slice::from_ref(dir), None), Ok)
            };
            (or_picked(a, &da)?, or_picked(b, &db)?)
        }
    };
    for (dir, machine) in [(&da, &machine_a), (&db, &machine_b)] {
        if !dir.join(machine).is_dir() {
            let has = ResultsStore::folders(dir).join(", ");
            return Err(choice(format!(
                "suite {suite}: {} has no machine folder {machine} (it has: {has}); name one as REV:MACHINE",
                dir.display()
            )));
        }
    }
    let a = (format!("{a}/{machine_a}"), da.join(&machine_a));
    Ok(Some(Sides { a, b: (format!("{b}/{machine_b}"), db.join(&machine_b)), note: None }))
}

/// The reference store's newest result set of `suite` against `rev` (default: this checkout) in
/// the results store. `Ok(None)`: the reference lacks the suite and it was not asked for by name.
pub fn reference_sides(
    reference: &Path,
    store: &ResultsStore,
    suite: &str,
    rev: Option<&str>,
    named: bool,
    lookup: Lookup,
) -> Result<Option<Sides>, StoreError> {
    let ref_suite = reference.join(suite);
    let Some(ref_commit) = newest_commit(&ref_suite)? else {
        if !named {
            return Ok(None);
        }
        return Err(choice(format!("suite {suite}: the reference store {} has no results for it", reference.display())));
    };
    let ref_dir = ref_suite.join(&ref_commit);
    let suite_dir = store.root.join(suite);
    let commit = match rev {
        Some(r) => commit_folder(&suite_dir, r, lookup.repo)?,
        None => GitInfo::discover(lookup.repo).folder(),
    };
    let dir = suite_dir.join(&commit);
    if !dir.is_dir() {
        let which = rev.unwrap_or("the current checkout");
        return Err(choice(format!("suite {suite}: no results for {which} in {}: run `harbench run {suite}` first", suite_dir.display())));
    }
    let machine = pick_machine(std::slice::from_ref(&dir), lookup.machine)?;
    let Some(ref_machine) = reference_machine(&ref_dir, &dir.join(&machine)) else {
        return Err(choice(format!(
            "suite {suite}: the reference {} holds several machines ({}) and none matches {machine}'s name or kernels",
            ref_dir.display(),
            ResultsStore::folders(&ref_dir).join(", ")
        )));
    };
    let note = (machine != ref_machine).then(|| {
        format!("note: suite {suite}: the reference ran on machine {ref_machine}, these results on {machine}; differences may come from the hardware")
    });
    Ok(Some(Sides {
        a: (format!("reference {ref_commit}"), ref_dir.join(&ref_machine)),
        b: (format!("{commit}/{machine}"), dir.join(&machine)),
        note,
    }))
}

/// The machine folder of a reference commit folder to compare with the results in `results_dir`:
/// the only one; else the one of the same name and kernels; else the only one with the same
/// kernels (a reference kept per kernels, such as `vm` and `vm-avx2`); else the one of the same
/// name. `None`: several and none of these.
pub fn reference_machine(ref_dir: &Path, results_dir: &Path) -> Option<String> {
    let folders = ResultsStore::folders(ref_dir);
    if let [only] = folders.as_slice() {
        return Some(only.clone());
    }
    let name = results_dir.file_name()?.to_string_lossy().to_string();
    let theirs = store::read_machine(results_dir).and_then(|m| m.kernels);
    let kernels_of = |folder: &String| store::read_machine(&ref_dir.join(folder)).and_then(|m| m.kernels);
    let same_kernels: Vec<&String> = folders.iter().filter(|f| theirs.is_some() && kernels_of(f) == theirs).collect();
    if same_kernels.contains(&&name) {
        return Some(name);
    }
    if let [only] = same_kernels.as_slice() {
        return Some((*only).clone());
    }
    folders.contains(&name).then_some(name)
}
