//! Every malformed input is an error that names the file and the place (line and column for
//! text, byte offset for binary) and says what was expected; no input makes a reader panic.
//! NPY has no fixture, so the NPY files here are written byte by byte, one per dtype.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use puma::Error;
use puma::data::{csv, idx, indices, npy};

/// A directory under the system temp dir, unique per process and call, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let k = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("puma-readers-{}-{tag}-{k}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Asserts a text error at `line:column` whose reason contains `needle`, and that its message
/// starts with `file:line:column:`.
#[track_caller]
fn assert_text_error(err: Error, file: &Path, line: usize, column: usize, needle: &str) {
    let msg = err.to_string();
    match &err {
        Error::Data {
            file: f,
            line: l,
            column: c,
            reason,
        } => {
            assert_eq!((f.as_path(), *l, *c), (file, line, column), "{msg}");
            assert!(reason.contains(needle), "`{needle}` not in: {msg}");
        }
        other => panic!("expected Error::Data, got {other:?}"),
    }
    let place = format!("{}:{line}:{column}: ", file.display());
    assert!(msg.starts_with(&place), "{msg}");
}

/// Asserts a binary error at byte `offset` whose reason contains `needle`, and that its
/// message starts with `file: at byte offset:`.
#[track_caller]
fn assert_binary_error(err: Error, file: &Path, offset: u64, needle: &str) {
    let msg = err.to_string();
    match &err {
        Error::DataAt {
            file: f,
            offset: o,
            reason,
        } => {
            assert_eq!((f.as_path(), *o), (file, offset), "{msg}");
            assert!(reason.contains(needle), "`{needle}` not in: {msg}");
        }
        other => panic!("expected Error::DataAt, got {other:?}"),
    }
    let place = format!("{}: at byte {offset}: ", file.display());
    assert!(msg.starts_with(&place), "{msg}");
}

fn csv_err(text: &str) -> (Error, PathBuf, TempDir) {
    let dir = TempDir::new("csv");
    let p = dir.file("data.csv", text.as_bytes());
    (csv::read_csv(&p).unwrap_err(), p, dir)
}

// ---- CSV ----

#[test]
fn csv_non_numeric_field_names_line_column_and_feature() {
    let (err, p, _d) = csv_err("a,b,label\n1,2,0\n3,abc,1\n");
    assert_text_error(
        err,
        &p,
        3,
        2,
        "expected a number for feature `b`, found `abc`",
    );
}

#[test]
fn csv_empty_field_is_not_a_number() {
    let (err, p, _d) = csv_err("a,b,label\n1,,0\n");
    assert_text_error(err, &p, 2, 2, "found an empty field");
}

#[test]
fn csv_short_row_names_the_first_missing_column() {
    let (err, p, _d) = csv_err("a,b,label\n1,2,0\n3,1\n");
    assert_text_error(err, &p, 3, 3, "row has 2 fields, but the header has 3");
}

#[test]
fn csv_long_row_names_the_first_extra_column() {
    let (err, p, _d) = csv_err("a,label\n1,0,9\n");
    assert_text_error(err, &p, 2, 3, "row has 3 fields, but the header has 2");
}

#[test]
fn csv_nan_feature_is_rejected() {
    let (err, p, _d) = csv_err("a,b,label\n1,2,0\n3,NaN,1\n");
    assert_text_error(err, &p, 3, 2, "feature `b` is NaN");
}

#[test]
fn csv_infinite_feature_is_rejected() {
    let (err, p, _d) = csv_err("a,label\n-inf,0\n");
    assert_text_error(err, &p, 2, 1, "feature `a` is -inf");
    let (err, p, _d) = csv_err("a,label\n1e400,0\n");
    assert_text_error(err, &p, 2, 1, "must be finite");
}

#[test]
fn csv_missing_label_column_is_reported_at_the_header() {
    let (err, p, _d) = csv_err("a,b,Label\n1,2,0\n");
    assert_text_error(
        err,
        &p,
        1,
        0,
        "no `label` column in the header (columns: a, b, Label)",
    );
}

#[test]
fn csv_negative_label_is_rejected() {
    let (err, p, _d) = csv_err("a,label\n1,0\n2,-1\n");
    assert_text_error(err, &p, 3, 2, "label `-1` is negative");
}

