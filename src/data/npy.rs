//! NPY reader (NumPy's `.npy`, format versions 1, 2 and 3).
//!
//! A file is the magic `\x93NUMPY`, a version (major, minor), a little-endian header length
//! (`u16` in v1, `u32` in v2/v3), a header that is a Python dict literal such as
//! `{'descr': '<f8', 'fortran_order': False, 'shape': (569, 30), }`, then the raw values.
//! Supported: dtypes `f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1`, either byte order, C order, 1-D
//! (`(n,)`, one feature) or 2-D (`(n, d)`) arrays. Values are widened to `f64` (integers beyond
//! 2⁵³ round). Every malformed input is an [`Error::DataAt`] naming the byte offset:
//!
//! ```text
//! x.npy: at byte 0: bad magic: expected \x93NUMPY, found 50 4b 03 04 ...
//! x.npy: at byte 11: unsupported dtype '<c16' (supported: f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1, byte order < > | =)
//! x.npy: at byte 29: fortran_order is True; only C-order arrays are supported (save with np.ascontiguousarray)
//! ```
//!
//! Cost: the whole file is read into memory, then converted in one pass.

use std::path::Path;

use super::Dataset;
use crate::error::{Error, Result};

/// Kind of an NPY element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpyKind {
    /// IEEE float (`f`), 4 or 8 bytes.
    Float,
    /// Signed integer (`i`), 1, 2, 4 or 8 bytes.
    Int,
    /// Unsigned integer (`u`), 1, 2, 4 or 8 bytes.
    UInt,
    /// Boolean (`b`), 1 byte.
    Bool,
}

/// An NPY element type: kind, size in bytes and byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NpyDtype {
    /// Float, signed, unsigned or bool.
    pub kind: NpyKind,
    /// Bytes per element.
    pub size: usize,
    /// Big-endian (`>`) rather than little-endian (`<`, or `|` for one byte).
    pub big_endian: bool,
}

/// A decoded NPY array.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Its shape (1 or 2 dimensions).
    pub shape: Vec<usize>,
    /// The element type as stored.
    pub dtype: NpyDtype,
    /// Values widened to `f64`, in C (row-major) order.
    pub data: Vec<f64>,
}

impl NpyArray {
    /// Rows: `shape[0]`.
    pub fn rows(&self) -> usize {
        self.shape[0]
    }

    /// Columns: `shape[1]`, or 1 for a 1-D array.
    pub fn cols(&self) -> usize {
        self.shape.get(1).copied().unwrap_or(1)
    }
}

/// Reads a features file and a labels file into a [`Dataset`].
///
/// The features are a 1-D or 2-D array of finite numbers; the labels a 1-D (or `(n, 1)`)
/// array of non-negative integers (integer dtype, bool, or floats with integral values).
///
/// # Errors
/// [`Error::Io`] if a file cannot be read; [`Error::DataAt`] for anything [`read_npy`] or
/// [`read_npy_labels`] rejects, a NaN or infinite feature (at the element's offset), or a
/// label count that differs from the feature row count (in the labels file, at its header).
///
/// # Examples
/// ```no_run
/// let ds = puma::data::npy::read_npy_dataset("x.npy", "y.npy")?;
/// println!("{} rows of {} features", ds.n(), ds.d());
/// # Ok::<(), puma::Error>(())
/// ```
pub fn read_npy_dataset(features: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Dataset> {
    let (features, labels) = (features.as_ref(), labels.as_ref());
    let arr = read_npy_features(features)?;
    let (y, shape_at) = read_labels_at(labels)?;
    if y.len() != arr.rows() {
        return Err(Error::DataAt {
            file: labels.to_path_buf(),
            offset: shape_at as u64,
            reason: format!(
                "labels file holds {} labels, but features file {} holds {} rows",
                y.len(),
                features.display(),
                arr.rows()
            ),
        });
    }
    let d = arr.cols();
    Ok(Dataset::new(arr.data, d, y)?.with_source(features))
}

/// Reads a 1-D or 2-D NPY array of features, which must all be finite.
///
/// # Errors
/// As [`read_npy`], plus [`Error::DataAt`] at the first NaN or infinite element.
pub fn read_npy_features(path: impl AsRef<Path>) -> Result<NpyArray> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    let (header, arr) = parse_with_header(&bytes, path)?;
    if let Some(i) = arr.data.iter().position(|v| !v.is_finite()) {
        let c = arr.cols().max(1);
        return Err(Error::DataAt {
            file: path.to_path_buf(),
            offset: (header.data_offset + i * arr.dtype.size) as u64,
            reason: format!(
                "row {}, column {} is {}; features must be finite",
                i / c,
                i % c,
                arr.data[i]
            ),
        });
    }
    Ok(arr)
}

