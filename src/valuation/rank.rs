//! From ψ to what a user acts on: one value per training point, rankings, the most helpful
//! and harmful points for one test point, and detection curves (DESIGN.md §1 \[ψ\], \[remove\];
//! blog post, Figure 5).
//!
//! ```text
//! value_i = (1/n)·(1/m) Σ_v ψ_vi      predicted change of the mean of the m criterion rows
//!                                     if point i is removed (w_i: 1 → 0)        \[remove\]
//! ```
//!
//! The aggregation is the mean over criterion rows, so the value reads in the \[remove\]
//! convention for the criterion's mean: for [`MeanLoss`](crate::criteria::MeanLoss) (m = 1) it is the influence of
//! [`crate::influence`]; for [`PerSampleLoss`] it is the predicted change of the mean
//! evaluation loss. For a loss-like criterion a value < 0 means removing the point lowers
//! the loss (the point is harmful) and a value > 0 means it is helpful; ranking ascending
//! puts harmful points, mislabelled ones among them, first.
//! Cost beyond ψ: O(nm) for the values, O(n log n) for a ranking.

use super::{Psi, psi};
use crate::criteria::{LossKind, PerSampleLoss};
use crate::error::{Error, Result};
use crate::model::{Mlp, Samples};
use crate::solvers::{HessianOperator, InverseHvp};

impl Psi {
    /// value_i = (1/n)·(1/m) Σ_v ψ_vi for every training point, in order (\[remove\] for the
    /// criterion's mean).
    pub fn values(&self) -> Vec<f64> {
        let scale = 1.0 / (self.n as f64 * self.m as f64);
        (0..self.n)
            .map(|i| self.point(i).iter().sum::<f64>() * scale) // rows summed in order
            .collect()
    }
}

/// Indices 0..len sorted by `scores` ascending; ties keep index order (a stable sort on
/// `f64::total_cmp`, so the order is a pure function of the bits).
pub fn ascending(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    order
}

/// Indices sorted by `scores` descending; ties keep index order.
pub fn descending(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order
}

/// The most harmful and most helpful training points by value (\[remove\] convention for a
/// loss-like criterion).
#[derive(Clone, Debug, PartialEq)]
pub struct TopK {
    /// Up to k points with value < 0, most negative first: removing them lowers the loss.
    pub harmful: Vec<(usize, f64)>,
    /// Up to k points with value > 0, largest first: removing them raises the loss.
    pub helpful: Vec<(usize, f64)>,
}

/// The k most harmful (value < 0) and k most helpful (value > 0) points.
///
/// # Examples
/// ```
/// use puma::valuation::top_k;
/// let t = top_k(&[0.3, -0.1, 0.0, -0.5, 0.2], 2);
/// assert_eq!(t.harmful, vec![(3, -0.5), (1, -0.1)]);
/// assert_eq!(t.helpful, vec![(0, 0.3), (4, 0.2)]);
/// ```
pub fn top_k(values: &[f64], k: usize) -> TopK {
    let order = ascending(values);
    let harmful = order
        .iter()
        .take(k)
        .filter(|&&i| values[i] < 0.0)
        .map(|&i| (i, values[i]))
        .collect();
    let helpful = order
        .iter()
        .rev()
        .take(k)
        .filter(|&&i| values[i] > 0.0)
        .map(|&i| (i, values[i]))
        .collect();
    TopK { harmful, helpful }
}

/// The value of every training point for the cross-entropy of the single evaluation row
/// `index` of `eval`: (1/n) g_iᵀ H_ρ⁻¹ ∇CE(z_index) (\[remove\], one solve), and its top k.
///
/// # Errors
/// [`Error::IndexOutOfRange`] for `index ≥ eval.n()`; as [`psi`].
#[allow(clippy::too_many_arguments)]
pub fn top_k_for_test_point(
    mlp: &Mlp,
    theta: &[f64],
    train: &Samples,
    eval: &Samples,
    index: usize,
    k: usize,
    solver: &mut dyn InverseHvp,
    op: &dyn HessianOperator,
) -> Result<(Vec<f64>, TopK)> {
    if index >= eval.n() {
        return Err(Error::IndexOutOfRange {
            what: "test point",
            index,
            len: eval.n(),
        });
    }
    let row = eval.rows(index..index + 1);
    let c = PerSampleLoss::new(row, LossKind::CrossEntropy)?;
    let values = psi(&c, mlp, theta, train, solver, op)?.values(); // (1/n) ψ_i
    let top = top_k(&values, k);
    Ok((values, top))
}