#[test]
fn csv_non_integer_label_is_rejected() {
    let (err, p, _d) = csv_err("label,a\n1.5,0\n");
    assert_text_error(err, &p, 2, 1, "label `1.5` is not an integer");
    let (err, p, _d) = csv_err("label,a\ncat,0\n");
    assert_text_error(err, &p, 2, 1, "label `cat` is not an integer");
}

#[test]
fn csv_absurdly_large_label_is_rejected() {
    let (err, p, _d) = csv_err("label,a\n99999999999,0\n");
    assert_text_error(err, &p, 2, 1, "larger than the largest supported label");
}

#[test]
fn csv_empty_file_is_rejected() {
    let (err, p, _d) = csv_err("");
    assert_text_error(err, &p, 1, 0, "empty file");
}

#[test]
fn csv_header_only_is_rejected() {
    let (err, p, _d) = csv_err("a,b,label\n");
    assert_text_error(err, &p, 2, 0, "no data rows after the header");
}

#[test]
fn csv_missing_file_is_an_io_error_naming_it() {
    let err = csv::read_csv("/nonexistent/puma/data.csv").unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("/nonexistent/puma/data.csv: "),
        "{err}"
    );
}

// ---- index files ----

#[test]
fn index_file_errors_name_the_line() {
    let dir = TempDir::new("idxfile");
    let p = dir.file("marked.txt", b"3\n1\n7\n");
    assert_text_error(
        indices::read_indices(&p, 5).unwrap_err(),
        &p,
        3,
        1,
        "row index 7 is out of range for 5 rows (valid: 0..=4)",
    );
    let p = dir.file("dup.txt", b"3\n1\n\n3\n");
    assert_text_error(
        indices::read_indices(&p, 5).unwrap_err(),
        &p,
        4,
        1,
        "row index 3 is listed twice (first on line 1)",
    );
    let p = dir.file("junk.txt", b"0\n  two\n");
    assert_text_error(
        indices::read_indices(&p, 5).unwrap_err(),
        &p,
        2,
        3,
        "expected a 0-based row index, found `two`",
    );
    let p = dir.file("neg.txt", b"-2\n");
    assert_text_error(
        indices::read_indices(&p, 5).unwrap_err(),
        &p,
        1,
        1,
        "negative",
    );
}

// ---- IDX ----

