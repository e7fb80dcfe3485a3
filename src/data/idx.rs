//! IDX reader (the MNIST format), gzipped or not.
//!
//! An IDX file is big-endian: two zero bytes, a type code, the number of dimensions m, then m
//! `u32` sizes, then the values in row-major order. MNIST images are `0x00000803` (u8, 3 dims:
//! count × rows × cols) and labels `0x00000801` (u8, 1 dim: count). Gzip is detected by its
//! magic bytes `1f 8b`, not by the file name. Every malformed input is an [`Error::DataAt`]
//! naming the byte offset in the decompressed stream:
//!
//! ```text
//! images-idx3-ubyte.gz: at byte 16: file ends in the data: expected 7840000 bytes of u8 values (10000 × 28 × 28), found 1000
//! labels.idx: at byte 0: bad magic 0x1f 0x8b: an IDX file starts with two zero bytes
//! ```
//!
//! Cost: the whole file is read into memory, then converted in one pass.

use std::io::Read;
use std::path::Path;

use super::Dataset;
use crate::error::{Error, Result};

/// How to turn IDX images and labels into a [`Dataset`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct IdxOptions {
    /// Divide pixels by 255 so they lie in `[0, 1]`. Default `false` (pixels as 0..255).
    pub scale_to_unit: bool,
}

/// An IDX array: its dimensions and values widened to `f64`.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    /// Sizes, outermost first (for MNIST images `[count, rows, cols]`).
    pub dims: Vec<usize>,
    /// The element type.
    pub dtype: IdxType,
    /// All values in row-major order, `dims.iter().product()` of them.
    pub data: Vec<f64>,
}

/// Element type of an IDX file (the third magic byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdxType {
    /// `0x08`, unsigned byte.
    U8,
    /// `0x09`, signed byte.
    I8,
    /// `0x0B`, big-endian i16.
    I16,
    /// `0x0C`, big-endian i32.
    I32,
    /// `0x0D`, big-endian f32.
    F32,
    /// `0x0E`, big-endian f64.
    F64,
}

impl IdxType {
    fn from_code(code: u8) -> Option<IdxType> {
        Some(match code {
            0x08 => IdxType::U8,
            0x09 => IdxType::I8,
            0x0B => IdxType::I16,
            0x0C => IdxType::I32,
            0x0D => IdxType::F32,
            0x0E => IdxType::F64,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            IdxType::U8 | IdxType::I8 => 1,
            IdxType::I16 => 2,
            IdxType::I32 | IdxType::F32 => 4,
            IdxType::F64 => 8,
        }
    }

    fn name(self) -> &'static str {
        match self {
            IdxType::U8 => "u8",
            IdxType::I8 => "i8",
            IdxType::I16 => "i16",
            IdxType::I32 => "i32",
            IdxType::F32 => "f32",
            IdxType::F64 => "f64",
        }
    }

    fn decode(self, b: &[u8]) -> f64 {
        match self {
            IdxType::U8 => f64::from(b[0]),
            IdxType::I8 => f64::from(b[0] as i8),
            IdxType::I16 => f64::from(i16::from_be_bytes([b[0], b[1]])),
            IdxType::I32 => f64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            IdxType::F32 => f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            IdxType::F64 => f64::from_be_bytes(b.try_into().expect("8 bytes")),
        }
    }
}

