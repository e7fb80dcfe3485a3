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
