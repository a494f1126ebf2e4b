//! The download path against a real HTTP server on 127.0.0.1 serving mirror archives, and the
//! official-download path (a nested zip in another layout) against the same server.

mod common;

use harbench_common::progress::Silent;
use harbench_data::fetch::{self, FetchOptions, FetchOutcome, Origin};
use harbench_data::registry;
use harbench_data::spec::Source;
use harbench_data::DataError;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

/// Serves `files` (URL path → bytes) on 127.0.0.1 until the test process ends; 404 otherwise.
fn serve(files: HashMap<String, Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let files = Arc::new(files);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(mut stream) = stream else { continue };
            let files = files.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                reader.read_line(&mut request).unwrap();
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                let mut line = String::new();
                while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                    line.clear();
                }
                match files.get(&path) {
                    Some(body) => {
                        write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).unwrap();
                        stream.write_all(body).unwrap();
                    }
                    None => write!(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap(),
                }
            });
        }
    });
    format!("http://{addr}")
}

fn meta_source() -> Source {
    *registry::find("uci-har").unwrap().spec().sources.iter().find(|s| s.id == "uci-har-meta").unwrap()
}

fn mirror_options(url: &str) -> FetchOptions {
    FetchOptions { origin: Origin::Mirror(url.to_string()), force: false, allow_unverified: false }
}

/// The mirror's uci-har-meta archive with one byte of one file changed.
fn tampered_archive(original: &Path) -> Vec<u8> {
    let tmp = tempfile::tempdir().unwrap();
    fetch::unpack(original, tmp.path(), &Silent).unwrap();
    let victim = tmp.path().join("uci-har-meta/UCI HAR Dataset/activity_labels.txt");
    let mut text = std::fs::read(&victim).unwrap();
    text[0] = b'9';
    std::fs::write(&victim, text).unwrap();
    let mut out = Vec::new();
    let mut b = tar::Builder::new(&mut out);
    b.append_dir_all("uci-har-meta", tmp.path().join("uci-har-meta")).unwrap();
    b.finish().unwrap();
    drop(b);
    zstd::stream::encode_all(&out[..], 3).unwrap()
}

#[test]
fn loopback_mirror_download_verifies_and_reuses() {
    let Some(mirror) = common::mirror() else { return };
    let archive = mirror.join("uci-har-meta.tar.zst");
    let url = serve(HashMap::from([("/uci-har-meta.tar.zst".to_string(), std::fs::read(&archive).unwrap())]));
    let raw = tempfile::tempdir().unwrap();
    let source = meta_source();
    let outcome = fetch::fetch(raw.path(), &source, &mirror_options(&url), &Silent).unwrap();
    assert!(matches!(outcome, FetchOutcome::Verified { files: 8, .. }), "{outcome:?}");
    assert!(raw.path().join("uci-har-meta/UCI HAR Dataset/test/subject_test.txt").is_file());
    assert_eq!(fetch::fetch(raw.path(), &source, &mirror_options(&url), &Silent).unwrap(), FetchOutcome::AlreadyPresent);
    // No staging folders are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(raw.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".staging"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn a_wrong_checksum_names_the_file_and_both_hashes_and_keeps_the_good_copy() {
    let Some(mirror) = common::mirror() else { return };
    let archive = mirror.join("uci-har-meta.tar.zst");
    let good = serve(HashMap::from([("/uci-har-meta.tar.zst".to_string(), std::fs::read(&archive).unwrap())]));
    let bad = serve(HashMap::from([("/uci-har-meta.tar.zst".to_string(), tampered_archive(&archive))]));
    let raw = tempfile::tempdir().unwrap();
    let source = meta_source();
    fetch::fetch(raw.path(), &source, &mirror_options(&good), &Silent).unwrap();
    let options = FetchOptions { force: true, ..mirror_options(&bad) };
    let err = fetch::fetch(raw.path(), &source, &options, &Silent).unwrap_err();
    let DataError::Checksum { path, expected, actual } = &err else { panic!("expected a checksum error, got {err}") };
    assert!(path.ends_with("UCI HAR Dataset/activity_labels.txt"), "{}", path.display());
    assert_ne!(expected, actual);
    let message = err.to_string();
    assert!(
        message.contains(expected.as_str()) && message.contains(actual.as_str()) && message.contains("activity_labels.txt"),
        "{message}"
    );
    // The verified copy from before is untouched.
    let m = fetch::manifest_of(&source).unwrap().unwrap();
    m.verify(raw.path(), &Silent).unwrap();
}

