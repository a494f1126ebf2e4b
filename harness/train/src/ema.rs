//! Exponential moving average of the weights (Polyak averaging): the model that is evaluated,
//! kept and exported is the average, while the optimiser keeps stepping the live weights. The
//! average smooths the epoch-to-epoch swings of validation scores, so the best-validation
//! checkpoint is less a matter of luck.
//!
//! Every float tensor of the module is averaged, batch-norm running statistics included (as timm's
//! `ModelEmaV2` does), so the average is a consistent model. The decay warms up as
//! `min(decay, (1 + t) / (10 + t))` after `t` updates, so early averages are not dominated by
//! the random initialisation.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::Tensor;
use harbench_models::Model;

/// The running average of a model's weights (on the plain, non-autodiff device).
pub struct WeightAverage {
    decay: f64,
    updates: u64,
    average: Model,
}

impl WeightAverage {
    /// Starts the average at `model` (taken as it is: call with the eval-mode model).
    pub fn new(model: Model, decay: f64) -> Self {
        WeightAverage { decay, updates: 0, average: model }
    }

    /// An average saved after `updates` updates (a resumed run's).
    pub fn resume(average: Model, decay: f64, updates: u64) -> Self {
        WeightAverage { decay, updates, average }
    }

    /// Updates folded in so far.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// The decay used by the next update.
    pub fn current_decay(&self) -> f64 {
        let t = self.updates as f64;
        self.decay.min((1.0 + t) / (10.0 + t))
    }

    /// `average ← d · average + (1 − d) · model`, tensor by tensor. `model` must have the
    /// average's architecture (it is the same network after one more optimiser step).
    pub fn update(&mut self, model: &Model) {
        let decay = self.current_decay();
        let mut collect = Collect::default();
        model.visit(&mut collect);
        let mut blend = Blend { decay, current: collect.tensors.into_iter() };
        // Map a `valid()` copy, not a clone: burn shares a batch norm's running statistics
        // between clones and `map` writes them in place, so blending a clone would also change
        // every model handed out earlier (the best checkpoint among them). `valid()` gives the
        // copy cells of its own.
        self.average = self.average.valid().map(&mut blend);
        assert!(blend.current.next().is_none(), "the averaged model and the trained model differ in parameters");
        self.updates += 1;
    }

    /// The averaged model. Later updates leave a clone of it untouched.
    pub fn model(&self) -> &Model {
        &self.average
    }
}

/// Every float tensor of a module, flattened, in visiting order.
#[derive(Default)]
struct Collect {
    tensors: Vec<Tensor<1>>,
}

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.tensors.push(param.val().flatten(0, D - 1));
    }
}

/// Blends each float tensor of the average with the next collected one; the visiting order of
/// two modules of one architecture is the same.
struct Blend {
    decay: f64,
    current: std::vec::IntoIter<Tensor<1>>,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let current = self.current.next().expect("the trained model has fewer parameters than the average");
        let decay = self.decay;
        param.map(|average| {
            let shape = average.shape();
            average.mul_scalar(decay) + current.reshape(shape).mul_scalar(1.0 - decay)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harbench_models::device::test_device;
    use harbench_models::ModelConfig;

    fn floats(model: &Model) -> Vec<f32> {
        let mut collect = Collect::default();
        model.visit(&mut collect);
        collect.tensors.into_iter().flat_map(|t| t.try_into_vec_as::<f32>().unwrap()).collect()
    }

    #[test]
    fn decay_warms_up_then_holds() {
        let device = test_device();
        let model = ModelConfig::preset("cnn3", Some(0.25)).unwrap().build(3, 2, &device);
        let mut ema = WeightAverage::new(model.clone(), 0.99);
        // By hand: (1 + t) / (10 + t) = 0.1, 0.1818…, … until it passes 0.99 at t = 891.
        assert!((ema.current_decay() - 0.1).abs() < 1e-12);
        ema.update(&model);
        assert!((ema.current_decay() - 2.0 / 11.0).abs() < 1e-12);
        ema.updates = 10_000;
        assert_eq!(ema.current_decay(), 0.99);
    }

    #[test]
    fn every_tensor_moves_toward_the_live_model_by_one_minus_decay() {
        let device = test_device();
        let config = ModelConfig::preset("cnn3", Some(0.25)).unwrap();
        device.seed(1);
        let start = config.build(3, 2, &device);
        device.seed(2);
        let live = config.build(3, 2, &device);
        let (a, b) = (floats(&start), floats(&live));
        assert_eq!(a.len(), b.len());
        assert!(a.iter().zip(&b).any(|(x, y)| x != y), "two seeds gave the same weights");

        let mut ema = WeightAverage::new(start, 0.5);
        ema.update(&live); // decay min(0.5, 0.1) = 0.1
        ema.update(&live); // decay min(0.5, 2/11)
        let got = floats(ema.model());
        let d1 = 0.1f32;
        let d2 = 2.0f32 / 11.0;
        for ((x, y), g) in a.iter().zip(&b).zip(&got) {
            let once = d1 * x + (1.0 - d1) * y;
            let want = d2 * once + (1.0 - d2) * y;
            assert!((g - want).abs() < 1e-5 * (1.0 + want.abs()), "{g} vs {want}");
        }
    }

    #[test]
    fn an_update_leaves_earlier_snapshots_alone() {
        let device = test_device();
        let config = ModelConfig::preset("mobilenetv3-small-1d", Some(0.25)).unwrap();
        device.seed(4);
        let start = config.build(3, 2, &device);
        device.seed(5);
        // A training-mode pass gives the live model batch-norm running statistics of its own.
        let train_device = device.clone().autodiff();
        let live = config.build(3, 2, &train_device);
        let batch = Tensor::<3>::random([8, 3, 64], burn::tensor::Distribution::Normal(2.0, 3.0), &train_device);
        let _ = live.forward(batch);
        let live = live.valid();

        let mut ema = WeightAverage::new(start, 0.9);
        let snapshot = ema.model().clone();
        let before = floats(&snapshot);
        ema.update(&live);
        assert_eq!(floats(&snapshot), before, "the update changed a model handed out before it");
        assert_ne!(floats(ema.model()), before);
    }
}
