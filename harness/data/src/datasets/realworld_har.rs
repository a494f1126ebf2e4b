//! RealWorld HAR (Sztyler & Stuckenschmidt 2016), the one dataset the SMLDist authors' code
//! reads: 15 probands, 8 activities, a phone or watch at 7 body positions, each logging its
//! accelerometer, gyroscope and magnetometer at about 50 Hz.
//!
//! Published layout: `proband<N>/data/<sensor>_<activity>_csv.zip`, each zip holding one CSV per
//! position (`<sensor>_<activity>_<position>.csv`, header `id,attr_time,attr_x,attr_y,attr_z`,
//! time in ms since the epoch); an activity recorded in several sessions nests one zip per
//! session (`<sensor>_<activity>_<k>_csv.zip`). `harbench data fetch` unpacks every zip into a
//! folder of its own name, and this reader reads those folders. The positions' devices are not
//! synchronised, so each session is aligned on the timestamps. Two framings:
//! - `realworld-har`: the 21 streams of a session interpolated onto one 50 Hz grid over the span
//!   they all cover, cut where any stream has a gap; then harbench's usual windows.
//! - `realworld-har-frames`: the authors' framing (`tasnem_har/datasets/realworld_har.py`): 5-s
//!   frames bucketed by `attr_time // 5000`, a frame kept when every stream has more than 225
//!   samples in it, and its first 225 samples taken (the authors draw 225 at random, unseeded);
//!   probands 14 and 15 held out as in `examples/train_realworld.toml`. Add `train: {scaling:
//!   robust}` for the authors' scaling.

use super::{file_name, number_between, parents};
use crate::error::{DataError, Result};
use crate::formats::text;
use crate::recording::{RawData, Recording};
use crate::registry::Dataset;
use crate::spec::{Channel, DatasetSpec, Holdout, LabelRule, Source};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Streams interpolated onto a 50 Hz grid, then harbench's windows.
pub struct RealWorldHar;
/// The SMLDist authors' 5-s frames of 225 samples.
pub struct RealWorldHarFrames;

const ID: &str = "realworld-har";
const SENSORS: [(&str, &str); 3] = [("acc", "m/s^2"), ("gyr", "rad/s"), ("mag", "uT")];
const POSITIONS: [&str; 7] = ["chest", "forearm", "head", "shin", "thigh", "upperarm", "waist"];
/// The authors' label order.
const CLASSES: [&str; 8] = ["standing", "sitting", "lying", "walking", "running", "jumping", "climbingup", "climbingdown"];
const CHANNELS: usize = SENSORS.len() * POSITIONS.len() * 3;
/// The grid of `realworld-har`, and the widest gap between two samples of a stream that is
/// interpolated across (wider gaps cut the recording).
const GRID_MS: f64 = 20.0;
const MAX_GAP_MS: f64 = 100.0;
/// The authors' frames: `frame_period` 5 s, `sample_bound` 45 samples per second.
const FRAME_MS: f64 = 5000.0;
const FRAME_SAMPLES: usize = 225;

const SOURCE: Source = Source {
    id: ID,
    urls: &["http://wifo5-14.informatik.uni-mannheim.de/sensor/dataset/realworld2016/realworld2016_dataset.zip"],
    // No copy was reachable to verify: `data fetch` needs --allow-unverified and records hashes.
    manifest: None,
    archive_sha256: None,
};

fn spec(id: &'static str, title: &'static str) -> DatasetSpec {
    DatasetSpec {
        id,
        title,
        citation: "T. Sztyler, H. Stuckenschmidt. On-body Localization of Wearable Devices: An Investigation of Position-Aware Activity Recognition. PerCom 2016.",
        licence: "research use (see the homepage)",
        homepage: "https://sensor.informatik.uni-mannheim.de/#dataset_realworld",
        sources: &[SOURCE],
        rate_hz: 1000.0 / GRID_MS,
        channels: SENSORS
            .iter()
            .flat_map(|&(sensor, unit)| POSITIONS.iter().flat_map(move |p| Channel::triaxial(p, &[(sensor, unit)])))
            .collect(),
        classes: CLASSES.to_vec(),
        subjects: (1..=15).collect(),
        window_s: 2.56,
        overlap: 0.5,
        label_rule: LabelRule::Majority,
        holdout: Holdout::Fraction(0.3),
        note: "no copy was reachable to the project: unverified, and the reader is tested on hand-written files in the published layout",
    }
}

