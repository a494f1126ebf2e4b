//! Progress reporting without tying the library to a terminal: the CLI passes an indicatif
//! implementation, tests pass [`Silent`].

pub trait Progress: Sync {
    /// A new phase of work; `total` in the phase's units (bytes, files, recordings) when known.
    fn start(&self, message: &str, total: Option<u64>);
    fn advance(&self, amount: u64);
    /// Live status of the current phase (loss, scores, speed).
    fn message(&self, _status: &str) {}
    fn finish(&self);
}

pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: &str, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// Raises `stop` when a status message starts with `trigger`: a run stopped at a chosen point
/// (tests of resuming; a script that wants one epoch's state and no more).
pub struct StopAt<'a> {
    pub trigger: &'a str,
    pub stop: &'a std::sync::atomic::AtomicBool,
}

impl Progress for StopAt<'_> {
    fn start(&self, _: &str, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn message(&self, text: &str) {
        if text.starts_with(self.trigger) {
            self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    fn finish(&self) {}
}
