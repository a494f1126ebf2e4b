//! One file per dataset, each implementing [`crate::registry::Dataset`], and one line per
//! dataset in the `datasets!` list below (its file and its type, or types where one reader has
//! several framings), which is the registry.

macro_rules! datasets {
    ($($module:ident => $($dataset:ident),+;)*) => {
        $(pub mod $module;)*

        /// Every dataset, in the order `data list` shows them: the lines of `datasets!`.
        pub(crate) static TABLE: &[&dyn crate::registry::Dataset] = &[$($(&$module::$dataset),+),*];
    };
}

datasets! {
    synthetic => Synthetic;
    uci_har => UciHar;
    usc_had => UscHad;
    motionsense => MotionSense;
    wisdm2019_watch => Wisdm2019Watch;
    daphnet_fog => DaphnetFog;
    pamap2 => Pamap2;
    opportunity => Opportunity;
    dsads => Dsads;
    wisdm_v1 => WisdmV1;
    // One reader, two framings: a 50 Hz grid, and the SMLDist authors' 5-s frames.
    realworld_har => RealWorldHar, RealWorldHarFrames;
}

use crate::error::{DataError, Result};
use crate::formats::text;
use std::path::{Path, PathBuf};

/// The entries of a folder, sorted by name; a missing folder says how to get it.
pub(crate) fn list_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DataError::Missing {
            path: dir.to_path_buf(),
            hint: "run `harbench data fetch <dataset>` (with --mirror DIR to use a local copy)".into(),
        },
        _ => DataError::io(dir, e),
    })?;
    let mut out = entries.map(|e| e.map(|e| e.path()).map_err(|err| DataError::io(dir, err))).collect::<Result<Vec<_>>>()?;
    out.sort();
    Ok(out)
}

/// The file name as text (all published names here are ASCII).
pub(crate) fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

/// Parses the number that follows `prefix` at the start of `name` (e.g. `sub_` in `sub_12.csv`).
pub(crate) fn number_after(name: &str, prefix: &str) -> Option<u32> {
    let rest = name.strip_prefix(prefix)?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// The whole number between `prefix` and `suffix`, when `name` is exactly that (`subject101.dat`).
pub(crate) fn number_between(name: &str, prefix: &str, suffix: &str) -> Option<u32> {
    let digits = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    digits.bytes().all(|b| b.is_ascii_digit()).then(|| digits.parse().ok()).flatten()
}

/// The files below `raw/<id>/`, searched recursively and sorted, for which `wanted` holds: the
/// official archives nest their published layout at different depths. Finding none says what
/// was looked for and how to fetch it.
pub(crate) fn find_below(raw: &Path, id: &str, what: &str, wanted: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let root = raw.join(id);
    let mut found = Vec::new();
    let mut dirs = if root.is_dir() { vec![root.clone()] } else { vec![] };
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| DataError::io(&dir, e))? {
            let path = entry.map_err(|e| DataError::io(&dir, e))?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if wanted(&path) {
                found.push(path);
            }
        }
    }
    if found.is_empty() {
        return Err(DataError::Missing { path: root, hint: format!("no {what} below it; run `harbench data fetch {id}`") });
    }
    found.sort();
    Ok(found)
}

/// The names of the folders holding `path`, innermost first (`a/b/c.txt` gives `b`, `a`).
pub(crate) fn parents(path: &Path) -> impl Iterator<Item = &str> {
    path.ancestors().skip(1).map(file_name)
}

/// Calls `row(line, fields)` for every non-empty line of a whitespace-separated numeric table of
/// exactly `columns` fields (`NaN` allowed), reusing one buffer; line numbers are 1-based.
pub(crate) fn for_each_row(path: &Path, columns: usize, mut row: impl FnMut(usize, &[f32]) -> Result<()>) -> Result<()> {
    let content = text::read_to_string(path)?;
    let mut fields = Vec::with_capacity(columns);
    for (i, line) in content.lines().enumerate() {
        fields.clear();
        for (c, field) in line.split_ascii_whitespace().enumerate() {
            if c == columns {
                return Err(DataError::parse(path, i + 1, format!("expected {columns} columns, found more")));
            }
            fields.push(text::field_f32(field, path, i + 1, c + 1)?);
        }
        match fields.len() {
            0 => continue,
            n if n != columns => return Err(DataError::parse(path, i + 1, format!("expected {columns} columns, found {n}"))),
            _ => row(i + 1, &fields)?,
        }
    }
    Ok(())
}

/// Fills the NaN samples of each channel of a row-major `[time][channels]` block with the last
/// valid value before them (leading NaN: the first valid value). `Err(channel)` names a channel
/// that is NaN throughout.
pub(crate) fn fill_nan(samples: &mut [f32], channels: usize) -> Result<(), usize> {
    for c in 0..channels {
        let Some(mut last) = samples.iter().skip(c).step_by(channels).copied().find(|v| !v.is_nan()) else { return Err(c) };
        for v in samples.iter_mut().skip(c).step_by(channels) {
            if v.is_nan() {
                *v = last;
            } else {
                last = *v;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_below_searches_nested_layouts_and_says_fetch() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("x/outer/inner");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("b.dat"), "").unwrap();
        std::fs::write(deep.join("a.dat"), "").unwrap();
        std::fs::write(deep.join("a.txt"), "").unwrap();
        let found = find_below(dir.path(), "x", "*.dat", |p| file_name(p).ends_with(".dat")).unwrap();
        assert_eq!(found, [deep.join("a.dat"), deep.join("b.dat")]);
        assert_eq!(parents(&found[0]).take(2).collect::<Vec<_>>(), ["inner", "outer"]);
        for id in ["x", "absent"] {
            let err = find_below(dir.path(), id, "*.csv", |p| file_name(p).ends_with(".csv")).unwrap_err().to_string();
            assert!(err.contains(&format!("{id}: missing; no *.csv below it; run `harbench data fetch {id}`")), "{err}");
        }
    }

    #[test]
    fn nan_is_carried_forward_and_backward() {
        let nan = f32::NAN;
        let mut block = [nan, 1.0, 2.0, nan, nan, 3.0, 4.0, nan];
        fill_nan(&mut block, 2).unwrap();
        assert_eq!(block, [2.0, 1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0]);
        assert_eq!(fill_nan(&mut [1.0, nan, 2.0, nan], 2), Err(1));
    }

    #[test]
    fn exact_numbered_names() {
        assert_eq!(number_between("subject101.dat", "subject", ".dat"), Some(101));
        assert_eq!(number_between("subject.dat", "subject", ".dat"), None);
        assert_eq!(number_between("._subject101.dat", "subject", ".dat"), None);
        assert_eq!(number_between("subject10x.dat", "subject", ".dat"), None);
    }
}
