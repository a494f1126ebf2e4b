//! Crash-safe file writes and sorted folder listings.
//!
//! harbench's outputs (run records, tables, teachers, checkpoints) are read by other processes
//! while runners write them, and a runner may be killed at any moment (Ctrl-C twice, SIGKILL, a
//! power cut). So every file is written to a temporary file in its own folder (same file
//! system, so the rename cannot turn into a copy), flushed to disk, renamed over its final name
//! (atomic on POSIX), and the folder is flushed so the rename itself survives a crash. A reader
//! sees the old file or the new one, never half of one; an interrupted write leaves the old file.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// An I/O error and the file (or folder) it happened to.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct FileError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl FileError {
    pub fn new(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        FileError { path: path.into(), source }
    }
}

/// `FileError::new(path, _)` as a closure for `map_err`.
fn at(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
    move |source| FileError::new(path, source)
}

/// The folder `path` lives in (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Writes `bytes` to `path` atomically: a temporary file (`.writing-*.tmp`, hidden so folder
/// listings skip it) in the same folder, fsync, rename over `path`, fsync the folder. Creates the
/// folder when missing. The file gets mode 0644 on Unix (a temporary file starts at 0600, and
/// results are meant to be read by others).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let dir = parent(path);
    std::fs::create_dir_all(dir).map_err(at(dir))?;
    let mut tmp = tempfile::Builder::new().prefix(".writing-").suffix(".tmp").tempfile_in(dir).map_err(at(dir))?;
    tmp.write_all(bytes).map_err(at(path))?;
    tmp.as_file().sync_all().map_err(at(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644)).map_err(at(path))?;
    }
    // On failure the temporary file is dropped, which deletes it.
    tmp.persist(path).map_err(|e| FileError::new(path, e.error))?;
    sync_dir(dir)
}

/// Like [`write_atomic`], for writers that insist on writing a path themselves (burn's
/// `Module::save_file`). `write` gets a temporary path in the same folder,
/// `.<name>.tmp-<pid>-<n>` (hidden; unique per process and call, so concurrent writers of one
/// file never share it; it keeps an extension, so burn does not append `.bpk`); the file it
/// writes there is fsynced, renamed over `path`, and the folder fsynced. When anything fails
/// the temporary file is removed; an error of `write` becomes an [`std::io::ErrorKind::Other`]
/// error holding its message, reported against `path`.
pub fn write_atomic_with<E: std::fmt::Display>(path: &Path, write: impl FnOnce(&Path) -> Result<(), E>) -> Result<(), FileError> {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let dir = parent(path);
    std::fs::create_dir_all(dir).map_err(at(dir))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "file".into());
    let tmp = dir.join(format!(".{name}.tmp-{}-{}", std::process::id(), CALLS.fetch_add(1, Ordering::Relaxed)));
    let result = write(&tmp)
        .map_err(|e| FileError::new(path, std::io::Error::other(e.to_string())))
        .and_then(|()| File::open(&tmp).and_then(|f| f.sync_all()).map_err(at(path)))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(at(path)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    sync_dir(dir)
}

