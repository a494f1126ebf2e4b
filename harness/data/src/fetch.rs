//! Getting a dataset's source files onto disk, verified: from a mirror folder or URL holding
//! `<source>.tar.zst` archives (CI and tests use `../shared/datasets`), or from the official
//! download locations. Either way every file the manifest lists is checked against its sha256
//! before it is placed in `raw/<source>/`; the new tree replaces the old one by a rename, so an
//! interrupted fetch never leaves a half-verified folder behind.

use crate::error::{DataError, Result};
use crate::manifest::{sha256_file, Manifest};
use crate::spec::Source;
use harbench_common::progress::Progress;
use rayon::prelude::*;
use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Stamp written into `raw/<source>/` once every file is verified: holds the manifest digest.
pub const STAMP: &str = ".harbench-verified";
/// Manifest recorded for a source fetched without one (`--allow-unverified`).
pub const RECORDED_MANIFEST: &str = ".harbench-recorded.sha256";

/// Where the archives come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// A folder or an http(s) URL holding `<source>.tar.zst`.
    Mirror(String),
    /// The official download locations listed by the dataset.
    Official,
}

#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub origin: Origin,
    /// Fetch again even when a verified copy is present.
    pub force: bool,
    /// Accept a source that has no manifest, recording the hashes of what was downloaded.
    pub allow_unverified: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FetchOutcome {
    AlreadyPresent,
    Verified { files: usize, bytes: u64 },
    Unverified { files: usize },
}

/// The digest recorded when `raw/<source>` was last verified, if it was.
pub fn verified_digest(raw: &Path, source: &Source) -> Option<String> {
    fs::read_to_string(raw.join(source.id).join(STAMP)).ok().map(|s| s.trim().to_string())
}

pub fn manifest_of(source: &Source) -> Result<Option<Manifest>> {
    source.manifest.map(|text| Manifest::parse(text, Path::new(&format!("datasets/manifests/{}.sha256", source.id)))).transpose()
}

/// Fetches one source into `raw/<source.id>/`.
pub fn fetch(raw: &Path, source: &Source, options: &FetchOptions, progress: &dyn Progress) -> Result<FetchOutcome> {
    let manifest = manifest_of(source)?;
    if manifest.is_none() && !options.allow_unverified {
        return Err(DataError::config(
            "allow-unverified",
            format!("source '{}' has no checksum manifest in harbench (no verified copy was available to the project); pass --allow-unverified to download it anyway and record the hashes of what you got", source.id),
        ));
    }
    let expected_stamp = manifest.as_ref().map(Manifest::digest).unwrap_or_else(|| "unverified".into());
    if !options.force && verified_digest(raw, source).as_deref() == Some(expected_stamp.as_str()) {
        return Ok(FetchOutcome::AlreadyPresent);
    }
    fs::create_dir_all(raw).map_err(|e| DataError::io(raw, e))?;
    let staging =
        tempfile::Builder::new().prefix(&format!(".staging-{}-", source.id)).tempdir_in(raw).map_err(|e| DataError::io(raw, e))?;
    let unpacked = staging.path().join("unpacked");
    let downloads = staging.path().join("downloads");
    for dir in [&unpacked, &downloads] {
        fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    }

    match &options.origin {
        Origin::Mirror(location) => {
            let name = format!("{}.tar.zst", source.id);
            let archive = if is_url(location) {
                let target = downloads.join(&name);
                download(&format!("{}/{name}", location.trim_end_matches('/')), &target, progress)?;
                target
            } else {
                let local = Path::new(location).join(&name);
                if !local.is_file() {
                    return Err(DataError::Missing { path: local, hint: format!("the mirror has no archive for source '{}'", source.id) });
                }
                local
            };
            unpack(&archive, &unpacked, progress)?;
        }
        Origin::Official => {
            for url in source.urls {
                let name = url.rsplit('/').next().filter(|n| !n.is_empty()).unwrap_or("download");
                let target = downloads.join(name);
                download(url, &target, progress)?;
                if let Some(expected) = source.archive_sha256 {
                    check_archive(&target, expected)?;
                }
                if is_archive(&target) {
                    unpack(&target, &unpacked, progress)?;
                } else {
                    fs::copy(&target, unpacked.join(name)).map_err(|e| DataError::io(&target, e))?;
                }
            }
            unpack_nested(&unpacked, progress)?;
        }
    }

    let placed = staging.path().join("placed");
    let outcome = match &manifest {
        Some(m) => {
            let (files, bytes) = place_verified(m, source.id, &unpacked, &placed, progress)?;
            FetchOutcome::Verified { files, bytes }
        }
        None => {
            let files = place_unverified(source.id, &unpacked, &placed)?;
            FetchOutcome::Unverified { files }
        }
    };
    let stamp = placed.join(source.id).join(STAMP);
    fs::write(&stamp, format!("{expected_stamp}\n")).map_err(|e| DataError::io(&stamp, e))?;

    // Swap: the old tree moves aside, the new one moves in, the old one is deleted with staging.
    let target = raw.join(source.id);
    if target.exists() {
        let aside = staging.path().join("previous");
        fs::rename(&target, &aside).map_err(|e| DataError::io(&target, e))?;
    }
    fs::rename(placed.join(source.id), &target).map_err(|e| DataError::io(&target, e))?;
    Ok(outcome)
}

