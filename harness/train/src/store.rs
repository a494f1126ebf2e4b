//! The teacher store: a trained teacher is kept as `<key>.bpk` (burn's weights) and `<key>.json`
//! (what defines it, its normaliser and its training outcome), so that every distillation run
//! of a suite — and `harbench train --teacher` — reuses one teacher instead of training it again.
//!
//! The key is the sha256 of everything that decides the teacher's weights: dataset id and
//! prepared-cache hash, split config and fold, model config, training config (with its seed), and
//! the code version. The weights are written first and the JSON last, each to a temporary file
//! renamed into place, so an entry exists exactly when its JSON does. Training a missing teacher
//! is claimed with `<key>.lock` ([`harbench_common::lock`]): two processes that need it at once
//! train it once, the second waiting for the first.

use crate::config::ValidTrainConfig;
use crate::resume::EpochCheckpoints;
use crate::trainer::{train, Task, TrainContext, TrainOutcome, Trained};
use crate::TrainError;
use burn::module::Module;
use burn::tensor::Device;
use harbench_common::fs::{write_atomic, write_atomic_with, FileError};
use harbench_common::lock::{claim_waiting, LockOwner, Waited};
use harbench_data::cache::Prepared;
use harbench_data::split::{Fold, Normalizer, SplitConfig};
use harbench_models::{Model, ModelConfig};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Everything that decides a teacher's weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeacherKey {
    pub dataset: String,
    /// `Prepared.meta.config_hash`: the windowing config and the source checksums.
    pub cache_hash: String,
    pub split: SplitConfig,
    pub fold: String,
    pub model: ModelConfig,
    /// Includes the seed.
    pub train: ValidTrainConfig,
    /// See [`code_version`].
    pub code_version: String,
}

impl TeacherKey {
    pub fn new(
        data: &Prepared,
        split: &SplitConfig,
        fold: &Fold,
        model: &ModelConfig,
        train: &ValidTrainConfig,
        code_version: &str,
    ) -> Self {
        TeacherKey {
            dataset: data.meta.config.dataset.clone(),
            cache_hash: data.meta.config_hash.clone(),
            split: split.clone(),
            fold: fold.name.clone(),
            model: model.clone(),
            train: train.clone(),
            code_version: code_version.into(),
        }
    }

    /// 64 hex digits.
    pub fn digest(&self) -> String {
        let text = serde_json::to_string(self).expect("plain data serialises");
        hex::encode(Sha256::digest(text.as_bytes()))
    }
}

/// The code a teacher was trained by: this crate's version, and the git commit when the caller
/// knows it (`-dirty` appended by the caller for uncommitted changes).
pub fn code_version(git_commit: Option<&str>) -> String {
    match git_commit {
        Some(c) => format!("harbench-train {}+{c}", env!("CARGO_PKG_VERSION")),
        None => format!("harbench-train {}", env!("CARGO_PKG_VERSION")),
    }
}

/// The JSON half of an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeacherEntry {
    pub key: String,
    pub identity: TeacherKey,
    pub normalizer: Normalizer,
    pub outcome: TrainOutcome,
}

/// A teacher ready to teach.
pub struct StoredTeacher {
    pub key: String,
    pub model: Model,
    pub normalizer: Normalizer,
    pub outcome: TrainOutcome,
    /// True when it came from the store rather than from training just now.
    pub reused: bool,
}

#[derive(Debug, Clone)]
pub struct TeacherStore {
    pub root: PathBuf,
}

fn store_error(path: &Path, message: impl std::fmt::Display) -> TrainError {
    TrainError::Checkpoint { path: path.display().to_string(), message: message.to_string() }
}