/// Reads an images file and a labels file into a [`Dataset`] with pixels as 0..255 and
/// d = rows · cols (see [`read_idx_with`]).
///
/// # Errors
/// As [`read_idx_with`].
///
/// # Examples
/// ```
/// let ds = puma::data::idx::read_idx(
///     "fixtures/mnist10k/images-idx3-ubyte.gz",
///     "fixtures/mnist10k/labels-idx1-ubyte.gz",
/// )?;
/// assert_eq!((ds.n(), ds.d(), ds.k()), (10_000, 784, 10));
/// # Ok::<(), puma::Error>(())
/// ```
pub fn read_idx(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Dataset> {
    read_idx_with(images, labels, &IdxOptions::default())
}

/// Reads an images file (≥ 2 dimensions; row i is everything under the first index) and a
/// labels file (1 dimension, integer type), checks the counts agree, and builds a
/// [`Dataset`].
///
/// # Errors
/// [`Error::Io`] if a file cannot be read; [`Error::DataAt`] for a wrong magic number, a
/// truncated header or payload, trailing bytes, a corrupt gzip stream, an images file with
/// fewer than 2 dimensions, a labels file with other than 1, non-integer or negative labels,
/// non-finite pixels, or label and image counts that differ (reported in the labels file at
/// byte 4, its count field).
pub fn read_idx_with(
    images: impl AsRef<Path>,
    labels: impl AsRef<Path>,
    options: &IdxOptions,
) -> Result<Dataset> {
    let (images, labels) = (images.as_ref(), labels.as_ref());
    let img = read_idx_array(images)?;
    let fail = |file: &Path, offset: u64, reason: String| Error::DataAt {
        file: file.to_path_buf(),
        offset,
        reason,
    };
    if img.dims.len() < 2 {
        return Err(fail(
            images,
            3,
            format!(
                "expected an images file (at least 2 dimensions, e.g. magic 0x00000803), \
                 found {} dimension(s)",
                img.dims.len()
            ),
        ));
    }
    let lab = read_labels(labels)?;
    let n = img.dims[0];
    if lab.len() != n {
        return Err(fail(
            labels,
            4,
            format!(
                "labels file holds {} labels, but images file {} holds {n} images",
                lab.len(),
                images.display()
            ),
        ));
    }
    let d: usize = img.dims[1..].iter().product();
    let header = 4 + 4 * img.dims.len() as u64;
    if let Some(i) = img.data.iter().position(|v| !v.is_finite()) {
        return Err(fail(
            images,
            header + (i * img.dtype.size()) as u64,
            format!(
                "value {} is not finite (image {}, entry {})",
                img.data[i],
                i / d.max(1),
                i % d.max(1)
            ),
        ));
    }
    let mut x = img.data;
    if options.scale_to_unit {
        x.iter_mut().for_each(|v| *v /= 255.0);
    }
    Ok(Dataset::new(x, d, lab)?.with_source(images))
}

/// Reads an IDX labels file (1 dimension, integer type, values ≥ 0).
///
/// # Errors
/// As [`read_idx_array`], plus [`Error::DataAt`] for other than 1 dimension, a float type or
/// a negative label.
pub fn read_labels(path: impl AsRef<Path>) -> Result<Vec<usize>> {
    let path = path.as_ref();
    let arr = read_idx_array(path)?;
    let fail = |offset: u64, reason: String| Error::DataAt {
        file: path.to_path_buf(),
        offset,
        reason,
    };
    if arr.dims.len() != 1 {
        return Err(fail(
            3,
            format!(
                "expected a labels file (1 dimension, e.g. magic 0x00000801), found {} dimensions",
                arr.dims.len()
            ),
        ));
    }
    if matches!(arr.dtype, IdxType::F32 | IdxType::F64) {
        return Err(fail(
            2,
            format!("labels must be integers, found type {}", arr.dtype.name()),
        ));
    }
    arr.data
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v < 0.0 {
                Err(fail(
                    8 + (i * arr.dtype.size()) as u64,
                    format!("label {i} is {v}; labels must be non-negative"),
                ))
            } else if v > super::MAX_LABEL as f64 {
                Err(fail(
                    8 + (i * arr.dtype.size()) as u64,
                    format!(
                        "label {i} is {v}, larger than the largest supported label {}",
                        super::MAX_LABEL
                    ),
                ))
            } else {
                Ok(v as usize)
            }
        })
        .collect()
}

/// Reads any IDX file (gzipped or not) into its dimensions and `f64` values.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::DataAt`] for a corrupt gzip stream, a
/// wrong magic number (non-zero first bytes, unknown type code, zero dimensions), a header or
/// payload cut short, or bytes after the payload.
///
/// # Examples
/// ```
/// let labels = puma::data::idx::read_idx_array("fixtures/mnist10k/labels-idx1-ubyte.gz")?;
/// assert_eq!(labels.dims, vec![10_000]);
/// # Ok::<(), puma::Error>(())
/// ```
pub fn read_idx_array(path: impl AsRef<Path>) -> Result<IdxArray> {
    let path = path.as_ref();
    let raw = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    let bytes = maybe_gunzip(raw, path)?;
    parse_idx(&bytes, path)
}

