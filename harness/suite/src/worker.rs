//! What a worker process (`harbench run SUITE --worker KEY`) tells the process that started it:
//! one JSON event per stdout line, after a prefix, so that a stray line is shown as a log line
//! rather than misread. The parent draws each worker's bar from these events and reads the
//! run's outcome from the last one; a worker that ends without [`Event::Done`] died.

use crate::runner::Summary;
use harbench_common::progress::Progress;
use serde::{Deserialize, Serialize};
use std::io::Write;

/// Marks an event line.
pub const PREFIX: &str = "@harbench-event ";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    Start {
        message: String,
        total: Option<u64>,
    },
    Advance {
        amount: u64,
    },
    Message {
        status: String,
    },
    Finish,
    Log {
        line: String,
    },
    /// The run's outcome; the last event.
    Done {
        summary: Summary,
    },
}

impl Event {
    pub fn line(&self) -> String {
        format!("{PREFIX}{}", serde_json::to_string(self).expect("plain data serialises"))
    }

    /// The event of a line, or `None` for a line that is not one.
    pub fn parse(line: &str) -> Option<Event> {
        serde_json::from_str(line.strip_prefix(PREFIX)?).ok()
    }

    /// Writes the event to stdout at once (the parent draws from it live).
    pub fn emit(&self) {
        let mut out = std::io::stdout().lock();
        // A parent that went away cannot be told; the run's record is what counts.
        let _ = writeln!(out, "{}", self.line()).and_then(|()| out.flush());
    }

    /// Applies a progress event to `progress`; other events are not progress.
    pub fn apply(&self, progress: &dyn Progress) {
        match self {
            Event::Start { message, total } => progress.start(message, *total),
            Event::Advance { amount } => progress.advance(*amount),
            Event::Message { status } => progress.message(status),
            Event::Finish => progress.finish(),
            Event::Log { .. } | Event::Done { .. } => {}
        }
    }
}

/// A worker's progress, sent to its parent as events.
pub struct EventProgress;

impl Progress for EventProgress {
    fn start(&self, message: &str, total: Option<u64>) {
        Event::Start { message: message.into(), total }.emit()
    }
    fn advance(&self, amount: u64) {
        Event::Advance { amount }.emit()
    }
    fn message(&self, status: &str) {
        Event::Message { status: status.into() }.emit()
    }
    fn finish(&self) {
        Event::Finish.emit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_other_lines_are_not_events() {
        let events = [
            Event::Start { message: "epoch".into(), total: Some(8) },
            Event::Advance { amount: 3 },
            Event::Message { status: "epoch 2/8: loss 0.51".into() },
            Event::Finish,
            Event::Log { line: "a line\nwith a newline".into() },
            Event::Done { summary: Summary { finished: 1, ..Summary::default() } },
        ];
        for e in events {
            let line = e.line();
            assert!(!line.contains('\n'), "one line: {line}");
            assert_eq!(Event::parse(&line), Some(e));
        }
        assert_eq!(Event::parse("plain output"), None);
        assert_eq!(Event::parse(&format!("{PREFIX}{{not json")), None);
    }
}
