//! The frozen teacher's outputs, kept per training window so that its forward pass runs once per
//! window instead of once per window and epoch.
//!
//! Valid only when the windows a teacher sees never change: without augmentation (the default)
//! a window's normalised input is the same every epoch, and the teacher (eval mode, no dropout,
//! fixed batch-norm statistics) maps it to the same outputs. The cache fills as batches go by
//! (the first epoch computes every window once) and hands back a batch when it holds all of its
//! windows. A window's outputs do not depend on the other windows of its batch (checked by the
//! tests), so results are bit-identical with and without the cache.
//!
//! Memory is bounded: at most [`limit_bytes`] of outputs are kept (default 1 GiB,
//! `HARBENCH_TEACHER_CACHE_MIB`, 0 turns the cache off); windows past the limit are recomputed.

use crate::method::Shapes;
use burn::tensor::{Device, Tensor, TensorData};
use harbench_models::ModelOutput;
use serde::{Deserialize, Serialize};

/// Default bound of a run's teacher cache.
pub const DEFAULT_LIMIT_MIB: usize = 1024;

/// The bound of a teacher cache: `HARBENCH_TEACHER_CACHE_MIB` (MiB; 0 = off) or the default.
/// An unreadable value is refused with the variable's name rather than guessed.
pub fn limit_bytes() -> Result<usize, String> {
    match std::env::var("HARBENCH_TEACHER_CACHE_MIB") {
        Ok(v) => v
            .trim()
            .parse::<usize>()
            .map(|mib| mib.saturating_mul(1 << 20))
            .map_err(|_| format!("HARBENCH_TEACHER_CACHE_MIB must be a whole number of MiB (0 turns the cache off), not {v:?}")),
        Err(_) => Ok(DEFAULT_LIMIT_MIB << 20),
    }
}

/// What a run's cache did, for its record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    /// Windows held at the end.
    pub windows: usize,
    pub bytes: usize,
    /// Batches served from the cache / that ran the teacher.
    pub hits: usize,
    pub misses: usize,
}

/// Per-window outputs of one teacher on one training split.
pub struct TeacherCache {
    /// Floats per window of each output: logits, pooled, each anchor, the memory query.
    parts: Vec<Vec<usize>>,
    anchors: usize,
    per_window: usize,
    windows: Vec<Option<Box<[f32]>>>,
    limit: usize,
    stats: CacheStats,
}

impl TeacherCache {
    /// A cache for `rows` training windows of a teacher with `shapes` and `classes` outputs,
    /// holding at most `limit` bytes.
    pub fn new(rows: usize, shapes: &Shapes, classes: usize, limit: usize) -> Self {
        let mut parts = vec![vec![classes], vec![shapes.pooled]];
        parts.extend(shapes.anchors.iter().map(|&(c, l)| vec![c, l]));
        parts.extend(shapes.memory.map(|d| vec![d]));
        let per_window = parts.iter().map(|p| p.iter().product::<usize>()).sum();
        TeacherCache { parts, anchors: shapes.anchors.len(), per_window, windows: vec![None; rows], limit, stats: CacheStats::default() }
    }

    pub fn stats(&self) -> &CacheStats {
        &self.stats
    }

    /// The outputs of windows `rows`, on `device`, when every one of them is held.
    pub fn get(&mut self, rows: &[usize], device: &Device) -> Option<ModelOutput> {
        let held: Vec<&[f32]> = rows.iter().map(|&r| self.windows.get(r)?.as_deref()).collect::<Option<_>>()?;
        self.stats.hits += 1;
        let mut offset = 0;
        let mut tensors = self.parts.iter().map(|dims| {
            let len: usize = dims.iter().product();
            let mut values = Vec::with_capacity(rows.len() * len);
            for w in &held {
                values.extend_from_slice(&w[offset..offset + len]);
            }
            offset += len;
            let shape: Vec<usize> = std::iter::once(rows.len()).chain(dims.iter().copied()).collect();
            TensorData::new(values, shape)
        });
        let matrix = |d: TensorData| Tensor::<2>::from_data(d, device);
        let logits = matrix(tensors.next().expect("logits"));
        let pooled = matrix(tensors.next().expect("pooled"));
        let anchors = (0..self.anchors).map(|_| Tensor::<3>::from_data(tensors.next().expect("anchor"), device)).collect();
        let memory_query = tensors.next().map(matrix);
        Some(ModelOutput { logits, pooled, anchors, memory_query })
    }

    /// Keeps the outputs `out` of windows `rows` (a batch the teacher just ran), up to the limit.
    pub fn put(&mut self, rows: &[usize], out: &ModelOutput) {
        self.stats.misses += 1;
        let bytes = self.per_window * std::mem::size_of::<f32>();
        let missing = rows.iter().filter(|&&r| self.windows.get(r).is_some_and(Option::is_none)).count();
        if missing == 0 || self.stats.bytes + missing * bytes > self.limit {
            return;
        }
        let mut values: Vec<Vec<f32>> = vec![floats(&out.logits), floats(&out.pooled)];
        values.extend(out.anchors.iter().map(floats));
        values.extend(out.memory_query.as_ref().map(floats));
        for (i, &r) in rows.iter().enumerate() {
            if self.windows[r].is_some() {
                continue;
            }
            let mut window = Vec::with_capacity(self.per_window);
            for (part, dims) in values.iter().zip(&self.parts) {
                let len: usize = dims.iter().product();
                window.extend_from_slice(&part[i * len..(i + 1) * len]);
            }
            self.windows[r] = Some(window.into_boxed_slice());
            self.stats.windows += 1;
            self.stats.bytes += bytes;
        }
    }
}

fn floats<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    t.to_data().convert::<f32>().try_into_vec::<f32>().expect("f32 data")
}
