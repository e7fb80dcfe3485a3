//! Shared helpers for the level-3 tests: seeded integer-valued matrices in every layout.
//!
//! Entries are small integers, so every product, sum and β-scaling in these tests is exact
//! in f64 and results can be compared with `assert_eq!` (bit for bit, including -0.0 = 0.0).
#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A generator whose algorithm is fixed, so inputs never change with dependency upgrades.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `len` integers drawn uniformly from `lo..=hi`, as f64.
pub fn ints(rng: &mut ChaCha8Rng, len: usize, lo: i32, hi: i32) -> Vec<f64> {
    (0..len).map(|_| rng.random_range(lo..=hi) as f64).collect()
}

/// How a matrix is laid out in its slice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// `rs = cols, cs = 1`.
    RowMajor,
    /// `rs = cols + 3, cs = 1`: three unused elements after each row.
    RowPadded,
    /// `rs = 1, cs = rows`.
    ColMajor,
    /// `rs = 1, cs = rows + 2`.
    ColPadded,
    /// `rs = 2·cols + 1, cs = 2`: no unit stride at all.
    General,
}

/// Every layout.
pub const KINDS: [Kind; 5] = [
    Kind::RowMajor,
    Kind::RowPadded,
    Kind::ColMajor,
    Kind::ColPadded,
    Kind::General,
];

/// A `rows × cols` matrix at `data[i·rs + j·cs]`; every other element of `data` is `gap`.
#[derive(Debug, Clone)]
pub struct Strided {
    pub data: Vec<f64>,
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl Strided {
    /// A matrix of the given layout with entries from `values` (row by row) and `gap` elsewhere.
    pub fn new(rows: usize, cols: usize, kind: Kind, values: &[f64], gap: f64) -> Self {
        let (rs, cs) = match kind {
            Kind::RowMajor => (cols, 1),
            Kind::RowPadded => (cols + 3, 1),
            Kind::ColMajor => (1, rows),
            Kind::ColPadded => (1, rows + 2),
            Kind::General => (2 * cols + 1, 2),
        };
        let len = if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * rs + (cols - 1) * cs + 1
        };
        let mut m = Strided {
            data: vec![gap; len + 1],
            rows,
            cols,
            rs,
            cs,
        }; // + 1: a gap past the end
        for i in 0..rows {
            for j in 0..cols {
                m.data[i * rs + j * cs] = values[i * cols + j];
            }
        }
        m
    }

    /// Random integers in `-4..=4`, `gap` elsewhere.
    pub fn random(rng: &mut ChaCha8Rng, rows: usize, cols: usize, kind: Kind, gap: f64) -> Self {
        let v = ints(rng, rows * cols, -4, 4);
        Self::new(rows, cols, kind, &v, gap)
    }

    /// Whether every element outside the matrix still holds the bits of `gap`.
    pub fn gaps_hold(&self, gap: f64) -> bool {
        let mut inside = vec![false; self.data.len()];
        for i in 0..self.rows {
            for j in 0..self.cols {
                inside[i * self.rs + j * self.cs] = true;
            }
        }
        self.data
            .iter()
            .zip(&inside)
            .all(|(x, &ins)| ins || x.to_bits() == gap.to_bits())
    }
}

/// Row-major n × n with lda ≥ n: a symmetric positive definite matrix with integer entries
/// (BᵀB + n·I for B with entries in -3..=3) in the `lower` or upper triangle and `junk` in
/// the other, plus the dense symmetric matrix itself.
pub fn spd(
    rng: &mut ChaCha8Rng,
    n: usize,
    lda: usize,
    lower: bool,
    junk: f64,
) -> (Vec<f64>, Vec<f64>) {
    let b = ints(rng, n * n, -3, 3);
    let mut dense = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            dense[i * n + j] = (0..n).map(|p| b[p * n + i] * b[p * n + j]).sum::<f64>()
                + if i == j { n as f64 } else { 0.0 };
        }
    }
    let mut a = vec![junk; n * lda.max(1)];
    for i in 0..n {
        for j in 0..n {
            if (lower && j <= i) || (!lower && j >= i) {
                a[i * lda + j] = dense[i * n + j];
            }
        }
    }
    (a, dense)
}
