//! Distillation throughput on random input of a fixed shape: `harbench bench-train --method`.
//! The same step as a distillation run (teacher outputs, student forward, the method's terms
//! with CE and KD by its mix, backward, AdamW), with the teacher run every step or read from the
//! teacher cache, so that the cache's effect is a number.

use crate::registry;
use crate::run::{shapes, DistillObjective};
use crate::teacher_cache::TeacherCache;
use crate::{Context, DistillError, Distilled};
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use harbench_models::ModelConfig;
use harbench_train::bench::{check, measure, random_batches, BenchResult, BenchSettings};
use harbench_train::{Batch, Objective, Stage, TrainError};

/// Distils `student` from a (randomly initialised) `teacher` with `method` at its default
/// settings; `cached`: the teacher's outputs come from the cache after the first pass over the
/// batches, as in a run without augmentation.
pub fn distill_throughput(
    student: &ModelConfig,
    teacher: &ModelConfig,
    method: &str,
    settings: &BenchSettings,
    cached: bool,
    device: &Device,
) -> Result<BenchResult, DistillError> {
    check(settings)?;
    device.seed(settings.seed);
    let (channels, length, classes) = (settings.channels, settings.length, settings.classes);
    let teacher = teacher.build(channels, classes, device).valid();
    let (teacher_shapes, _) = shapes(&teacher, channels, length, device);
    let (mut method, mix) = registry::build(method, &Default::default())?;
    let student_config = method.student_config(student)?;
    let train_device = device.clone().autodiff();
    let student = student_config.build(channels, classes, &train_device);
    let (student_shapes, _) = shapes(&student, channels, length, device);
    let batches = random_batches(settings, 4);
    let labels: Vec<usize> = batches.iter().flat_map(|(_, y)| y.iter().map(|&c| c as usize)).collect();
    let input =
        |x: &[f32], device: &Device| Tensor::<3>::from_data(TensorData::new(x.to_vec(), [settings.batch_size, channels, length]), device);
    let ctx = Context {
        student: student_shapes,
        teacher: teacher_shapes.clone(),
        classes,
        train_labels: &labels,
        seed: settings.seed,
        teacher_model: Some(&teacher),
        sample: Some(input(&batches[0].0, device)),
    };
    let parts = method.build(&ctx, &train_device)?;
    let student = method.init_student(&ctx, student)?;
    let mut module = Some(Distilled { student, parts });
    let parameters = module.as_ref().map_or(0, |m| m.student.num_params());
    let mut objective = DistillObjective::new(&teacher, method, mix, 0.0, device);
    if cached {
        objective = objective.with_cache(TeacherCache::new(labels.len(), &teacher_shapes, classes, usize::MAX));
    }
    let mut optimizer = AdamWConfig::new().with_weight_decay(1e-2).init();
    let rows: Vec<Vec<usize>> = (0..batches.len()).map(|b| (b * settings.batch_size..(b + 1) * settings.batch_size).collect()).collect();
    let result = measure(settings, parameters, |i| -> Result<(), TrainError> {
        let b = i % batches.len();
        let (x, y) = &batches[b];
        let y = Tensor::<1, Int>::from_data(TensorData::new(y.clone(), [settings.batch_size]), &train_device);
        let batch = Batch { x: input(x, &train_device), y, rows: &rows[b], epoch: 1, stage: Stage::Main };
        let net = module.take().expect("a module between steps");
        // `loss` reads every term back, which synchronises the device: timings cover the work.
        let loss = objective.loss(&net, &batch)?;
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        module = Some(optimizer.step(1e-3, net, grads));
        Ok(())
    })?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use harbench_models::device::test_device;

    #[test]
    fn times_a_distillation_step_with_and_without_the_cache() {
        let student = ModelConfig::preset("mobilenetv3-small-1d", Some(0.25)).unwrap();
        let teacher = ModelConfig::preset("mobilenetv3-large-1d", Some(0.25)).unwrap();
        let settings = BenchSettings { batch_size: 4, warmup_steps: 4, steps: 2, repeats: 2, ..Default::default() };
        for cached in [false, true] {
            let r = distill_throughput(&student, &teacher, "kd", &settings, cached, &test_device()).unwrap();
            assert_eq!(r.samples_per_second.len(), 2);
            assert!(r.min > 0.0 && r.parameters == student.build(9, 6, &test_device()).num_params());
        }
        let e = distill_throughput(&student, &teacher, "kdd", &settings, true, &test_device()).unwrap_err().to_string();
        assert!(e.contains("did you mean 'kd'"), "{e}");
    }
}
