//! Records the commit this binary is built from (`HARBENCH_BUILD_COMMIT`), so that `harbench run`
//! can refuse to file records under a checkout whose code is not the code that runs: a binary
//! copied from elsewhere, or a build cargo kept from another worktree sharing its target folder
//! (cargo compares source times, and a worktree checked out before that build looks older).

use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(dir).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&dir);
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let Some(commit) = git(dir, &["rev-parse", "HEAD"]) else {
        // Built outside a git checkout (a source archive): nothing to compare with.
        println!("cargo:rustc-env=HARBENCH_VERSION_TEXT={version} (built outside git)");
        return;
    };
    println!("cargo:rustc-env=HARBENCH_BUILD_COMMIT={commit}");
    println!("cargo:rustc-env=HARBENCH_VERSION_TEXT={version} (built from commit {})", &commit[..12.min(commit.len())]);
    // Build again when HEAD moves: a checkout (HEAD), a commit or reset (HEAD's log; the
    // branches' refs, loose in refs/heads, a folder cargo scans, or packed).
    for name in ["HEAD", "logs/HEAD", "refs/heads", "packed-refs"] {
        if let Some(path) = git(dir, &["rev-parse", "--git-path", name]) {
            let path = dir.join(path);
            // A file that does not exist would make cargo run this script on every build.
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
}
