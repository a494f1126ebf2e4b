//! A small reader for MATLAB level-5 MAT files (USC-HAD and UniMiB ship them): top-level
//! numeric and character arrays, zlib-compressed or not, either byte order. Structs, cells and
//! sparse arrays are skipped. Every malformed byte gives an error naming the file.

use crate::error::{DataError, Result};
use flate2::read::ZlibDecoder;
use std::io::Read;
use std::path::Path;

const MI_INT8: u32 = 1;
const MI_UINT8: u32 = 2;
const MI_INT16: u32 = 3;
const MI_UINT16: u32 = 4;
const MI_INT32: u32 = 5;
const MI_UINT32: u32 = 6;
const MI_SINGLE: u32 = 7;
const MI_DOUBLE: u32 = 9;
const MI_INT64: u32 = 12;
const MI_UINT64: u32 = 13;
const MI_MATRIX: u32 = 14;
const MI_COMPRESSED: u32 = 15;
const MI_UTF8: u32 = 16;

const MX_CHAR_CLASS: u8 = 4;
const MX_SPARSE_CLASS: u8 = 5;
const MX_CELL_CLASS: u8 = 1;
const MX_STRUCT_CLASS: u8 = 2;
const MX_OBJECT_CLASS: u8 = 3;

/// One top-level variable.
#[derive(Debug, Clone, PartialEq)]
pub enum MatValue {
    /// Real part of a numeric array, column-major, converted to f64.
    Numeric {
        dims: Vec<usize>,
        data: Vec<f64>,
    },
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct MatVar {
    pub name: String,
    pub value: MatValue,
}

/// Reads every numeric or text variable of a MAT v5 file.
pub fn read_file(path: &Path) -> Result<Vec<MatVar>> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse(&bytes).map_err(|message| DataError::format(path, format!("not a readable MAT v5 file: {message}")))
}

/// A numeric variable as a row-major `rows × cols` matrix, for 2-D arrays.
pub fn matrix(vars: &[MatVar], name: &str, path: &Path) -> Result<(usize, usize, Vec<f64>)> {
    let var = vars.iter().find(|v| v.name == name).ok_or_else(|| DataError::format(path, format!("variable '{name}' not found")))?;
    match &var.value {
        MatValue::Numeric { dims, data } if dims.len() == 2 => {
            let (rows, cols) = (dims[0], dims[1]);
            let mut out = vec![0.0; rows * cols];
            for c in 0..cols {
                for r in 0..rows {
                    out[r * cols + c] = data[c * rows + r];
                }
            }
            Ok((rows, cols, out))
        }
        _ => Err(DataError::format(path, format!("variable '{name}' is not a 2-D numeric array"))),
    }
}

pub fn parse(bytes: &[u8]) -> std::result::Result<Vec<MatVar>, String> {
    if bytes.len() < 128 {
        return Err(format!("{} bytes, shorter than the 128-byte header", bytes.len()));
    }
    let big_endian = match &bytes[126..128] {
        b"IM" => false,
        b"MI" => true,
        _ => return Err("no endian indicator 'IM'/'MI' at byte 126 (a MAT v4 or v7.3/HDF5 file?)".into()),
    };
    let r = Reader { big_endian };
    let mut vars = Vec::new();
    let mut pos = 128;
    while pos + 8 <= bytes.len() {
        let (kind, size, header) = r.tag(&bytes[pos..])?;
        let start = pos + header;
        let end = start
            .checked_add(size)
            .filter(|e| *e <= bytes.len())
            .ok_or_else(|| format!("element at byte {pos} claims {size} bytes but the file ends at {} (truncated?)", bytes.len()))?;
        let body = &bytes[start..end];
        match kind {
            MI_COMPRESSED => {
                let mut inflated = Vec::new();
                ZlibDecoder::new(body).read_to_end(&mut inflated).map_err(|e| format!("compressed element at byte {pos}: {e}"))?;
                let (k, s, h) = r.tag(&inflated)?;
                if k == MI_MATRIX {
                    let inner = inflated.get(h..h + s).ok_or("compressed matrix shorter than its tag says")?;
                    if let Some(v) = r.matrix(inner)? {
                        vars.push(v);
                    }
                }
            }
            MI_MATRIX => {
                if let Some(v) = r.matrix(body)? {
                    vars.push(v);
                }
            }
            _ => {}
        }
        pos = if kind == MI_COMPRESSED { end } else { start + pad8(size) };
    }
    if pos < bytes.len() {
        return Err(format!("{} stray bytes at the end (truncated element tag?)", bytes.len() - pos));
    }
    Ok(vars)
}

