//! Bad input on real slices of the shipped files: every failure is an error that names the
//! file (and line where there is one), never a panic, and never a half-written cache.

mod common;

use harbench_common::progress::Silent;
use harbench_data::fetch::{self, FetchOptions, Origin};
use harbench_data::prepare::{self, DataDir, Overrides};
use harbench_data::registry;
use std::fs;
use std::path::{Path, PathBuf};

/// A data folder whose `raw/` holds a copy of `files` (paths relative to `raw/`) taken from the
/// fetched mirror, with `edit` applied to the copy of the first one. The sources of `dataset`
/// are stamped as verified so that `prepare` goes ahead and reads them.
fn slice(dataset: &str, files: &[&str], edit: impl FnOnce(&mut Vec<u8>)) -> Option<(tempfile::TempDir, DataDir, PathBuf)> {
    let source = common::fetched()?;
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    for f in files {
        let target = dir.raw().join(f);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(source.raw().join(f), &target).unwrap();
    }
    let first = dir.raw().join(files[0]);
    let mut bytes = fs::read(&first).unwrap();
    edit(&mut bytes);
    fs::write(&first, bytes).unwrap();
    for s in registry::find(dataset).unwrap().spec().sources {
        fs::create_dir_all(dir.raw().join(s.id)).unwrap();
        fs::write(dir.raw().join(s.id).join(fetch::STAMP), "test\n").unwrap();
    }
    Some((tmp, dir, first))
}

fn prepare_error(dataset: &str, dir: &DataDir) -> String {
    let err = prepare::prepare(dir, registry::find(dataset).unwrap(), &Overrides::default(), false, &Silent).unwrap_err().to_string();
    // A failed prepare leaves nothing in the cache folder, not even a temporary file.
    let leftovers: Vec<_> = fs::read_dir(dir.cache()).map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    err
}

fn replace_line(bytes: &mut Vec<u8>, line: usize, with: &str) {
    let text = String::from_utf8(bytes.clone()).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[line - 1] = with;
    *bytes = (lines.join("\n") + "\n").into_bytes();
}

#[test]
fn truncated_mat_file() {
    let f = "usc-had/USC-HAD/Subject1/a1t1.mat";
    let Some((_t, dir, path)) = slice("usc-had", &[f], |b| b.truncate(b.len() / 2)) else { return };
    let err = prepare_error("usc-had", &dir);
    assert!(err.contains(&path.display().to_string()) && err.contains("MAT"), "{err}");
}

#[test]
fn mat_file_that_is_not_a_mat_file() {
    let f = "usc-had/USC-HAD/Subject1/a1t1.mat";
    let Some((_t, dir, path)) = slice("usc-had", &[f], |b| *b = b"hello".to_vec()) else { return };
    let err = prepare_error("usc-had", &dir);
    assert!(err.contains(&path.display().to_string()) && err.contains("shorter than the 128-byte header"), "{err}");
}

#[test]
fn malformed_motionsense_row() {
    let f = "motionsense/A_DeviceMotion_data/dws_1/sub_1.csv";
    let Some((_t, dir, path)) = slice("motionsense", &[f], |b| replace_line(b, 10, "8,1.0,2.0,oops,4,5,6,7,8,9,10,11,12")) else { return };
    let err = prepare_error("motionsense", &dir);
    assert_eq!(err, format!("{}:10: column 4: expected a number, found 'oops'", path.display()));
}

#[test]
fn short_motionsense_row() {
    let f = "motionsense/A_DeviceMotion_data/dws_1/sub_1.csv";
    let Some((_t, dir, path)) = slice("motionsense", &[f], |b| replace_line(b, 3, "1,2,3")) else { return };
    let err = prepare_error("motionsense", &dir);
    assert_eq!(err, format!("{}:3: expected 13 columns, found 3", path.display()));
}

#[test]
fn malformed_uci_labels_line() {
    let files = [
        "uci-hapt/HAPT Data Set/RawData/labels.txt",
        "uci-hapt/HAPT Data Set/RawData/acc_exp01_user01.txt",
        "uci-hapt/HAPT Data Set/RawData/gyro_exp01_user01.txt",
    ];
    let Some((_t, dir, path)) = slice("uci-har", &files, |b| replace_line(b, 4, "1 1 8 2195")) else { return };
    let err = prepare_error("uci-har", &dir);
    assert_eq!(err, format!("{}:4: expected 5 columns (exp user activity start end), found 4", path.display()));
}

#[test]
fn truncated_uci_signal_file() {
    let files = [
        "uci-hapt/HAPT Data Set/RawData/acc_exp01_user01.txt",
        "uci-hapt/HAPT Data Set/RawData/labels.txt",
        "uci-hapt/HAPT Data Set/RawData/gyro_exp01_user01.txt",
    ];
    // Cut in the middle of a number on a line: that line now has fewer columns.
    let Some((_t, dir, path)) = slice("uci-har", &files, |b| b.truncate(1000)) else { return };
    let err = prepare_error("uci-har", &dir);
    assert!(err.starts_with(&format!("{}:", path.display())) && err.contains("expected 3 columns"), "{err}");
}

#[test]
fn wisdm_unknown_activity_code() {
    let files = ["wisdm2019-watch/raw/watch/accel/data_1600_accel_watch.txt", "wisdm2019-watch/raw/watch/gyro/data_1600_gyro_watch.txt"];
    let Some((_t, dir, path)) = slice("wisdm2019-watch", &files, |b| replace_line(b, 7, "1600,N,90426708196641,1,2,3;")) else { return };
    let err = prepare_error("wisdm2019-watch", &dir);
    assert!(err.starts_with(&format!("{}:7: unknown activity code 'N'", path.display())), "{err}");
}

#[test]
fn daphnet_unknown_annotation() {
    let f = "daphnet-fog/dataset_fog_release/dataset/S01R02.txt";
    let Some((_t, dir, path)) = slice("daphnet-fog", &[f], |b| replace_line(b, 2, "31 70 49 -960 0 0 0 0 0 0 3")) else { return };
    let err = prepare_error("daphnet-fog", &dir);
    assert!(err.contains(&path.display().to_string()) && err.contains("annotation 3"), "{err}");
}

#[test]
fn missing_folder_says_to_fetch() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = registry::find("motionsense").unwrap();
    let err = ds.read(&tmp.path().join("raw")).unwrap_err().to_string();
    assert!(err.contains("motionsense/A_DeviceMotion_data") && err.contains("harbench data fetch"), "{err}");
}

#[test]
fn truncated_mirror_archive_names_the_archive_and_creates_nothing() {
    let Some(mirror) = common::mirror() else { return };
    let fake_mirror = tempfile::tempdir().unwrap();
    let bytes = fs::read(mirror.join("daphnet-fog.tar.zst")).unwrap();
    let archive = fake_mirror.path().join("daphnet-fog.tar.zst");
    fs::write(&archive, &bytes[..bytes.len() / 3]).unwrap();
    let raw = tempfile::tempdir().unwrap();
    let source = registry::find("daphnet-fog").unwrap().spec().sources[0];
    let options = FetchOptions { origin: Origin::Mirror(fake_mirror.path().display().to_string()), force: false, allow_unverified: false };
    let err = fetch::fetch(raw.path(), &source, &options, &Silent).unwrap_err().to_string();
    assert!(err.contains(&archive.display().to_string()), "{err}");
    assert!(!Path::new(&raw.path().join("daphnet-fog")).exists());
}
