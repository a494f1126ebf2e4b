//! The SMLDist authors' head and logits loss against a PyTorch transcription of their code
//! (`tests/reference/authors_smldist.py`: `SelfAdaptiveIntuitionMemoryHead` over hflayers'
//! `Hopfield`, `LogitsDistillingLoss`); its printed constants are read from `authors_smldist.out`.

use burn::module::Param;
use burn::tensor::{Device, Int, Tensor, TensorData};
use harbench_distill::methods::smldist::authors_logits_loss;
use harbench_models::device::test_device;
use harbench_models::heads::SimhHead;

#[allow(dead_code)]
mod reference {
    include!("../../../tests/reference/authors_smldist.out");
}

/// The script's `gen`: `scale · (sin(0.37 i + phase) + 0.1 cos(1.7 i))`, C order, as f32.
fn gen<const D: usize>(shape: [usize; D], phase: f64, scale: f64, device: &Device) -> Tensor<D> {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|i| (scale * ((0.37 * i as f64 + phase).sin() + 0.1 * (1.7 * i as f64).cos())) as f32).collect();
    Tensor::from_data(TensorData::new(v, shape), device)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap().into_iter().map(f64::from).collect()
}

fn assert_close(mine: &[f64], theirs: &[f64], what: &str) {
    assert_eq!(mine.len(), theirs.len(), "{what}: length");
    for (i, (m, t)) in mine.iter().zip(theirs).enumerate() {
        assert!((m - t).abs() <= 2e-5 * t.abs().max(1.0), "{what}[{i}]: {m} vs reference {t}");
    }
}

/// A torch `[out, in]` weight as burn's `[in, out]` parameter.
fn weight(torch: Tensor<2>) -> Param<Tensor<2>> {
    Param::from_tensor(torch.transpose())
}

/// The script's scenario 1: F = 6 features, K = 3 classes.
fn head(device: &Device) -> SimhHead {
    let mut head = SimhHead::new(6, 3, device);
    head.norm.gamma = Param::from_tensor(gen([6], 0.2, 0.1, device) + 1.0);
    head.norm.beta = Some(Param::from_tensor(gen([6], 0.4, 0.1, device)));
    head.value.weight = weight(gen([6, 6], 0.5, 0.3, device));
    head.value.bias = Some(Param::from_tensor(gen([6], 0.6, 0.1, device)));
    head.output.weight = weight(gen([3, 6], 0.7, 0.3, device));
    head.output.bias = Some(Param::from_tensor(gen([3], 0.8, 0.1, device)));
    head.intuition.weight = weight(gen([3, 6], 0.9, 0.3, device));
    head.intuition.bias = Some(Param::from_tensor(gen([3], 1.0, 0.1, device)));
    head.mix = Param::from_tensor(Tensor::from_data(TensorData::new(vec![0.3f32, -0.2], [2]), device));
    head
}

fn cross_entropy(z: Tensor<2>, labels: &[i64]) -> Tensor<1> {
    let [b, k] = z.dims();
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels.to_vec(), [b]), &z.device());
    -(burn::tensor::activation::log_softmax(z, 1) * y.one_hot::<2>(k).float()).sum() / b as f64
}

#[test]
fn simh_head_evaluates_its_memory_unit_and_compresses_to_it() {
    let device = test_device();
    let x = gen([4, 6], 1.2, 1.0, &device);
    let logits = head(&device).forward(x);
    assert_close(&values(logits.clone()), &reference::SIMH_EVAL_LOGITS, "evaluation logits");
    assert_close(&values(burn::tensor::activation::softmax(logits, 1)), &reference::SIMH_COMPRESSED, "compressed head");
}

#[test]
fn simh_head_trains_on_the_mixture_as_the_authors_teacher_does() {
    let ad = test_device().autodiff();
    let head = head(&ad);
    let out = head.forward(gen([4, 6], 1.2, 1.0, &ad));
    assert_close(&values(out.clone()), &reference::SIMH_TRAIN_OUTPUT, "training output");
    // The authors train their teacher with CrossEntropyLoss on that mixture of probabilities.
    let loss = cross_entropy(out, &[0, 2, 1, 2]);
    assert_close(&values(loss.clone()), &[reference::SIMH_TEACHER_CE], "teacher CE");
    let grads = loss.backward();
    let grad = |p: &Param<Tensor<1>>| values(p.val().grad(&grads).expect("a gradient"));
    assert_close(&grad(&head.mix), &reference::SIMH_GRAD_W, "d CE / d w");
    assert_close(&grad(head.intuition.bias.as_ref().unwrap()), &reference::SIMH_GRAD_INTUITION_BIAS, "d CE / d intuition bias");
    assert_close(&grad(head.output.bias.as_ref().unwrap()), &reference::SIMH_GRAD_OUT_BIAS, "d CE / d out_proj bias");
    assert_close(&grad(head.value.bias.as_ref().unwrap()), &reference::SIMH_GRAD_V_BIAS, "d CE / d value bias");
    assert_close(&grad(&head.norm.gamma), &reference::SIMH_GRAD_NORM_WEIGHT, "d CE / d LayerNorm weight");
}

