//! One run end to end through the library, as `harbench train` and the suite runner call it:
//! the typed output, the teacher trained once and then reused, and the errors a bad request gets.

use harbench_common::progress::Silent;
use harbench_data::prepare::DataDir;
use harbench_data::split::SplitConfig;
use harbench_models::ModelConfig;
use harbench_run::{Cost, MethodRequest, RunContext, RunRequest, StoreEntry, TeacherSource, Workspace};
use harbench_train::store::{code_version, TeacherStore};
use harbench_train::{DeviceChoice, TrainConfig};
use std::sync::atomic::AtomicBool;

fn request(method: Option<MethodRequest>) -> RunRequest {
    RunRequest {
        label: "test".into(),
        dataset: "synthetic".into(),
        split: SplitConfig::default(),
        fold: 0,
        model: ModelConfig::preset("mobilenetv3-small-1d", Some(0.25)).unwrap(),
        train: TrainConfig { epochs: 1, batch_size: 32, warmup_epochs: 0, ..Default::default() }.check().unwrap(),
        method,
        device: DeviceChoice::Flex,
        teacher_store: None,
        profile: false,
    }
}

fn kd() -> MethodRequest {
    MethodRequest {
        name: "kd".into(),
        params: Default::default(),
        teacher: TeacherSource::Store {
            name: "teacher".into(),
            model: ModelConfig::preset("mobilenetv3-large-1d", Some(0.25)).unwrap(),
            train: TrainConfig { epochs: 1, batch_size: 32, warmup_epochs: 0, ..Default::default() }.check().unwrap(),
            entry: StoreEntry::ThisCode,
        },
    }
}

/// burn's random generator is one per process: tests that seed it run one at a time, or a
/// parallel test's draws would land between a seeded run's draws (seen in CI on 2026-12-03: the
/// teacher-reuse test's second student differed from its first).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn a_distilling_run_returns_typed_output_and_reuses_its_teacher() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let teachers = tmp.path().join("teachers");
    let workspace = Workspace::new(DataDir::new(tmp.path().join("data")), TeacherStore::new(&teachers), "test".into(), None);
    let stop = AtomicBool::new(false);
    let ctx = RunContext { progress: &Silent, stop: &stop, checkpoints: None, teacher_record: None };

    let first = workspace.execute(&request(Some(kd())), &ctx).unwrap();
    let out = &first.output;
    assert_eq!(out.dataset.id, "synthetic");
    assert_eq!(out.split.sizes.iter().sum::<usize>(), out.dataset.windows);
    assert_eq!(out.distillation.as_ref().unwrap().method, "kd");
    let teacher = out.teacher.as_ref().unwrap();
    assert!(!teacher.reused);
    assert!(matches!(out.cost, Cost::Skipped));
    let env = out.environment.as_ref().unwrap();
    assert_eq!((env.backend.as_str(), env.build_profile.is_empty(), env.threads > 0), ("flex", false, true));
    assert!(env.rustc.starts_with("rustc "), "{}", env.rustc);
    // The teacher is in the store now: a second run reuses it, and learns the same student.
    let second = workspace.execute(&request(Some(kd())), &ctx).unwrap();
    let reused = second.output.teacher.as_ref().unwrap();
    assert!(reused.reused);
    assert_eq!(reused.store_key, teacher.store_key);
    assert_eq!(second.output.outcome.best, first.output.outcome.best);
    assert!(teachers.join(format!("{}.json", teacher.store_key)).is_file());
}

#[test]
fn a_profiled_run_counts_memory_only_where_the_allocator_is_installed() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let workspace = Workspace::new(DataDir::new(tmp.path().join("data")), TeacherStore::new(tmp.path().join("t")), "test".into(), None);
    let stop = AtomicBool::new(false);
    let run = RunRequest { profile: true, ..request(None) };
    let executed =
        workspace.execute(&run, &RunContext { progress: &Silent, stop: &stop, checkpoints: None, teacher_record: None }).unwrap();
    let profile = executed.output.cost.profile().expect("profiled");
    assert_eq!(profile.macs, executed.model.macs(executed.data.windows.channels, executed.data.windows.length));
    // This test binary has the system allocator: memory is absent, and says why.
    assert!(profile.memory.as_ref().unwrap_err().contains("Counting"), "{:?}", profile.memory);
}

