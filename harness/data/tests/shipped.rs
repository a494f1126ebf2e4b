#![allow(clippy::excessive_precision)] // reference values are pasted as printed

//! The readers on the real shipped files, checked against values computed independently from
//! the same files with numpy/scipy (`python3 tests/reference/shipped_values.py DIR`, output
//! pasted next to each assertion) and against the counts the datasets' authors publish.

mod common;

use common::{close, fetched};
use harbench_common::progress::Silent;
use harbench_data::cache;
use harbench_data::prepare::{self, Overrides};
use harbench_data::recording::{Recording, UNLABELLED};
use harbench_data::registry;
use harbench_data::stats;
use std::collections::BTreeSet;

fn read(id: &str) -> Option<Vec<Recording>> {
    let dir = fetched()?;
    Some(registry::find(id).unwrap().read(&dir.raw()).unwrap().recordings)
}

fn subjects(recs: &[Recording]) -> BTreeSet<u32> {
    recs.iter().map(|r| r.subject).collect()
}

fn row(r: &Recording, t: usize) -> &[f32] {
    &r.samples[t * r.channels..(t + 1) * r.channels]
}

#[test]
fn uci_har_follows_the_protocol_and_the_published_counts() {
    let Some(dir) = fetched() else { return };
    let ds = registry::find("uci-har").unwrap();
    let raw = ds.read(&dir.raw()).unwrap();
    assert_eq!(subjects(&raw.recordings).len(), 30);
    assert_eq!(raw.official_test_subjects, Some(vec![2, 4, 9, 10, 12, 13, 18, 20, 24]));
    let report = prepare::prepare(dir, ds, &Overrides::default(), false, &Silent).unwrap();
    let p = cache::read(&report.path).unwrap();
    // Published: 10,299 windows (7,352 train + 2,947 test). Ours is regenerated from raw signals.
    let n = p.windows.len() as f64;
    assert!((n / 10_299.0 - 1.0).abs() < 0.03, "{n} windows");
    assert_eq!(n as usize, 10_411, "regenerated count changed: update docs/datasets.md too");
    let published = [1722, 1544, 1406, 1777, 1906, 1944];
    for (k, expected) in published.iter().enumerate() {
        let ours = p.windows.y.iter().filter(|&&y| y as usize == k).count() as f64;
        assert!((ours / *expected as f64 - 1.0).abs() < 0.05, "class {k}: {ours} vs {expected}");
    }
    // First window: experiment 1, activity 5 (standing, class 4), samples 249.. (0-based).
    // shipped_values.py: t=0: 0.003805, -0.004354, -0.014589, -0.001476, 0.001050, 0.002469, 1.019998, -0.124794, 0.104466
    //                    t=127: 0.002665, 0.002740, -0.003490, 0.030083, 0.002169, -0.002329, 1.022272, -0.120524, 0.091192
    assert_eq!((p.windows.y[0], p.windows.subject[0]), (4, 1));
    let w = p.windows.window(0);
    let at = |t: usize| (0..9).map(|c| w[c * 128 + t]).collect::<Vec<f32>>();
    let expected0 = [0.003805, -0.004354, -0.014589, -0.001476, 0.001050, 0.002469, 1.019998, -0.124794, 0.104466];
    let expected127 = [0.002665, 0.002740, -0.003490, 0.030083, 0.002169, -0.002329, 1.022272, -0.120524, 0.091192];
    for (a, b) in at(0).iter().zip(expected0).chain(at(127).iter().zip(expected127)) {
        assert!((a - b).abs() < 2e-6, "{a} vs {b}");
    }
}

#[test]
fn usc_had_reads_every_trial() {
    let Some(recs) = read("usc-had") else { return };
    assert_eq!(recs.len(), 14 * 12 * 5);
    assert_eq!(subjects(&recs), (1..=14).collect());
    let r = recs.iter().find(|r| r.origin.ends_with("Subject1/a1t1.mat")).unwrap();
    // scipy.io.loadmat: shape (2400, 6); row 0: 1.162780, -0.189287, -0.295781, -18.781324, 3.361872, -16.863129
    // row 100: 0.802231, -0.605488, -0.614214, -26.837965, 2.959040, -46.269867
    assert_eq!((r.len(), r.labels[0]), (2400, 0));
    for (a, b) in row(r, 0).iter().zip([1.162780, -0.189287, -0.295781, -18.781324, 3.361872, -16.863129]) {
        assert!(close(*a, b, 1e-6), "{a} vs {b}");
    }
    for (a, b) in row(r, 100).iter().zip([0.802231, -0.605488, -0.614214, -26.837965, 2.959040, -46.269867]) {
        assert!(close(*a, b, 1e-6), "{a} vs {b}");
    }
    let classes: BTreeSet<u16> = recs.iter().map(|r| r.labels[0]).collect();
    assert_eq!(classes.len(), 12);
}

