//! The [`Dataset`] type and per-feature standardisation ([`Scaler`]).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A labelled data set: n rows of d features (row-major `n × d`, `f64`) and a class label in
/// `0..K` for each row.
///
/// Invariants, checked by every constructor: `x.len() == n · d`, `labels.len() == n`, every
/// feature is finite and every label is below `K`. K is `max label + 1` unless given with
/// [`Dataset::with_classes`] (a split may lack the last class and still needs the full K).
///
/// # Examples
/// ```
/// use puma::data::Dataset;
///
/// let ds = Dataset::new(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, vec![1, 0])?
///     .with_classes(3)?
///     .with_feature_names(vec!["a".into(), "b".into(), "c".into()])?;
/// assert_eq!((ds.n(), ds.d(), ds.k()), (2, 3, 3));
/// assert_eq!(ds.row(1), &[4.0, 5.0, 6.0]);
/// assert_eq!(ds.label_counts(), vec![1, 1, 0]);
/// # Ok::<(), puma::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    x: Vec<f64>,
    labels: Vec<usize>,
    d: usize,
    k: usize,
    feature_names: Option<Vec<String>>,
    source: Option<PathBuf>,
}

impl Dataset {
    /// A data set from a row-major feature matrix with `d` columns and one label per row.
    ///
    /// n is `labels.len()`, K is `max label + 1` (0 for an empty set).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `x.len() != labels.len() · d`; [`Error::NonFinite`] if a
    /// feature is NaN or ±inf.
    ///
    /// # Examples
    /// ```
    /// use puma::data::Dataset;
    /// assert!(Dataset::new(vec![0.0; 5], 2, vec![0, 1]).is_err()); // 5 ≠ 2 · 2
    /// ```
    pub fn new(x: Vec<f64>, d: usize, labels: Vec<usize>) -> Result<Self> {
        let n = labels.len();
        let expected = n.checked_mul(d).ok_or(Error::InvalidParam {
            name: "d",
            reason: format!("n · d overflows for n = {n}, d = {d}"),
        })?;
        if x.len() != expected {
            return Err(Error::ShapeMismatch {
                what: "feature matrix length vs n · d",
                expected,
                found: x.len(),
            });
        }
        if let Some(index) = x.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "feature matrix",
                index,
                value: x[index],
            });
        }
        let k = labels.iter().max().map_or(0, |&m| m + 1);
        Ok(Dataset {
            x,
            labels,
            d,
            k,
            feature_names: None,
            source: None,
        })
    }

    /// The same data set with the number of classes set to `k`.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] if a label is `≥ k`.
    pub fn with_classes(mut self, k: usize) -> Result<Self> {
        if let Some(&m) = self.labels.iter().max().filter(|&&m| m >= k) {
            return Err(Error::InvalidParam {
                name: "k",
                reason: format!("k = {k} classes, but the data hold label {m}"),
            });
        }
        self.k = k;
        Ok(self)
    }

    /// The same data set with one name per feature column.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `names.len() != d`.
    pub fn with_feature_names(mut self, names: Vec<String>) -> Result<Self> {
        if names.len() != self.d {
            return Err(Error::ShapeMismatch {
                what: "feature names vs d",
                expected: self.d,
                found: names.len(),
            });
        }
        self.feature_names = Some(names);
        Ok(self)
    }

    /// The same data set, recording the file it was read from.
    pub fn with_source(mut self, path: impl Into<PathBuf>) -> Self {
        self.source = Some(path.into());
        self
    }

    /// Number of rows n.
    pub fn n(&self) -> usize {
        self.labels.len()
    }

    /// Number of features d.
    pub fn d(&self) -> usize {
        self.d
    }

    /// Number of classes K.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The feature matrix, row-major `n × d`.
    pub fn x(&self) -> &[f64] {
        &self.x
    }

    /// The labels, one per row, each in `0..K`.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// Row `i` of the feature matrix (d values).
    ///
    /// # Panics
    /// If `i >= n`.
    #[track_caller]
    pub fn row(&self, i: usize) -> &[f64] {
        assert!(i < self.n(), "row {i} out of range for {} rows", self.n());
        &self.x[i * self.d..(i + 1) * self.d]
    }

    /// Feature names (for example from a CSV header), if known.
    pub fn feature_names(&self) -> Option<&[String]> {
        self.feature_names.as_deref()
    }

    /// The file the data were read from, if any.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// How many rows carry each label: a vector of length K.
    pub fn label_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.k];
        for &y in &self.labels {
            counts[y] += 1;
        }
        counts
    }

    /// Per-feature `(min, max)` over all rows: a vector of length d (empty ranges are
    /// `(+inf, -inf)` when n = 0).
    pub fn feature_ranges(&self) -> Vec<(f64, f64)> {
        let mut ranges = vec![(f64::INFINITY, f64::NEG_INFINITY); self.d];
        for row in self.x.chunks_exact(self.d.max(1)).take(self.n()) {
            for (r, &v) in ranges.iter_mut().zip(row) {
                r.0 = r.0.min(v);
                r.1 = r.1.max(v);
            }
        }
        ranges
    }

    /// The rows at `indices`, in that order (repeats allowed), with the same K, names and
    /// source.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] if an index is `≥ n`.
    ///
    /// # Examples
    /// ```
    /// use puma::data::Dataset;
    /// let ds = Dataset::new(vec![0.0, 1.0, 2.0], 1, vec![0, 1, 2])?;
    /// let sub = ds.subset(&[2, 0])?;
    /// assert_eq!((sub.x(), sub.labels(), sub.k()), (&[2.0, 0.0][..], &[2, 0][..], 3));
    /// assert!(ds.subset(&[3]).is_err());
    /// # Ok::<(), puma::Error>(())
    /// ```
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset> {
        let n = self.n();
        let mut x = Vec::with_capacity(indices.len() * self.d);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            if i >= n {
                return Err(Error::IndexOutOfRange {
                    what: "dataset row",
                    index: i,
                    len: n,
                });
            }
            x.extend_from_slice(self.row(i));
            labels.push(self.labels[i]);
        }
        Ok(Dataset {
            x,
            labels,
            d: self.d,
            k: self.k,
            feature_names: self.feature_names.clone(),
            source: self.source.clone(),
        })
    }

    /// Flips a `fraction` of the labels in place, each to a different class drawn uniformly,
    /// and returns the flipped rows in increasing order (see
    /// [`synthetic::flip_labels_in_place`](crate::data::synthetic::flip_labels_in_place)).
    ///
    /// # Errors
    /// [`Error::InvalidParam`] if `fraction` is outside `[0, 1]` or K < 2.
    pub fn flip_labels_in_place(&mut self, fraction: f64, seed: u64) -> Result<Vec<usize>> {
        crate::data::synthetic::flip_labels_in_place(&mut self.labels, self.k, fraction, seed)
    }

    /// Standardises every feature in place, `x ← (x − mean) / scale`, with the mean and
    /// population standard deviation of this data set, and returns them.
    ///
    /// A constant feature gets scale 1 (it becomes 0), as scikit-learn's `StandardScaler`.
    ///
    /// # Examples
    /// ```
    /// use puma::data::Dataset;
    /// let mut ds = Dataset::new(vec![1.0, 5.0, 3.0, 5.0], 2, vec![0, 1])?;
    /// let scaler = ds.standardise_in_place();
    /// assert_eq!((scaler.mean.as_slice(), scaler.scale.as_slice()), (&[2.0, 5.0][..], &[1.0, 1.0][..]));
    /// assert_eq!(ds.x(), &[-1.0, 0.0, 1.0, 0.0]);
    /// # Ok::<(), puma::Error>(())
    /// ```
    pub fn standardise_in_place(&mut self) -> Scaler {
        let scaler = Scaler::fit(self);
        scaler.apply_to_rows(&mut self.x);
        scaler
    }

    /// Features and labels by value: `(x, labels)`.
    pub fn into_parts(self) -> (Vec<f64>, Vec<usize>) {
        (self.x, self.labels)
    }
}

