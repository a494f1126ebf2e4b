//! 1-D MobileNetV3 (Howard et al., "Searching for MobileNetV3", ICCV 2019), built from a table of
//! blocks so that depth, width and the stage anchors are configuration, not code.
//!
//! stem conv → inverted-residual bottlenecks (1×1 expand, depthwise conv of kernel k and stride
//! s, optional squeeze-excitation, 1×1 project, residual when shapes allow) → 1×1 conv → global
//! average pool → linear classifier. Blocks marked `anchor` end a stage: their outputs are the
//! features that stage distillation matches.

use crate::architecture::{Architecture, ArchitectureConfig};
use crate::heads::{Classifier, ClassifierConfig};
use crate::layers::{make_divisible, Act, ConvBn, SqueezeExcite};
use crate::{macs, ModelOutput};
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// One row of the block table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockSpec {
    pub kernel: usize,
    /// Channels after the 1×1 expansion.
    pub expand: usize,
    pub out: usize,
    pub se: bool,
    pub act: Act,
    pub stride: usize,
    /// This block ends a stage (its output is a distillation anchor).
    #[serde(default)]
    pub anchor: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MobileNetV3Config {
    /// The classifier on the pooled feature (one linear head by default).
    #[serde(default, skip_serializing_if = "ClassifierConfig::is_default")]
    pub classifier: ClassifierConfig,
    pub stem: usize,
    pub stem_stride: usize,
    pub blocks: Vec<BlockSpec>,
    /// Channels of the final 1×1 conv (the pooled feature).
    pub last: usize,
    /// Multiplies every channel count (rounded to a multiple of 8): the compression knob.
    pub width: f64,
    /// Dropout on the pooled feature before the classifier, while training (MobileNetV3 uses 0.2).
    #[serde(default)]
    pub dropout: f64,
}

/// Rows of (kernel, expand, out, se, hard-swish, stride, anchor).
fn table(rows: &[(usize, usize, usize, bool, bool, usize, bool)]) -> Vec<BlockSpec> {
    rows.iter()
        .map(|&(kernel, expand, out, se, hs, stride, anchor)| BlockSpec {
            kernel,
            expand,
            out,
            se,
            act: if hs { Act::HardSwish } else { Act::Relu },
            stride,
            anchor,
        })
        .collect()
}

impl MobileNetV3Config {
    /// MobileNetV3-Large's table (paper, Table 1) with 1-D kernels; the stem keeps its stride 2
    /// and the table's four stride-2 blocks stay, so a 128-sample window ends with 4 steps.
    pub fn large(width: f64) -> Self {
        let (t, f) = (true, false);
        MobileNetV3Config {
            stem: 16,
            stem_stride: 2,
            blocks: table(&[
                (3, 16, 16, f, f, 1, f),
                (3, 64, 24, f, f, 2, f),
                (3, 72, 24, f, f, 1, f),
                (5, 72, 40, t, f, 2, f),
                (5, 120, 40, t, f, 1, f),
                (5, 120, 40, t, f, 1, t),
                (3, 240, 80, f, t, 2, f),
                (3, 200, 80, f, t, 1, f),
                (3, 184, 80, f, t, 1, f),
                (3, 184, 80, f, t, 1, f),
                (3, 480, 112, t, t, 1, f),
                (3, 672, 112, t, t, 1, t),
                (5, 672, 160, t, t, 2, f),
                (5, 960, 160, t, t, 1, f),
                (5, 960, 160, t, t, 1, t),
            ]),
            last: 960,
            width,
            dropout: 0.0,
            classifier: ClassifierConfig::default(),
        }
    }

    /// MobileNetV3-Small's table (paper, Table 2) with 1-D kernels.
    pub fn small(width: f64) -> Self {
        let (t, f) = (true, false);
        MobileNetV3Config {
            stem: 16,
            stem_stride: 2,
            blocks: table(&[
                (3, 16, 16, t, f, 2, f),
                (3, 72, 24, f, f, 2, f),
                (3, 88, 24, f, f, 1, t),
                (5, 96, 40, t, t, 2, f),
                (5, 240, 40, t, t, 1, f),
                (5, 240, 40, t, t, 1, f),
                (5, 120, 48, t, t, 1, f),
                (5, 144, 48, t, t, 1, t),
                (5, 288, 96, t, t, 2, f),
                (5, 576, 96, t, t, 1, f),
                (5, 576, 96, t, t, 1, t),
            ]),
            last: 576,
            width,
            dropout: 0.0,
            classifier: ClassifierConfig::default(),
        }
    }