fn idx_bytes(code: u8, dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, code, dims.len() as u8];
    for &s in dims {
        b.extend_from_slice(&s.to_be_bytes());
    }
    b.extend_from_slice(payload);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn idx_small_files_read_plain_and_gzipped() {
    let dir = TempDir::new("idxok");
    let images = idx_bytes(0x08, &[3, 2, 2], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
    let labels = idx_bytes(0x08, &[3], &[2, 0, 1]);
    for (name, img, lab) in [
        ("plain", images.clone(), labels.clone()),
        ("gz", gzip(&images), gzip(&labels)),
    ] {
        let i = dir.file(&format!("{name}-images"), &img);
        let l = dir.file(&format!("{name}-labels"), &lab);
        let ds = idx::read_idx(&i, &l).unwrap();
        assert_eq!((ds.n(), ds.d(), ds.k()), (3, 4, 3));
        assert_eq!(ds.row(2), &[8.0, 9.0, 10.0, 255.0]);
        assert_eq!(ds.labels(), &[2, 0, 1]);
    }
}

#[test]
fn idx_truncated_header_names_where_the_file_ends() {
    let dir = TempDir::new("idxhdr");
    let bytes = idx_bytes(0x08, &[10, 28, 28], &[])[..10].to_vec();
    let p = dir.file("images", &bytes);
    assert_binary_error(
        idx::read_idx_array(&p).unwrap_err(),
        &p,
        10,
        "file ends in the header: expected 16 bytes",
    );
    let p = dir.file("tiny", &[0, 0]);
    assert_binary_error(idx::read_idx_array(&p).unwrap_err(), &p, 2, "magic number");
}

#[test]
fn idx_truncated_payload_names_where_the_file_ends() {
    let dir = TempDir::new("idxdata");
    let bytes = idx_bytes(0x08, &[2, 2, 2], &[1, 2, 3, 4, 5]);
    let p = dir.file("images", &bytes);
    assert_binary_error(
        idx::read_idx_array(&p).unwrap_err(),
        &p,
        21,
        "file ends in the data: expected 8 bytes of u8 values (2 × 2 × 2), found 5",
    );
    // Gzipped: the offset is in the decompressed stream.
    let p = dir.file("images.gz", &gzip(&bytes));
    assert_binary_error(
        idx::read_idx_array(&p).unwrap_err(),
        &p,
        21,
        "file ends in the data",
    );
}

#[test]
fn idx_cut_gzip_stream_is_rejected() {
    let dir = TempDir::new("idxgz");
    let gz = gzip(&idx_bytes(0x08, &[4000], &vec![7; 4000]));
    let p = dir.file("labels.gz", &gz[..gz.len() / 2]);
    let err = idx::read_idx_array(&p).unwrap_err();
    assert!(matches!(err, Error::DataAt { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("gzip stream is corrupt or cut short"),
        "{err}"
    );
}

#[test]
fn idx_wrong_magic_is_rejected_at_byte_zero() {
    let dir = TempDir::new("idxmagic");
    let p = dir.file("images", b"P5\n28 28\n255\n");
    assert_binary_error(
        idx::read_idx_array(&p).unwrap_err(),
        &p,
        0,
        "bad magic 0x50 0x35: an IDX file starts with two zero bytes",
    );
    let p = dir.file("odd-type", &idx_bytes(0x0A, &[1], &[0]));
    assert_binary_error(
        idx::read_idx_array(&p).unwrap_err(),
        &p,
        2,
        "unknown IDX type code 0x0a",
    );
}

#[test]
fn idx_labels_file_given_as_images_is_rejected() {
    let dir = TempDir::new("idxswap");
    let labels = dir.file("labels", &idx_bytes(0x08, &[2], &[0, 1]));
    let err = idx::read_idx(&labels, &labels).unwrap_err();
    assert_binary_error(err, &labels, 3, "expected an images file");
    let images = dir.file("images", &idx_bytes(0x08, &[2, 1, 1], &[0, 1]));
    let err = idx::read_idx(&images, &images).unwrap_err();
    assert_binary_error(err, &images, 3, "expected a labels file");
}

#[test]
fn idx_image_and_label_counts_must_agree() {
    let dir = TempDir::new("idxcount");
    let images = dir.file("images", &idx_bytes(0x08, &[3, 1, 2], &[0; 6]));
    let labels = dir.file("labels", &idx_bytes(0x08, &[2], &[0, 1]));
    let err = idx::read_idx(&images, &labels).unwrap_err();
    let needle = format!(
        "labels file holds 2 labels, but images file {} holds 3 images",
        images.display()
    );
    assert_binary_error(err, &labels, 4, &needle);
}

// ---- NPY ----

/// An NPY file: magic, version, header dict padded with spaces to a multiple of 64 bytes and
/// ended by a newline (as NumPy writes it), then `data`.
fn npy_bytes(major: u8, descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let fortran = if fortran { "True" } else { "False" };
    let mut dict =
        format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}");
    let prefix = if major == 1 { 10 } else { 12 };
    while (prefix + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut b = b"\x93NUMPY".to_vec();
    b.extend_from_slice(&[major, 0]);
    if major == 1 {
        b.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    } else {
        b.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    }
    b.extend_from_slice(dict.as_bytes());
    b.extend_from_slice(data);
    b
}

/// Byte offset of the first occurrence of `needle` in `bytes`.
fn offset_of(bytes: &[u8], needle: &[u8]) -> u64 {
    bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle present") as u64
}

/// Values 0, 1, 5, 100 (and −3 for signed types) in each dtype and byte order.
#[test]
fn npy_every_supported_dtype_reads_in_both_byte_orders() {
    let dir = TempDir::new("npydtypes");
    macro_rules! case {
        ($t:ty, $code:expr, $values:expr) => {{
            let values: Vec<$t> = $values;
            for (order, big) in [('<', false), ('>', true)] {
                let mut data = Vec::new();
                for v in &values {
                    if big {
                        data.extend_from_slice(&v.to_be_bytes());
                    } else {
                        data.extend_from_slice(&v.to_le_bytes());
                    }
                }
                let descr = format!(
                    "{}{}",
                    if std::mem::size_of::<$t>() == 1 {
                        '|'
                    } else {
                        order
                    },
                    $code
                );
                let shape = format!("({},)", values.len());
                let p = dir.file(
                    &format!("{}.npy", descr.replace(['<', '>', '|'], "x")),
                    &npy_bytes(1, &descr, false, &shape, &data),
                );
                let arr = npy::read_npy(&p).unwrap_or_else(|e| panic!("{descr}: {e}"));
                let expect: Vec<f64> = values.iter().map(|&v| v as f64).collect();
                assert_eq!(arr.data, expect, "{descr}");
                assert_eq!(arr.shape, vec![values.len()]);
            }
        }};
    }
    case!(f64, "f8", vec![0.0, 1.0, 5.5, -100.25]);
    case!(f32, "f4", vec![0.0, 1.0, 5.5, -100.25]);
    case!(i64, "i8", vec![0, 1, 5, -3, i64::from(i32::MAX) + 7]);
    case!(i32, "i4", vec![0, 1, 5, -3, 100_000]);
    case!(i16, "i2", vec![0, 1, 5, -3, 30_000]);
    case!(i8, "i1", vec![0, 1, 5, -3, -128]);
    case!(u8, "u1", vec![0, 1, 5, 255]);
    case!(u16, "u2", vec![0, 1, 5, 65_535]);
    case!(u32, "u4", vec![0, 1, 5, 4_000_000_000]);
    case!(u64, "u8", vec![0, 1, 5, 1 << 40]);
    let p = dir.file("bool.npy", &npy_bytes(1, "|b1", false, "(3,)", &[1, 0, 1]));
    assert_eq!(npy::read_npy(&p).unwrap().data, [1.0, 0.0, 1.0]);
}

#[test]
fn npy_versions_1_2_3_and_a_dataset_from_two_files() {
    let dir = TempDir::new("npyds");
    let x: Vec<u8> = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    for major in [1, 2, 3] {
        let xs = dir.file(
            &format!("x{major}.npy"),
            &npy_bytes(major, "<f8", false, "(3, 2)", &x),
        );
        let ys = dir.file(
            &format!("y{major}.npy"),
            &npy_bytes(
                major,
                "<i8",
                false,
                "(3,)",
                &[
                    2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
                ],
            ),
        );
        let ds = npy::read_npy_dataset(&xs, &ys).unwrap();
        assert_eq!((ds.n(), ds.d(), ds.k()), (3, 2, 3), "v{major}");
        assert_eq!(ds.row(1), &[3.0, 4.0]);
        assert_eq!(ds.labels(), &[2, 0, 1]);
    }
    // Labels as (n, 1) floats with integral values, and a 1-D feature array.
    let xs = dir.file(
        "x1d.npy",
        &npy_bytes(1, "<f4", false, "(2,)", &[0, 0, 128, 63, 0, 0, 0, 64]),
    );
    let ys = dir.file(
        "ycol.npy",
        &npy_bytes(
            1,
            "<f8",
            false,
            "(2, 1)",
            &[1.0f64, 0.0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<_>>(),
        ),
    );
    let ds = npy::read_npy_dataset(&xs, &ys).unwrap();
    assert_eq!((ds.x(), ds.labels()), (&[1.0, 2.0][..], &[1, 0][..]));
}

#[test]
fn npy_unsupported_dtype_names_the_descr_offset() {
    let dir = TempDir::new("npydtype");
    for descr in ["<c16", "|O", "<U5", "<f2", "|S3", "<M8[ns]"] {
        let bytes = npy_bytes(1, descr, false, "(1,)", &[0; 16]);
        let p = dir.file("x.npy", &bytes);
        // The value's quote opens right after "{'descr': " at byte 10 + 10.
        assert_binary_error(
            npy::read_npy(&p).unwrap_err(),
            &p,
            20,
            &format!("unsupported dtype '{descr}'"),
        );
    }
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    let dict = "{'descr': [('a', '<f8'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }\n";
    bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    bytes.extend_from_slice(dict.as_bytes());
    let p = dir.file("rec.npy", &bytes);
    assert_binary_error(npy::read_npy(&p).unwrap_err(), &p, 20, "structured dtypes");
}

#[test]
fn npy_fortran_order_is_rejected_at_its_value() {
    let dir = TempDir::new("npyfortran");
    let bytes = npy_bytes(1, "<f8", true, "(2, 2)", &[0; 32]);
    let p = dir.file("x.npy", &bytes);
    let at = 10 + "{'descr': '<f8', 'fortran_order': ".len() as u64;
    assert_binary_error(
        npy::read_npy(&p).unwrap_err(),
        &p,
        at,
        "fortran_order is True",
    );
}

#[test]
fn npy_truncated_data_names_where_the_file_ends() {
    let dir = TempDir::new("npydata");
    let bytes = npy_bytes(1, "<f8", false, "(2, 3)", &[0; 40]);
    let p = dir.file("x.npy", &bytes);
    assert_binary_error(
        npy::read_npy(&p).unwrap_err(),
        &p,
        bytes.len() as u64,
        "file ends in the data: shape (2, 3) of 8-byte values needs 48 bytes, found 40",
    );
    let mut long = npy_bytes(1, "<f8", false, "(1,)", &[0; 8]);
    long.push(0);
    let p = dir.file("long.npy", &long);
    assert_binary_error(
        npy::read_npy(&p).unwrap_err(),
        &p,
        (long.len() - 1) as u64, // the header is padded to 128 bytes, then 8 bytes of data
        "1 unexpected bytes after",
    );
}

#[test]
fn npy_truncated_header_names_where_the_file_ends() {
    let dir = TempDir::new("npyhdr");
    let bytes = npy_bytes(1, "<f8", false, "(2,)", &[0; 16]);
    let p = dir.file("x.npy", &bytes[..40]);
    assert_binary_error(
        npy::read_npy(&p).unwrap_err(),
        &p,
        40,
        "file ends in the header",
    );
    let p = dir.file("y.npy", &bytes[..9]);
    assert_binary_error(
        npy::read_npy(&p).unwrap_err(),
        &p,
        9,
        "file ends in the header length",
    );
}

#[test]
fn npy_bad_magic_is_rejected_at_byte_zero() {
    let dir = TempDir::new("npymagic");
    let p = dir.file("x.npy", b"PK\x03\x04 this is a zip (an .npz?)");
    assert_binary_error(
        npy::read_npy(&p).unwrap_err(),
        &p,
        0,
        "bad magic: expected \\x93NUMPY, found 50 4b 03 04 20 74 ...",
    );
    let p = dir.file("empty.npy", b"");
    assert_binary_error(npy::read_npy(&p).unwrap_err(), &p, 0, "found an empty file");
}

#[test]
fn npy_bad_header_is_rejected_where_it_goes_wrong() {
    let dir = TempDir::new("npybadhdr");
    let mut v9 = npy_bytes(1, "<f8", false, "(1,)", &[0; 8]);
    v9[6] = 9;
    let p = dir.file("v9.npy", &v9);
    assert_binary_error(
        npy::read_npy(&p).unwrap_err(),
        &p,
        6,
        "unsupported NPY format version 9.0",
    );

    let raw = |dict: &str| {
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        b.extend_from_slice(dict.as_bytes());
        b
    };
    let p = dir.file("list.npy", &raw("['<f8', False, (1,)]\n"));
    assert_binary_error(npy::read_npy(&p).unwrap_err(), &p, 10, "not a dict literal");
    let p = dir.file("nokey.npy", &raw("{'descr': '<f8', 'shape': (1,), }\n"));
    assert_binary_error(
        npy::read_npy(&p).unwrap_err(),
        &p,
        10,
        "no 'fortran_order' key",
    );
    let extra = raw("{'descr': '<f8', 'fortran_order': False, 'shape': (0,), 'x': 'y'}");
    let p = dir.file("extra.npy", &extra);
    let at = offset_of(&extra, b"'x'");
    assert_binary_error(
        npy::read_npy(&p).unwrap_err(),
        &p,
        at,
        "unexpected header key 'x'",
    );
    let bytes = npy_bytes(1, "<f8", false, "(1, 1, 1)", &[0; 8]);
    let p = dir.file("3d.npy", &bytes);
    let at = offset_of(&bytes, b"(1, 1, 1)");
    assert_binary_error(npy::read_npy(&p).unwrap_err(), &p, at, "has 3 dimensions");
    let bytes = npy_bytes(1, "<f8", false, "()", &[0; 8]);
    let p = dir.file("0d.npy", &bytes);
    let at = offset_of(&bytes, b"()");
    assert_binary_error(npy::read_npy(&p).unwrap_err(), &p, at, "has 0 dimensions");
}

#[test]
fn npy_non_finite_feature_names_its_byte_row_and_column() {
    let dir = TempDir::new("npynan");
    let x: Vec<u8> = [1.0f64, 2.0, f64::NAN, 4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let bytes = npy_bytes(1, "<f8", false, "(2, 2)", &x);
    let header = bytes.len() - 32;
    let p = dir.file("x.npy", &bytes);
    let y = dir.file("y.npy", &npy_bytes(1, "|u1", false, "(2,)", &[0, 1]));
    assert_binary_error(
        npy::read_npy_dataset(&p, &y).unwrap_err(),
        &p,
        (header + 16) as u64,
        "row 1, column 0 is NaN",
    );
}

#[test]
fn npy_bad_labels_are_rejected() {
    let dir = TempDir::new("npylabels");
    let x = dir.file("x.npy", &npy_bytes(1, "|u1", false, "(3,)", &[1, 2, 3]));
    let bytes = npy_bytes(1, "|u1", false, "(2,)", &[0, 1]);
    let y = dir.file("short.npy", &bytes);
    let needle = format!(
        "labels file holds 2 labels, but features file {} holds 3 rows",
        x.display()
    );
    let at = offset_of(&bytes, b"(2,)");
    assert_binary_error(npy::read_npy_dataset(&x, &y).unwrap_err(), &y, at, &needle);
    let bytes = npy_bytes(1, "|i1", false, "(3,)", &[0, 0xff, 1]);
    let y = dir.file("neg.npy", &bytes);
    assert_binary_error(
        npy::read_npy_labels(&y).unwrap_err(),
        &y,
        (bytes.len() - 3 + 1) as u64, // element 1 of 3 one-byte labels at the end
        "label 1 is -1",
    );
    let half: Vec<u8> = [0.0f64, 0.5].iter().flat_map(|v| v.to_le_bytes()).collect();
    let bytes = npy_bytes(1, "<f8", false, "(2,)", &half);
    let y = dir.file("half.npy", &bytes);
    assert_binary_error(
        npy::read_npy_labels(&y).unwrap_err(),
        &y,
        (bytes.len() - 8) as u64, // element 1 of 2 eight-byte labels at the end
        "not an integer",
    );
    let bytes = npy_bytes(1, "|u1", false, "(2, 2)", &[0; 4]);
    let y = dir.file("wide.npy", &bytes);
    let at = offset_of(&bytes, b"(2, 2)");
    assert_binary_error(
        npy::read_npy_labels(&y).unwrap_err(),
        &y,
        at,
        "1-D or (n, 1)",
    );
}

// ---- no panics ----

/// Seeded random corruptions of valid files: every reader returns, `Ok` or `Err`, and never
/// panics (a panic fails the test).
#[test]
fn corrupted_files_never_make_a_reader_panic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2024);
    let x: Vec<u8> = (0..12).flat_map(|v| f64::from(v).to_le_bytes()).collect();
    let npy_ok = npy_bytes(1, "<f8", false, "(4, 3)", &x);
    let idx_ok = idx_bytes(0x08, &[2, 2, 3], &[1; 12]);
    let csv_ok = b"a,\"b\",label\n1,2,0\n3.5,-4e2,1\n".to_vec();
    let f = Path::new("fuzz");
    for _ in 0..3000 {
        for (kind, ok) in [(0, &npy_ok), (1, &idx_ok), (2, &csv_ok)] {
            let mut b = ok.clone();
            match rng.random_range(0..3) {
                0 => {
                    let i = rng.random_range(0..b.len());
                    b[i] = rng.random();
                }
                1 => b.truncate(rng.random_range(0..b.len())),
                _ => {
                    let i = rng.random_range(0..b.len());
                    b.insert(i, rng.random());
                }
            }
            let _ = match kind {
                0 => npy::parse_npy(&b, f).map(|_| ()),
                1 => idx::parse_idx(&b, f).map(|_| ()),
                _ => csv::parse_csv(b.as_slice(), f).map(|_| ()),
            };
            let _ = indices::parse_indices(&String::from_utf8_lossy(&b), f, 10);
        }
    }
}