/// A per-feature affine transform `x ← (x − mean) / scale`, fitted on one data set and
/// re-applied to others (test data, data scored by a saved model).
#[derive(Debug, Clone, PartialEq)]
pub struct Scaler {
    /// Per-feature mean (length d).
    pub mean: Vec<f64>,
    /// Per-feature scale, the population standard deviation or 1 for a constant feature
    /// (length d, every entry > 0).
    pub scale: Vec<f64>,
}

impl Scaler {
    /// A scaler from stored values (for example a model file's metadata).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the lengths differ; [`Error::InvalidParam`] if a mean is
    /// not finite or a scale is not finite and positive.
    ///
    /// # Examples
    /// ```
    /// use puma::data::{Dataset, Scaler};
    /// let s = Scaler::new(vec![1.0], vec![2.0])?;
    /// let mut ds = Dataset::new(vec![5.0], 1, vec![0])?;
    /// s.apply_in_place(&mut ds)?;
    /// assert_eq!(ds.x(), &[2.0]);
    /// assert!(Scaler::new(vec![0.0], vec![0.0]).is_err());
    /// # Ok::<(), puma::Error>(())
    /// ```
    pub fn new(mean: Vec<f64>, scale: Vec<f64>) -> Result<Scaler> {
        if mean.len() != scale.len() {
            return Err(Error::ShapeMismatch {
                what: "scaler scale vs mean length",
                expected: mean.len(),
                found: scale.len(),
            });
        }
        if let Some((j, m)) = mean.iter().enumerate().find(|(_, m)| !m.is_finite()) {
            return Err(Error::InvalidParam {
                name: "mean",
                reason: format!("mean of feature {j} is {m}; it must be finite"),
            });
        }
        if let Some((j, s)) = scale
            .iter()
            .enumerate()
            .find(|(_, s)| !(s.is_finite() && **s > 0.0))
        {
            return Err(Error::InvalidParam {
                name: "scale",
                reason: format!("scale of feature {j} is {s}; it must be finite and > 0"),
            });
        }
        Ok(Scaler { mean, scale })
    }