/// The script's scenario 2, where the teacher is wrong on rows 0, 1, 2 and 4.
fn logits_loss(hardness: f64, device: &Device) -> (Tensor<2>, Tensor<1>) {
    let p = burn::tensor::activation::softmax(gen([5, 4], 0.1, 2.0, device), 1).detach().require_grad();
    let t = gen([5, 4], 0.7, 3.0, device);
    let y = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1, 2, 3, 1], [5]), device);
    let loss = authors_logits_loss(p.clone(), t, y, hardness);
    (p, loss)
}

#[test]
fn logits_distilling_loss_matches_the_authors() {
    let ad = test_device().autodiff();
    let (p, loss) = logits_loss(1.0, &ad);
    assert_close(&values(loss.clone()), &[reference::LDL_LOSS], "LogitsDistillingLoss");
    let grads = loss.backward();
    assert_close(&values(p.grad(&grads).expect("a gradient")), &reference::LDL_GRAD, "d loss / d student output");
    let (_, half) = logits_loss(0.5, &ad);
    assert_close(&values(half), &[reference::LDL_LOSS_HARDNESS_HALF], "LogitsDistillingLoss, hardness 0.5");
}

#[test]
fn a_stage_phase_is_the_authors_plain_feature_mse() {
    use harbench_distill::methods::smldist::{dft_basis, stage_loss, FreqDesign};
    let ad = test_device().autodiff();
    let fs = gen([2, 3, 8], 0.3, 1.0, &ad).require_grad();
    let ft = gen([2, 3, 8], 1.1, 0.8, &ad);
    // The code preset's lambda_freq is 0: the frequency term and its basis are not used.
    let loss = stage_loss(fs.clone(), ft, 0.0, FreqDesign::default(), &dft_basis(8, &ad));
    assert_close(&values(loss.clone()), &[reference::STAGE_PHASE_MSE], "stage phase MSE");
    let grads = loss.backward();
    assert_close(&values(fs.grad(&grads).unwrap()), &reference::STAGE_PHASE_GRAD, "d MSE / d student feature");
}

mod code_preset {
    use super::*;
    use burn::module::Module;
    use harbench_distill::run::shapes;
    use harbench_distill::{registry, Context, Features};
    use harbench_models::{HeadKind, Model, ModelConfig, ModelOutput};
    use harbench_train::{PretrainOptimizer, Stage};
    use serde_json::{json, Map, Value};

    const C: usize = 6;
    const L: usize = 64;
    const K: usize = 4;

    fn options(value: Value) -> Map<String, Value> {
        serde_json::from_value(value).unwrap()
    }

    fn pair(teacher_heads: Vec<HeadKind>, device: &Device) -> (Model, ModelConfig) {
        device.seed(5);
        let teacher = ModelConfig::preset("mobilenetv3-large-1d-authors", Some(0.25)).unwrap();
        let teacher = teacher.with_heads("teacher", teacher_heads).unwrap().build(C, K, device).valid();
        (teacher, ModelConfig::preset("mobilenetv3-large-1d-authors-student", Some(0.25)).unwrap())
    }

    fn constant(out: ModelOutput) -> ModelOutput {
        ModelOutput {
            logits: out.logits.autodiff(),
            pooled: out.pooled.autodiff(),
            anchors: out.anchors.into_iter().map(|a| a.autodiff()).collect(),
            memory_query: None,
        }
    }

    #[test]
    fn the_code_preset_sets_every_component_and_options_override_it() {
        let (m, mix) = registry::build("smldist", &options(json!({"preset": "code"}))).unwrap();
        assert_eq!(mix.ce, 0.0, "LogitsDistillingLoss holds the cross-entropy");
        let config = m.config();
        assert_eq!(config["preset"], "code");
        assert_eq!(config["heads"], json!(["simh"]));
        assert_eq!(config["logits"], "authors");
        assert_eq!(config["anchors"], json!([0, 1]));
        assert_eq!(m.pretrain_epochs(), 400, "two anchors × 200 epochs");
        assert_eq!(m.pretrain_optimizer(), PretrainOptimizer::AdamPerPhase { lr: 1e-4, phase_epochs: 200 });
        let (m, _) = registry::build("smldist", &options(json!({"preset": "code", "progressive_epochs": 3}))).unwrap();
        assert_eq!(m.pretrain_epochs(), 6);
        // The paper preset is unchanged by the new options: its resolved config names none of them.
        let (paper, _) = registry::build("smldist", &options(json!({}))).unwrap();
        let paper = paper.config();
        for field in ["preset", "stage_phases", "stage_lr", "logits", "hardness", "copy_head"] {
            assert!(paper.get(field).is_none(), "{field} in {paper}");
        }
        let err = registry::build("smldist", &options(json!({"preset": "code", "hardnes": 1}))).err().unwrap().to_string();
        assert!(err.contains("hardnes"), "{err}");
        let err = registry::build("smldist", &options(json!({"preset": "codes"}))).err().unwrap().to_string();
        assert!(err.contains("codes"), "{err}");
    }