/// Reads a 1-D or 2-D NPY array, widening values to `f64`.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::DataAt`] as [`parse_npy`].
pub fn read_npy(path: impl AsRef<Path>) -> Result<NpyArray> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    parse_npy(&bytes, path)
}

/// Reads class labels from a 1-D or `(n, 1)` NPY array of non-negative integers.
///
/// # Errors
/// As [`read_npy`], plus [`Error::DataAt`] at the offending element for a negative,
/// non-integral or too large value, and for a second dimension other than 1.
pub fn read_npy_labels(path: impl AsRef<Path>) -> Result<Vec<usize>> {
    read_labels_at(path.as_ref()).map(|(y, _)| y)
}

/// The labels and the offset of the `shape` entry in the header.
fn read_labels_at(path: &Path) -> Result<(Vec<usize>, usize)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    let header = parse_header(&bytes, path)?;
    if header.shape.len() == 2 && header.shape[1] != 1 {
        return Err(Error::DataAt {
            file: path.to_path_buf(),
            offset: header.shape_offset as u64,
            reason: format!(
                "labels must be 1-D or (n, 1), found shape {}",
                shape_text(&header.shape)
            ),
        });
    }
    let size = header.dtype.size;
    let payload = payload(&bytes, &header, path)?;
    let labels = payload
        .chunks_exact(size)
        .enumerate()
        .map(|(i, b)| {
            let at = (header.data_offset + i * size) as u64;
            let v = decode_exact(header.dtype, b);
            let fail = |reason| Error::DataAt {
                file: path.to_path_buf(),
                offset: at,
                reason,
            };
            match v {
                Exact::Int(v) if v < 0 => Err(fail(format!(
                    "label {i} is {v}; labels must be integers 0, 1, 2, ..."
                ))),
                Exact::Int(v) if v > super::MAX_LABEL as i128 => Err(fail(format!(
                    "label {i} is {v}, larger than the largest supported label {}",
                    super::MAX_LABEL
                ))),
                Exact::Int(v) => Ok(v as usize),
                Exact::Float(v) => super::csv::parse_label(&v.to_string())
                    .map_err(|r| fail(format!("label {i}: {r}"))),
            }
        })
        .collect::<Result<Vec<usize>>>()?;
    Ok((labels, header.shape_offset))
}

/// Parses NPY bytes; `file` is the name errors report.
///
/// # Errors
/// [`Error::DataAt`] for a bad magic string, an unsupported format version, a header cut
/// short or not a dict with exactly `descr`, `fortran_order` and `shape`, an unsupported dtype
/// (complex, strings, objects, structured, half), `fortran_order: True`, a shape of other than
/// 1 or 2 dimensions, a payload cut short, or bytes after the payload.
///
/// # Examples
/// ```
/// use std::path::Path;
/// use puma::data::npy::parse_npy;
///
/// let header = b"{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }";
/// let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
/// bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
/// bytes.extend_from_slice(header);
/// bytes.extend_from_slice(&[7, 0, 0xff, 0xff]); // 7 and -1, little-endian i16
/// let arr = parse_npy(&bytes, Path::new("inline.npy"))?;
/// assert_eq!((arr.shape, arr.data), (vec![2], vec![7.0, -1.0]));
/// # Ok::<(), puma::Error>(())
/// ```
pub fn parse_npy(bytes: &[u8], file: &Path) -> Result<NpyArray> {
    parse_with_header(bytes, file).map(|(_, arr)| arr)
}

fn parse_with_header(bytes: &[u8], file: &Path) -> Result<(Header, NpyArray)> {
    let header = parse_header(bytes, file)?;
    let data = payload(bytes, &header, file)?
        .chunks_exact(header.dtype.size)
        .map(|b| match decode_exact(header.dtype, b) {
            Exact::Int(v) => v as f64,
            Exact::Float(v) => v,
        })
        .collect();
    let arr = NpyArray {
        shape: header.shape.clone(),
        dtype: header.dtype,
        data,
    };
    Ok((header, arr))
}

/// What the header says, with the offsets errors need.
#[derive(Debug)]
struct Header {
    dtype: NpyDtype,
    shape: Vec<usize>,
    shape_offset: usize,
    data_offset: usize,
    data_len: usize,
}