impl TeacherStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        TeacherStore { root: root.into() }
    }

    pub fn weights_path(&self, key: &str) -> PathBuf {
        self.root.join(format!("{key}.bpk"))
    }

    pub fn entry_path(&self, key: &str) -> PathBuf {
        self.root.join(format!("{key}.json"))
    }

    /// The stored teacher of `key`, built for `channels` × `classes` on `device`; `None` when the
    /// store does not hold it.
    pub fn get(&self, key: &TeacherKey, channels: usize, classes: usize, device: &Device) -> Result<Option<StoredTeacher>, TrainError> {
        let digest = key.digest();
        let json = self.entry_path(&digest);
        let text = match std::fs::read_to_string(&json) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(store_error(&json, e)),
        };
        let entry: TeacherEntry = serde_json::from_str(&text).map_err(|e| store_error(&json, format!("not a teacher entry: {e}")))?;
        if entry.identity != *key {
            return Err(store_error(&json, "holds another teacher than its name says (edited by hand?)"));
        }
        let weights = self.weights_path(&digest);
        let model = entry
            .outcome
            .exported_config(&key.model)
            .build(channels, classes, device)
            .try_load_file(&weights)
            .map_err(|e| store_error(&weights, format!("cannot load the weights: {e:?}")))?;
        Ok(Some(StoredTeacher { key: digest, model, normalizer: entry.normalizer, outcome: entry.outcome, reused: true }))
    }

    /// Stores `trained` under `key`.
    pub fn put(&self, key: &TeacherKey, trained: &Trained) -> Result<String, TrainError> {
        let file_error = |e: FileError| store_error(&e.path, e.source);
        let digest = key.digest();
        // burn writes to a path it is given: a temporary one in the same folder, renamed into place.
        write_atomic_with(&self.weights_path(&digest), |tmp| trained.model.clone().save_file(tmp).map_err(|e| format!("{e:?}")))
            .map_err(file_error)?;
        let entry = TeacherEntry {
            key: digest.clone(),
            identity: key.clone(),
            normalizer: trained.normalizer.clone(),
            outcome: trained.outcome.clone(),
        };
        let text = serde_json::to_string_pretty(&entry).expect("plain data serialises");
        write_atomic(&self.entry_path(&digest), text.as_bytes()).map_err(file_error)?;
        Ok(digest)
    }

    /// The lock that a process training the teacher `digest` holds, so that it is trained once.
    pub fn lock_path(&self, digest: &str) -> PathBuf {
        self.root.join(format!("{digest}.lock"))
    }

    /// Where the teacher of `digest` keeps its epoch checkpoints while it trains, so that a
    /// teacher whose training was killed continues in whichever run needs it next.
    pub fn checkpoints(&self, digest: &str) -> EpochCheckpoints {
        EpochCheckpoints { dir: self.root.join(format!("{digest}.epochs")), identity: digest.to_string() }
    }

    /// The teacher of `key` from the store, or trained on `fold` of `data` and stored. Training
    /// is claimed with a lock: a process that finds another one training the same teacher waits
    /// for it and then loads its result, so that a teacher is trained once however many runners
    /// need it. A teacher whose training was interrupted is returned but not stored.
    pub fn get_or_train(&self, key: &TeacherKey, data: &Prepared, fold: &Fold, ctx: &TrainContext) -> Result<StoredTeacher, TrainError> {
        let TrainContext { device, progress, stop, .. } = *ctx;
        let (channels, classes) = (data.windows.channels, data.meta.classes.len());
        if let Some(t) = self.get(key, channels, classes, device)? {
            return Ok(t);
        }
        let digest = key.digest();
        let path = self.lock_path(&digest);
        let waiting = |owner: &LockOwner| progress.message(&format!("waiting for {owner} to finish training this teacher"));
        let _lock = match claim_waiting(&path, Duration::from_secs(1), stop, &waiting).map_err(|e| store_error(&path, e))? {
            Waited::Acquired(lock) => lock,
            Waited::Stopped => return Err(TrainError::Stopped(format!("while waiting for teacher {digest} to be trained"))),
        };
        // The holder we waited for has stored it (unless it failed or was interrupted).
        if let Some(t) = self.get(key, channels, classes, device)? {
            return Ok(t);
        }
        let checkpoints = self.checkpoints(&digest);
        let task = Task { data, fold, config: &key.train };
        let trained = train(&key.model, task, &ctx.with_checkpoints(Some(&checkpoints)))?;
        let digest = if trained.outcome.interrupted {
            digest
        } else {
            let stored = self.put(key, &trained)?;
            // Stored: the checkpoints have served (a leftover costs disk only).
            let _ = checkpoints.clear();
            stored
        };
        Ok(StoredTeacher { key: digest, model: trained.model, normalizer: trained.normalizer, outcome: trained.outcome, reused: false })
    }
}