impl Dataset for RealWorldHar {
    fn spec(&self) -> DatasetSpec {
        spec(ID, "RealWorld HAR (streams aligned on a 50 Hz grid)")
    }

    fn read(&self, raw: &Path) -> Result<RawData> {
        read_sessions(raw, Framing::Grid)
    }
}

impl Dataset for RealWorldHarFrames {
    fn spec(&self) -> DatasetSpec {
        DatasetSpec {
            // 225 samples in 5 s: one window per frame, as the authors' frames are.
            rate_hz: FRAME_SAMPLES as f64 / (FRAME_MS / 1000.0),
            window_s: FRAME_MS / 1000.0,
            overlap: 0.0,
            holdout: Holdout::Subjects(&[14, 15]),
            ..spec("realworld-har-frames", "RealWorld HAR (the SMLDist authors' 5-s frames)")
        }
    }

    fn read(&self, raw: &Path) -> Result<RawData> {
        read_sessions(raw, Framing::AuthorsFrames)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Framing {
    Grid,
    AuthorsFrames,
}

/// One CSV: time (ms) and x, y, z per sample, in time order.
struct Stream {
    path: PathBuf,
    time: Vec<f64>,
    xyz: Vec<[f32; 3]>,
}

/// Where a CSV belongs: proband, activity, session (empty for a single one), sensor, position.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct StreamKey {
    subject: u32,
    activity: u16,
    session: String,
    sensor: usize,
    position: usize,
}

/// The 21 streams of one session, indexed `[sensor][position]`.
type Session = [[Option<Stream>; POSITIONS.len()]; SENSORS.len()];

fn read_sessions(raw: &Path, framing: Framing) -> Result<RawData> {
    let files = csv_files(raw)?;
    let streams = files.par_iter().map(|(key, path)| Ok((key.clone(), read_stream(path)?))).collect::<Result<Vec<_>>>()?;
    let mut sessions: BTreeMap<(u32, u16, String), Session> = BTreeMap::new();
    for (key, stream) in streams {
        let session = sessions.entry((key.subject, key.activity, key.session.clone())).or_default();
        let slot = &mut session[key.sensor][key.position];
        if let Some(first) = slot {
            return Err(DataError::format(&stream.path, format!("a second file for the stream of {}", first.path.display())));
        }
        *slot = Some(stream);
    }
    let mut data = RawData::default();
    for ((subject, activity, session), streams) in sessions {
        let what = format!("proband{subject} {} {}", CLASSES[activity as usize], if session.is_empty() { "" } else { &session });
        let Some(streams) = complete(streams) else {
            data.notes.push(format!("{}: not every sensor at every position; skipped", what.trim_end()));
            continue;
        };
        let origin = streams[0].path.parent().unwrap_or(raw).display().to_string();
        let cut = match framing {
            Framing::Grid => on_grid(&streams),
            Framing::AuthorsFrames => frames(&streams),
        };
        data.recordings.extend(cut.into_iter().map(|samples| Recording::single_label(subject, origin.clone(), CHANNELS, samples, activity)));
    }
    if data.recordings.is_empty() {
        return Err(DataError::format(raw.join(ID), "no session has all 21 streams (3 sensors at 7 positions) overlapping in time"));
    }
    Ok(data)
}

/// Every CSV of an accelerometer, gyroscope or magnetometer below `raw/realworld-har`, with
/// its place; other files (GPS, light, sound, images) are passed over.
fn csv_files(raw: &Path) -> Result<Vec<(StreamKey, PathBuf)>> {
    let all = crate::fetch::walk(&raw.join(ID)).map_err(|_| DataError::Missing {
        path: raw.join(ID),
        hint: format!("run `harbench data fetch {ID} --allow-unverified` (no copy was available to verify)"),
    })?;
    let zips = all.iter().filter(|p| file_name(p).to_ascii_lowercase().ends_with(".zip")).count();
    let files: Vec<(StreamKey, PathBuf)> =
        all.into_iter().filter_map(|p| stream_key(&p).transpose().map(|key| key.map(|k| (k, p)))).collect::<Result<_>>()?;
    if files.is_empty() {
        let hint = if zips > 0 {
            format!("{zips} zip files but no CSV of the published layout: each <sensor>_<activity>_csv.zip unpacks into a folder of its name (`harbench data fetch {ID}` does this)")
        } else {
            format!("no proband<N>/data/<sensor>_<activity>_csv/<...>.csv files; run `harbench data fetch {ID} --allow-unverified`")
        };
        return Err(DataError::Missing { path: raw.join(ID), hint });
    }
    Ok(files)
}

/// The place of one CSV in the published layout: `None` for files of other sensors and for
/// files outside it; an error for a CSV of a sensor folder that does not fit it.
fn stream_key(path: &Path) -> Result<Option<StreamKey>> {
    let name = file_name(path).to_ascii_lowercase();
    let Some(stem) = name.strip_suffix(".csv") else { return Ok(None) };
    // The innermost `<sensor>_<activity>[_<k>]_csv` folder names the sensor and activity.
    let Some((sensor, activity)) = parents(path).find_map(sensor_folder) else { return Ok(None) };
    let Some(subject) = parents(path).find_map(|p| number_between(p, "proband", "")) else {
        return Err(DataError::format(path, "not below a proband<N> folder"));
    };
    let tokens: Vec<&str> = stem.split('_').collect();
    let position = tokens.last().and_then(|p| POSITIONS.iter().position(|q| q == p)).ok_or_else(|| {
        DataError::format(path, format!("the file name does not end in _<position>.csv, a position of {POSITIONS:?}"))
    })?;
    // A numbered session (`acc_climbingdown_2_chest.csv`); one session has no number.
    let session = tokens.iter().filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())).copied().collect::<Vec<_>>().join("_");
    Ok(Some(StreamKey { subject, activity, session, sensor, position }))
}