const MAGIC: &[u8] = b"\x93NUMPY";
const SUPPORTED: &str = "f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1, byte order < > | =";

fn parse_header(bytes: &[u8], file: &Path) -> Result<Header> {
    let fail = |offset: usize, reason: String| Error::DataAt {
        file: file.to_path_buf(),
        offset: offset as u64,
        reason,
    };
    if !bytes.starts_with(MAGIC) {
        let shown: Vec<String> = bytes.iter().take(6).map(|b| format!("{b:02x}")).collect();
        return Err(fail(
            0,
            format!(
                "bad magic: expected \\x93NUMPY, found {}{}",
                if shown.is_empty() {
                    "an empty file".into()
                } else {
                    shown.join(" ")
                },
                if bytes.len() > 6 { " ..." } else { "" }
            ),
        ));
    }
    if bytes.len() < 8 {
        return Err(fail(
            bytes.len(),
            "file ends in the version bytes after the magic".into(),
        ));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (len_size, start) = match major {
        1 => (2, 10),
        2 | 3 => (4, 12),
        _ => {
            return Err(fail(
                6,
                format!("unsupported NPY format version {major}.{minor} (supported: 1, 2, 3)"),
            ));
        }
    };
    if bytes.len() < start {
        return Err(fail(
            bytes.len(),
            format!(
                "file ends in the header length: expected {len_size} bytes at byte 8, found {}",
                bytes.len() - 8
            ),
        ));
    }
    let header_len = if len_size == 2 {
        usize::from(u16::from_le_bytes([bytes[8], bytes[9]]))
    } else {
        u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize
    };
    let end = start + header_len;
    if bytes.len() < end {
        return Err(fail(
            bytes.len(),
            format!(
                "file ends in the header: the header length says {header_len} bytes from byte \
                 {start}, found {}",
                bytes.len() - start
            ),
        ));
    }
    let text = std::str::from_utf8(&bytes[start..end])
        .map_err(|e| fail(start + e.valid_up_to(), "header is not valid text".into()))?;
    let dict = parse_dict(text).map_err(|(pos, reason)| fail(start + pos, reason))?;

    let mut descr = None;
    let mut fortran = None;
    let mut shape = None;
    for (key, key_pos, value, value_pos) in dict {
        let at = start + value_pos;
        match (key.as_str(), value) {
            ("descr", Value::Str(s)) => descr = Some((s, at)),
            ("fortran_order", Value::Bool(b)) => fortran = Some((b, at)),
            ("shape", Value::Tuple(t)) => shape = Some((t, at)),
            ("descr" | "fortran_order" | "shape", _) => {
                return Err(fail(
                    at,
                    format!("header key '{key}' has a value of the wrong type"),
                ));
            }
            _ => {
                return Err(fail(
                    start + key_pos,
                    format!("unexpected header key '{key}' (expected descr, fortran_order, shape)"),
                ));
            }
        }
    }
    let missing = |k: &str| fail(start, format!("header has no '{k}' key"));
    let (descr, descr_at) = descr.ok_or_else(|| missing("descr"))?;
    let (fortran, fortran_at) = fortran.ok_or_else(|| missing("fortran_order"))?;
    let (shape, shape_at) = shape.ok_or_else(|| missing("shape"))?;
    let dtype = parse_descr(&descr).ok_or_else(|| {
        fail(
            descr_at,
            format!("unsupported dtype '{descr}' (supported: {SUPPORTED})"),
        )
    })?;
    if fortran {
        return Err(fail(
            fortran_at,
            "fortran_order is True; only C-order arrays are supported \
             (save with np.ascontiguousarray)"
                .into(),
        ));
    }
    if !(1..=2).contains(&shape.len()) {
        return Err(fail(
            shape_at,
            format!(
                "shape {} has {} dimensions; expected 1 (n,) or 2 (n, d)",
                shape_text(&shape),
                shape.len()
            ),
        ));
    }
    let data_len = shape
        .iter()
        .try_fold(dtype.size, |acc, &s| acc.checked_mul(s))
        .ok_or_else(|| {
            fail(
                shape_at,
                format!("shape {} is too large", shape_text(&shape)),
            )
        })?;
    Ok(Header {
        dtype,
        shape,
        shape_offset: shape_at,
        data_offset: end,
        data_len,
    })
}

/// The data bytes, exactly as many as the header promises.
fn payload<'a>(bytes: &'a [u8], h: &Header, file: &Path) -> Result<&'a [u8]> {
    let have = bytes.len() - h.data_offset;
    let fail = |offset: usize, reason: String| Error::DataAt {
        file: file.to_path_buf(),
        offset: offset as u64,
        reason,
    };
    if have < h.data_len {
        return Err(fail(
            bytes.len(),
            format!(
                "file ends in the data: shape {} of {}-byte values needs {} bytes, found {have}",
                shape_text(&h.shape),
                h.dtype.size,
                h.data_len
            ),
        ));
    }
    if have > h.data_len {
        return Err(fail(
            h.data_offset + h.data_len,
            format!(
                "{} unexpected bytes after the {} bytes of data",
                have - h.data_len,
                h.data_len
            ),
        ));
    }
    Ok(&bytes[h.data_offset..])
}

fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `'<f8'` → f64 little-endian, etc.; `None` if unsupported.
fn parse_descr(descr: &str) -> Option<NpyDtype> {
    let mut chars = descr.chars();
    let order = chars.next()?;
    let kind = match chars.next()? {
        'f' => NpyKind::Float,
        'i' => NpyKind::Int,
        'u' => NpyKind::UInt,
        'b' => NpyKind::Bool,
        _ => return None,
    };
    let size: usize = chars.as_str().parse().ok()?;
    let ok = match kind {
        NpyKind::Float => matches!(size, 4 | 8),
        NpyKind::Int | NpyKind::UInt => matches!(size, 1 | 2 | 4 | 8),
        NpyKind::Bool => size == 1,
    };
    let big_endian = match order {
        '<' => false,
        '>' => true,
        '=' => cfg!(target_endian = "big"),
        '|' if size == 1 => false,
        _ => return None,
    };
    ok.then_some(NpyDtype {
        kind,
        size,
        big_endian,
    })
}

/// One element, integers kept exact.
enum Exact {
    Int(i128),
    Float(f64),
}

fn decode_exact(t: NpyDtype, b: &[u8]) -> Exact {
    let mut w = [0u8; 8];
    w[..t.size].copy_from_slice(b);
    if t.big_endian {
        w[..t.size].reverse();
    }
    // `w` now holds the value little-endian in its first `size` bytes.
    let raw = u64::from_le_bytes(w);
    match t.kind {
        NpyKind::Float if t.size == 4 => Exact::Float(f64::from(f32::from_bits(raw as u32))),
        NpyKind::Float => Exact::Float(f64::from_bits(raw)),
        NpyKind::UInt => Exact::Int(i128::from(raw)),
        NpyKind::Bool => Exact::Int(i128::from(raw != 0)),
        NpyKind::Int => {
            let shift = 64 - 8 * t.size as u32; // sign-extend from `size` bytes
            Exact::Int(i128::from(((raw << shift) as i64) >> shift))
        }
    }
}

/// A header value.
#[derive(Debug, PartialEq)]
enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
}

type DictEntry = (String, usize, Value, usize);

/// Parses the header's Python dict literal into (key, key position, value, value position);
/// on failure, (position, reason). Positions are byte offsets into `text`.
fn parse_dict(text: &str) -> std::result::Result<Vec<DictEntry>, (usize, String)> {
    let b = text.as_bytes();
    let mut p = 0;
    let skip_ws = |p: &mut usize| {
        while *p < b.len() && b[*p].is_ascii_whitespace() {
            *p += 1;
        }
    };
    let expect = |p: &mut usize, c: u8, what: &str| {
        skip_ws(p);
        if *p < b.len() && b[*p] == c {
            *p += 1;
            Ok(())
        } else {
            Err((*p, format!("header is not a dict literal: expected {what}")))
        }
    };
    expect(&mut p, b'{', "'{'")?;
    let mut entries = Vec::new();
    loop {
        skip_ws(&mut p);
        if p < b.len() && b[p] == b'}' {
            break;
        }
        let key_pos = p;
        let key = parse_str(b, &mut p).ok_or((
            key_pos,
            "header is not a dict literal: expected a quoted key".to_string(),
        ))?;
        expect(&mut p, b':', "':' after a key")?;
        skip_ws(&mut p);
        let value_pos = p;
        let value = parse_value(b, &mut p)?;
        entries.push((key, key_pos, value, value_pos));
        skip_ws(&mut p);
        match b.get(p) {
            Some(b',') => p += 1,
            Some(b'}') => {}
            _ => {
                return Err((
                    p,
                    "header is not a dict literal: expected ',' or '}'".into(),
                ));
            }
        }
    }
    Ok(entries)
}

