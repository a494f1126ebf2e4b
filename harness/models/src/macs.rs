//! Multiply-accumulate (MAC) counts: the "FLOPs" column of cost tables, counted per layer.
//!
//! Convention (the one of most MobileNet papers and of PyTorch's `FlopCounterMode` divided by 2):
//! only the multiply-adds of convolutions and linear layers count. Batch normalisation (folded
//! into the preceding convolution at deployment), biases, activations, pooling, the
//! squeeze-excitation gate multiply and residual additions are not counted. One MAC is one
//! multiply plus one add, so FLOPs ≈ 2 × MACs.

use crate::layers::{ConvBn, SqueezeExcite};
use crate::mobilenet::{InvertedResidual, MobileNetV3};
use crate::Model;
use burn::nn::conv::Conv1d;
use burn::nn::{Linear, PaddingConfig1d};

/// MACs of a 1-D convolution: `c_out · (c_in / groups) · kernel · l_out`.
pub fn conv1d_macs(c_in: usize, c_out: usize, kernel: usize, groups: usize, l_out: usize) -> u64 {
    (c_out as u64) * (c_in / groups.max(1)) as u64 * kernel as u64 * l_out as u64
}

/// MACs of a linear layer applied to one vector: `in · out`.
pub fn linear_macs(input: usize, output: usize) -> u64 {
    input as u64 * output as u64
}

/// Output length of a 1-D convolution: `floor((l + pad_left + pad_right − dilation·(k−1) − 1) / stride) + 1`
/// (0 when the kernel does not fit).
pub fn conv1d_out_len(length: usize, kernel: usize, stride: usize, dilation: usize, padding: (usize, usize)) -> usize {
    let span = dilation * (kernel.max(1) - 1) + 1;
    let padded = length + padding.0 + padding.1;
    if padded < span || stride == 0 {
        0
    } else {
        (padded - span) / stride + 1
    }
}

/// A burn `Conv1d` on an input of `length` steps: its MACs and output length.
pub fn conv1d_layer(conv: &Conv1d, length: usize) -> (u64, usize) {
    let dims = conv.weight.lazy_shape();
    let (c_out, c_in_per_group, kernel) = (dims[0], dims[1], dims[2]);
    let padding = match &conv.padding {
        PaddingConfig1d::Valid => (0, 0),
        PaddingConfig1d::Explicit(l, r) => (*l, *r),
        // burn's "same": ceil(L / stride) outputs.
        PaddingConfig1d::Same => {
            let out = length.div_ceil(conv.stride.max(1));
            let total = ((out.max(1) - 1) * conv.stride + conv.dilation * (kernel - 1) + 1).saturating_sub(length);
            (total / 2, total - total / 2)
        }
    };
    let l_out = conv1d_out_len(length, kernel, conv.stride, conv.dilation, padding);
    (conv1d_macs(c_in_per_group * conv.groups, c_out, kernel, conv.groups, l_out), l_out)
}

/// A burn `Linear` applied to one vector.
pub fn linear_layer(linear: &Linear) -> u64 {
    let dims = linear.weight.lazy_shape();
    linear_macs(dims[0], dims[1])
}

fn conv_bn(layer: &ConvBn, length: usize) -> (u64, usize) {
    conv1d_layer(&layer.conv, length)
}

/// Squeeze-excitation: its two 1×1 convolutions act on the time-averaged vector (length 1), so
/// they are two linear layers.
pub fn squeeze_excite_macs(se: &SqueezeExcite) -> u64 {
    conv1d_layer(&se.reduce, 1).0 + conv1d_layer(&se.expand, 1).0
}

fn block_macs(block: &InvertedResidual, length: usize) -> (u64, usize) {
    let mut total = 0;
    let mut length = length;
    if let Some(expand) = &block.expand {
        let (m, l) = conv_bn(expand, length);
        total += m;
        length = l;
    }
    let (m, l) = conv_bn(&block.depthwise, length);
    total += m;
    length = l;
    if let Some(se) = &block.se {
        total += squeeze_excite_macs(se);
    }
    let (m, l) = conv_bn(&block.project, length);
    (total + m, l)
}

impl MobileNetV3 {
    /// MACs of one forward pass on a `[1, channels, length]` window. `channels` must be the
    /// channel count the model was built for (the stem's weights fix it).
    pub fn macs(&self, channels: usize, length: usize) -> u64 {
        // The stem reads the caller's `channels` (equal to its weights' input width for a model
        // built for this input); every later layer's width is fixed by the model.
        let dims = self.stem.conv.weight.lazy_shape();
        let (_, mut l) = conv_bn(&self.stem, length);
        let mut total = conv1d_macs(channels, dims[0], dims[2], self.stem.conv.groups, l);
        for block in &self.blocks {
            let (m, next) = block_macs(block, l);
            total += m;
            l = next;
        }
        total += conv_bn(&self.last, l).0;
        total + linear_layer(&self.classifier)
    }
}