/// The fraction of known bad points found against the fraction of the data inspected, in
/// a given inspection order (blog post, Figure 5).
#[derive(Clone, Debug, PartialEq)]
pub struct DetectionCurve {
    /// What ordered the points (e.g. `"self-influence"`).
    pub name: String,
    /// `found[k]` = (bad points among the first k inspected) / (bad points), k = 0..=n.
    pub found: Vec<f64>,
}

impl DetectionCurve {
    /// The curve of inspection order `order` (a permutation of 0..n) against the bad set.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] for an index ≥ n in either list; [`Error::InvalidParam`]
    /// for an empty bad set or an order that is not a permutation.
    pub fn new(name: impl Into<String>, order: &[usize], bad: &[usize]) -> Result<Self> {
        let n = order.len();
        let mut is_bad = vec![false; n];
        for &b in bad {
            if b >= n {
                return Err(Error::IndexOutOfRange {
                    what: "bad point",
                    index: b,
                    len: n,
                });
            }
            is_bad[b] = true;
        }
        let n_bad = is_bad.iter().filter(|&&b| b).count();
        if n_bad == 0 {
            return Err(Error::InvalidParam {
                name: "bad",
                reason: "a detection curve needs at least one bad point".into(),
            });
        }
        let mut seen = vec![false; n];
        let mut found = Vec::with_capacity(n + 1);
        let mut hits = 0usize;
        found.push(0.0);
        for &i in order {
            if i >= n {
                return Err(Error::IndexOutOfRange {
                    what: "inspection order",
                    index: i,
                    len: n,
                });
            }
            if std::mem::replace(&mut seen[i], true) {
                return Err(Error::InvalidParam {
                    name: "order",
                    reason: format!("point {i} appears twice: not a permutation"),
                });
            }
            hits += usize::from(is_bad[i]);
            found.push(hits as f64 / n_bad as f64);
        }
        Ok(DetectionCurve {
            name: name.into(),
            found,
        })
    }

    /// The fraction of bad points found after inspecting ⌈fraction·n⌉ points.
    pub fn found_at(&self, fraction: f64) -> f64 {
        let n = self.found.len() - 1;
        let k = ((fraction.clamp(0.0, 1.0) * n as f64).ceil() as usize).min(n);
        self.found[k]
    }

    /// The area under the curve (trapezoids over k/n), 0.5 for a random order on average.
    pub fn area(&self) -> f64 {
        let n = (self.found.len() - 1).max(1) as f64;
        self.found.windows(2).map(|w| 0.5 * (w[0] + w[1]) / n).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_curve_counts_bad_points_in_order() {
        let c = DetectionCurve::new("t", &[3, 0, 1, 2], &[3, 1]).unwrap();
        assert_eq!(c.found, vec![0.0, 0.5, 0.5, 1.0, 1.0]);
        assert_eq!(
            (c.found_at(0.25), c.found_at(0.5), c.found_at(0.6)),
            (0.5, 0.5, 1.0)
        );
        assert!(matches!(
            DetectionCurve::new("t", &[0, 0], &[1]),
            Err(Error::InvalidParam { name: "order", .. })
        ));
        assert!(matches!(
            DetectionCurve::new("t", &[0, 1], &[2]),
            Err(Error::IndexOutOfRange { index: 2, .. })
        ));
    }

    #[test]
    fn rankings_are_stable_on_ties() {
        assert_eq!(ascending(&[1.0, 0.0, 1.0, 0.0]), vec![1, 3, 0, 2]);
        assert_eq!(descending(&[1.0, 0.0, 1.0, 0.0]), vec![0, 2, 1, 3]);
    }
}