/// The official archive must be the one published: its sha256 before anything is unpacked.
fn check_archive(archive: &Path, expected: &str) -> Result<()> {
    let (actual, _) = sha256_file(archive)?;
    if actual != expected {
        return Err(DataError::Checksum { path: archive.to_path_buf(), expected: expected.to_string(), actual });
    }
    Ok(())
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

fn is_archive(p: &Path) -> bool {
    let n = p.to_string_lossy().to_ascii_lowercase();
    [".zip", ".tar.zst", ".tar.gz", ".tgz"].iter().any(|ext| n.ends_with(ext))
}

/// Streams `url` into `target`, reporting bytes.
pub fn download(url: &str, target: &Path, progress: &dyn Progress) -> Result<()> {
    let fail = |message: String| DataError::Download { url: url.to_string(), message };
    let response = ureq::get(url).call().map_err(|e| fail(e.to_string()))?;
    let body = response.into_body();
    progress.start(&format!("downloading {url}"), body.content_length());
    let mut reader = body.into_reader();
    let mut file = fs::File::create(target).map_err(|e| DataError::io(target, e))?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).map_err(|e| fail(format!("interrupted: {e}")))?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n]).map_err(|e| DataError::io(target, e))?;
        progress.advance(n as u64);
    }
    file.sync_all().map_err(|e| DataError::io(target, e))?;
    progress.finish();
    Ok(())
}

/// Unpacks a `.tar.zst`, `.tar.gz`/`.tgz` or `.zip` into `dest` (entries escaping `dest` are
/// refused by the tar and zip crates).
pub fn unpack(archive: &Path, dest: &Path, progress: &dyn Progress) -> Result<()> {
    let corrupt = |e: &dyn std::fmt::Display| DataError::format(archive, format!("cannot unpack (truncated or corrupt archive?): {e}"));
    let file = fs::File::open(archive).map_err(|e| DataError::io(archive, e))?;
    let name = archive.to_string_lossy().to_ascii_lowercase();
    progress.start(&format!("unpacking {}", archive.display()), None);
    if name.ends_with(".zip") {
        let mut zip = zip::ZipArchive::new(file).map_err(|e| corrupt(&e))?;
        zip.extract(dest).map_err(|e| corrupt(&e))?;
    } else if name.ends_with(".tar.zst") {
        let mut decoder = zstd::Decoder::new(file).map_err(|e| corrupt(&e))?;
        // The mirror packs with --long=27; allow any window the format allows.
        decoder.window_log_max(31).map_err(|e| corrupt(&e))?;
        tar::Archive::new(decoder).unpack(dest).map_err(|e| corrupt(&e))?;
    } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        tar::Archive::new(flate2::read::GzDecoder::new(file)).unpack(dest).map_err(|e| corrupt(&e))?;
    } else {
        return Err(DataError::format(archive, "unknown archive type (expected .zip, .tar.zst, .tar.gz)"));
    }
    progress.finish();
    Ok(())
}

/// UCI's downloads wrap the original zip in another: unpack zips found inside, next to
/// themselves, until none is left.
fn unpack_nested(dir: &Path, progress: &dyn Progress) -> Result<()> {
    loop {
        let nested: Vec<PathBuf> = walk(dir)?.into_iter().filter(|p| p.to_string_lossy().to_ascii_lowercase().ends_with(".zip")).collect();
        if nested.is_empty() {
            return Ok(());
        }
        for zip in nested {
            let into = zip.with_extension("");
            fs::create_dir_all(&into).map_err(|e| DataError::io(&into, e))?;
            unpack(&zip, &into, progress)?;
            fs::remove_file(&zip).map_err(|e| DataError::io(&zip, e))?;
        }
    }
}