impl Model {
    /// MACs of one forward pass on a `[1, channels, length]` window (see the module doc for what
    /// counts).
    pub fn macs(&self, channels: usize, length: usize) -> u64 {
        match self {
            Model::MobileNetV3(m) => m.macs(channels, length),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Act;
    use crate::mobilenet::{BlockSpec, MobileNetV3Config};
    use crate::ModelConfig;
    use burn::nn::conv::Conv1dConfig;
    use burn::nn::LinearConfig;
    use burn::tensor::Device;

    #[test]
    fn layer_formulas_match_hand_counts() {
        // Dense conv 3→8, k=3, 10 outputs: 8·3·3·10 = 720.
        assert_eq!(conv1d_macs(3, 8, 3, 1, 10), 720);
        // Depthwise conv on 16 channels, k=5, 7 outputs: 16·1·5·7 = 560.
        assert_eq!(conv1d_macs(16, 16, 5, 16, 7), 560);
        // Grouped conv 8→4 in 2 groups, k=1, 3 outputs: 4·4·1·3 = 48.
        assert_eq!(conv1d_macs(8, 4, 1, 2, 3), 48);
        assert_eq!(linear_macs(960, 6), 5760);
        // L=128, k=3, pad 1, stride 2: floor((130−3)/2)+1 = 64; L=7, k=5, pad 2, stride 2: floor(6/2)+1 = 4.
        assert_eq!(conv1d_out_len(128, 3, 2, 1, (1, 1)), 64);
        assert_eq!(conv1d_out_len(7, 5, 2, 1, (2, 2)), 4);
        // No padding, dilation 2 (span 5) on 9 steps: floor(4/1)+1 = 5; a kernel longer than the input: 0.
        assert_eq!(conv1d_out_len(9, 3, 1, 2, (0, 0)), 5);
        assert_eq!(conv1d_out_len(2, 5, 1, 1, (0, 0)), 0);
    }

    #[test]
    fn burn_layers_are_counted_from_their_weights() {
        let device = Device::flex();
        let conv = Conv1dConfig::new(6, 12, 3).with_stride(2).with_groups(3).with_padding(PaddingConfig1d::Explicit(1, 1)).init(&device);
        // 20 steps → floor((22−3)/2)+1 = 10 outputs; 12·(6/3)·3·10 = 720.
        assert_eq!(conv1d_layer(&conv, 20), (720, 10));
        let same = Conv1dConfig::new(4, 4, 5).with_stride(3).with_padding(PaddingConfig1d::Same).init(&device);
        // "same" with stride 3 on 10 steps: ceil(10/3) = 4 outputs; 4·4·5·4 = 320.
        assert_eq!(conv1d_layer(&same, 10), (320, 4));
        let valid = Conv1dConfig::new(2, 3, 4).init(&device);
        // Valid: 10−4+1 = 7 outputs; 3·2·4·7 = 168.
        assert_eq!(conv1d_layer(&valid, 10), (168, 7));
        assert_eq!(linear_layer(&LinearConfig::new(7, 5).init(&device)), 35);
    }

    /// A MobileNetV3 small enough to count on paper.
    #[test]
    fn tiny_mobilenet_matches_the_hand_count() {
        let block = |kernel, expand, out, se, stride, anchor| BlockSpec { kernel, expand, out, se, act: Act::Relu, stride, anchor };
        let config = MobileNetV3Config {
            stem: 8,
            stem_stride: 2,
            blocks: vec![block(3, 8, 8, true, 1, true), block(5, 32, 16, false, 2, true), block(3, 48, 16, true, 1, true)],
            last: 24,
            width: 1.0,
        };
        config.validate().unwrap();
        let model = ModelConfig::MobileNetV3(config).build(3, 4, &Device::flex());
        // Input 3 channels × 16 steps.
        // stem: 3→8, k3, s2, pad 1: L 16 → 8.             8·3·3·8            =   576
        // block 1 (8 → expand 8 = input: no expand conv):
        //   depthwise 8, k3, s1: L 8.                       8·1·3·8            =   192
        //   SE 8 → make_divisible(2) = 8 → 8:               8·8 + 8·8          =   128
        //   project 8→8, k1: L 8.                           8·8·1·8            =   512
        // block 2: expand 8→32: L 8.                        32·8·8             =  2048
        //   depthwise 32, k5, s2, pad 2: L 8 → 4.           32·5·4             =   640
        //   project 32→16: L 4.                             16·32·4            =  2048
        // block 3: expand 16→48: L 4.                       48·16·4            =  3072
        //   depthwise 48, k3: L 4.                          48·3·4             =   576
        //   SE 48 → make_divisible(12) = 16 → 48:           48·16 + 16·48      =  1536
        //   project 48→16: L 4.                             16·48·4            =  3072
        // last 16→24: L 4.                                  24·16·4            =  1536
        // classifier 24→4.                                  24·4               =    96
        // total                                                                = 16032
        assert_eq!(model.macs(3, 16), 16032);
        // Twice the window: every convolution doubles, SE and classifier do not.
        // 2·(16032 − 128 − 1536 − 96) + 128 + 1536 + 96 = 30304.
        assert_eq!(model.macs(3, 32), 30304);
    }

    /// The presets against an independent PyTorch build of the same tables, counted by PyTorch's
    /// `FlopCounterMode` (FLOPs / 2). Values printed by
    /// `/tmp/tv/bin/python tests/reference/macs_mobilenetv3.py` (torch 2.15).
    #[test]
    fn presets_match_pytorch_flop_counter() {
        let device = Device::flex();
        let cases = [
            ("mobilenetv3-small-1d", 1.0, 9, 128, 6, 2_598_720, 883_814),
            ("mobilenetv3-small-1d", 0.5, 9, 128, 6, 713_664, 234_574),
            ("mobilenetv3-small-1d", 1.0, 3, 200, 12, 4_050_984, 886_988),
            ("mobilenetv3-large-1d", 1.0, 9, 128, 6, 9_410_752, 2_906_966),
            ("mobilenetv3-large-1d", 0.5, 9, 128, 6, 2_470_400, 752_910),
            ("mobilenetv3-large-1d", 1.0, 3, 200, 12, 14_713_536, 2_912_444),
        ];
        // (The parameter counts are checked by harbench-cost's params.rs.)
        for (name, width, channels, length, classes, macs, _params) in cases {
            let model = ModelConfig::preset(name, Some(width)).unwrap().build(channels, classes, &device);
            assert_eq!(model.macs(channels, length), macs, "{name} width {width} {channels}x{length}");
        }
    }
}
