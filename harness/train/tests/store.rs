//! The teacher store: a teacher is trained once, then loaded with the same weights and scores;
//! anything that decides its weights changes its key.

use harbench_common::progress::Silent;
use harbench_data::prepare::{self, DataDir, Overrides};
use harbench_data::registry;
use harbench_data::split::{self, SplitConfig};
use harbench_models::device::test_device;
use harbench_models::ModelConfig;
use harbench_train::batches::SplitData;
use harbench_train::store::{code_version, TeacherKey, TeacherStore};
use harbench_train::trainer::evaluate;
use harbench_train::{TrainConfig, TrainContext};
use std::sync::atomic::AtomicBool;

#[test]
fn a_teacher_is_trained_once_and_reused_with_identical_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = registry::find("synthetic").unwrap();
    let data = prepare::load(&DataDir::new(tmp.path().join("data")), ds, &Overrides::default(), &Silent).unwrap();
    let split_config = SplitConfig::default();
    let fold = split::folds(&data.windows, &data.meta, &ds.spec().holdout, &split_config).unwrap().remove(0);
    let model = ModelConfig::preset("mobilenetv3-small-1d", Some(0.25)).unwrap();
    let train = TrainConfig { epochs: 1, batch_size: 32, warmup_epochs: 0, seed: 3, ..Default::default() }.check().unwrap();
    let key = TeacherKey::new(&data, &split_config, &fold, &model, &train, &code_version(Some("abc123")));
    let store = TeacherStore::new(tmp.path().join("teachers"));
    let device = test_device();
    let never = AtomicBool::new(false);

    let first = store.get_or_train(&key, &data, &fold, &TrainContext::new(&device, &Silent, &never)).unwrap();
    assert!(!first.reused);
    assert_eq!(first.key, key.digest());
    assert!(store.weights_path(&first.key).is_file() && store.entry_path(&first.key).is_file());

    let second = store.get_or_train(&key, &data, &fold, &TrainContext::new(&device, &Silent, &never)).unwrap();
    assert!(second.reused);
    assert_eq!(second.outcome, first.outcome);
    assert_eq!(second.normalizer, first.normalizer);
    // The loaded weights predict exactly what the trained model did.
    let test = SplitData::new(&data, &fold.test, &second.normalizer);
    let classes = data.meta.classes.len();
    assert_eq!(evaluate(&second.model, &test, classes, &device), first.outcome.best.test.clone().unwrap());
    assert_eq!(evaluate(&first.model, &test, classes, &device), first.outcome.best.test.clone().unwrap());

    // Seed, code version and fold each make another teacher.
    let other_seed = TeacherKey { train: train.with_seed(4), ..key.clone() };
    let other_code = TeacherKey { code_version: code_version(None), ..key.clone() };
    let other_fold = TeacherKey { fold: "loso-1".into(), ..key.clone() };
    for k in [&other_seed, &other_code, &other_fold] {
        assert_ne!(k.digest(), key.digest());
        assert!(store.get(k, 6, classes, &device).unwrap().is_none());
    }

    // A hand-edited entry is an error naming the file, not a silent retrain.
    let json = store.entry_path(&first.key);
    std::fs::write(&json, "{}").unwrap();
    let err = store.get(&key, 6, classes, &device).err().expect("corrupt entry").to_string();
    assert!(err.contains(&json.display().to_string()) && err.contains("not a teacher entry"), "{err}");
}