/// `(sensor, activity)` of a folder named `<sensor>_<activity>[_<k>]_csv` (one unpacked zip).
fn sensor_folder(folder: &str) -> Option<(usize, u16)> {
    let lower = folder.to_ascii_lowercase();
    let mut tokens = lower.strip_suffix("_csv")?.split('_');
    let (sensor, activity) = (tokens.next()?, tokens.next()?);
    let sensor = SENSORS.iter().position(|(s, _)| *s == sensor)?;
    let activity = CLASSES.iter().position(|c| *c == activity)?;
    Some((sensor, activity as u16))
}

/// Reads `id,attr_time,attr_x,attr_y,attr_z` (columns found by name), sorted by time.
fn read_stream(path: &Path) -> Result<Stream> {
    let content = text::read_to_string(path)?;
    let mut lines = content.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let header: Vec<String> =
        lines.next().map(|(_, l)| l.trim_start_matches('\u{feff}').split(',').map(|h| h.trim().trim_matches('"').to_string()).collect()).unwrap_or_default();
    let column = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| DataError::parse(path, 1, format!("no `{name}` column in the header {header:?}")))
    };
    let (t, x, y, z) = (column("attr_time")?, column("attr_x")?, column("attr_y")?, column("attr_z")?);
    let mut rows: Vec<(f64, [f32; 3])> = Vec::with_capacity(content.len() / 40);
    for (i, line) in lines {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != header.len() {
            return Err(DataError::parse(path, i + 1, format!("expected {} columns, found {}", header.len(), fields.len())));
        }
        let time = fields[t].trim().parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| {
            DataError::parse(path, i + 1, format!("column {}: expected a time in ms, found '{}'", t + 1, fields[t].trim()))
        })?;
        let value = |c: usize| text::field_f32(fields[c], path, i + 1, c + 1);
        rows.push((time, [value(x)?, value(y)?, value(z)?]));
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(Stream { path: path.to_path_buf(), time: rows.iter().map(|r| r.0).collect(), xyz: rows.into_iter().map(|r| r.1).collect() })
}

