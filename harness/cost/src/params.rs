//! Parameter counts. burn's `num_params` also counts batch-norm running statistics (its
//! `RunningState` buffers are visited like parameters); papers and PyTorch count learned
//! weights only, so the two are reported apart.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamCount {
    /// Learned weights (what papers call parameters).
    pub learned: usize,
    /// Running statistics of batch normalisation: stored and shipped, not learned.
    pub buffers: usize,
}

impl ParamCount {
    /// Size of all stored values in f32.
    pub fn f32_bytes(&self) -> usize {
        (self.learned + self.buffers) * 4
    }
}

struct Counter {
    path: Vec<String>,
    count: ParamCount,
}

impl ModuleVisitor for Counter {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let n = param.lazy_shape().num_elements();
        if self.path.last().is_some_and(|p| p.starts_with("running_")) {
            self.count.buffers += n;
        } else {
            self.count.learned += n;
        }
    }
}

pub fn count<M: Module>(module: &M) -> ParamCount {
    let mut counter = Counter { path: Vec::new(), count: ParamCount { learned: 0, buffers: 0 } };
    module.visit(&mut counter);
    counter.count
}

#[cfg(test)]
mod tests {
    use super::*;
    use harbench_models::device::test_device;
    use harbench_models::ModelConfig;

    /// Learned-parameter counts printed by `/tmp/tv/bin/python tests/reference/macs_mobilenetv3.py`
    /// (PyTorch builds of the same tables; `sum(p.numel() for p in model.parameters())`).
    #[test]
    fn learned_parameters_match_pytorch() {
        let device = test_device();
        for (name, width, channels, classes, learned) in [
            ("mobilenetv3-small-1d", 1.0, 9, 6, 883_814),
            ("mobilenetv3-small-1d", 0.5, 9, 6, 234_574),
            ("mobilenetv3-large-1d", 1.0, 3, 12, 2_912_444),
        ] {
            let model = ModelConfig::preset(name, Some(width)).unwrap().build(channels, classes, &device);
            let c = count(&model);
            assert_eq!(c.learned, learned, "{name} {width}");
            // Every stored value is either learned or a buffer.
            assert_eq!(c.learned + c.buffers, model.num_params());
        }
        // Small at width 1: 6056 batch-norm channels, each with a running mean and variance.
        let small = ModelConfig::preset("mobilenetv3-small-1d", None).unwrap().build(9, 6, &device);
        assert_eq!(count(&small).buffers, 2 * 6056);
    }
}
