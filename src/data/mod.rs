//! Data sets: a labelled feature matrix, readers for CSV, IDX and NPY files, index files of
//! marked rows, and seeded synthetic generators.
//!
//! A [`Dataset`] holds n rows of d features as one row-major `n × d` matrix of `f64`, and one
//! class label in `0..K` per row (DESIGN.md §4: rows are 0-based in file order, header
//! excluded). No transform is applied on reading; [`Dataset::standardise_in_place`] is explicit
//! and returns the [`Scaler`] (per-feature mean and scale) so the same transform can be
//! stored and re-applied to other data.
//!
//! | format | reader | errors name |
//! |---|---|---|
//! | CSV with header and a `label` column | [`csv::read_csv`] | line and column ([`Error::Data`](crate::Error::Data)) |
//! | IDX images + labels, gzipped or not | [`idx::read_idx`] | byte offset ([`Error::DataAt`](crate::Error::DataAt)) |
//! | NPY features + NPY labels | [`npy::read_npy_dataset`] | byte offset ([`Error::DataAt`](crate::Error::DataAt)) |
//! | one 0-based row index per line | [`indices::read_indices`] | line and column ([`Error::Data`](crate::Error::Data)) |
//!
//! [`read_dataset`] tells CSV, IDX and NPY apart by the file name and calls the right reader.
//!
//! Randomness (shuffles, splits, generators, label flips) is seeded and drawn from
//! [`rand_chacha::ChaCha8Rng`], whose output is fixed by its algorithm; integer draws use the
//! rejection sampler in this module rather than `rand`'s range sampling, so a seed gives the
//! same permutation whatever the `rand` version.
//!
//! ```
//! use puma::data::Dataset;
//!
//! // Four points in the plane, two classes.
//! let ds = Dataset::new(vec![0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0], 2, vec![0, 0, 1, 1])?;
//! assert_eq!((ds.n(), ds.d(), ds.k()), (4, 2, 2));
//! assert_eq!(ds.row(2), &[0.0, 1.0]);
//! assert_eq!(ds.label_counts(), vec![2, 2]);
//! # Ok::<(), puma::Error>(())
//! ```

pub mod csv;
pub mod idx;
pub mod indices;
pub mod npy;
pub mod synthetic;

mod dataset;
mod load;
mod split;

pub use dataset::{Dataset, Scaler};
pub use load::{Format, read_dataset};
pub use split::{Split, permutation};

use rand::RngCore;
use rand_chacha::ChaCha8Rng;

/// Largest class label any reader accepts, so that K stays a plausible number of classes
/// (a stray `1e12` in a label column is an error, not a request for 10¹² classes).
pub const MAX_LABEL: usize = 1 << 20;

/// A ChaCha8 generator seeded from `seed` (the one seeding convention used throughout puma).
pub(crate) fn rng_from_seed(seed: u64) -> ChaCha8Rng {
    use rand::SeedableRng;
    ChaCha8Rng::seed_from_u64(seed)
}

/// A uniform integer in `0..n` by rejection sampling on 64-bit draws.
///
/// Draws `x` until `x < zone`, where `zone` is the largest multiple of `n` not above
/// 2⁶⁴, then returns `x mod n`: exactly uniform, and fixed by this code alone.
///
/// # Panics
/// If `n == 0`.
#[track_caller]
pub(crate) fn uniform_below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    assert!(n > 0, "uniform_below: empty range");
    let n = n as u64;
    let zone = u64::MAX - (u64::MAX - n + 1) % n; // values above `zone` would bias `x mod n`
    loop {
        let x = rng.next_u64();
        if x <= zone {
            return (x % n) as usize;
        }
    }
}

/// A uniform `f64` in `[0, 1)` from the top 53 bits of one 64-bit draw.
pub(crate) fn uniform01(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_below_covers_the_range_evenly() {
        let mut rng = rng_from_seed(7);
        let mut counts = [0usize; 5];
        for _ in 0..50_000 {
            counts[uniform_below(&mut rng, 5)] += 1;
        }
        // Each count is Binomial(50000, 0.2): sd ≈ 89, so ±600 is > 6 sd.
        for c in counts {
            assert!((c as i64 - 10_000).abs() < 600, "{counts:?}");
        }
    }

    #[test]
    fn uniform01_is_in_the_unit_interval() {
        let mut rng = rng_from_seed(1);
        for _ in 0..10_000 {
            let u = uniform01(&mut rng);
            assert!((0.0..1.0).contains(&u));
        }
    }
}
