//! Criterion benchmarks of inference: single-window and batch-64 forward passes of the student
//! (mobilenetv3-small-1d) and the teacher (mobilenetv3-large-1d) on 9×128 windows, logits read
//! back so that the work is timed. Add a model here when it joins the registry.
//!
//! Run: `cargo bench -p harbench-cost --bench inference` (release profile; reports under
//! target/criterion).

use burn::module::Module;
use burn::tensor::{Distribution, Tensor};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use harbench_models::device::test_device;
use harbench_models::ModelConfig;
use std::hint::black_box;

const CHANNELS: usize = 9;
const LENGTH: usize = 128;
const CLASSES: usize = 6;

fn inference(c: &mut Criterion) {
    let device = test_device();
    device.seed(0);
    let mut group = c.benchmark_group("inference");
    for name in ["mobilenetv3-small-1d", "mobilenetv3-large-1d"] {
        let model = ModelConfig::preset(name, None).expect("preset").build(CHANNELS, CLASSES, &device).valid();
        for batch in [1usize, 64] {
            let x = Tensor::<3>::random([batch, CHANNELS, LENGTH], Distribution::Normal(0.0, 1.0), &device);
            group.throughput(Throughput::Elements(batch as u64));
            group.bench_with_input(BenchmarkId::new(name, format!("batch{batch}")), &x, |b, x| {
                b.iter(|| black_box(model.forward(x.clone()).logits.into_data()))
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Fewer samples than criterion's 100: the teacher's batch-64 pass takes tens of ms on a CPU.
    config = Criterion::default().sample_size(20);
    targets = inference
}
criterion_main!(benches);
