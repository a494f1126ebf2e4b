//! Every registered method on real (small) models: its loss is finite, its gradient reaches the
//! student and never the frozen teacher, and degenerate batches (one window, a class absent,
//! identical windows) give no NaN.

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use harbench_distill::registry;
use harbench_distill::run::{shapes, DistillObjective};
use harbench_distill::{Context, Distilled};
use harbench_models::device::test_device;
use harbench_models::{Model, ModelConfig};
use harbench_train::{Batch, Stage};
use serde_json::{json, Map, Value};

const C: usize = 6;
const L: usize = 32;
const K: usize = 4;

fn teacher(device: &Device) -> Model {
    device.seed(11);
    // A Hopfield head, so that SMLDist's memory distillation has a memory to learn from.
    let config = ModelConfig::preset("mobilenetv3-large-1d", Some(0.5)).unwrap();
    config.with_heads("teacher", vec![harbench_models::HeadKind::Hopfield]).unwrap().build(C, K, device).valid()
}

/// Student + parts for `method`, trained on its own terms only (no CE, no KD beside it).
fn setup(method: &str, device: &Device) -> (Distilled, DistillObjective) {
    let ad = device.clone().autodiff();
    let teacher = teacher(device);
    let mut params: Map<String, Value> = serde_json::from_value(json!({"ce": 0.0, "kd": 0.0})).unwrap();
    if method == "crd" {
        params.insert("nce_k".into(), json!(8));
    }
    if method == "ft" {
        // The last anchor of a 32-step window has one step: a factor map over one step is constant.
        params.insert("anchor".into(), json!(1));
    }
    let (mut m, mix) = registry::build(method, &params).unwrap();
    device.seed(3);
    let student_config = m.student_config(&ModelConfig::preset("mobilenetv3-small-1d", Some(0.25)).unwrap()).unwrap();
    let student = student_config.build(C, K, &ad);
    let labels: Vec<usize> = (0..16).map(|i| i % 3).collect(); // class 3 never occurs
    let ctx = Context {
        student: shapes(&student, C, L, device).0,
        teacher: shapes(&teacher, C, L, device).0,
        classes: K,
        train_labels: &labels,
        seed: 0,
        teacher_model: Some(&teacher),
        sample: None,
    };
    let parts = m.build(&ctx, &ad).unwrap();
    let student = m.init_student(&ctx, student).unwrap();
    let objective = DistillObjective::new(&teacher, m, mix, 0.0, device);
    (Distilled { student, parts }, objective)
}

