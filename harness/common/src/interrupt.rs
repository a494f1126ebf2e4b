//! The process's Ctrl-C handler: the first Ctrl-C asks the work to stop at a safe point (the end
//! of a batch, so a checkpoint or a run record is written whole), the second quits at once.
//!
//! A process may install only one handler (`ctrlc` refuses a second), yet several commands and
//! libraries want a stop flag. So the handler is installed once, on the first call of
//! [`stop_flag`], and every call returns the same flag; the latest caller's message is the one
//! printed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
/// What the first Ctrl-C says it will do; also held while the handler is being installed, so
/// two threads calling [`stop_flag`] at once install one handler.
static MESSAGE: Mutex<&'static str> = Mutex::new("");

/// The exit status of a process quit by the second Ctrl-C: 128 + SIGINT, as shells report it.
pub const EXIT_INTERRUPTED: i32 = 130;

/// The flag that the first Ctrl-C sets, installing the handler on the first call.
///
/// The first Ctrl-C sets the flag and prints `interrupted: {message} (Ctrl-C again to quit now)`
/// to stderr; `message` says what the work does now (e.g. "stopping after this batch and saving
/// the best checkpoint"). A second Ctrl-C exits the process with status 130.
///
/// Later calls return the same flag (not reset: a process that was interrupted stays
/// interrupted) and replace the message. An error only when the first installation fails
/// (e.g. another handler was installed with `ctrlc` directly).
pub fn stop_flag(message: &'static str) -> Result<Arc<AtomicBool>, ctrlc::Error> {
    let mut current = MESSAGE.lock().unwrap_or_else(PoisonError::into_inner);
    *current = message;
    if let Some(flag) = FLAG.get() {
        return Ok(flag.clone());
    }
    let flag = Arc::new(AtomicBool::new(false));
    let seen = flag.clone();
    ctrlc::set_handler(move || {
        if seen.swap(true, Ordering::SeqCst) {
            std::process::exit(EXIT_INTERRUPTED);
        }
        let message = *MESSAGE.lock().unwrap_or_else(PoisonError::into_inner);
        eprintln!("\ninterrupted: {message} (Ctrl-C again to quit now)");
    })?;
    // Cannot be set already: setting happens only here, under the lock held above.
    Ok(FLAG.get_or_init(|| flag).clone())
}