fn pad8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

struct Reader {
    big_endian: bool,
}

impl Reader {
    fn u32(&self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }

    /// (type, byte count, header length); handles the 4-byte "small data element" form.
    fn tag(&self, b: &[u8]) -> std::result::Result<(u32, usize, usize), String> {
        if b.len() < 8 {
            return Err("truncated element tag".into());
        }
        let first = self.u32(b);
        if first >> 16 != 0 {
            Ok((first & 0xffff, (first >> 16) as usize, 4))
        } else {
            Ok((first, self.u32(&b[4..]) as usize, 8))
        }
    }

    /// Sub-elements of a matrix: (type, data) pairs.
    fn elements<'a>(&self, mut b: &'a [u8]) -> std::result::Result<Vec<(u32, &'a [u8])>, String> {
        let mut out = Vec::new();
        while b.len() >= 8 {
            let (kind, size, header) = self.tag(b)?;
            let data = b.get(header..header + size).ok_or("matrix sub-element runs past its matrix")?;
            out.push((kind, data));
            let step = if header == 4 { 8 } else { header + pad8(size) };
            b = &b[step.min(b.len())..];
        }
        Ok(out)
    }

    fn matrix(&self, body: &[u8]) -> std::result::Result<Option<MatVar>, String> {
        let parts = self.elements(body)?;
        if parts.len() < 3 {
            return Err("matrix with fewer than 3 sub-elements".into());
        }
        let flags = parts[0].1;
        if flags.len() < 4 {
            return Err("matrix flags too short".into());
        }
        let class = (self.u32(flags) & 0xff) as u8;
        if matches!(class, MX_CELL_CLASS | MX_STRUCT_CLASS | MX_OBJECT_CLASS | MX_SPARSE_CLASS) {
            return Ok(None);
        }
        let dims: Vec<usize> = self.numbers(parts[1].0, parts[1].1)?.into_iter().map(|d| d as usize).collect();
        let name = String::from_utf8_lossy(parts[2].1).into_owned();
        let (kind, data) = parts.get(3).copied().unwrap_or((MI_DOUBLE, &[]));
        let values = if kind == MI_UTF8 {
            return Ok(Some(MatVar { name, value: MatValue::Text(String::from_utf8_lossy(data).into_owned()) }));
        } else {
            self.numbers(kind, data)?
        };
        let expected: usize = dims.iter().product();
        if values.len() != expected {
            return Err(format!("variable '{name}': {} values for dimensions {dims:?}", values.len()));
        }
        let value = if class == MX_CHAR_CLASS {
            MatValue::Text(values.iter().map(|&c| char::from_u32(c as u32).unwrap_or('\u{fffd}')).collect())
        } else {
            MatValue::Numeric { dims, data: values }
        };
        Ok(Some(MatVar { name, value }))
    }

    fn numbers(&self, kind: u32, b: &[u8]) -> std::result::Result<Vec<f64>, String> {
        let be = self.big_endian;
        macro_rules! conv {
            ($t:ty, $n:expr) => {
                b.chunks_exact($n)
                    .map(|c| {
                        let a: [u8; $n] = c.try_into().unwrap();
                        (if be { <$t>::from_be_bytes(a) } else { <$t>::from_le_bytes(a) }) as f64
                    })
                    .collect()
            };
        }
        Ok(match kind {
            MI_INT8 => b.iter().map(|&v| v as i8 as f64).collect(),
            MI_UINT8 => b.iter().map(|&v| v as f64).collect(),
            MI_INT16 => conv!(i16, 2),
            MI_UINT16 => conv!(u16, 2),
            MI_INT32 => conv!(i32, 4),
            MI_UINT32 => conv!(u32, 4),
            MI_SINGLE => conv!(f32, 4),
            MI_DOUBLE => conv!(f64, 8),
            MI_INT64 => conv!(i64, 8),
            MI_UINT64 => conv!(u64, 8),
            other => return Err(format!("unsupported data type {other}")),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds an uncompressed little-endian MAT v5 file holding one double matrix
    /// (column-major data), exactly as MATLAB's `save -v6` lays it out.
    pub fn write_double_matrix(name: &str, rows: usize, cols: usize, col_major: &[f64]) -> Vec<u8> {
        let mut header = vec![b' '; 116];
        header[..10].copy_from_slice(b"MATLAB 5.0");
        header.extend_from_slice(&[0u8; 8]);
        header.extend_from_slice(&0x0100u16.to_le_bytes());
        header.extend_from_slice(b"IM");
        let mut m = Vec::new();
        let elem = |m: &mut Vec<u8>, kind: u32, data: &[u8]| {
            m.extend_from_slice(&kind.to_le_bytes());
            m.extend_from_slice(&(data.len() as u32).to_le_bytes());
            m.extend_from_slice(data);
            m.resize(pad8(m.len()), 0);
        };
        elem(&mut m, MI_UINT32, &[6, 0, 0, 0, 0, 0, 0, 0]);
        let dims: Vec<u8> = [rows as i32, cols as i32].iter().flat_map(|d| d.to_le_bytes()).collect();
        elem(&mut m, MI_INT32, &dims);
        elem(&mut m, MI_INT8, name.as_bytes());
        let data: Vec<u8> = col_major.iter().flat_map(|v| v.to_le_bytes()).collect();
        elem(&mut m, MI_DOUBLE, &data);
        let mut file = header;
        file.extend_from_slice(&MI_MATRIX.to_le_bytes());
        file.extend_from_slice(&(m.len() as u32).to_le_bytes());
        file.extend_from_slice(&m);
        file
    }

    #[test]
    fn reads_an_uncompressed_matrix_row_major() {
        let bytes = write_double_matrix("sensor_readings", 2, 3, &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        let vars = parse(&bytes).unwrap();
        let (r, c, data) = matrix(&vars, "sensor_readings", Path::new("x.mat")).unwrap();
        assert_eq!((r, c), (2, 3));
        assert_eq!(data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn reads_a_compressed_matrix() {
        let plain = write_double_matrix("a", 1, 2, &[7.5, -1.0]);
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut enc, &plain[128..]).unwrap();
        let z = enc.finish().unwrap();
        let mut file = plain[..128].to_vec();
        file.extend_from_slice(&MI_COMPRESSED.to_le_bytes());
        file.extend_from_slice(&(z.len() as u32).to_le_bytes());
        file.extend_from_slice(&z);
        let vars = parse(&file).unwrap();
        assert_eq!(vars[0].value, MatValue::Numeric { dims: vec![1, 2], data: vec![7.5, -1.0] });
    }

    #[test]
    fn truncated_and_foreign_files_are_errors_not_panics() {
        let bytes = write_double_matrix("a", 2, 2, &[1.0, 2.0, 3.0, 4.0]);
        for cut in [0, 50, 127, 130, 150, bytes.len() - 3] {
            assert!(parse(&bytes[..cut]).is_err(), "cut at {cut} must fail");
        }
        let mut hdf = bytes.clone();
        hdf[126..128].copy_from_slice(b"\x89H");
        assert!(parse(&hdf).unwrap_err().contains("endian"));
    }
}