#[test]
fn bad_requests_are_errors_that_name_what_is_wrong() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let workspace = Workspace::new(DataDir::new(tmp.path().join("data")), TeacherStore::new(tmp.path().join("t")), "test".into(), None);
    let stop = AtomicBool::new(false);
    let ctx = RunContext { progress: &Silent, stop: &stop, checkpoints: None, teacher_record: None };
    let typo = MethodRequest { name: "kdd".into(), ..kd() };
    let err = workspace.execute(&request(Some(typo)), &ctx).err().unwrap().to_string();
    assert!(err.contains("did you mean 'kd'"), "{err}");
    let err = workspace.execute(&RunRequest { fold: 3, ..request(None) }, &ctx).err().unwrap().to_string();
    assert!(err.contains("fold 3 of 1"), "{err}");
    let err = workspace.execute(&RunRequest { dataset: "uci-harr".into(), ..request(None) }, &ctx).err().unwrap().to_string();
    assert!(err.contains("uci-har"), "{err}");
    let missing = MethodRequest { teacher: TeacherSource::Checkpoint(tmp.path().join("none.bpk")), ..kd() };
    let err = workspace.execute(&request(Some(missing)), &ctx).err().unwrap().to_string();
    assert!(err.contains("none.bpk") && err.contains("report"), "{err}");
}

#[test]
fn a_teacher_trained_at_an_earlier_commit_is_reused_and_never_trained_under_its_name() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = ("a".repeat(40), "b".repeat(40), "c".repeat(40));
    let at = |commit: &str| {
        Workspace::new(DataDir::new(tmp.path().join("data")), TeacherStore::new(tmp.path().join("t")), code_version(Some(commit)), None)
    };
    let stop = AtomicBool::new(false);
    let ctx = RunContext { progress: &Silent, stop: &stop, checkpoints: None, teacher_record: None };
    // Commit a trains the teacher (as a suite's teacher run does).
    let teacher_run = |trained_at: Option<&str>| {
        let TeacherSource::Store { model, train, .. } = kd().teacher else { unreachable!() };
        RunRequest { model, train, teacher_store: Some(StoreEntry::trained_at(trained_at.map(String::from))), ..request(None) }
    };
    let trained = at(&a).execute(&teacher_run(None), &ctx).unwrap();
    // At commit b, without trained_at, the store has no teacher of this code: it would train one.
    // With trained_at a, the teacher run and a distilling run both take commit a's teacher.
    let reused = at(&b).execute(&teacher_run(Some(&a)), &ctx).unwrap();
    assert_eq!(reused.output.outcome, trained.output.outcome, "the teacher run reports commit a's training");
    let with = |commit: &str| {
        let mut method = kd();
        if let TeacherSource::Store { entry, .. } = &mut method.teacher {
            *entry = StoreEntry::TrainedAt(commit.to_string());
        }
        request(Some(method))
    };
    let distilled = at(&b).execute(&with(&a), &ctx).unwrap();
    let info = distilled.output.teacher.as_ref().unwrap();
    assert!(info.reused);
    assert_eq!(info.test_accuracy, trained.output.outcome.best.test.as_ref().map(|m| m.accuracy));
    // A commit that stored no teacher is an error that names it; nothing is trained or stored.
    let entries = || std::fs::read_dir(tmp.path().join("t")).unwrap().count();
    let before = entries();
    for request in [teacher_run(Some(&c)), with(&c)] {
        let e = at(&b).execute(&request, &ctx).err().expect("no teacher of commit c").to_string();
        assert!(e.contains(&format!("no teacher trained at commit {c}")) && e.contains("trained_at"), "{e}");
    }
    assert_eq!(entries(), before);
}
