//! The prepared-window cache: one HDF5 file per (dataset, resolved config), readable by h5py.
//! Datasets `x` (f32 [N, C, L]), `y` (u16 [N]), `subject` (u32 [N]); attributes hold the
//! resolved config, its hash, class and channel names and the source checksums as JSON text.
//! Written to a temporary file in the same folder and renamed, so a reader never sees half a file.

use crate::error::{DataError, Result};
use crate::prepare::PrepareConfig;
use crate::window::Windows;
use hdf5::types::VarLenUnicode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

/// Everything about a prepared file except the windows themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheMeta {
    pub config: PrepareConfig,
    pub config_hash: String,
    pub classes: Vec<String>,
    pub channels: Vec<String>,
    pub window_length: usize,
    /// Published test subjects, where the dataset defines them.
    pub official_test_subjects: Option<Vec<u32>>,
    /// Source id → digest of its verified manifest ("generated" for synthetic data).
    pub source_checksums: BTreeMap<String, String>,
    /// What the reader tolerated (skipped records, zero-filled dead channels).
    pub notes: Vec<String>,
    pub harbench_version: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub meta: CacheMeta,
    pub windows: Windows,
}

const META_ATTR: &str = "harbench_meta";

pub fn write(path: &Path, prepared: &Prepared) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let tmp = tempfile::Builder::new().prefix(".writing-").suffix(".h5").tempfile_in(dir).map_err(|e| DataError::io(dir, e))?;
    write_h5(tmp.path(), prepared).map_err(|e| DataError::hdf5(path, e))?;
    // tempfile creates 0600; a cache is an ordinary shared artefact.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644)).map_err(|e| DataError::io(path, e))?;
    }
    tmp.persist(path).map_err(|e| DataError::io(path, e.error))?;
    Ok(())
}

fn write_h5(path: &Path, p: &Prepared) -> hdf5::Result<()> {
    let w = &p.windows;
    let file = hdf5::File::create(path)?;
    let n = w.len();
    let chunk = n.clamp(1, 256);
    file.new_dataset::<f32>()
        .shape([n, w.channels, w.length])
        .chunk([chunk, w.channels, w.length])
        .deflate(1)
        .create("x")?
        .write_raw(&w.x)?;
    file.new_dataset::<u16>().shape([n]).create("y")?.write_raw(&w.y)?;
    file.new_dataset::<u32>().shape([n]).create("subject")?.write_raw(&w.subject)?;
    let text_attr = |name: &str, value: &str| -> hdf5::Result<()> {
        let v = VarLenUnicode::from_str(value).map_err(|e| hdf5::Error::from(e.to_string().as_str()))?;
        file.new_attr::<VarLenUnicode>().create(name)?.write_scalar(&v)
    };
    text_attr(META_ATTR, &json(&p.meta))?;
    // Convenience copies for h5py users who do not want to parse the whole meta.
    text_attr("dataset", &p.meta.config.dataset)?;
    text_attr("config", &json(&p.meta.config))?;
    text_attr("config_hash", &p.meta.config_hash)?;
    text_attr("classes", &json(&p.meta.classes))?;
    text_attr("channels", &json(&p.meta.channels))?;
    text_attr("source_checksums", &json(&p.meta.source_checksums))?;
    file.flush()?;
    Ok(())
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}

pub fn read_meta(path: &Path) -> Result<CacheMeta> {
    let file = hdf5::File::open(path).map_err(|e| DataError::hdf5(path, format!("cannot open (corrupt or truncated cache?): {e}")))?;
    meta_of(&file, path)
}

fn meta_of(file: &hdf5::File, path: &Path) -> Result<CacheMeta> {
    let text = file
        .attr(META_ATTR)
        .and_then(|a| a.read_scalar::<VarLenUnicode>())
        .map_err(|e| DataError::hdf5(path, format!("no readable '{META_ATTR}' attribute (not a harbench cache?): {e}")))?;
    serde_json::from_str(text.as_str()).map_err(|e| DataError::hdf5(path, format!("'{META_ATTR}' is not valid: {e}")))
}

pub fn read(path: &Path) -> Result<Prepared> {
    let file = hdf5::File::open(path).map_err(|e| DataError::hdf5(path, format!("cannot open (corrupt or truncated cache?): {e}")))?;
    let meta = meta_of(&file, path)?;
    let h5 = |e: hdf5::Error| DataError::hdf5(path, e);
    let x = file.dataset("x").map_err(h5)?;
    let shape = x.shape();
    if shape.len() != 3 {
        return Err(DataError::hdf5(path, format!("x has shape {shape:?}, expected [N, C, L]")));
    }
    let windows = Windows {
        channels: shape[1],
        length: shape[2],
        x: x.read_raw::<f32>().map_err(h5)?,
        y: file.dataset("y").and_then(|d| d.read_raw::<u16>()).map_err(h5)?,
        subject: file.dataset("subject").and_then(|d| d.read_raw::<u32>()).map_err(h5)?,
    };
    if windows.y.len() != shape[0] || windows.subject.len() != shape[0] {
        return Err(DataError::hdf5(path, "x, y and subject disagree on the number of windows"));
    }
    if let Some(bad) = windows.y.iter().find(|&&y| y as usize >= meta.classes.len()) {
        return Err(DataError::hdf5(path, format!("label {bad} but only {} classes", meta.classes.len())));
    }
    Ok(Prepared { meta, windows })
}
