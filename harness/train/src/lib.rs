//! Training and evaluation of harbench models.

pub mod batches;
pub mod bench;
pub mod config;
pub mod ema;
pub mod metrics;
pub mod optim;
pub mod resume;
pub mod search;
pub mod store;
pub mod trainer;

pub use config::{Keep, TestSplit, TrainConfig, TrainSettings, ValidTrainConfig};
/// The device module moved to `harbench-models` (tests of every crate use its `test_device`);
/// re-exported so `harbench_train::device::…` and `harbench_train::DeviceChoice` keep working.
pub use harbench_models::device;
pub use harbench_models::device::DeviceChoice;
pub use optim::{OptimizerKind, PlateauConfig, Schedule};
pub use resume::{EpochCheckpoints, LoopState, Tally, FORMAT as CHECKPOINT_FORMAT};
pub use trainer::{
    fit, train, Batch, CrossEntropy, Objective, PretrainOptimizer, Splits, Stage, Task, TrainContext, TrainOutcome, Trained,
};

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("invalid training setting `{field}`: {message}")]
    Config { field: String, message: String },
    #[error("{0}")]
    Data(String),
    #[error("loss became {value} at epoch {epoch}, step {step} (try a lower learning rate)")]
    NonFinite { epoch: usize, step: usize, value: f64 },
    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: String, message: String },
    /// Ctrl-C (or a time budget) stopped work that had not begun training, e.g. a wait.
    #[error("stopped {0}")]
    Stopped(String),
}

impl From<device::DeviceError> for TrainError {
    fn from(e: device::DeviceError) -> Self {
        TrainError::Config { field: "device".into(), message: e.to_string() }
    }
}