/// Parses IDX bytes (already decompressed); `file` is the name errors report.
///
/// # Errors
/// As [`read_idx_array`].
pub fn parse_idx(bytes: &[u8], file: &Path) -> Result<IdxArray> {
    let fail = |offset: usize, reason: String| Error::DataAt {
        file: file.to_path_buf(),
        offset: offset as u64,
        reason,
    };
    if bytes.len() < 4 {
        return Err(fail(
            bytes.len(),
            format!(
                "file ends in the magic number: expected 4 bytes, found {}",
                bytes.len()
            ),
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(fail(
            0,
            format!(
                "bad magic {:#04x} {:#04x}: an IDX file starts with two zero bytes",
                bytes[0], bytes[1]
            ),
        ));
    }
    let dtype = IdxType::from_code(bytes[2]).ok_or_else(|| {
        fail(
            2,
            format!(
                "unknown IDX type code {:#04x} (expected 0x08 u8, 0x09 i8, 0x0b i16, 0x0c i32, \
                 0x0d f32 or 0x0e f64)",
                bytes[2]
            ),
        )
    })?;
    let m = usize::from(bytes[3]);
    if m == 0 {
        return Err(fail(3, "IDX magic declares 0 dimensions".into()));
    }
    let header = 4 + 4 * m;
    if bytes.len() < header {
        return Err(fail(
            bytes.len(),
            format!(
                "file ends in the header: expected {header} bytes for {m} dimension sizes, found {}",
                bytes.len()
            ),
        ));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let shape = dims
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(" × ");
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &s| acc.checked_mul(s))
        .and_then(|c| c.checked_mul(dtype.size()))
        .ok_or_else(|| fail(4, format!("dimensions {shape} are too large")))?;
    let payload = &bytes[header..];
    if payload.len() < count {
        return Err(fail(
            bytes.len(),
            format!(
                "file ends in the data: expected {count} bytes of {} values ({shape}), found {}",
                dtype.name(),
                payload.len()
            ),
        ));
    }
    if payload.len() > count {
        return Err(fail(
            header + count,
            format!(
                "{} unexpected bytes after the {count} bytes of data ({shape})",
                payload.len() - count
            ),
        ));
    }
    let data = payload
        .chunks_exact(dtype.size())
        .map(|b| dtype.decode(b))
        .collect();
    Ok(IdxArray { dims, dtype, data })
}

/// Decompresses `raw` if it starts with the gzip magic `1f 8b`, else returns it unchanged.
fn maybe_gunzip(raw: Vec<u8>, file: &Path) -> Result<Vec<u8>> {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let mut out = Vec::with_capacity(raw.len() * 4);
    let mut dec = flate2::read::GzDecoder::new(raw.as_slice());
    let mut buf = [0u8; 1 << 16];
    loop {
        match dec.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(k) => out.extend_from_slice(&buf[..k]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(Error::DataAt {
                    file: file.to_path_buf(),
                    offset: out.len() as u64,
                    reason: format!("gzip stream is corrupt or cut short: {e}"),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(code: u8, dims: &[u32], payload: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, code, dims.len() as u8];
        for &s in dims {
            b.extend_from_slice(&s.to_be_bytes());
        }
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn every_element_type_decodes_big_endian() {
        let p = Path::new("t");
        assert_eq!(
            parse_idx(&idx(0x08, &[2], &[0, 255]), p).unwrap().data,
            [0.0, 255.0]
        );
        assert_eq!(
            parse_idx(&idx(0x09, &[1], &[0xff]), p).unwrap().data,
            [-1.0]
        );
        assert_eq!(
            parse_idx(&idx(0x0B, &[1], &[0xff, 0xfe]), p).unwrap().data,
            [-2.0]
        );
        let i32b = (-70_000i32).to_be_bytes();
        assert_eq!(
            parse_idx(&idx(0x0C, &[1], &i32b), p).unwrap().data,
            [-70_000.0]
        );
        let f32b = 1.5f32.to_be_bytes();
        assert_eq!(parse_idx(&idx(0x0D, &[1], &f32b), p).unwrap().data, [1.5]);
        let f64b = (-0.25f64).to_be_bytes();
        let arr = parse_idx(&idx(0x0E, &[1, 1], &f64b), p).unwrap();
        assert_eq!((arr.dims, arr.data), (vec![1, 1], vec![-0.25]));
    }

    #[test]
    fn an_unknown_type_code_names_byte_two() {
        let err = parse_idx(&idx(0x07, &[1], &[0]), Path::new("t")).unwrap_err();
        assert!(matches!(err, Error::DataAt { offset: 2, .. }), "{err}");
    }

    #[test]
    fn trailing_bytes_are_rejected_where_they_start() {
        let err = parse_idx(&idx(0x08, &[2], &[1, 2, 3]), Path::new("t")).unwrap_err();
        assert!(matches!(err, Error::DataAt { offset: 10, .. }), "{err}");
    }

    #[test]
    fn gzip_is_detected_by_magic_bytes() {
        use std::io::Write;
        let plain = idx(0x08, &[3], &[7, 8, 9]);
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&plain).unwrap();
        let gz = enc.finish().unwrap();
        let out = maybe_gunzip(gz.clone(), Path::new("t")).unwrap();
        assert_eq!(out, plain);
        assert_eq!(maybe_gunzip(plain.clone(), Path::new("t")).unwrap(), plain);
        let cut = gz[..gz.len() - 6].to_vec();
        assert!(matches!(
            maybe_gunzip(cut, Path::new("t")),
            Err(Error::DataAt { .. })
        ));
    }
}
