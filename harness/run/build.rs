//! Records the compiler that built harbench, for the environment of every result.
fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=HARBENCH_RUSTC_VERSION={version}");
    println!("cargo:rustc-env=HARBENCH_PROFILE={}", std::env::var("PROFILE").unwrap_or_else(|_| "unknown".into()));
    println!("cargo:rerun-if-env-changed=RUSTC");
}
