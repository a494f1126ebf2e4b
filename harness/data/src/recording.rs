//! The common currency between readers and windowing: one continuous recording of one subject.

/// Label of a sample that belongs to no class (null class, transition, outside the protocol).
pub const UNLABELLED: u16 = u16::MAX;

#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub subject: u32,
    /// The file it came from, kept for error messages and provenance.
    pub origin: String,
    pub channels: usize,
    /// Row-major `[time][channel]`.
    pub samples: Vec<f32>,
    /// One class index per time step, or [`UNLABELLED`].
    pub labels: Vec<u16>,
}

impl Recording {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// A recording that carries one label throughout (most datasets store one activity per file).
    pub fn single_label(subject: u32, origin: String, channels: usize, samples: Vec<f32>, label: u16) -> Self {
        let len = samples.len() / channels.max(1);
        Recording { subject, origin, channels, samples, labels: vec![label; len] }
    }
}

/// What a reader hands back: recordings, plus the published test subjects where the dataset
/// defines them (they are read from the dataset's files, not assumed).
#[derive(Debug, Clone, Default)]
pub struct RawData {
    pub recordings: Vec<Recording>,
    pub official_test_subjects: Option<Vec<u32>>,
    /// Things the reader tolerated and the user should know (skipped records, filled channels).
    pub notes: Vec<String>,
}
