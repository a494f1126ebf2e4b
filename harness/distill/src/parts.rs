//! Training-only modules a method adds beside the student (regressors, embedding heads,
//! learned variances). burn's optimisers need one module type, so the parts are a list of a
//! few generic building blocks that any method can compose, rather than one type per method.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig1d};
use burn::tensor::activation::{leaky_relu, relu};
use burn::tensor::{Device, Tensor};
use harbench_models::Model;

/// Convolutions over time (ReLU between them), optional batch norm and final ReLU.
#[derive(Module, Debug)]
pub struct ConvHead {
    pub convs: Vec<Conv1d>,
    pub bn: Option<BatchNorm>,
    pub relu_last: bool,
}

impl ConvHead {
    /// `channels[0] → channels[1] → …` with odd `kernel` and same-length padding.
    pub fn new(channels: &[usize], kernel: usize, bias: bool, bn: bool, relu_last: bool, device: &Device) -> Self {
        let convs = channels
            .windows(2)
            .map(|w| {
                Conv1dConfig::new(w[0], w[1], kernel)
                    .with_padding(PaddingConfig1d::Explicit(kernel / 2, kernel / 2))
                    .with_bias(bias)
                    .init(device)
            })
            .collect();
        let out = *channels.last().expect("at least one channel count");
        ConvHead { convs, bn: bn.then(|| BatchNormConfig::new(out).init(device)), relu_last }
    }

    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let n = self.convs.len();
        let mut h = x;
        for (i, conv) in self.convs.iter().enumerate() {
            h = conv.forward(h);
            if i + 1 < n {
                h = relu(h);
            }
        }
        if let Some(bn) = &self.bn {
            h = bn.forward(h);
        }
        if self.relu_last {
            relu(h)
        } else {
            h
        }
    }
}

/// Convolutions over time, each followed by optional batch norm and a leaky ReLU
/// (Factor Transfer's paraphraser and translator).
#[derive(Module, Debug)]
pub struct ConvStack {
    pub convs: Vec<Conv1d>,
    pub bns: Vec<BatchNorm>,
    #[module(skip)]
    pub slope: f64,
}

impl ConvStack {
    pub fn new(channels: &[usize], kernel: usize, bn: bool, slope: f64, device: &Device) -> Self {
        let pad = PaddingConfig1d::Explicit(kernel / 2, kernel / 2);
        ConvStack {
            convs: channels.windows(2).map(|w| Conv1dConfig::new(w[0], w[1], kernel).with_padding(pad.clone()).init(device)).collect(),
            bns: if bn { channels[1..].iter().map(|&c| BatchNormConfig::new(c).init(device)).collect() } else { Vec::new() },
            slope,
        }
    }

    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let mut h = x;
        for (i, conv) in self.convs.iter().enumerate() {
            h = conv.forward(h);
            if let Some(bn) = self.bns.get(i) {
                h = bn.forward(h);
            }
            h = leaky_relu(h, self.slope);
        }
        h
    }
}

#[derive(Module, Debug)]
pub enum Part {
    Conv(ConvHead),
    Stack(ConvStack),
    Linear(Linear),
    /// A learned vector (e.g. VID's per-channel log-variance).
    Vector(Param<Tensor<1>>),
}

/// A method's parts, in the order it built them.
#[derive(Module, Debug, Default)]
pub struct Parts {
    pub items: Vec<Part>,
}

impl Parts {
    pub fn push(&mut self, part: Part) -> usize {
        self.items.push(part);
        self.items.len() - 1
    }

    pub fn linear_part(input: usize, output: usize, device: &Device) -> Part {
        Part::Linear(LinearConfig::new(input, output).init(device))
    }

    // Accessors: a method only reads the parts it built itself, so a mismatch is a bug.
    pub fn conv(&self, i: usize) -> &ConvHead {
        match &self.items[i] {
            Part::Conv(c) => c,
            other => panic!("part {i} is not a conv head: {other:?}"),
        }
    }

    pub fn stack(&self, i: usize) -> &ConvStack {
        match &self.items[i] {
            Part::Stack(c) => c,
            other => panic!("part {i} is not a conv stack: {other:?}"),
        }
    }

    pub fn linear(&self, i: usize) -> &Linear {
        match &self.items[i] {
            Part::Linear(l) => l,
            other => panic!("part {i} is not a linear layer: {other:?}"),
        }
    }

    pub fn vector(&self, i: usize) -> Tensor<1> {
        match &self.items[i] {
            Part::Vector(v) => v.val(),
            other => panic!("part {i} is not a vector: {other:?}"),
        }
    }
}

/// What the optimiser updates during distillation: the student and the method's parts.
#[derive(Module, Debug)]
pub struct Distilled {
    pub student: Model,
    pub parts: Parts,
}