fn batch(x: Vec<f32>, b: usize, labels: &[i64], rows: &'static [usize], stage: Stage, device: &Device) -> Batch<'static> {
    let ad = device.clone().autodiff();
    Batch {
        x: Tensor::from_data(TensorData::new(x, [b, C, L]), &ad),
        y: Tensor::<1, Int>::from_data(TensorData::new(labels.to_vec(), [b]), &ad),
        rows,
        epoch: 20,
        stage,
    }
}

fn wave(b: usize) -> Vec<f32> {
    (0..b * C * L).map(|i| ((i as f32) * 0.31).sin() + 0.2 * ((i % 7) as f32)).collect()
}

fn probe(model: &Model, device: &Device) -> Vec<f32> {
    let x = Tensor::<3>::from_data(TensorData::new(wave(2), [2, C, L]), device);
    model.valid().forward(x).logits.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

fn stage(method: &str) -> Stage {
    if method == "fsp" || method == "ab" {
        Stage::Pretrain
    } else {
        Stage::Main
    }
}

/// One optimiser step on `b`; returns the loss value and whether every student output stays finite.
fn step(method: &str, b: Batch, device: &Device) -> (f64, Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
    let (module, mut objective) = setup(method, device);
    let before = probe(&module.student, device);
    let teacher_before = probe(&objective.teacher, device);
    let (_, total) = objective.terms(&module, &b);
    let value = total.clone().into_scalar::<f32>() as f64;
    let mut grads = total.backward();
    // The teacher has nothing to receive: its parameters are plain (non-autodiff) tensors.
    assert!(GradientsParams::from_module(&mut grads, &objective.teacher).is_empty(), "{method}: the teacher got gradients");
    let grads = GradientsParams::from_grads(grads, &module);
    assert!(!grads.is_empty(), "{method}: no gradient reached the student or its parts");
    let module = AdamWConfig::new().with_weight_decay(0.0).init().step(1e-2, module, grads);
    (value, before, probe(&module.student, device), teacher_before, probe(&objective.teacher, device))
}

#[test]
fn gradients_reach_the_student_and_never_the_teacher() {
    let device = test_device();
    for method in registry::names() {
        let b = batch(wave(4), 4, &[0, 1, 2, 0], &[0, 1, 2, 3], stage(method), &device);
        let (value, before, after, t_before, t_after) = step(method, b, &device);
        assert!(value.is_finite() && value > 0.0, "{method}: loss {value}");
        assert!(after.iter().all(|v| v.is_finite()), "{method}: non-finite student after a step");
        assert_ne!(before, after, "{method}: the student did not move");
        assert_eq!(t_before, t_after, "{method}: the teacher changed");
    }
}

#[test]
fn teacher_outputs_are_constants_of_the_graph() {
    let device = test_device();
    let (module, mut objective) = setup("kd", &device);
    let x = Tensor::<3>::from_data(TensorData::new(wave(2), [2, C, L]), &device.clone().autodiff());
    let t = objective.teacher.forward(x.clone().without_autodiff());
    assert!(!t.logits.is_autodiff() && !t.logits.autodiff().is_tracked());
    assert!(module.student.forward(x).logits.is_tracked());
    let b = batch(wave(2), 2, &[0, 1], &[0, 1], Stage::Main, &device);
    let (terms, _) = objective.terms(&module, &b);
    assert_eq!(terms.iter().map(|t| t.name).collect::<Vec<_>>(), vec!["kd"]);
}

#[test]
fn degenerate_batches_give_no_nan() {
    let device = test_device();
    for method in registry::names() {
        let cases: [(&str, Batch); 2] = [
            ("batch of one", batch(wave(1), 1, &[2], &[5], stage(method), &device)),
            ("one class only", batch(wave(3), 3, &[1, 1, 1], &[0, 3, 6], stage(method), &device)),
        ];
        for (what, b) in cases {
            let (module, mut objective) = setup(method, &device);
            let (terms, total) = objective.terms(&module, &b);
            for t in &terms {
                let v = t.value.clone().into_scalar::<f32>();
                assert!(v.is_finite(), "{method}, {what}: term {} = {v}", t.name);
            }
            let grads = GradientsParams::from_grads(total.backward(), &module);
            let module = AdamWConfig::new().init().step(1e-2, module, grads);
            assert!(probe(&module.student, &device).iter().all(|v| v.is_finite()), "{method}, {what}: NaN after a step");
        }
    }
}

/// Identical (zero-variance) features fed straight to each loss: the loss and its gradient
/// with respect to the student's features stay finite. (Through a whole network, a batch of
/// identical windows is a batch-norm matter: its gradient scales by 1/√ε per layer.)
#[test]
fn identical_features_give_finite_losses_and_gradients() {
    let device = test_device();
    let ad = device.clone().autodiff();
    for method in registry::names() {
        for (s_value, t_value) in [(0.0f32, 0.0f32), (1.0, 1.0), (0.5, 2.0)] {
            let (module, mut objective) = setup(method, &device);
            let real = module.student.forward(Tensor::from_data(TensorData::new(wave(4), [4, C, L]), &ad));
            let t_real = objective.teacher.forward(Tensor::from_data(TensorData::new(wave(4), [4, C, L]), &device));
            let fill3 = |t: &Tensor<3>, v: f32| Tensor::<3>::ones(t.dims(), &ad) * v;
            let fill2 = |t: &Tensor<2>, v: f32| Tensor::<2>::ones(t.dims(), &ad) * v;
            let student = harbench_models::ModelOutput {
                logits: fill2(&real.logits, s_value).require_grad(),
                pooled: fill2(&real.pooled, s_value).require_grad(),
                anchors: real.anchors.iter().map(|a| fill3(a, s_value).require_grad()).collect(),
                memory_query: real.memory_query.as_ref().map(|q| fill2(q, s_value).require_grad()),
            };
            let teacher = harbench_models::ModelOutput {
                logits: fill2(&t_real.logits, t_value),
                pooled: fill2(&t_real.pooled, t_value),
                anchors: t_real.anchors.iter().map(|a| fill3(a, t_value)).collect(),
                memory_query: t_real.memory_query.as_ref().map(|q| fill2(q, t_value)),
            };
            let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1, 2, 0], [4]), &ad);
            let f = harbench_distill::Features {
                student: &student,
                teacher: &teacher,
                labels: &labels,
                rows: &[0, 1, 2, 3],
                epoch: 20,
                stage: stage(method),
            };
            let terms = objective.method.loss(&module.parts, &f);
            assert!(!terms.is_empty(), "{method}");
            let mut total = student.logits.clone().sum() * 0.0 + student.pooled.clone().sum() * 0.0;
            for t in &terms {
                let v = t.value.clone().into_scalar::<f32>();
                assert!(v.is_finite(), "{method} ({s_value} vs {t_value}): term {} = {v}", t.name);
                total = total + t.value.clone();
            }
            let grads = total.backward();
            let finite = |g: Option<Tensor<2>>| {
                g.map(|g| g.into_data().convert::<f32>().try_to_vec::<f32>().unwrap().iter().all(|v| v.is_finite())).unwrap_or(true)
            };
            assert!(
                finite(student.logits.grad(&grads)) && finite(student.pooled.grad(&grads)),
                "{method} ({s_value} vs {t_value}): NaN gradient"
            );
            for a in &student.anchors {
                let ok = a.grad(&grads).map(|g| g.into_data().convert::<f32>().try_to_vec::<f32>().unwrap().iter().all(|v| v.is_finite()));
                assert!(ok.unwrap_or(true), "{method} ({s_value} vs {t_value}): NaN anchor gradient");
            }
        }
    }
}

