//! Executing one run of harbench, end to end: the dataset (fetched from a mirror and prepared
//! when missing), the fold, the teacher (from the teacher store, trained once, or from a
//! checkpoint), training or distillation, the cost profile, and a typed [`RunOutput`].
//!
//! `harbench train` and `harbench run` (through `harbench-suite`'s executor) both call
//! [`Workspace::execute`]; the binary only parses arguments and prints.

pub mod checkpoint;
pub mod cost;
mod environment;
mod execute;
pub mod record;
mod recorded_teacher;

pub use environment::Environment;
pub use execute::{Executed, ExecutedTeacher, MethodRequest, RunContext, RunRequest, StoreEntry, TeacherSource, Workspace};
pub use record::{Cost, DatasetInfo, DistillationInfo, RunOutput, SplitInfo, TeacherInfo};
pub use recorded_teacher::RecordedTeacher;

/// Methods named in method.md that this build does not have yet: suites may name them (so the
/// paper suite validates), and their runs are recorded as unavailable. Every method of method.md
/// is built now (AB and ReviewKD were the last); a method added to the specification before its
/// file goes here.
pub const PENDING_METHODS: &[&str] = &[];

/// Method names a suite or `--method` may use: `none` (no distillation), the distillation
/// registry's, and the pending ones.
pub fn known_methods() -> Vec<&'static str> {
    let mut all = vec!["none"];
    all.extend(harbench_distill::registry::names());
    all.extend(PENDING_METHODS.iter().filter(|m| !all.contains(m)).copied().collect::<Vec<_>>());
    all
}

/// Why this build cannot run the method `name`, if it is one of method.md's methods that this
/// build lacks ([`PENDING_METHODS`]). An unknown name is not "unavailable": building it fails
/// with the nearest known name.
pub fn unavailable_method(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    (PENDING_METHODS.contains(&lower.as_str()) && harbench_distill::registry::find(&lower).is_err())
        .then(|| format!("method '{name}' is not available in this build"))
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The run needs something this build lacks (a pending method): recorded, not a failure
    /// of the suite.
    #[error("{0}")]
    Unavailable(String),
    #[error("run {run}: {message}")]
    Invalid { run: String, message: String },
    #[error("{context}: {source}")]
    Data { context: String, source: harbench_data::DataError },
    #[error(transparent)]
    Train(#[from] harbench_train::TrainError),
    #[error(transparent)]
    Distill(#[from] harbench_distill::DistillError),
    #[error(transparent)]
    Model(#[from] harbench_models::ModelError),
    #[error(transparent)]
    Device(#[from] harbench_models::device::DeviceError),
    #[error("teacher checkpoint {path}: {message}")]
    Teacher { path: std::path::PathBuf, message: String },
    #[error(
        "run {run}: its teacher does not reproduce the teacher record {record} ({difference}): this machine trains that \
         teacher to other numbers (other CPU kernels? docs/results.md, \"Numbers depend on the CPU's kernels\"), so a \
         row distilled from it does not belong in this result set; run the suite into a result set of its own \
         (--machine NAME)"
    )]
    TeacherDiffers { run: String, record: String, difference: String },
    #[error("interrupted while training the teacher; nothing distilled")]
    InterruptedTeacher,
    #[error(transparent)]
    File(#[from] harbench_common::fs::FileError),
}
