//! SMLDist's spectrum `|rFFT_time(F)|` two ways, forward and backward (the student's side of the
//! stage loss needs the gradient): the fixed DFT basis as two matmuls that harbench uses
//! (`harbench_distill::methods::smldist::magnitude`), and burn-signal's `rfft`. Shapes are the
//! anchor features of the default teacher (`mobilenetv3-large-1d` w0.5) on 9 × 128 windows at
//! batch 64; burn-signal needs power-of-two lengths, which these are.

use burn::tensor::{Device, Distribution, Tensor};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use harbench_distill::methods::smldist::{dft_basis, magnitude};
// The epsilon `magnitude` adds under its square root, so both sides compute one formula.
use harbench_distill::ops::TINY;
use harbench_distill::run::shapes;
use harbench_models::ModelConfig;
use std::time::Duration;


fn signal_magnitude(x: Tensor<3>) -> Tensor<3> {
    let (re, im) = burn_signal::rfft(x, 2, None);
    (re.powi_scalar(2) + im.powi_scalar(2) + TINY).sqrt()
}

fn values(t: Tensor<3>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 values")
}

fn bench(c: &mut Criterion) {
    let device = Device::flex();
    let train = device.clone().autodiff();
    let teacher = ModelConfig::preset("mobilenetv3-large-1d", Some(0.5)).unwrap().build(9, 6, &device);
    let (anchors, _) = shapes(&teacher, 9, 128, &device);
    let mut group = c.benchmark_group("spectrum forward+backward");
    group.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(30);
    for &(channels, length) in &anchors.anchors {
        let x = Tensor::<3>::random([64, channels, length], Distribution::Normal(0.0, 1.0), &train).require_grad();
        let basis = dft_basis(length, &train);
        // Both must compute the same spectrum before their speeds mean anything.
        let (a, b) = (values(magnitude(x.clone(), &basis)), values(signal_magnitude(x.clone())));
        let worst = a.iter().zip(&b).map(|(p, q)| (p - q).abs() / (1.0 + q.abs())).fold(0f32, f32::max);
        assert!(worst < 1e-4, "DFT matmul and burn-signal rfft differ by {worst} at {channels}×{length}");
        let id = format!("64x{channels}x{length}");
        group.bench_function(BenchmarkId::new("dft-matmul", &id), |bench| {
            bench.iter(|| magnitude(x.clone(), &basis).sum().backward())
        });
        group.bench_function(BenchmarkId::new("burn-signal-rfft", &id), |bench| {
            bench.iter(|| signal_magnitude(x.clone()).sum().backward())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