    /// The large table anchored where the SMLDist authors' teacher is (blocks 6, 11 and 14 of
    /// 15; `examples/train_realworld.toml`, `[[model.model.layers]]`, `anchor = true`), so that
    /// [`MobileNetV3Config::authors_student`] has the same anchor shapes.
    pub fn authors_teacher(width: f64) -> Self {
        let mut c = MobileNetV3Config::large(width);
        for (i, block) in c.blocks.iter_mut().enumerate() {
            block.anchor = [6, 11, 14].contains(&(i + 1));
        }
        c
    }

    /// The SMLDist authors' student of [`MobileNetV3Config::authors_teacher`]: their student
    /// table (`[[student_model.model.layers]]`) is their teacher's with blocks 2, 5, 9, 10 and 14
    /// removed ([`MobileNetV3Config::without_blocks`]: block 3 takes block 2's stride, block 13
    /// block 14's anchor), then edited: kernels 5, 9, 5, 5 and 9 in blocks 3, 6, 8, 11 and 15
    /// (theirs: 3, 5, 3, 3, 5) and block 7's stride moved to block 8. Same widths, so every
    /// anchor and the pooled feature keep the teacher's shapes (no adapters).
    pub fn authors_student(width: f64) -> Self {
        let mut c = MobileNetV3Config::authors_teacher(width).without_blocks(&[2, 5, 9, 10, 14]);
        // Teacher block number → (kernel, stride) in the authors' student.
        const EDITS: [(usize, usize, usize); 6] = [(3, 5, 2), (6, 9, 1), (7, 3, 1), (8, 5, 2), (11, 5, 1), (15, 9, 1)];
        let kept: Vec<usize> = (1..=15).filter(|b| ![2, 5, 9, 10, 14].contains(b)).collect();
        for (teacher_block, kernel, stride) in EDITS {
            let i = kept.iter().position(|&b| b == teacher_block).expect("an edited block is kept");
            c.blocks[i].kernel = kernel;
            c.blocks[i].stride = stride;
        }
        c
    }

    /// This table without the `drop`ped blocks (1-based), keeping every anchor's output shape: a
    /// dropped block's stride moves to the next kept block, and a dropped anchor to the kept
    /// block before it; input channels follow from the blocks kept.
    pub fn without_blocks(mut self, drop: &[usize]) -> Self {
        let mut kept: Vec<BlockSpec> = Vec::with_capacity(self.blocks.len());
        let mut carried_stride = 1;
        for (i, block) in self.blocks.iter().enumerate() {
            if drop.contains(&(i + 1)) {
                carried_stride *= block.stride;
                if block.anchor {
                    if let Some(previous) = kept.last_mut() {
                        previous.anchor = true;
                    }
                }
                continue;
            }
            let mut block = block.clone();
            block.stride *= carried_stride;
            carried_stride = 1;
            kept.push(block);
        }
        self.blocks = kept;
        self
    }

    pub fn validate(&self) -> Result<(), String> {
        self.classifier.validate()?;
        if !(self.width.is_finite() && self.width > 0.0 && self.width <= 4.0) {
            return Err(format!("width {} must be in (0, 4]", self.width));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout {} must be in [0, 1)", self.dropout));
        }
        if self.blocks.is_empty() {
            return Err("the block table is empty".into());
        }
        for (i, bl) in self.blocks.iter().enumerate() {
            if bl.kernel % 2 == 0 || bl.stride == 0 || bl.expand == 0 || bl.out == 0 {
                return Err(format!("block {i}: kernel must be odd, stride and channels positive ({bl:?})"));
            }
        }
        if self.blocks.iter().filter(|b| b.anchor).count() != 3 {
            return Err("mark exactly 3 blocks as anchors (stage ends)".into());
        }
        Ok(())
    }

    fn scaled(&self, channels: usize) -> usize {
        make_divisible(channels as f64 * self.width, 8)
    }
}

#[derive(Module, Debug)]
pub struct InvertedResidual {
    pub expand: Option<ConvBn>,
    pub depthwise: ConvBn,
    pub se: Option<SqueezeExcite>,
    pub project: ConvBn,
    #[module(skip)]
    pub act: Act,
    pub residual: bool,
    pub anchor: bool,
}

