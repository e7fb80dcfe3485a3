//! `puma info` prints n, d, K and label counts for a fixture, and on a malformed file prints
//! one error line naming the place and exits non-zero, without a panic.

mod common;

use common::puma;

use std::path::{Path, PathBuf};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn info_on_digits_csv_prints_sizes_and_label_counts() {
    let out =
        puma::<&std::ffi::OsStr>(&["info".as_ref(), fixture("digits/digits.csv").as_os_str()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for needle in [
        "(CSV)",
        "rows      n = 1797",
        "features  d = 64",
        "classes   K = 10",
        "      0       178  (9.9%)",
        "      8       174  (9.7%)",
        "all features 0 .. 16",
        "  p0   0 .. 0",
        "... 44 more (--all shows every feature)",
    ] {
        assert!(stdout.contains(needle), "`{needle}` not in:\n{stdout}");
    }
}

#[test]
fn info_on_mnist_idx_reads_images_with_labels() {
    let out = puma::<&std::ffi::OsStr>(&[
        "info".as_ref(),
        fixture("mnist10k/images-idx3-ubyte.gz").as_os_str(),
        "--labels".as_ref(),
        fixture("mnist10k/labels-idx1-ubyte.gz").as_os_str(),
        "--all".as_ref(),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("rows      n = 10000"), "{stdout}");
    assert!(stdout.contains("features  d = 784"), "{stdout}");
    assert!(stdout.contains("      5       863  (8.6%)"), "{stdout}");
    assert!(stdout.contains("all features 0 .. 255"), "{stdout}");
    assert!(
        stdout.contains("  x783  "),
        "--all prints the last feature:\n{stdout}"
    );
}

#[test]
fn info_on_a_malformed_csv_prints_one_error_line_and_fails() {
    let path = std::env::temp_dir().join(format!("puma-cli-info-{}.csv", std::process::id()));
    std::fs::write(&path, "x0,x1,label\n0.5,1,0\n0.25,oops,1\n").unwrap();
    let out = puma::<&std::ffi::OsStr>(&["info".as_ref(), path.as_os_str()]);
    let _ = std::fs::remove_file(&path);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    let expected = format!(
        "puma: error: {}:3:2: expected a number for feature `x1`, found `oops`\n",
        path.display()
    );
    assert_eq!(stderr, expected);
}

#[test]
fn info_without_labels_for_idx_or_on_an_unknown_name_explains_itself() {
    let out = puma::<&std::ffi::OsStr>(&[
        "info".as_ref(),
        fixture("mnist10k/images-idx3-ubyte.gz").as_os_str(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("needs a separate labels file; give the labels file with --labels FILE"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let out = puma::<&std::ffi::OsStr>(&["info".as_ref(), fixture("PROVENANCE.md").as_os_str()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("cannot tell the format"), "{stderr}");

    let out = puma::<&std::ffi::OsStr>(&["info".as_ref(), "/nonexistent/x.csv".as_ref()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.starts_with("puma: error: /nonexistent/x.csv: "),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn info_help_shows_a_worked_example() {
    let out = puma::<&std::ffi::OsStr>(&["info".as_ref(), "--help".as_ref()]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("puma info fixtures/digits/digits.csv"),
        "{stdout}"
    );
    assert!(stdout.contains("--labels <FILE>"), "{stdout}");
    let out = puma::<&std::ffi::OsStr>(&["--help".as_ref()]);
    assert!(text(&out.stdout).contains("info"));
}

/// A v1 NPY file of little-endian f64 values with the given shape.
fn npy_f64(shape: &str, values: &[f64]) -> Vec<u8> {
    let mut dict = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    b.extend_from_slice(dict.as_bytes());
    b.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    b
}

#[test]
fn info_on_npy_reads_features_with_or_without_labels() {
    let dir = std::env::temp_dir().join(format!("puma-cli-npy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let x = dir.join("x.npy");
    let y = dir.join("y.dat"); // an unusual name: --format is not needed for --labels
    std::fs::write(&x, npy_f64("(3, 2)", &[0.5, -1.0, 2.0, 3.0, 4.0, 5.0])).unwrap();
    std::fs::write(&y, npy_f64("(3,)", &[1.0, 0.0, 1.0])).unwrap();

    let with = puma::<&std::ffi::OsStr>(&[
        "info".as_ref(),
        x.as_os_str(),
        "--labels".as_ref(),
        y.as_os_str(),
    ]);
    let without = puma::<&std::ffi::OsStr>(&["info".as_ref(), x.as_os_str()]);
    let renamed = dir.join("features.bin");
    std::fs::copy(&x, &renamed).unwrap();
    let forced = puma::<&std::ffi::OsStr>(&[
        "info".as_ref(),
        renamed.as_os_str(),
        "--format".as_ref(),
        "npy".as_ref(),
    ]);
    let _ = std::fs::remove_dir_all(&dir);

    let stdout = text(&with.stdout);
    assert!(with.status.success(), "{}", text(&with.stderr));
    assert!(
        stdout.contains("(NPY)") && stdout.contains("classes   K = 2"),
        "{stdout}"
    );
    assert!(stdout.contains("      1         2  (66.7%)"), "{stdout}");
    assert!(stdout.contains("  x1  -1 .. 5"), "{stdout}");

    let stdout = text(&without.stdout);
    assert!(without.status.success(), "{}", text(&without.stderr));
    assert!(
        stdout.contains("(NPY, features only)") && stdout.contains("rows      n = 3"),
        "{stdout}"
    );
    assert!(!stdout.contains("classes"), "{stdout}");

    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert!(text(&forced.stdout).contains("features  d = 2"));
}