#[test]
fn http_errors_name_the_url() {
    let url = serve(HashMap::new());
    let raw = tempfile::tempdir().unwrap();
    let err = fetch::fetch(raw.path(), &meta_source(), &mirror_options(&url), &Silent).unwrap_err().to_string();
    assert!(err.contains(&format!("{url}/uci-har-meta.tar.zst")) && err.contains("404"), "{err}");
    // Nothing listens here (the port was just released).
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = fetch::fetch(raw.path(), &meta_source(), &mirror_options(&format!("http://127.0.0.1:{port}")), &Silent).unwrap_err();
    assert!(matches!(err, DataError::Download { .. }), "{err}");
    assert!(!raw.path().join("uci-har-meta").exists());
}

#[test]
fn a_local_mirror_without_the_archive_says_which() {
    let empty = tempfile::tempdir().unwrap();
    let raw = tempfile::tempdir().unwrap();
    let err =
        fetch::fetch(raw.path(), &meta_source(), &mirror_options(&empty.path().display().to_string()), &Silent).unwrap_err().to_string();
    assert!(err.contains("uci-har-meta.tar.zst") && err.contains("mirror has no archive"), "{err}");
}

/// An "official" download in another layout: a zip that wraps another zip (as UCI does) whose
/// files sit under `UCI HAR Dataset/` without the `uci-har-meta/` folder. Fetch finds each
/// manifest file by name and path suffix and checks its hash.
#[test]
fn official_download_with_a_nested_zip_is_relaid_out_and_verified() {
    let Some(mirror) = common::mirror() else { return };
    let unpacked = tempfile::tempdir().unwrap();
    fetch::unpack(&mirror.join("uci-har-meta.tar.zst"), unpacked.path(), &Silent).unwrap();
    let inner = zip_tree(&unpacked.path().join("uci-har-meta"));
    let mut outer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    outer.start_file("UCI HAR Dataset.zip", zip::write::SimpleFileOptions::default()).unwrap();
    outer.write_all(&inner).unwrap();
    let outer = outer.finish().unwrap().into_inner();
    let url = serve(HashMap::from([("/official/har.zip".to_string(), outer)]));
    let source = Source {
        urls: Box::leak(vec![&*Box::leak(format!("{url}/official/har.zip").into_boxed_str())].into_boxed_slice()),
        ..meta_source()
    };
    let raw = tempfile::tempdir().unwrap();
    let options = FetchOptions { origin: Origin::Official, force: false, allow_unverified: false };
    let outcome = fetch::fetch(raw.path(), &source, &options, &Silent).unwrap();
    assert!(matches!(outcome, FetchOutcome::Verified { files: 8, .. }), "{outcome:?}");
    fetch::manifest_of(&source).unwrap().unwrap().verify(raw.path(), &Silent).unwrap();

    // A source published as one archive (DSADS) names its hash: another archive is refused
    // before it is unpacked, and the copy already placed stays.
    let pinned = Source { archive_sha256: Some("0000000000000000000000000000000000000000000000000000000000000000"), ..source };
    let options = FetchOptions { force: true, ..options };
    let err = fetch::fetch(raw.path(), &pinned, &options, &Silent).unwrap_err().to_string();
    assert!(err.contains("har.zip") && err.contains("0000000000"), "{err}");
    fetch::manifest_of(&source).unwrap().unwrap().verify(raw.path(), &Silent).unwrap();
}

#[test]
fn sources_without_a_manifest_need_consent_and_record_what_arrived() {
    let url = serve(HashMap::from([("/x.txt".to_string(), b"some data\n".to_vec())]));
    let leaked: &'static str = Box::leak(format!("{url}/x.txt").into_boxed_str());
    let source = Source { id: "unknown-ds", urls: Box::leak(vec![leaked].into_boxed_slice()), manifest: None, archive_sha256: None };
    let raw = tempfile::tempdir().unwrap();
    let options = FetchOptions { origin: Origin::Official, force: false, allow_unverified: false };
    let err = fetch::fetch(raw.path(), &source, &options, &Silent).unwrap_err().to_string();
    assert!(err.contains("--allow-unverified"), "{err}");
    let options = FetchOptions { allow_unverified: true, ..options };
    assert_eq!(fetch::fetch(raw.path(), &source, &options, &Silent).unwrap(), FetchOutcome::Unverified { files: 1 });
    let record = std::fs::read_to_string(raw.path().join("unknown-ds").join(fetch::RECORDED_MANIFEST)).unwrap();
    // printf 'some data\n' | sha256sum
    assert_eq!(record, "5aa03f96c77536579166fba147929626cc3a97960e994057a9d80271a736d10f  unknown-ds/x.txt\n");
}

fn zip_tree(root: &Path) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for file in fetch::walk(root).unwrap() {
        let rel = file.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
        zip.start_file(rel, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(&std::fs::read(&file).unwrap()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}
