//! What the CLI tests share: the binary, run as a user runs it in a folder of its own.

use std::path::Path;
use std::process::Command;

/// `harbench` in `cwd`, with its data in `cwd/data`, a fixed machine name, and no mirror or
/// results root inherited from the environment.
pub fn harbench(cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_harbench"));
    c.current_dir(cwd)
        .env("HARBENCH_DATA_DIR", cwd.join("data"))
        .env("HARBENCH_MACHINE", "testbox")
        .env_remove("HARBENCH_DATA_MIRROR")
        .env_remove("HARBENCH_RESULTS");
    c
}
