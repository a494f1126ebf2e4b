//! The Ctrl-C handler, with real SIGINTs. The process-wide part runs in a child (this test
//! binary run again on one test), since the second Ctrl-C exits it.
#![cfg(unix)]

use harbench_common::interrupt::stop_flag;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHILD: &str = "HARBENCH_COMMON_INTERRUPT_CHILD";

fn sigint_self() {
    let status = Command::new("kill").args(["-INT", &std::process::id().to_string()]).status().unwrap();
    assert!(status.success());
}

/// The child's part: does nothing unless run by `two_ctrl_cs_stop_then_quit`.
#[test]
fn child_receives_two_ctrl_cs() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let first = stop_flag("first message").unwrap();
    // A second call neither fails nor installs another handler; it replaces the message.
    let flag = stop_flag("saving the best checkpoint").unwrap();
    assert!(Arc::ptr_eq(&first, &flag));
    assert!(!flag.load(Ordering::SeqCst));
    sigint_self();
    let start = Instant::now();
    while !flag.load(Ordering::SeqCst) {
        assert!(start.elapsed() < Duration::from_secs(10), "the first Ctrl-C did not set the flag");
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!("flag set");
    sigint_self();
    std::thread::sleep(Duration::from_secs(10));
    panic!("the second Ctrl-C did not exit");
}

#[test]
fn two_ctrl_cs_stop_then_quit() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_receives_two_ctrl_cs", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("\ninterrupted: saving the best checkpoint (Ctrl-C again to quit now)\n"), "{stderr}");
    assert!(stderr.contains("flag set"), "{stderr}");
    assert!(!stderr.contains("first message"), "{stderr}");
}