    #[test]
    fn the_code_preset_copies_the_teachers_head_then_distils_one_anchor_per_phase_and_the_logits() {
        let device = test_device();
        let ad = device.clone().autodiff();
        let (teacher, student_config) = pair(vec![HeadKind::Simh], &device);
        let (mut m, _) = registry::build("smldist", &options(json!({"preset": "code", "progressive_epochs": 2}))).unwrap();
        let student = m.student_config(&student_config).unwrap().build(C, K, &ad);
        let labels: Vec<usize> = (0..8).map(|i| i % K).collect();
        let ctx = Context {
            student: shapes(&student, C, L, &device).0,
            teacher: shapes(&teacher, C, L, &device).0,
            classes: K,
            train_labels: &labels,
            seed: 0,
            teacher_model: Some(&teacher),
            sample: None,
        };
        assert_eq!(ctx.student.anchors, ctx.teacher.anchors, "the authors' pair needs no adapters");
        let parts = m.build(&ctx, &ad).unwrap();
        assert!(parts.items.is_empty(), "no adapters, no memory map");
        let student = m.init_student(&ctx, student).unwrap();
        let x = gen([4, C, L], 0.3, 1.0, &device);
        // The copied head answers as the teacher's on the same pooled feature.
        let pooled = teacher.forward(x.clone()).pooled;
        let (theirs, mine) = (teacher.classifier().forward(pooled.clone()).logits, student.valid().classifier().forward(pooled).logits);
        assert_close(&values(mine), &values(theirs), "copied head");

        let t = constant(teacher.forward(x.clone()));
        let s = student.forward(x.autodiff());
        let y = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1, 2, 3], [4]), &ad);
        let features = |epoch, stage| Features { student: &s, teacher: &t, labels: &y, rows: &[0, 1, 2, 3], epoch, stage };
        let mse = |a: usize| values((s.anchors[a].clone() - t.anchors[a].clone()).powi_scalar(2).mean())[0];
        for (epoch, anchor) in [(1, 0), (2, 0), (3, 1), (4, 1)] {
            let terms = m.loss(&parts, &features(epoch, Stage::Pretrain));
            assert_eq!(terms.len(), 1);
            assert_close(&values(terms[0].value.clone()), &[mse(anchor)], &format!("stage phase at pre-training epoch {epoch}"));
        }
        let terms = m.loss(&parts, &features(1, Stage::Main));
        let names: Vec<&str> = terms.iter().map(|t| t.name).collect();
        assert_eq!(names, ["logits"], "LogitsDistillingLoss alone");
        let expected = authors_logits_loss(s.logits.clone(), t.logits.clone(), y.clone(), 1.0);
        assert_close(&values(terms[0].value.clone()), &values(expected), "main loss");
        // The gradient reaches the student's copied head.
        let grads = terms[0].value.clone().backward();
        let head = match &student.classifier().heads[0] {
            harbench_models::heads::Head::Simh(h) => h,
            other => panic!("the student's head is {:?}", other.kind()),
        };
        assert!(head.mix.val().grad(&grads).is_some(), "the copied head trains");
    }

    #[test]
    fn copying_a_head_the_student_does_not_have_is_a_clear_error() {
        let device = test_device();
        let ad = device.clone().autodiff();
        let (teacher, student_config) = pair(vec![HeadKind::Hopfield], &device);
        let (mut m, _) = registry::build("smldist", &options(json!({"preset": "code"}))).unwrap();
        let student = m.student_config(&student_config).unwrap().build(C, K, &ad);
        let ctx = Context {
            student: shapes(&student, C, L, &device).0,
            teacher: shapes(&teacher, C, L, &device).0,
            classes: K,
            train_labels: &[0, 1],
            seed: 0,
            teacher_model: Some(&teacher),
            sample: None,
        };
        m.build(&ctx, &ad).unwrap();
        let err = m.init_student(&ctx, student).err().unwrap().to_string();
        assert!(err.contains("teacher: {heads: [simh]}"), "{err}");
    }
}
