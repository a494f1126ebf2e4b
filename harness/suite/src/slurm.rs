//! Slurm job arrays: the engine HPC users already have, instead of a scheduler of our own.
//!
//! `harbench slurm submit` writes two sbatch scripts beside the suite's results and submits
//! them: an array whose every task is a runner on the shared results store (runs are claimed by
//! lock, so any number of tasks cooperate, and a re-submission resumes), and a job that writes
//! the tables once the array has ended (`--dependency=afterany`). This module writes the
//! scripts and talks to `sbatch` and `squeue`; it decides nothing about runs.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    #[error("`{program}` is not on PATH: harbench slurm needs a Slurm client (run it on a login node of the cluster)")]
    Missing { program: String },
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed { command: String, status: String, stderr: String },
    #[error("`{command}` printed no job id: {stdout:?}")]
    NoJobId { command: String, stdout: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// What the array asks of Slurm, besides the command each task runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArraySettings {
    pub job_name: String,
    /// Array tasks; each is one runner.
    pub tasks: usize,
    /// At most this many tasks at once (`%K`).
    pub parallelism: Option<usize>,
    pub partition: Option<String>,
    /// Slurm's time limit of each task (e.g. `4:00:00`).
    pub time: Option<String>,
    pub cpus_per_task: usize,
    /// More `sbatch` options, one per item (e.g. `--mem=8G`).
    pub extra: Vec<String>,
}

/// A submission, kept as `submission.json` in its folder for `harbench slurm status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    pub suite: String,
    pub array_job: String,
    pub report_job: String,
    pub settings: ArraySettings,
    /// Seconds since the Unix epoch.
    pub submitted: f64,
    pub folder: PathBuf,
}

/// `s` quoted for a POSIX shell.
pub fn quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c)) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn command_line(argv: &[String]) -> String {
    argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

fn header(name: &str, settings: &ArraySettings, log: &Path) -> String {
    let mut s = format!("#!/bin/bash\n#SBATCH --job-name={}\n", quote(name));
    s.push_str(&format!("#SBATCH --output={}\n", quote(&log.display().to_string())));
    if let Some(p) = &settings.partition {
        s.push_str(&format!("#SBATCH --partition={}\n", quote(p)));
    }
    if let Some(t) = &settings.time {
        s.push_str(&format!("#SBATCH --time={}\n", quote(t)));
    }
    for e in &settings.extra {
        s.push_str(&format!("#SBATCH {e}\n"));
    }
    s
}

/// The array's script: every task runs `runner` (a `harbench run … --jobs 1` command line) in
/// `workdir` on `cpus_per_task` threads.
pub fn array_script(settings: &ArraySettings, folder: &Path, workdir: &Path, runner: &[String]) -> String {
    let mut s = header(&settings.job_name, settings, &folder.join("task-%A_%a.out"));
    let limit = settings.parallelism.map(|k| format!("%{k}")).unwrap_or_default();
    s.push_str(&format!("#SBATCH --array=0-{}{limit}\n", settings.tasks.saturating_sub(1)));
    s.push_str(&format!("#SBATCH --cpus-per-task={}\n", settings.cpus_per_task));
    s.push_str("# Each task is one runner on the shared results store: it claims runs by lock, skips those\n");
    s.push_str("# finished or held by another task, and ends when none is left. Re-submitting resumes.\n");
    s.push_str("set -euo pipefail\n");
    s.push_str(&format!("cd {}\n", quote(&workdir.display().to_string())));
    s.push_str(&format!("export RAYON_NUM_THREADS={}\n", settings.cpus_per_task));
    s.push_str(&format!("exec {}\n", command_line(runner)));
    s
}

/// The report job's script: writes the tables once the array has ended.
pub fn report_script(settings: &ArraySettings, folder: &Path, workdir: &Path, report: &[String]) -> String {
    let reporting = ArraySettings { cpus_per_task: 1, ..settings.clone() };
    let mut s = header(&format!("{}-report", settings.job_name), &reporting, &folder.join("report-%j.out"));
    s.push_str("set -euo pipefail\n");
    s.push_str(&format!("cd {}\n", quote(&workdir.display().to_string())));
    s.push_str(&format!("exec {}\n", command_line(report)));
    s
}

fn run(program: &str, args: &[String]) -> Result<String, SlurmError> {
    let command = format!("{program} {}", command_line(args));
    let out = Command::new(program).args(args).output().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SlurmError::Missing { program: program.into() },
        _ => SlurmError::Io { path: program.into(), source: e },
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(SlurmError::Failed { command, status: out.status.to_string(), stderr });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Submits `script` with `sbatch --parsable` and `options`; the job id.
pub fn sbatch(script: &Path, options: &[String]) -> Result<String, SlurmError> {
    let mut args = vec!["--parsable".to_string()];
    args.extend(options.iter().cloned());
    args.push(script.display().to_string());
    let stdout = run("sbatch", &args)?;
    // `--parsable` prints `id` or `id;cluster`.
    let id = stdout.trim().split(';').next().unwrap_or_default().to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(SlurmError::NoJobId { command: format!("sbatch {}", command_line(&args)), stdout });
    }
    Ok(id)
}

/// One line of `squeue`: a job or array task (`123_4`, or `123_[5-9]` for tasks not started).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedJob {
    pub id: String,
    pub state: String,
    /// Why it waits, or the node it runs on.
    pub reason: String,
}

