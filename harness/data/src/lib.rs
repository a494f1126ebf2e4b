//! harbench's data layer: the dataset registry, readers of the published formats, fetching with
//! checksums, windowing, subject-wise splits and the prepared HDF5 cache.

pub mod datasets;
pub mod error;
pub mod formats;
pub mod recording;
pub mod registry;
pub mod signal;
pub mod spec;
pub mod window;

pub use error::{DataError, Result};
pub use registry::{find, Dataset};
pub mod cache;
pub mod fetch;
pub mod manifest;
pub mod prepare;
pub mod split;
pub mod stats;
