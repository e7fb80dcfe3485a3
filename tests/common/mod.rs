//! Shared test helpers: fixture paths, CSV fixtures as plain vectors, summary.json, splits.
#![allow(dead_code)]

use std::path::PathBuf;

/// `fixtures/<rel>` in this repository.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// A data set read from a CSV: features row-major, d, labels.
pub struct Table {
    pub x: Vec<f64>,
    pub d: usize,
    pub y: Vec<usize>,
}

/// Reads a CSV with a header, numeric feature columns and an integer `label` column
/// (through `puma::data::csv`).
pub fn read_csv(rel: &str) -> Table {
    let ds = puma::data::csv::read_csv(fixture(rel)).expect("fixture readable");
    let d = ds.d();
    let (x, y) = ds.into_parts();
    Table { x, d, y }
}

/// The reference problem's entry of fixtures/reference/summary.json.
pub fn summary(problem: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("reference/summary.json")).unwrap();
    let all: serde_json::Value = serde_json::from_str(&text).unwrap();
    all[problem].clone()
}

/// ‖v‖∞.
pub fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Splits rows 0..n into (train, test) index lists by a seeded shuffle.
pub fn split(n: usize, test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    let n_test = (n as f64 * test_fraction).round() as usize;
    let test = idx[..n_test].to_vec();
    (idx[n_test..].to_vec(), test)
}

/// The rows `idx` of a table.
pub fn take(t: &Table, idx: &[usize]) -> Table {
    let mut x = Vec::with_capacity(idx.len() * t.d);
    for &i in idx {
        x.extend_from_slice(&t.x[i * t.d..(i + 1) * t.d]);
    }
    Table {
        x,
        d: t.d,
        y: idx.iter().map(|&i| t.y[i]).collect(),
    }
}

/// Runs the `puma` binary with `args` (progress bars off), whatever the outcome.
pub fn puma<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_puma"))
        .args(args)
        .env("PUMA_PROGRESS", "0")
        .output()
        .expect("run the puma binary")
}

/// [`puma`], asserting that it succeeded (its stderr in the message if not).
pub fn puma_ok<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S]) -> std::process::Output {
    let out = puma(args);
    assert!(
        out.status.success(),
        "puma {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `fixtures/reference/moons_mlp/<file>` as a command-line argument.
pub fn moons(file: &str) -> String {
    fixture(&format!("reference/moons_mlp/{file}"))
        .display()
        .to_string()
}

/// `fixtures/reference/digits_logreg/<file>` as a command-line argument.
pub fn digits(file: &str) -> String {
    fixture(&format!("reference/digits_logreg/{file}"))
        .display()
        .to_string()
}

/// A fresh empty directory `name` under the target's temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