/// `squeue`'s lines; `text` is its output with `-h -o '%i|%T|%R'`.
pub fn parse_queue(text: &str) -> Vec<QueuedJob> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.trim().splitn(3, '|');
            let id = parts.next()?.to_string();
            let state = parts.next()?.to_string();
            let reason = parts.next().unwrap_or_default().to_string();
            (!id.is_empty()).then_some(QueuedJob { id, state, reason })
        })
        .collect()
}

/// The jobs of `ids` still known to `squeue` (finished jobs leave it).
pub fn squeue(ids: &[&str]) -> Result<Vec<QueuedJob>, SlurmError> {
    let args: Vec<String> = ["-h", "-o", "%i|%T|%R", "-j"].iter().map(|s| s.to_string()).chain([ids.join(",")]).collect();
    match run("squeue", &args) {
        Ok(text) => Ok(parse_queue(&text)),
        // squeue refuses ids it no longer knows: the jobs have ended.
        Err(SlurmError::Failed { stderr, .. }) if stderr.contains("Invalid job id") => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

impl Submission {
    pub fn path(folder: &Path) -> PathBuf {
        folder.join("submission.json")
    }

    pub fn read(folder: &Path) -> Result<Option<Submission>, SlurmError> {
        let path = Submission::path(folder);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| SlurmError::Io { path, source: std::io::Error::new(std::io::ErrorKind::InvalidData, e) }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(SlurmError::Io { path, source }),
        }
    }

    pub fn write(&self) -> Result<(), SlurmError> {
        let path = Submission::path(&self.folder);
        let text = serde_json::to_string_pretty(self).expect("plain data serialises");
        harbench_common::fs::write_atomic(&path, text.as_bytes()).map_err(|e| SlurmError::Io { path: e.path, source: e.source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ArraySettings {
        ArraySettings {
            job_name: "harbench-smoke".into(),
            tasks: 4,
            parallelism: Some(2),
            partition: Some("cpu".into()),
            time: Some("1:00:00".into()),
            cpus_per_task: 2,
            extra: vec!["--mem=4G".into()],
        }
    }

    #[test]
    fn quoting_survives_a_shell() {
        for s in ["plain", "with space", "it's", "$HOME", "a\"b", ""] {
            let out = Command::new("sh").arg("-c").arg(format!("printf %s {}", quote(s))).output().unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), s);
        }
    }

    #[test]
    fn the_array_script_runs_the_runner_in_every_task() {
        let runner: Vec<String> =
            ["/opt/harbench", "run", "/w/suites/smoke.yaml", "--jobs", "1", "--machine", "my cluster"].map(String::from).to_vec();
        let s = array_script(&settings(), Path::new("/r/slurm"), Path::new("/w"), &runner);
        for line in [
            "#!/bin/bash",
            "#SBATCH --array=0-3%2",
            "#SBATCH --cpus-per-task=2",
            "#SBATCH --partition=cpu",
            "#SBATCH --time=1:00:00",
            "#SBATCH --mem=4G",
            "#SBATCH --output=/r/slurm/task-%A_%a.out",
            "cd /w",
            "export RAYON_NUM_THREADS=2",
            "exec /opt/harbench run /w/suites/smoke.yaml --jobs 1 --machine 'my cluster'",
        ] {
            assert!(s.lines().any(|l| l == line), "missing {line:?} in\n{s}");
        }
        let r = report_script(&settings(), Path::new("/r/slurm"), Path::new("/w"), &runner[..3]);
        assert!(r.contains("#SBATCH --job-name=harbench-smoke-report") && !r.contains("--array") && r.contains("report-%j.out"), "{r}");
        // The script is valid shell.
        let check = Command::new("bash").arg("-n").arg("-c").arg(&s).status().unwrap();
        assert!(check.success());
    }

    #[test]
    fn squeue_lines_parse() {
        let q = parse_queue("12_[2-3%2]|PENDING|(JobArrayTaskLimit)\n12_0|RUNNING|node1\n13|PENDING|(Dependency)\n\n");
        assert_eq!(q.len(), 3);
        assert_eq!(q[1], QueuedJob { id: "12_0".into(), state: "RUNNING".into(), reason: "node1".into() });
        assert_eq!(q[2].reason, "(Dependency)");
    }

    #[test]
    fn a_missing_sbatch_is_named() {
        // PATH is process-wide: look the program up under a name that no system has.
        let e = run("harbench-no-such-sbatch", &[]).unwrap_err().to_string();
        assert!(e.contains("harbench-no-such-sbatch") && e.contains("not on PATH"), "{e}");
    }
}