/// Flushes a folder's entries (a rename) to disk. Best effort where folders cannot be opened or
/// synced (not Unix; some file systems answer EINVAL): the data itself is already on disk.
fn sync_dir(dir: &Path) -> Result<(), FileError> {
    #[cfg(unix)]
    {
        // A folder we may write but not read cannot be opened; nothing more can be done there.
        let Ok(d) = File::open(dir) else { return Ok(()) };
        match d.sync_all() {
            Err(e) if !matches!(e.kind(), std::io::ErrorKind::InvalidInput | std::io::ErrorKind::Unsupported) => {
                return Err(FileError::new(dir, e));
            }
            _ => {}
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Copies the tree under `from` to `to`, folders and files (a writable copy of a test fixture).
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Names of the sub-folders of `dir` (suites, commits, machines), sorted; hidden ones (starting
/// with `.`) are skipped. None when `dir` does not exist or cannot be read: a listing is used to
/// show what exists, and "nothing yet" is the right answer for a missing folder.
pub fn subfolders(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// The plain files of `dir` whose name ends in `.ext` (`ext` without the dot), sorted. Hidden
/// files (starting with `.`, such as the temporaries of the writes above) are skipped. A missing
/// folder holds no files (`Ok(vec![])`); any other error reading it is an error, since a caller
/// that lists files means to use all of them.
pub fn files_with_extension(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, FileError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(FileError::new(dir, e)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(at(dir))?.path();
        let hidden = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if !hidden && path.extension().is_some_and(|e| e == ext) && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        n.sort();
        n
    }

    #[test]
    fn atomic_write_creates_folders_replaces_whole_files_and_leaves_no_temporaries() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a/b/x.json");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second, longer").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second, longer");
        assert_eq!(names(path.parent().unwrap()), ["x.json"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
        }
    }

    #[test]
    fn a_failed_atomic_write_names_the_path_and_keeps_the_old_file() {
        let tmp = tempfile::tempdir().unwrap();
        // The target is a non-empty folder: the rename fails after the data was written.
        let path = tmp.path().join("taken");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("inside"), "old").unwrap();
        let e = write_atomic(&path, b"new").unwrap_err();
        assert_eq!(e.path, path);
        assert!(e.to_string().starts_with(&format!("{}: ", path.display())), "{e}");
        assert_eq!(names(tmp.path()), ["taken"]);
        assert_eq!(std::fs::read_to_string(path.join("inside")).unwrap(), "old");
    }

    #[test]
    fn concurrent_writers_never_leave_a_torn_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("r.json");
        let payloads: Vec<String> = (0..4).map(|i| format!("{{\"writer\":{i},\"pad\":\"{}\"}}", "x".repeat(200_000))).collect();
        std::thread::scope(|s| {
            for p in &payloads {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..10 {
                        write_atomic(path, p.as_bytes()).unwrap();
                    }
                });
            }
            for _ in 0..50 {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    assert!(payloads.contains(&text), "torn read of {} bytes", text.len());
                }
            }
        });
        assert_eq!(names(tmp.path()), ["r.json"]);
    }

    #[test]
    fn a_path_writer_gets_a_hidden_temporary_with_an_extension_in_the_same_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("t/w.bpk");
        let mut seen = PathBuf::new();
        write_atomic_with(&path, |p| {
            seen = p.to_path_buf();
            std::fs::write(p, "weights")
        })
        .unwrap();
        assert_eq!(seen.parent(), path.parent());
        let name = seen.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(&format!(".w.bpk.tmp-{}-", std::process::id())), "{name}");
        assert!(seen.extension().is_some());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "weights");
        assert_eq!(names(path.parent().unwrap()), ["w.bpk"]);
    }

    #[test]
    fn a_failing_path_writer_leaves_the_old_file_and_no_temporary() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("w.bpk");
        std::fs::write(&path, "old").unwrap();
        // The writer wrote half a file, then failed.
        let e = write_atomic_with(&path, |p| {
            std::fs::write(p, "ha").unwrap();
            Err("disk on fire")
        })
        .unwrap_err();
        assert_eq!(e.source.kind(), std::io::ErrorKind::Other);
        assert_eq!(e.to_string(), format!("{}: disk on fire", path.display()));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(names(tmp.path()), ["w.bpk"]);
        // A writer that reports success without writing: the missing file is the error.
        let e = write_atomic_with(&path, |_| Ok::<(), String>(())).unwrap_err();
        assert_eq!(e.source.kind(), std::io::ErrorKind::NotFound);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
    }

    #[test]
    fn listings_are_sorted_skip_hidden_entries_and_accept_a_missing_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        for f in ["b", "a", ".hidden", "c.json"] {
            std::fs::create_dir(d.join(f)).unwrap();
        }
        for f in ["z.json", "y.json", ".writing-1.json", "x.csv", "json", "w.JSON"] {
            std::fs::write(d.join(f), "").unwrap();
        }
        assert_eq!(subfolders(d), ["a", "b", "c.json"]);
        // "c.json" is a folder, "json" has no extension, "w.JSON" another one (case matters).
        assert_eq!(files_with_extension(d, "json").unwrap(), [d.join("y.json"), d.join("z.json")]);
        assert!(subfolders(&d.join("missing")).is_empty());
        assert!(files_with_extension(&d.join("missing"), "json").unwrap().is_empty());
        // A file where a folder is expected is an error for the file listing.
        let e = files_with_extension(&d.join("x.csv"), "json").unwrap_err();
        assert_eq!(e.path, d.join("x.csv"));
    }
}