#[test]
fn motionsense_reads_every_trial() {
    let Some(recs) = read("motionsense") else { return };
    // 15 trial folders × 24 subjects, 1,412,865 rows in all (PROVENANCE).
    assert_eq!(recs.len(), 360);
    assert_eq!(subjects(&recs), (1..=24).collect());
    assert_eq!(recs.iter().map(Recording::len).sum::<usize>(), 1_412_865);
    let r = recs.iter().find(|r| r.origin.ends_with("dws_1/sub_1.csv")).unwrap();
    // csv: 1751 rows; row 0: 1.528132, -0.733896, 0.696372, 0.741895, 0.669768, -0.031672, 0.316738, 0.77818, 1.082764, 0.294894, -0.184493, 0.377542
    assert_eq!((r.len(), r.labels[0]), (1751, 0));
    let expected =
        [1.528132, -0.733896, 0.696372, 0.741895, 0.669768, -0.031672, 0.316738, 0.77818, 1.082764, 0.294894, -0.184493, 0.377542];
    assert_eq!(row(r, 0), &expected.map(|v: f64| v as f32));
}

#[test]
fn wisdm2019_watch_aligns_the_two_sensors() {
    let Some(recs) = read("wisdm2019-watch") else { return };
    // 46 subjects have both watch sensors in the verified copy; all 18 activities occur.
    assert_eq!(subjects(&recs).len(), 46);
    assert_eq!(recs.iter().map(|r| r.labels[0]).collect::<BTreeSet<_>>().len(), 18);
    let r = recs.iter().find(|r| r.subject == 1600 && r.labels[0] == 0).unwrap();
    // shipped_values.py, subject 1600, activity A, grid points 0, 1, 100:
    let expected = [
        (0, [4.972757, -0.158317, 6.696732, 0.314944, -1.022277, -0.309962]),
        (1, [3.249149, -0.191473, 6.106646, 0.384186, -0.614409, -0.050457]),
        (100, [13.255524, -0.813799, -0.009512, 0.449422, -2.432636, -4.975130]),
    ];
    for (t, values) in expected {
        for (a, b) in row(r, t).iter().zip(values) {
            assert!(close(*a, b, 1e-5), "grid {t}: {a} vs {b}");
        }
    }
}

#[test]
fn daphnet_labels_follow_the_annotation() {
    let Some(recs) = read("daphnet-fog") else { return };
    assert_eq!(recs.len(), 7);
    assert_eq!(subjects(&recs), BTreeSet::from([1, 2, 3, 6, 7]));
    let r = recs.iter().find(|r| r.origin.ends_with("S01R02.txt")).unwrap();
    // numpy: 52095 rows; annotation counts {0: 23294, 1: 27254, 2: 1547}
    assert_eq!(r.len(), 52_095);
    let count = |l: u16| r.labels.iter().filter(|&&x| x == l).count();
    assert_eq!((count(UNLABELLED), count(0), count(1)), (23_294, 27_254, 1_547));
}

#[test]
fn stats_match_the_published_subject_and_class_counts() {
    let Some(dir) = fetched() else { return };
    // (dataset, subjects present in the verified copy, classes) — published: UCI-HAR 30/6,
    // USC-HAD 14/12, MotionSense 24/6, WISDM-2019 51/18 (46 with both watch sensors here),
    // Daphnet 10/2 (5 in the partial copy).
    for (id, subjects, classes) in [
        ("uci-har", 30, 6),
        ("usc-had", 14, 12),
        ("motionsense", 24, 6),
        ("wisdm2019-watch", 46, 18),
        ("daphnet-fog", 5, 2),
        ("synthetic", 8, 4),
    ] {
        let ds = registry::find(id).unwrap();
        let p = prepare::load(dir, ds, &Overrides::default(), &Silent).unwrap();
        let s = stats::compute(&p, &ds.spec().holdout, "").unwrap();
        assert_eq!((s.subjects, s.classes), (subjects, classes), "{id}");
        assert_eq!(s.split.iter().sum::<usize>(), s.windows, "{id}");
        assert_eq!(s.per_class.iter().map(|c| c.1).sum::<usize>(), s.windows, "{id}");
        assert!(s.per_class.iter().all(|c| c.1 > 0), "{id}: a class without windows");
    }
}
