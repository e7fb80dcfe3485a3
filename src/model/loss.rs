//! The training data a loss is evaluated on, and per-sample losses from logits.
//!
//! [`Samples`] is a borrowed view of n rows: features X (n × d, row-major), integer labels
//! y_i ∈ {0, …, K−1} and optional sample weights w_i of \[J\] (DESIGN.md §1):
//!
//! ```text
//! J_w(θ) = (1/n) Σ_i w_i CE(z_i(θ), y_i) + (μ/2)‖θ‖²,     CE(z, y) = log Σ_j e^{z_j} − z_y,
//! ```
//!
//! with the divisor n whatever the weights (removing point i is w_i = 0).

use std::ops::Range;

use crate::autodiff::Mat;
use crate::autodiff::op::{cross_entropy_from, softmax_rows};
use crate::data::Dataset;
use crate::error::{Error, Result};

/// A borrowed view of n samples: features, labels and optional weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Samples<'a> {
    /// Features, `n × d` row-major.
    pub x: &'a [f64],
    /// Number of features d.
    pub d: usize,
    /// Labels, one per row, in 0..K.
    pub y: &'a [usize],
    /// Sample weights w_i of \[J\], one per row; `None` means all 1.
    pub w: Option<&'a [f64]>,
}

impl<'a> Samples<'a> {
    /// The view of `y.len()` rows of `d` features each, with unit weights.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `x.len() != y.len() · d`.
    pub fn new(x: &'a [f64], d: usize, y: &'a [usize]) -> Result<Self> {
        if x.len() != y.len() * d {
            return Err(Error::ShapeMismatch {
                what: "feature entries vs labels × features",
                expected: y.len() * d,
                found: x.len(),
            });
        }
        Ok(Samples { x, d, y, w: None })
    }

    /// The rows of a [`Dataset`] with unit weights.
    ///
    /// # Examples
    /// ```
    /// use puma::data::Dataset;
    /// use puma::model::Samples;
    /// let ds = Dataset::new(vec![0.0, 1.0, 2.0, 3.0], 2, vec![0, 1]).unwrap();
    /// assert_eq!(Samples::of(&ds).n(), 2);
    /// ```
    pub fn of(ds: &'a Dataset) -> Self {
        Samples {
            x: ds.x(),
            d: ds.d(),
            y: ds.labels(),
            w: None,
        }
    }

    /// The same samples with sample weights w (one per row, finite).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `w.len() != n`; [`Error::NonFinite`] for a NaN or ±∞ weight.
    pub fn with_weights(self, w: &'a [f64]) -> Result<Self> {
        if w.len() != self.n() {
            return Err(Error::ShapeMismatch {
                what: "sample weights vs samples",
                expected: self.n(),
                found: w.len(),
            });
        }
        if let Some(index) = w.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "sample weights",
                index,
                value: w[index],
            });
        }
        Ok(Samples { w: Some(w), ..self })
    }

    /// Number of samples n.
    pub fn n(&self) -> usize {
        self.y.len()
    }

    /// The rows `r` as their own view (weights kept).
    pub fn rows(&self, r: Range<usize>) -> Samples<'a> {
        Samples {
            x: &self.x[r.start * self.d..r.end * self.d],
            d: self.d,
            y: &self.y[r.clone()],
            w: self.w.map(|w| &w[r]),
        }
    }
}

/// Per-sample softmax cross-entropy CE_i = log Σ_j e^{z_ij} − z_{i,y_i} of logits Z (n × K),
/// stable for any logits (log-sum-exp shifted by the row maximum).
///
/// # Panics
/// If `y.len() != Z.rows` or a label is ≥ K.
#[track_caller]
pub fn cross_entropy_rows(z: &Mat, y: &[usize]) -> Vec<f64> {
    assert_eq!(y.len(), z.rows, "cross_entropy_rows: one label per row");
    let (_, shift) = softmax_rows(z);
    y.iter()
        .enumerate()
        .map(|(i, &yi)| cross_entropy_from(shift[i], z.get(i, yi)))
        .collect()
}

/// The predicted class of each row of Z: argmax_j z_ij (the first one on ties).
pub fn argmax_rows(z: &Mat) -> Vec<usize> {
    (0..z.rows)
        .map(|i| {
            let row = z.row(i);
            let mut best = 0;
            for (j, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = j;
                }
            }
            best
        })
        .collect()
}

/// Unweighted quality of a model on samples: what summary.json reports.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// (1/n) Σ_i CE_i, without weights or weight decay.
    pub mean_loss: f64,
    /// Fraction of rows whose argmax logit is the label, in [0, 1].
    pub accuracy: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_entropy_is_stable_and_exact_on_simple_logits() {
        // Two equal logits: CE = log 2, whatever their size.
        let z = Mat::from_vec(2, 2, vec![0.0, 0.0, 800.0, 800.0]);
        let ce = cross_entropy_rows(&z, &[0, 1]);
        assert!((ce[0] - 2f64.ln()).abs() < 1e-15 && (ce[1] - 2f64.ln()).abs() < 1e-15);
        assert_eq!(
            argmax_rows(&Mat::from_vec(1, 3, vec![1.0, 3.0, 3.0])),
            vec![1]
        );
    }

    #[test]
    fn samples_check_their_shapes_and_weights() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = [0, 1];
        assert!(Samples::new(&x, 3, &y).is_err());
        let s = Samples::new(&x, 2, &y).unwrap();
        assert!(matches!(
            s.with_weights(&[1.0]),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            s.with_weights(&[1.0, f64::NAN]),
            Err(Error::NonFinite { index: 1, .. })
        ));
        let r = s.with_weights(&[0.5, 2.0]).unwrap().rows(1..2);
        assert_eq!((r.x, r.y, r.w), (&x[2..], &y[1..], Some(&[2.0][..])));
    }
}