    /// Mean and population standard deviation of each feature of `ds` (two passes, so the
    /// variance does not suffer the cancellation of `E[x²] − E[x]²`). Cost: O(n·d).
    pub fn fit(ds: &Dataset) -> Scaler {
        let (n, d) = (ds.n(), ds.d());
        let mut mean = vec![0.0; d];
        let mut var = vec![0.0; d];
        if n == 0 {
            return Scaler {
                mean,
                scale: vec![1.0; d],
            };
        }
        for i in 0..n {
            for (m, &v) in mean.iter_mut().zip(ds.row(i)) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        for i in 0..n {
            for ((s, &m), &v) in var.iter_mut().zip(&mean).zip(ds.row(i)) {
                *s += (v - m) * (v - m);
            }
        }
        let scale = var
            .iter()
            .zip(&mean)
            .map(|(&s, &m)| {
                let sd = (s / n as f64).sqrt();
                // Constant up to rounding: treat as constant (after scikit-learn).
                if sd <= 10.0 * f64::EPSILON * m.abs().max(f64::MIN_POSITIVE) {
                    1.0
                } else {
                    sd
                }
            })
            .collect();
        Scaler { mean, scale }
    }

    /// Applies the transform to every row of `ds`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `ds.d()` differs from the fitted d.
    pub fn apply_in_place(&self, ds: &mut Dataset) -> Result<()> {
        if ds.d != self.mean.len() {
            return Err(Error::ShapeMismatch {
                what: "features vs scaler length",
                expected: self.mean.len(),
                found: ds.d,
            });
        }
        self.apply_to_rows(&mut ds.x);
        Ok(())
    }

    fn apply_to_rows(&self, x: &mut [f64]) {
        if self.mean.is_empty() {
            return;
        }
        for row in x.chunks_exact_mut(self.mean.len()) {
            for ((v, &m), &s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = (*v - m) / s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_rejects_non_finite_features_by_index() {
        let err = Dataset::new(vec![0.0, f64::NAN], 1, vec![0, 0]).unwrap_err();
        assert!(matches!(err, Error::NonFinite { index: 1, .. }), "{err}");
    }

    #[test]
    fn with_classes_rejects_a_label_at_or_above_k() {
        let ds = Dataset::new(vec![0.0, 0.0], 1, vec![0, 2]).unwrap();
        assert!(ds.clone().with_classes(2).is_err());
        assert_eq!(
            ds.with_classes(5).unwrap().label_counts(),
            vec![1, 0, 1, 0, 0]
        );
    }

    #[test]
    fn standardised_columns_have_mean_zero_and_unit_variance() {
        let x: Vec<f64> = (0..30).map(|i| ((i * 7) % 11) as f64 * 1.5 + 3.0).collect();
        let mut ds = Dataset::new(x, 3, vec![0; 10]).unwrap();
        ds.standardise_in_place();
        let tol = 64.0 * f64::EPSILON; // a few roundings per entry, 10 rows
        for j in 0..3 {
            let col: Vec<f64> = (0..10).map(|i| ds.row(i)[j]).collect();
            let mean = col.iter().sum::<f64>() / 10.0;
            let var = col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 10.0;
            assert!(
                mean.abs() < tol && (var - 1.0).abs() < tol,
                "col {j}: {mean} {var}"
            );
        }
    }

    #[test]
    fn a_constant_feature_gets_scale_one() {
        let mut ds = Dataset::new(vec![0.1, 1.0, 0.1, 2.0, 0.1, 3.0], 2, vec![0; 3]).unwrap();
        let s = ds.standardise_in_place();
        assert_eq!(s.scale[0], 1.0);
        assert!(ds.row(0)[0].abs() < 1e-15); // 0.1 − mean(0.1, 0.1, 0.1): rounding only
    }

    #[test]
    fn a_fitted_scaler_reapplies_to_other_data() {
        let mut train = Dataset::new(vec![0.0, 2.0, 4.0], 1, vec![0; 3]).unwrap();
        let s = train.standardise_in_place();
        let mut test = Dataset::new(vec![2.0, 6.0], 1, vec![0; 2]).unwrap();
        s.apply_in_place(&mut test).unwrap();
        let sd = (8.0f64 / 3.0).sqrt();
        assert_eq!(test.x(), &[0.0, 4.0 / sd]);
        let mut wide = Dataset::new(vec![0.0; 2], 2, vec![0]).unwrap();
        assert!(matches!(
            s.apply_in_place(&mut wide),
            Err(Error::ShapeMismatch { .. })
        ));
    }

    #[test]
    fn feature_ranges_are_per_column() {
        let ds = Dataset::new(vec![1.0, -1.0, 3.0, 0.0, 2.0, 5.0], 2, vec![0; 3]).unwrap();
        assert_eq!(ds.feature_ranges(), vec![(1.0, 3.0), (-1.0, 5.0)]);
    }
}
