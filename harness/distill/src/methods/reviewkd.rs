//! ReviewKD: Chen, Liu, Zhao & Jia, "Distilling Knowledge via Knowledge Review" (CVPR 2021).
//! The student's stages are reviewed from the deepest (the pooled feature) to the shallowest:
//! each level's attention-based fusion (ABF) mixes the level's own feature with the fused
//! result of the level below, and every fused level is matched to the teacher's feature of the
//! same depth with the hierarchical context loss (HCL: MSE of the maps and of their average
//! pools to 4, 2 and 1 steps, weighted 1, ½, ¼, ⅛ and normalised). Loss
//! `w · min(epoch / warmup, 1) · HCL` beside CE (mdistiller `ReviewKD`: w = 1, warm-up 20 epochs,
//! mid channels min(512, the pooled width)).
//!
//! 1-D [ours]: maps are `[B, C, T]`, pools and nearest-neighbour resizing run along time, and the
//! pooled features are length-1 maps. The convolutions keep burn's default initialisation (the
//! official code draws them with Kaiming-uniform, a = 1).

use crate::method::{Context, Features, Method, Term};
use crate::ops::mse;
use crate::parts::{ConvHead, Part, Parts};
use crate::DistillError;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub weight: f64,
    /// Epochs over which the loss weight ramps linearly to `weight`.
    pub warmup: usize,
    /// Upper bound of the fusion's channel count.
    pub max_mid_channels: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { weight: 1.0, warmup: 20, max_mid_channels: 512 }
    }
}

/// The parts of one level: indices into [`Parts`].
struct Level {
    conv1: usize,
    conv2: usize,
    /// The attention conv, for every level but the deepest.
    att: Option<usize>,
    /// Length of the student's map at this level (`shape`).
    length: usize,
    /// Length of the teacher's map at this level (`out_shape`).
    out_length: usize,
}

pub struct ReviewKd {
    c: Config,
    /// Shallow to deep; the last is the pooled feature.
    levels: Vec<Level>,
}

pub fn build(params: serde_json::Value) -> Result<Box<dyn Method>, DistillError> {
    let c: Config = super::parse("reviewkd", params)?;
    super::weight("reviewkd", "weight", c.weight)?;
    if c.max_mid_channels == 0 {
        return Err(DistillError::Config { method: "reviewkd".into(), message: "`max_mid_channels` must be at least 1".into() });
    }
    Ok(Box::new(ReviewKd { c, levels: Vec::new() }))
}

/// PyTorch's `F.interpolate(mode="nearest")` along time: output step j reads input step
/// ⌊j · from / to⌋ (a 0/1 `[from, to]` matrix, so gradients flow through a matmul).
pub fn nearest_matrix(from: usize, to: usize) -> Vec<f32> {
    let mut w = vec![0f32; from * to];
    for j in 0..to {
        let i = ((j as f64 * from as f64 / to as f64).floor() as usize).min(from - 1);
        w[i * to + j] = 1.0;
    }
    w
}

/// `x: [B, C, T]` resized to `length` steps by nearest neighbour (unchanged when equal).
pub fn resize_nearest(x: Tensor<3>, length: usize) -> Tensor<3> {
    crate::ops::resize_with(x, length, nearest_matrix)
}

/// ABF's fusion: `x · z₀ + y · z₁` with the two attention maps `z: [B, 2, T]`.
pub fn fuse(x: Tensor<3>, y: Tensor<3>, z: Tensor<3>) -> Tensor<3> {
    let [b, _, t] = z.dims();
    x * z.clone().narrow(1, 0, 1).reshape([b, 1, t]) + y * z.narrow(1, 1, 1).reshape([b, 1, t])
}