fn parse_str(b: &[u8], p: &mut usize) -> Option<String> {
    let q = *b.get(*p)?;
    if q != b'\'' && q != b'"' {
        return None;
    }
    let len = b[*p + 1..].iter().position(|&c| c == q)?;
    let s = String::from_utf8_lossy(&b[*p + 1..*p + 1 + len]).into_owned();
    *p += len + 2;
    Some(s)
}

fn parse_value(b: &[u8], p: &mut usize) -> std::result::Result<Value, (usize, String)> {
    let start = *p;
    match b.get(start) {
        Some(b'\'' | b'"') => parse_str(b, p)
            .map(Value::Str)
            .ok_or((start, "header string is not closed".into())),
        Some(b'[') => Err((
            start,
            format!(
                "unsupported dtype: structured dtypes (a list of fields) are not supported (supported: {SUPPORTED})"
            ),
        )),
        Some(b'(') => {
            *p += 1;
            let mut dims = Vec::new();
            loop {
                while *p < b.len() && (b[*p].is_ascii_whitespace() || b[*p] == b',') {
                    *p += 1;
                }
                match b.get(*p) {
                    Some(b')') => {
                        *p += 1;
                        return Ok(Value::Tuple(dims));
                    }
                    Some(c) if c.is_ascii_digit() => {
                        let s = *p;
                        while *p < b.len() && b[*p].is_ascii_digit() {
                            *p += 1;
                        }
                        // Python 2 era writers may append `L` to long integers.
                        let digits = std::str::from_utf8(&b[s..*p]).expect("ASCII digits");
                        if b.get(*p) == Some(&b'L') {
                            *p += 1;
                        }
                        dims.push(
                            digits
                                .parse()
                                .map_err(|_| (s, format!("dimension {digits} is too large")))?,
                        );
                    }
                    _ => {
                        return Err((*p, "shape must be a tuple of non-negative integers".into()));
                    }
                }
            }
        }
        _ if b[start..].starts_with(b"True") => {
            *p += 4;
            Ok(Value::Bool(true))
        }
        _ if b[start..].starts_with(b"False") => {
            *p += 5;
            Ok(Value::Bool(false))
        }
        _ => Err((
            start,
            "header value must be a string, True/False or a tuple".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descr_strings_map_to_dtypes() {
        let le = |kind, size| NpyDtype {
            kind,
            size,
            big_endian: false,
        };
        assert_eq!(parse_descr("<f8"), Some(le(NpyKind::Float, 8)));
        assert_eq!(parse_descr("|u1"), Some(le(NpyKind::UInt, 1)));
        assert_eq!(parse_descr("|b1"), Some(le(NpyKind::Bool, 1)));
        assert!(parse_descr(">i4").unwrap().big_endian);
        for bad in [
            "<f2", "<c16", "|O", "<U10", "|S3", "<i3", "<f8x", "", "|i4", "<M8[ns]",
        ] {
            assert_eq!(parse_descr(bad), None, "{bad}");
        }
    }

    #[test]
    fn signed_integers_are_sign_extended_from_their_width() {
        let t = |size| NpyDtype {
            kind: NpyKind::Int,
            size,
            big_endian: false,
        };
        assert!(matches!(decode_exact(t(1), &[0x80]), Exact::Int(-128)));
        assert!(matches!(decode_exact(t(2), &[0xfe, 0xff]), Exact::Int(-2)));
        assert!(matches!(
            decode_exact(t(8), &i64::MIN.to_le_bytes()),
            Exact::Int(v) if v == i128::from(i64::MIN)
        ));
    }

    #[test]
    fn the_dict_parser_reads_what_numpy_writes() {
        let d =
            parse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }          \n")
                .unwrap();
        assert_eq!(d[0].2, Value::Str("<f8".into()));
        assert_eq!(d[1].2, Value::Bool(false));
        assert_eq!(d[2].2, Value::Tuple(vec![3, 4]));
        assert_eq!(
            parse_dict("{\"shape\": (5,)}").unwrap()[0].2,
            Value::Tuple(vec![5])
        );
        assert_eq!(
            parse_dict("{'shape': ()}").unwrap()[0].2,
            Value::Tuple(vec![])
        );
        assert!(parse_dict("{'shape': (3, -1)}").is_err());
        assert!(parse_dict("{'descr' '<f8'}").is_err());
        assert!(parse_dict("'descr': '<f8'").is_err());
    }
}
