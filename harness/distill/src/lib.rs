//! Knowledge-distillation methods for harbench behind one trait ([`Method`]), a registry of them
//! by name, and the distillation run ([`run::distill`]) that reuses harbench-train's loop.
//!
//! Adding a method is one file in `methods/` plus one line in [`registry`].

pub mod bench;
pub mod method;
pub mod methods;
pub mod ops;
pub mod parts;
pub mod registry;
pub mod run;
pub mod teacher_cache;

pub use method::{Context, Features, Method, Mix, Resume, Shapes, Term};
pub use parts::{Distilled, Part, Parts};
pub use run::{distill, distill_with_cache, DistillOutcome, Teacher};

#[derive(Debug, thiserror::Error)]
pub enum DistillError {
    #[error("unknown distillation method '{name}'{}; known methods: {known}", nearest.as_ref().map(|n| format!(" (did you mean '{n}'?)")).unwrap_or_default())]
    Unknown { name: String, nearest: Option<String>, known: String },
    #[error("method '{method}': invalid setting: {message}")]
    Config { method: String, message: String },
    #[error("method '{method}' cannot distil these models: {message}")]
    Shapes { method: String, message: String },
    #[error("teacher: {0}")]
    Teacher(String),
    #[error(transparent)]
    Train(#[from] harbench_train::TrainError),
}
