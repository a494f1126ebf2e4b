//! Reading delimited numeric text with errors that name the file and line.

use crate::error::{DataError, Result};
use std::path::Path;

/// Reads a whole file as UTF-8 (lossy: some published READMEs are Latin-1), naming it on error.
pub fn read_to_string(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            DataError::Missing { path: path.to_path_buf(), hint: "run `harbench data fetch` for this dataset first".into() }
        }
        _ => DataError::io(path, e),
    })?;
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Parses one field as a number; `NaN` (any case) is accepted as the published missing value.
pub fn field_f32(field: &str, path: &Path, line: usize, column: usize) -> Result<f32> {
    let f = field.trim();
    f.parse::<f32>().map_err(|_| DataError::parse(path, line, format!("column {column}: expected a number, found '{}'", truncate(f))))
}

pub fn field_u32(field: &str, path: &Path, line: usize, column: usize) -> Result<u32> {
    let f = field.trim();
    // Some formats write integers as floats ("3.0").
    f.parse::<u32>()
        .ok()
        .or_else(|| f.parse::<f64>().ok().filter(|v| v.fract() == 0.0 && *v >= 0.0).map(|v| v as u32))
        .ok_or_else(|| DataError::parse(path, line, format!("column {column}: expected a whole number, found '{}'", truncate(f))))
}

/// Parses every non-empty line of a whitespace- or comma-separated numeric table with exactly
/// `columns` fields into a row-major vector. Line numbers in errors are 1-based.
pub fn numeric_table(text: &str, path: &Path, columns: usize, separator: Separator) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(text.len() / 8);
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let before = out.len();
        for (c, field) in separator.split(line).enumerate() {
            if c >= columns {
                return Err(DataError::parse(path, i + 1, format!("expected {columns} columns, found more")));
            }
            out.push(field_f32(field, path, i + 1, c + 1)?);
        }
        let found = out.len() - before;
        if found != columns {
            return Err(DataError::parse(path, i + 1, format!("expected {columns} columns, found {found}")));
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy)]
pub enum Separator {
    Whitespace,
    Comma,
}

impl Separator {
    pub fn split<'a>(self, line: &'a str) -> Box<dyn Iterator<Item = &'a str> + 'a> {
        match self {
            Separator::Whitespace => Box::new(line.split_ascii_whitespace()),
            Separator::Comma => Box::new(line.split(',')),
        }
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tables_and_names_the_bad_line() {
        let p = Path::new("f.txt");
        assert_eq!(numeric_table("1 2\n\n3 NaN\n", p, 2, Separator::Whitespace).unwrap()[..3], [1.0, 2.0, 3.0]);
        let err = numeric_table("1,2\n3,x\n", p, 2, Separator::Comma).unwrap_err().to_string();
        assert_eq!(err, "f.txt:2: column 2: expected a number, found 'x'");
        let err = numeric_table("1 2\n3\n", p, 2, Separator::Whitespace).unwrap_err().to_string();
        assert_eq!(err, "f.txt:2: expected 2 columns, found 1");
        let err = numeric_table("1 2 3\n", p, 2, Separator::Whitespace).unwrap_err().to_string();
        assert!(err.contains("found more"));
    }

    #[test]
    fn whole_numbers_accept_float_spelling() {
        let p = Path::new("f");
        assert_eq!(field_u32("3.0", p, 1, 1).unwrap(), 3);
        assert!(field_u32("3.5", p, 1, 1).is_err());
        assert!(field_u32("-1", p, 1, 1).is_err());
    }

    #[test]
    fn missing_file_says_fetch() {
        let err = read_to_string(Path::new("/nonexistent/x.txt")).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/x.txt") && err.contains("harbench data fetch"), "{err}");
    }
}