/// The 21 streams in channel order (sensor, then position), if none is missing or empty.
fn complete(session: Session) -> Option<Vec<Stream>> {
    session.into_iter().flatten().map(|s| s.filter(|s| !s.time.is_empty())).collect()
}

/// Row-major `[time][channel]` recordings: the streams interpolated at `start + k · 20 ms` over
/// the span every stream covers, cut wherever a stream has a gap over `MAX_GAP_MS`.
fn on_grid(streams: &[Stream]) -> Vec<Vec<f32>> {
    let start = streams.iter().map(|s| s.time[0]).fold(f64::MIN, f64::max);
    let end = streams.iter().map(|s| *s.time.last().expect("not empty")).fold(f64::MAX, f64::min);
    let mut cursors = vec![0usize; streams.len()];
    let (mut out, mut current) = (Vec::new(), Vec::new());
    let mut k = 0u64;
    loop {
        let at = start + k as f64 * GRID_MS;
        if at > end {
            break;
        }
        k += 1;
        let row: Option<Vec<[f32; 3]>> = streams.iter().zip(&mut cursors).map(|(s, cursor)| interpolate(s, cursor, at)).collect();
        match row {
            Some(row) => current.extend(row.into_iter().flatten()),
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// x, y, z of `stream` at time `at` (ms), linear between the samples around it; `None` inside
/// a gap wider than `MAX_GAP_MS`. `cursor` only moves forward, as `at` does.
fn interpolate(stream: &Stream, cursor: &mut usize, at: f64) -> Option<[f32; 3]> {
    let t = &stream.time;
    while *cursor + 1 < t.len() && t[*cursor + 1] <= at {
        *cursor += 1;
    }
    let i = *cursor;
    if t[i] == at || i + 1 == t.len() {
        return (t[i] == at).then_some(stream.xyz[i]);
    }
    let gap = t[i + 1] - t[i];
    if gap > MAX_GAP_MS || at < t[i] {
        return None;
    }
    let w = ((at - t[i]) / gap) as f32;
    let (a, b) = (stream.xyz[i], stream.xyz[i + 1]);
    Some([0, 1, 2].map(|c| a[c] + w * (b[c] - a[c])))
}

/// The authors' frames: the 5-s buckets (`attr_time // 5000`) in which every stream has more
/// than 225 samples, each as the first 225 samples of every stream, row-major.
fn frames(streams: &[Stream]) -> Vec<Vec<f32>> {
    let buckets: Vec<BTreeMap<i64, (usize, usize)>> = streams.iter().map(|s| bucket_ranges(&s.time)).collect();
    let kept = buckets[0].keys().filter(|b| buckets.iter().all(|m| m.get(b).is_some_and(|(from, to)| to - from > FRAME_SAMPLES)));
    kept.map(|b| {
        let mut samples = Vec::with_capacity(FRAME_SAMPLES * CHANNELS);
        for r in 0..FRAME_SAMPLES {
            for (stream, ranges) in streams.iter().zip(&buckets) {
                samples.extend(stream.xyz[ranges[b].0 + r]);
            }
        }
        samples
    })
    .collect()
}

/// For each 5-s bucket, the range of sample indices in it (times are sorted).
fn bucket_ranges(time: &[f64]) -> BTreeMap<i64, (usize, usize)> {
    let mut out: BTreeMap<i64, (usize, usize)> = BTreeMap::new();
    for (i, t) in time.iter().enumerate() {
        let range = out.entry((t / FRAME_MS).floor() as i64).or_insert((i, i));
        range.1 = i + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::{self, WindowSpec};

    /// A CSV in the published format: x is the time in s after `zero`, y the stream's index
    /// (sensor · 7 + position), z 0.5.
    fn csv(times: &[f64], stream: usize) -> String {
        let mut out = String::from("id,attr_time,attr_x,attr_y,attr_z\n");
        for (i, t) in times.iter().enumerate() {
            out += &format!("{},{},{},{},0.5\n", i + 1, t, (t - 1_000_000.0) / 1000.0, stream);
        }
        out
    }

    fn every_20_ms(from: f64, to: f64) -> Vec<f64> {
        (0..).map(|k| from + 20.0 * k as f64).take_while(|t| *t < to).collect()
    }

    /// Writes the 21 streams of one session as `data fetch` unpacks them; `times(stream)` gives
    /// each stream's sample times; `session` nests them in a numbered session's folder.
    fn session(raw: &Path, proband: u32, activity: &str, session: Option<u32>, times: impl Fn(usize) -> Vec<f64>) {
        for (s, (sensor, _)) in SENSORS.iter().enumerate() {
            for (p, position) in POSITIONS.iter().enumerate() {
                let mut dir = raw.join(format!("{ID}/realworld2016_dataset/proband{proband}/data/{sensor}_{activity}_csv"));
                let mut name = format!("{sensor}_{activity}_{position}.csv");
                if let Some(k) = session {
                    dir = dir.join(format!("{sensor}_{activity}_{k}_csv"));
                    name = format!("{sensor}_{activity}_{k}_{position}.csv");
                }
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join(name), csv(&times(s * 7 + p), s * 7 + p)).unwrap();
            }
        }
    }

    #[test]
    fn the_specs_name_63_channels_and_the_authors_frames() {
        let grid = RealWorldHar.spec();
        assert_eq!((grid.channels.len(), grid.rate_hz), (63, 50.0));
        assert_eq!(grid.channels[0].name(), "acc/chest/x");
        assert_eq!(grid.channels[62].name(), "mag/waist/z");
        let frames = RealWorldHarFrames.spec();
        assert_eq!((frames.rate_hz * frames.window_s, frames.overlap), (225.0, 0.0));
        assert_eq!(frames.holdout, Holdout::Subjects(&[14, 15]));
        assert_eq!(frames.classes, grid.classes);
    }

    #[test]
    fn streams_are_aligned_on_a_50_hz_grid_and_cut_at_gaps() {
        let dir = tempfile::tempdir().unwrap();
        // Each stream starts 0-20 ms late; stream 5 has a gap from 1,002,000 to 1,002,400 ms.
        session(dir.path(), 3, "walking", None, |stream| {
            let start = 1_000_000.0 + stream as f64;
            every_20_ms(start, 1_004_000.0).into_iter().filter(|t| stream != 5 || !(1_002_000.0..1_002_400.0).contains(t)).collect()
        });
        let data = RealWorldHar.read(dir.path()).unwrap();
        assert_eq!(data.recordings.len(), 2, "one recording either side of the gap");
        let first = &data.recordings[0];
        assert_eq!((first.subject, first.channels, first.labels[0]), (3, 63, 3));
        // The grid starts where the latest stream (20) starts, 1,000,020 ms.
        assert_eq!(first.samples[0], 0.02);
        for (k, row) in first.samples.chunks(63).enumerate() {
            for (stream, xyz) in row.chunks(3).enumerate() {
                assert!((xyz[0] - (0.02 + 0.02 * k as f32)).abs() < 1e-5, "row {k} stream {stream}: {xyz:?}");
                assert_eq!((xyz[1], xyz[2]), (stream as f32, 0.5));
            }
        }
        // Stream 5's last sample before the gap is at 1,001,985 ms: grid points up to
        // 1,001,980 interpolate, the next needs a neighbour across the 420-ms gap.
        assert_eq!(first.len(), 99);
        let second = &data.recordings[1];
        assert!((second.samples[0] - 2.42).abs() < 1e-5, "{}", second.samples[0]);
    }

    #[test]
    fn the_authors_frames_keep_buckets_with_over_225_samples_in_every_stream() {
        let dir = tempfile::tempdir().unwrap();
        // Buckets [1,000,000, 1,005,000) and [1,005,000, 1,010,000) have 250 samples each;
        // stream 7 lacks the second half of the second bucket (125 samples there).
        session(dir.path(), 14, "climbingup", Some(2), |stream| {
            every_20_ms(1_000_000.0, 1_010_000.0).into_iter().filter(|t| stream != 7 || *t < 1_007_500.0).collect()
        });
        // A session missing one stream is noted and skipped.
        session(dir.path(), 14, "lying", None, |_| every_20_ms(1_020_000.0, 1_030_000.0));
        let missing = dir.path().join(format!("{ID}/realworld2016_dataset/proband14/data/gyr_lying_csv/gyr_lying_head.csv"));
        std::fs::remove_file(missing).unwrap();
        let data = RealWorldHarFrames.read(dir.path()).unwrap();
        assert_eq!(data.recordings.len(), 1);
        assert_eq!(data.notes, ["proband14 lying: not every sensor at every position; skipped"]);
        let frame = &data.recordings[0];
        assert_eq!((frame.subject, frame.len(), frame.labels[0]), (14, 225, 6));
        // The first 225 samples of the bucket: x runs 0.00 … 4.48 s.
        assert_eq!(frame.samples[0], 0.0);
        assert!((frame.samples[224 * 63 + 3 * 20] - 4.48).abs() < 1e-5);
        assert_eq!(frame.samples[224 * 63 + 3 * 20 + 1], 20.0);
        // One frame is one window of the frames' spec.
        let spec = RealWorldHarFrames.spec();
        let length = (spec.rate_hz * spec.window_s).round() as usize;
        let windows = window::cut(frame, &WindowSpec { length, step: length, rule: spec.label_rule });
        assert_eq!((windows.len(), windows.y[0]), (1, 6));
    }

    #[test]
    fn bad_files_are_named_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        session(dir.path(), 1, "running", None, |_| every_20_ms(1_000_000.0, 1_001_000.0));
        let path = dir.path().join(format!("{ID}/realworld2016_dataset/proband1/data/mag_running_csv/mag_running_shin.csv"));
        std::fs::write(&path, "id,attr_time,attr_x,attr_y,attr_z\n1,1000000,1,2,3\n2,1000020,1,x,3\n").unwrap();
        let err = RealWorldHar.read(dir.path()).unwrap_err().to_string();
        assert_eq!(err, format!("{}:3: column 4: expected a number, found 'x'", path.display()));
        std::fs::write(&path, "id,time,attr_x,attr_y,attr_z\n").unwrap();
        let err = RealWorldHar.read(dir.path()).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}:1: no `attr_time` column", path.display())), "{err}");
        std::fs::write(path.with_file_name("mag_running_knee.csv"), "").unwrap();
        std::fs::remove_file(&path).unwrap();
        let err = RealWorldHar.read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("mag_running_knee.csv: the file name does not end in _<position>.csv"), "{err}");
    }

    #[test]
    fn still_zipped_or_absent_data_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let err = RealWorldHar.read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("harbench data fetch realworld-har --allow-unverified"), "{err}");
        let data = dir.path().join(format!("{ID}/proband1/data"));
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("acc_walking_csv.zip"), b"PK").unwrap();
        std::fs::write(data.join("gps_walking.csv"), "id,attr_time\n").unwrap();
        let err = RealWorldHar.read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("1 zip files but no CSV of the published layout"), "{err}");
    }
}