impl InvertedResidual {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let mut h = match &self.expand {
            Some(e) => self.act.apply(e.forward(x.clone())),
            None => x.clone(),
        };
        h = self.act.apply(self.depthwise.forward(h));
        if let Some(se) = &self.se {
            h = se.forward(h);
        }
        let h = self.project.forward(h);
        if self.residual {
            h + x
        } else {
            h
        }
    }

    /// MACs on a `length`-step input, and the output length.
    fn macs(&self, length: usize) -> (u64, usize) {
        let expand = self.expand.as_ref().map_or(0, |e| macs::conv1d(&e.conv, length).0);
        let (depthwise, out) = macs::conv1d(&self.depthwise.conv, length);
        // Squeeze-excitation's two 1×1 convolutions run on the time-averaged vector (length 1).
        let se = self.se.as_ref().map_or(0, |se| macs::conv1d(&se.reduce, 1).0 + macs::conv1d(&se.expand, 1).0);
        (expand + depthwise + se + macs::conv1d(&self.project.conv, out).0, out)
    }
}

#[derive(Module, Debug)]
pub struct MobileNetV3 {
    pub stem: ConvBn,
    pub blocks: Vec<InvertedResidual>,
    pub last: ConvBn,
    pub dropout: Dropout,
    pub classifier: Classifier,
}

impl MobileNetV3 {
    /// `config` must have passed [`MobileNetV3Config::validate`].
    pub fn new(config: &MobileNetV3Config, channels: usize, classes: usize, device: &Device) -> Self {
        let stem_out = config.scaled(config.stem);
        let stem = ConvBn::new(channels, stem_out, 3, config.stem_stride, 1, device);
        let mut input = stem_out;
        let mut blocks = Vec::with_capacity(config.blocks.len());
        for spec in &config.blocks {
            let (expand, out) = (config.scaled(spec.expand), config.scaled(spec.out));
            blocks.push(InvertedResidual {
                // MobileNetV3 skips the expansion conv when it would not widen.
                expand: (expand != input).then(|| ConvBn::new(input, expand, 1, 1, 1, device)),
                depthwise: ConvBn::new(expand, expand, spec.kernel, spec.stride, expand, device),
                se: spec.se.then(|| SqueezeExcite::new(expand, make_divisible(expand as f64 / 4.0, 8), device)),
                project: ConvBn::new(expand, out, 1, 1, 1, device),
                act: spec.act,
                residual: spec.stride == 1 && input == out,
                anchor: spec.anchor,
            });
            input = out;
        }
        let last_out = config.scaled(config.last);
        MobileNetV3 {
            stem,
            blocks,
            last: ConvBn::new(input, last_out, 1, 1, 1, device),
            dropout: DropoutConfig::new(config.dropout).init(),
            classifier: config.classifier.build(last_out, classes, device),
        }
    }

    pub fn forward(&self, x: Tensor<3>) -> ModelOutput {
        let mut h = Act::HardSwish.apply(self.stem.forward(x));
        let mut anchors = Vec::with_capacity(3);
        for block in &self.blocks {
            h = block.forward(h);
            if block.anchor {
                anchors.push(h.clone());
            }
        }
        let h = Act::HardSwish.apply(self.last.forward(h));
        let pooled: Tensor<2> = h.mean_dim(2).squeeze_dim(2);
        ModelOutput::from_head(self.classifier.forward(self.dropout.forward(pooled.clone())), pooled, anchors)
    }

    pub fn macs(&self, _channels: usize, length: usize) -> u64 {
        let (mut total, mut steps) = macs::conv1d(&self.stem.conv, length);
        for block in &self.blocks {
            let (m, out) = block.macs(steps);
            total += m;
            steps = out;
        }
        total + macs::conv1d(&self.last.conv, steps).0 + self.classifier.macs()
    }
}

impl ArchitectureConfig for MobileNetV3Config {
    type Model = MobileNetV3;

    fn validate(&self) -> Result<(), String> {
        MobileNetV3Config::validate(self)
    }

    fn classifier(&self) -> &ClassifierConfig {
        &self.classifier
    }

    fn classifier_mut(&mut self) -> &mut ClassifierConfig {
        &mut self.classifier
    }

    fn dropout_mut(&mut self) -> Option<&mut f64> {
        Some(&mut self.dropout)
    }

    fn build(&self, channels: usize, classes: usize, device: &Device) -> MobileNetV3 {
        MobileNetV3::new(self, channels, classes, device)
    }
}

impl Architecture for MobileNetV3 {
    fn forward(&self, x: Tensor<3>) -> ModelOutput {
        MobileNetV3::forward(self, x)
    }

    fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    fn classifier_mut(&mut self) -> &mut Classifier {
        &mut self.classifier
    }

    fn macs(&self, channels: usize, length: usize) -> u64 {
        MobileNetV3::macs(self, channels, length)
    }
}
