//! Per-file sha256 manifests in the `sha256sum` format (`<hex>  <path>`), and verification.

use crate::error::{DataError, Result};
use harbench_common::progress::Progress;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub sha256: String,
    /// Relative to the `raw/` folder; starts with the source id.
    pub path: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub entries: Vec<Entry>,
}

impl Manifest {
    /// Parses `sha256sum` output; `origin` names the manifest in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Manifest> {
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let (hash, path) = line
                .split_once("  ")
                .or_else(|| line.split_once(" *"))
                .ok_or_else(|| DataError::parse(origin, i + 1, "expected '<sha256>  <path>'"))?;
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(DataError::parse(origin, i + 1, format!("'{hash}' is not a sha256 hex digest")));
            }
            if path.split('/').any(|part| part == ".." || part.is_empty()) || path.starts_with('/') {
                return Err(DataError::parse(origin, i + 1, format!("unsafe path '{path}'")));
            }
            entries.push(Entry { sha256: hash.to_ascii_lowercase(), path: path.to_string() });
        }
        if entries.is_empty() {
            return Err(DataError::format(origin, "manifest lists no files"));
        }
        Ok(Manifest { entries })
    }

    /// A digest of the manifest itself: identifies the exact set of source files.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        for e in &self.entries {
            h.update(e.sha256.as_bytes());
            h.update(b"  ");
            h.update(e.path.as_bytes());
            h.update(b"\n");
        }
        hex::encode(h.finalize())
    }

    pub fn render(&self) -> String {
        self.entries.iter().map(|e| format!("{}  {}\n", e.sha256, e.path)).collect()
    }

    /// Checks every listed file under `root`: present and with the listed hash.
    pub fn verify(&self, root: &Path, progress: &dyn Progress) -> Result<VerifySummary> {
        progress.start("verifying sha256", Some(self.entries.len() as u64));
        let bytes = self
            .entries
            .par_iter()
            .map(|e| {
                let path = root.join(&e.path);
                let (actual, size) = sha256_file(&path)?;
                progress.advance(1);
                if actual != e.sha256 {
                    return Err(DataError::Checksum { path, expected: e.sha256.clone(), actual });
                }
                Ok(size)
            })
            .collect::<Result<Vec<u64>>>()?;
        progress.finish();
        Ok(VerifySummary { files: bytes.len(), bytes: bytes.iter().sum() })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VerifySummary {
    pub files: usize,
    pub bytes: u64,
}

/// sha256 (hex) and size of a file.
pub fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let mut file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DataError::Missing {
            path: path.to_path_buf(),
            hint: "listed in the manifest but not on disk; run `harbench data fetch` again".into(),
        },
        _ => DataError::io(path, e),
    })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| DataError::io(path, e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((hex::encode(hasher.finalize()), size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use harbench_common::progress::Silent;

    #[test]
    fn parse_rejects_bad_lines() {
        let o = Path::new("m.sha256");
        let good = format!("{}  a/b.txt\n", "ab".repeat(32));
        assert_eq!(Manifest::parse(&good, o).unwrap().entries[0].path, "a/b.txt");
        assert!(Manifest::parse("zz  a\n", o).unwrap_err().to_string().contains("m.sha256:1"));
        let traversal = format!("{}  ../etc/passwd\n", "ab".repeat(32));
        assert!(Manifest::parse(&traversal, o).unwrap_err().to_string().contains("unsafe path"));
        assert!(Manifest::parse("\n", o).is_err());
    }

    #[test]
    fn verify_names_the_file_and_both_hashes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("ds")).unwrap();
        std::fs::write(dir.path().join("ds/x.txt"), b"hello\n").unwrap();
        // sha256("hello\n")
        let right = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
        let m = Manifest::parse(&format!("{right}  ds/x.txt\n"), Path::new("m")).unwrap();
        assert_eq!(m.verify(dir.path(), &Silent).unwrap(), VerifySummary { files: 1, bytes: 6 });
        let wrong = "0".repeat(64);
        let m = Manifest::parse(&format!("{wrong}  ds/x.txt\n"), Path::new("m")).unwrap();
        let err = m.verify(dir.path(), &Silent).unwrap_err().to_string();
        assert!(err.contains("ds/x.txt") && err.contains(right) && err.contains(&wrong), "{err}");
        let m = Manifest::parse(&format!("{right}  ds/missing.txt\n"), Path::new("m")).unwrap();
        assert!(m.verify(dir.path(), &Silent).unwrap_err().to_string().contains("ds/missing.txt"));
    }
}
