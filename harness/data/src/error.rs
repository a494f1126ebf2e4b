//! One error type for the data layer. Every variant names the file (and line where it applies)
//! so that a user can open it and see what is wrong.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("unknown dataset '{id}'{}; known datasets: {known}", nearest.as_ref().map(|n| format!(" (did you mean '{n}'?)")).unwrap_or_default())]
    UnknownDataset { id: String, nearest: Option<String>, known: String },

    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },

    #[error("{path}: missing; {hint}")]
    Missing { path: PathBuf, hint: String },

    #[error("{path}:{line}: {message}")]
    Parse { path: PathBuf, line: usize, message: String },

    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },

    #[error("checksum mismatch for {path}: expected sha256 {expected}, found {actual}")]
    Checksum { path: PathBuf, expected: String, actual: String },

    #[error("download of {url} failed: {message}")]
    Download { url: String, message: String },

    #[error("{path}: HDF5: {message}")]
    Hdf5 { path: PathBuf, message: String },

    #[error("invalid setting `{field}`: {message}")]
    Config { field: String, message: String },
}

impl DataError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io { path: path.into(), source }
    }
    pub fn parse(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        DataError::Parse { path: path.into(), line, message: message.into() }
    }
    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        DataError::Format { path: path.into(), message: message.into() }
    }
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        DataError::Config { field: field.into(), message: message.into() }
    }
    pub fn hdf5(path: impl Into<PathBuf>, err: impl std::fmt::Display) -> Self {
        DataError::Hdf5 { path: path.into(), message: err.to_string() }
    }
}

pub type Result<T, E = DataError> = std::result::Result<T, E>;
