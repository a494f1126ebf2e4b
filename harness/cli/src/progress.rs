//! Terminal progress bars (indicatif) behind the data layer's `Progress` trait. Hidden when
//! stderr is not a terminal, so logs and CI output stay clean.

use harbench_common::progress::Progress;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::sync::Mutex;

pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    /// The group it is drawn in, among other bars.
    group: Option<MultiProgress>,
}

impl Bar {
    pub fn new() -> Self {
        Bar { bar: Mutex::new(None), group: None }
    }

    fn in_group(group: &MultiProgress) -> Self {
        Bar { bar: Mutex::new(None), group: Some(group.clone()) }
    }

    /// Prints a line above the bar (or plainly when no bar is drawn, e.g. in logs and CI).
    pub fn println(&self, line: &str) {
        match self.bar.lock().expect("progress lock").as_ref() {
            Some(b) if !b.is_hidden() => b.println(line),
            _ => println!("{line}"),
        }
    }
}

/// `harbench run --jobs N`: the suite's bar (with its ETA) above one bar per worker.
pub struct WorkerBars {
    group: MultiProgress,
    suite: Bar,
    workers: Vec<Bar>,
    /// Serialises log lines of worker threads when no bar is drawn.
    log: Mutex<()>,
}

impl WorkerBars {
    pub fn new(workers: usize) -> Self {
        let group = MultiProgress::new();
        let suite = Bar::in_group(&group);
        let workers = (0..workers).map(|_| Bar::in_group(&group)).collect();
        WorkerBars { group, suite, workers, log: Mutex::new(()) }
    }
}

impl harbench_suite::pool::View for WorkerBars {
    fn suite(&self) -> &dyn Progress {
        &self.suite
    }
    fn worker(&self, slot: usize) -> &dyn Progress {
        &self.workers[slot]
    }
    fn log(&self, line: &str) {
        let _one_at_a_time = self.log.lock().expect("log lock");
        if self.group.is_hidden() {
            println!("{line}");
        } else {
            // A failed print of a progress line is not worth stopping the suite for.
            let _ = self.group.println(line);
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).expect("valid template")
}

impl Progress for Bar {
    fn start(&self, message: &str, total: Option<u64>) {
        let style = match total {
            Some(_) if message.starts_with("downloading") => style("{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"),
            Some(_) if message.starts_with("suite") => style("{msg} {wide_bar} {pos}/{len} {elapsed} eta {eta}"),
            Some(_) => style("{msg} {wide_bar} {pos}/{len} {elapsed}"),
            None => ProgressStyle::default_spinner(),
        };
        let mut current = self.bar.lock().expect("progress lock");
        // In a group the bar is kept and restyled, so that it keeps its line among the others.
        let bar = match (current.take(), &self.group) {
            (Some(old), Some(_)) => {
                old.reset();
                old
            }
            (old, group) => {
                if let Some(old) = old {
                    old.finish_and_clear();
                }
                let new = ProgressBar::new(0);
                group.as_ref().map_or(new.clone(), |g| g.add(new))
            }
        };
        bar.set_style(style);
        match total {
            Some(n) => {
                bar.disable_steady_tick();
                bar.set_length(n)
            }
            None => {
                bar.unset_length();
                bar.enable_steady_tick(std::time::Duration::from_millis(120))
            }
        }
        bar.set_message(message.to_string());
        *current = Some(bar);
    }

    fn advance(&self, amount: u64) {
        if let Some(b) = self.bar.lock().expect("progress lock").as_ref() {
            b.inc(amount);
        }
    }

    fn message(&self, status: &str) {
        if let Some(b) = self.bar.lock().expect("progress lock").as_ref() {
            b.set_message(status.to_string());
        }
    }

    /// Clears the bar; in a group it stays, idle, for the next start.
    fn finish(&self) {
        let mut current = self.bar.lock().expect("progress lock");
        match (current.as_ref(), &self.group) {
            (Some(b), Some(_)) => {
                b.disable_steady_tick();
                b.set_style(style("{msg}"));
                b.set_message("(idle)");
            }
            _ => {
                if let Some(b) = current.take() {
                    b.finish_and_clear();
                }
            }
        }
    }
}

impl Drop for WorkerBars {
    fn drop(&mut self) {
        for bar in self.workers.iter().chain([&self.suite]) {
            if let Some(b) = bar.bar.lock().expect("progress lock").take() {
                b.finish_and_clear();
            }
        }
    }
}
