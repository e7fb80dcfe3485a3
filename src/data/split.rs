//! Seeded shuffles and train/test splits.
//!
//! A permutation is a Fisher–Yates shuffle driven by [`ChaCha8Rng`](rand_chacha::ChaCha8Rng)
//! through this module's own rejection sampler, so a seed names one permutation for good.
//! Cost: O(n) draws.

use super::{Dataset, rng_from_seed, uniform_below};
use crate::error::{Error, Result};

/// A seeded uniformly random permutation of `0..n` (Fisher–Yates).
///
/// # Examples
/// ```
/// let p = puma::data::permutation(5, 42);
/// let mut sorted = p.clone();
/// sorted.sort();
/// assert_eq!(sorted, vec![0, 1, 2, 3, 4]);
/// assert_eq!(p, puma::data::permutation(5, 42)); // same seed, same order
/// ```
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = rng_from_seed(seed);
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = uniform_below(&mut rng, i + 1); // j uniform in 0..=i
        p.swap(i, j);
    }
    p
}

/// A train/test split that remembers which original rows went where.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// The training rows, in shuffled order.
    pub train: Dataset,
    /// The test rows, in shuffled order.
    pub test: Dataset,
    /// `train_rows[i]` is the original row of `train.row(i)`.
    pub train_rows: Vec<usize>,
    /// `test_rows[i]` is the original row of `test.row(i)`.
    pub test_rows: Vec<usize>,
}

impl Dataset {
    /// The rows in a seeded random order, and that order (`rows[i]` is the original row of
    /// the new row i).
    ///
    /// # Examples
    /// ```
    /// use puma::data::Dataset;
    /// let ds = Dataset::new(vec![0.0, 1.0, 2.0, 3.0], 1, vec![0, 1, 0, 1])?;
    /// let (shuffled, rows) = ds.shuffled(3);
    /// for (i, &r) in rows.iter().enumerate() {
    ///     assert_eq!(shuffled.row(i), ds.row(r));
    /// }
    /// # Ok::<(), puma::Error>(())
    /// ```
    pub fn shuffled(&self, seed: u64) -> (Dataset, Vec<usize>) {
        let rows = permutation(self.n(), seed);
        let ds = self
            .subset(&rows)
            .expect("a permutation of 0..n is in range");
        (ds, rows)
    }

    /// Shuffles with `seed`, then puts the first `round(test_fraction · n)` rows in the test
    /// set and the rest in the training set. Both keep this data set's K.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] if `test_fraction` is not in `(0, 1)` or either part would be
    /// empty.
    ///
    /// # Examples
    /// ```
    /// use puma::data::synthetic::two_moons;
    /// let ds = two_moons(1500, 0.2, 0)?;
    /// let split = ds.train_test_split(1.0 / 3.0, 0)?;
    /// assert_eq!((split.train.n(), split.test.n()), (1000, 500));
    /// assert_eq!(split.train.row(0), ds.row(split.train_rows[0]));
    /// # Ok::<(), puma::Error>(())
    /// ```
    pub fn train_test_split(&self, test_fraction: f64, seed: u64) -> Result<Split> {
        if !(test_fraction > 0.0 && test_fraction < 1.0) {
            return Err(Error::InvalidParam {
                name: "test_fraction",
                reason: format!("must be in (0, 1), got {test_fraction}"),
            });
        }
        let n = self.n();
        let n_test = (test_fraction * n as f64).round() as usize;
        if n_test == 0 || n_test == n {
            return Err(Error::InvalidParam {
                name: "test_fraction",
                reason: format!(
                    "{test_fraction} of {n} rows leaves {n_test} test and {} training rows; \
                     both must be non-empty",
                    n - n_test
                ),
            });
        }
        let rows = permutation(n, seed);
        let (test_rows, train_rows) = rows.split_at(n_test);
        Ok(Split {
            train: self.subset(train_rows)?,
            test: self.subset(test_rows)?,
            train_rows: train_rows.to_vec(),
            test_rows: test_rows.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reference value: if this changes, every seeded split in the project changes.
    #[test]
    fn permutation_of_ten_with_seed_42_is_fixed() {
        assert_eq!(permutation(10, 42), vec![1, 5, 9, 6, 3, 2, 0, 8, 4, 7]);
    }

    #[test]
    fn different_seeds_give_different_permutations() {
        assert_ne!(permutation(20, 1), permutation(20, 2));
    }

    #[test]
    fn every_position_is_reached_evenly() {
        // Where does element 0 land? Uniform over 4 positions across many seeds.
        let mut counts = [0usize; 4];
        for seed in 0..8000 {
            let p = permutation(4, seed);
            counts[p.iter().position(|&v| v == 0).unwrap()] += 1;
        }
        // Binomial(8000, 1/4): sd ≈ 39, so ±250 is > 6 sd.
        for c in counts {
            assert!((c as i64 - 2000).abs() < 250, "{counts:?}");
        }
    }

    #[test]
    fn a_split_partitions_the_rows() {
        let ds = Dataset::new((0..10).map(f64::from).collect(), 1, vec![0; 10]).unwrap();
        let s = ds.train_test_split(0.3, 9).unwrap();
        let mut all: Vec<usize> = s.train_rows.iter().chain(&s.test_rows).copied().collect();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!((s.train.n(), s.test.n()), (7, 3));
        assert_eq!(s.test.x()[0], s.test_rows[0] as f64);
    }

    #[test]
    fn a_split_rejects_fractions_leaving_a_part_empty() {
        let ds = Dataset::new(vec![0.0; 3], 1, vec![0; 3]).unwrap();
        for f in [0.0, 1.0, 0.1, 0.9, f64::NAN] {
            assert!(
                matches!(ds.train_test_split(f, 0), Err(Error::InvalidParam { .. })),
                "{f}"
            );
        }
    }
}