/// The hierarchical context loss of the fused student levels against the teacher's, summed
/// over levels.
pub fn hcl_loss(student: &[Tensor<3>], teacher: &[Tensor<3>]) -> Tensor<1> {
    student
        .iter()
        .zip(teacher)
        .map(|(fs, ft)| {
            let length = fs.dims()[2];
            let mut loss = mse(fs.clone(), ft.clone());
            let (mut cnt, mut tot) = (1.0, 1.0);
            for l in [4, 2, 1] {
                if l >= length {
                    continue;
                }
                let pool = |x: &Tensor<3>| burn::tensor::module::adaptive_avg_pool1d(x.clone(), l);
                cnt /= 2.0;
                loss = loss + mse(pool(fs), pool(ft)) * cnt;
                tot += cnt;
            }
            loss / tot
        })
        .reduce(|a, b| a + b)
        .expect("at least one level")
}

/// `[B, C]` as a length-1 map.
fn as_map(pooled: &Tensor<2>) -> Tensor<3> {
    let [b, c] = pooled.dims();
    pooled.clone().reshape([b, c, 1])
}

impl Method for ReviewKd {
    fn name(&self) -> &'static str {
        "reviewkd"
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.c).expect("plain config")
    }
    fn build(&mut self, ctx: &Context, device: &Device) -> Result<Parts, DistillError> {
        let n = ctx.student.anchors.len();
        if n == 0 || n != ctx.teacher.anchors.len() {
            return Err(DistillError::Shapes {
                method: "reviewkd".into(),
                message: format!("needs the same number (≥ 1) of anchors; student {n}, teacher {}", ctx.teacher.anchors.len()),
            });
        }
        // Levels shallow to deep: the anchors, then the pooled feature as a length-1 map.
        let student: Vec<(usize, usize)> = ctx.student.anchors.iter().copied().chain([(ctx.student.pooled, 1)]).collect();
        let teacher: Vec<(usize, usize)> = ctx.teacher.anchors.iter().copied().chain([(ctx.teacher.pooled, 1)]).collect();
        let mid = self.c.max_mid_channels.min(ctx.student.pooled);
        let mut parts = Parts::default();
        self.levels = student
            .iter()
            .zip(&teacher)
            .enumerate()
            .map(|(i, (&(cs, ls), &(ct, lt)))| Level {
                conv1: parts.push(Part::Conv(ConvHead::new(&[cs, mid], 1, false, true, false, device))),
                conv2: parts.push(Part::Conv(ConvHead::new(&[mid, ct], 3, false, true, false, device))),
                att: (i + 1 < student.len()).then(|| parts.push(Part::Conv(ConvHead::new(&[2 * mid, 2], 1, true, false, false, device)))),
                length: ls,
                out_length: lt,
            })
            .collect();
        Ok(parts)
    }
    fn loss(&mut self, parts: &Parts, f: &Features) -> Vec<Term> {
        let ramp = if self.c.warmup == 0 { 1.0 } else { (f.epoch as f64 / self.c.warmup as f64).min(1.0) };
        let weight = self.c.weight * ramp;
        if weight == 0.0 {
            return Vec::new();
        }
        let student: Vec<Tensor<3>> = f.student.anchors.iter().cloned().chain([as_map(&f.student.pooled)]).collect();
        let teacher: Vec<Tensor<3>> = f.teacher.anchors.iter().cloned().chain([as_map(&f.teacher.pooled)]).collect();
        // Review from the deepest level up; `residual` is the fused map of the level below.
        let mut results: Vec<Tensor<3>> = Vec::with_capacity(student.len());
        let mut residual: Option<Tensor<3>> = None;
        for (level, x) in self.levels.iter().zip(student).rev() {
            let mut x = parts.conv(level.conv1).forward(x);
            if let (Some(att), Some(y)) = (level.att, residual.take()) {
                let y = resize_nearest(y, level.length);
                let z = sigmoid(parts.conv(att).forward(Tensor::cat(vec![x.clone(), y.clone()], 1)));
                x = fuse(x, y, z);
            }
            let x = resize_nearest(x, level.out_length);
            results.push(parts.conv(level.conv2).forward(x.clone()));
            residual = Some(x);
        }
        results.reverse();
        vec![Term::new("review", hcl_loss(&results, &teacher) * weight)]
    }
}
