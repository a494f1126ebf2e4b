//! Terminal progress bars (indicatif) behind the data layer's `Progress` trait. Hidden when
//! stderr is not a terminal, so logs and CI output stay clean.

use harbench_data::progress::Progress;
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Mutex;

pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
}

impl Bar {
    pub fn new() -> Self {
        Bar { bar: Mutex::new(None) }
    }

    /// Prints a line above the bar (or plainly when no bar is drawn, e.g. in logs and CI).
    pub fn println(&self, line: &str) {
        match self.bar.lock().expect("progress lock").as_ref() {
            Some(b) if !b.is_hidden() => b.println(line),
            _ => println!("{line}"),
        }
    }
}

impl Progress for Bar {
    fn start(&self, message: &str, total: Option<u64>) {
        let bar = match total {
            Some(n) if message.starts_with("downloading") => ProgressBar::new(n).with_style(
                ProgressStyle::with_template("{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}").expect("valid template"),
            ),
            Some(n) => ProgressBar::new(n)
                .with_style(ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} {elapsed}").expect("valid template")),
            None => {
                let b = ProgressBar::new_spinner();
                b.enable_steady_tick(std::time::Duration::from_millis(120));
                b
            }
        };
        bar.set_message(message.to_string());
        if let Some(old) = self.bar.lock().expect("progress lock").replace(bar) {
            old.finish_and_clear();
        }
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

    fn finish(&self) {
        if let Some(b) = self.bar.lock().expect("progress lock").take() {
            b.finish_and_clear();
        }
    }
}