#[test]
fn mix_adds_cross_entropy_and_kd_in_the_main_stage_only() {
    let device = test_device();
    let ad = device.clone().autodiff();
    let teacher = teacher(&device);
    device.seed(3);
    let student = ModelConfig::preset("mobilenetv3-small-1d", Some(0.25)).unwrap().build(C, K, &ad);
    let params = serde_json::from_value(json!({"kd": 0.5, "pretrain_epochs": 1})).unwrap();
    let (mut m, mix) = registry::build("fsp", &params).unwrap();
    let labels = vec![0, 1];
    let ctx = Context {
        student: shapes(&student, C, L, &device).0,
        teacher: shapes(&teacher, C, L, &device).0,
        classes: K,
        train_labels: &labels,
        seed: 0,
        teacher_model: Some(&teacher),
        sample: None,
    };
    let parts = m.build(&ctx, &ad).unwrap();
    let mut objective = DistillObjective::new(&teacher, m, mix, 0.0, &device);
    let module = Distilled { student, parts };
    let names = |objective: &mut DistillObjective, s| {
        let (terms, _) = objective.terms(&module, &batch(wave(2), 2, &[0, 1], &[0, 1], s, &device));
        terms.iter().map(|t| t.name).collect::<Vec<_>>()
    };
    assert_eq!(names(&mut objective, Stage::Pretrain), vec!["fsp"]);
    // RepDistiller's FSP has no FSP term after pre-training (β = 0).
    assert_eq!(names(&mut objective, Stage::Main), vec!["ce", "kd"]);
}

#[test]
fn shape_mismatches_are_errors_not_panics() {
    let device = test_device();
    let ad = device.clone().autodiff();
    let student = ModelConfig::preset("mobilenetv3-small-1d", Some(0.25)).unwrap().build(C, K, &ad);
    let labels = vec![0, 1];
    let s = shapes(&student, C, L, &device).0;
    let ctx = Context { student: s.clone(), teacher: s, classes: K, train_labels: &labels, seed: 0, teacher_model: None, sample: None };
    let params = serde_json::from_value(json!({"anchors": [0, 5]})).unwrap();
    let (mut m, _) = registry::build("at", &params).unwrap();
    let err = m.build(&ctx, &ad).err().unwrap().to_string();
    assert!(err.contains("anchor 5 does not exist"), "{err}");
    let (mut m, _) = registry::build("crd", &Map::new()).unwrap();
    let one = vec![0];
    let ctx = Context { train_labels: &one, ..ctx };
    assert!(m.build(&ctx, &ad).err().unwrap().to_string().contains("no negatives"));
}