/// Every file below `dir`, recursively.
pub fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).map_err(|e| DataError::io(&d, e))? {
            let path = entry.map_err(|e| DataError::io(&d, e))?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Finds each manifest file among the unpacked ones, checks its hash and moves it to its
/// manifest path under `placed`. The mirror's archives already have the manifest's layout;
/// official archives may put the same files under other folders, so a file is found by the
/// longest common path suffix among files of the same name.
fn place_verified(manifest: &Manifest, id: &str, unpacked: &Path, placed: &Path, progress: &dyn Progress) -> Result<(usize, u64)> {
    let all = walk(unpacked)?;
    let mut by_name: HashMap<&str, Vec<&PathBuf>> = HashMap::new();
    for p in &all {
        by_name.entry(p.file_name().and_then(|n| n.to_str()).unwrap_or("")).or_default().push(p);
    }
    for entry in &manifest.entries {
        if !entry.path.starts_with(&format!("{id}/")) {
            return Err(DataError::format(
                format!("datasets/manifests/{id}.sha256"),
                format!("path '{}' does not start with '{id}/'", entry.path),
            ));
        }
    }
    progress.start(&format!("verifying {} files of {id}", manifest.entries.len()), Some(manifest.entries.len() as u64));
    let sizes = manifest
        .entries
        .par_iter()
        .map(|entry| {
            let exact = unpacked.join(&entry.path);
            let found = if exact.is_file() {
                exact
            } else {
                let name = entry.path.rsplit('/').next().unwrap_or("");
                let candidates = by_name.get(name).map(Vec::as_slice).unwrap_or(&[]);
                let best = candidates.iter().max_by_key(|c| common_suffix(c, &entry.path)).ok_or_else(|| DataError::Missing {
                    path: PathBuf::from(&entry.path),
                    hint: format!("the downloaded archive of '{id}' does not contain this file"),
                })?;
                (*best).clone()
            };
            let (actual, size) = sha256_file(&found)?;
            if actual != entry.sha256 {
                return Err(DataError::Checksum { path: found, expected: entry.sha256.clone(), actual });
            }
            let target = placed.join(&entry.path);
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(|e| DataError::io(parent, e))?;
            }
            fs::rename(&found, &target).map_err(|e| DataError::io(&found, e))?;
            progress.advance(1);
            Ok(size)
        })
        .collect::<Result<Vec<u64>>>()?;
    progress.finish();
    Ok((sizes.len(), sizes.iter().sum()))
}

/// Number of trailing path components two paths share.
fn common_suffix(candidate: &Path, manifest_path: &str) -> usize {
    let a: Vec<String> = candidate.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    a.iter().rev().zip(manifest_path.rsplit('/')).take_while(|(x, y)| x.as_str() == *y).count()
}

/// Without a manifest: keep the whole unpacked tree and record what it held.
fn place_unverified(id: &str, unpacked: &Path, placed: &Path) -> Result<usize> {
    let target = placed.join(id);
    fs::create_dir_all(placed).map_err(|e| DataError::io(placed, e))?;
    fs::rename(unpacked, &target).map_err(|e| DataError::io(unpacked, e))?;
    let files = walk(&target)?;
    let mut lines = String::new();
    for f in &files {
        let (hash, _) = sha256_file(f)?;
        let rel = f.strip_prefix(placed).unwrap_or(f).to_string_lossy().replace('\\', "/");
        lines.push_str(&format!("{hash}  {rel}\n"));
    }
    let record = target.join(RECORDED_MANIFEST);
    fs::write(&record, lines).map_err(|e| DataError::io(&record, e))?;
    Ok(files.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use harbench_common::progress::Silent;

    #[test]
    fn common_suffix_counts_trailing_components() {
        assert_eq!(common_suffix(Path::new("/t/x/USC-HAD/Subject1/a1t1.mat"), "usc-had/USC-HAD/Subject1/a1t1.mat"), 3);
        assert_eq!(common_suffix(Path::new("/t/Subject2/a1t1.mat"), "usc-had/USC-HAD/Subject1/a1t1.mat"), 1);
    }

    #[test]
    fn an_official_archive_with_another_hash_is_refused_before_unpacking() {
        let dir = tempfile::tempdir().unwrap();
        let zip = dir.path().join("daily+and+sports+activities.zip");
        fs::write(&zip, b"abc").unwrap();
        // sha256("abc"), worked out independently (FIPS 180-2, appendix B.1).
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert!(check_archive(&zip, abc).is_ok());
        let err = check_archive(&zip, &"0".repeat(64)).unwrap_err().to_string();
        assert!(err.contains("daily+and+sports+activities.zip") && err.contains(abc), "{err}");
    }

    #[test]
    fn corrupt_archives_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("x.tar.zst");
        fs::write(&bad, b"definitely not zstd").unwrap();
        let err = unpack(&bad, dir.path(), &Silent).unwrap_err().to_string();
        assert!(err.contains("x.tar.zst") && err.contains("corrupt"), "{err}");
    }
}
