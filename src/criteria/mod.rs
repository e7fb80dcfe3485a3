//! Criteria C(θ) ∈ R^m whose change under the removal of training points puma predicts
//! (DESIGN.md §1 \[C\]), each with its Jacobian rows J_C.
//!
//! ```text
//! C(θ)   = (C_1(θ), …, C_m(θ))           one entry per criterion row
//! J_Cᵀ   = (∇_θ C_1, …, ∇_θ C_m)          p × m, the right-hand sides of S = H_ρ⁻¹ J_Cᵀ  \[ψ\]
//! ```
//!
//! Built in: [`PerSampleLoss`] (one row per evaluation sample, cross-entropy or Brier),
//! [`MeanLoss`] (one row: the mean over the evaluation set), [`ClassLoss`] (one row per
//! class: that class's mean loss) and [`SoftEce`] (one row: the soft calibration error
//! \[ece\]); [`hard_ece`] is the ordinary 15-bin ECE, a reported metric rather than a
//! criterion. A user adds a criterion by implementing [`Criterion`]; the valuation and the
//! patch only call its methods.

mod class_loss;
mod ece;

pub use class_loss::ClassLoss;
pub use ece::{
    ECE_BINS, ECE_EPS, ECE_TAU, Reliability, ReliabilityBin, SoftEce, hard_ece, hard_ece_from,
    soft_ece_and_grad,
};

use rayon::prelude::*;

use crate::autodiff::{Mat, Tape, Var, value_and_grad};
use crate::error::{Error, Result};
use crate::model::{Mlp, Samples};

/// A differentiable criterion C(θ) ∈ R^m evaluated at the parameters of an [`Mlp`] \[C\].
///
/// # Examples
/// A user-defined criterion: the mean logit of class 0 on a fixed point.
/// ```
/// use puma::autodiff::{Mat, Tape, value_and_grad};
/// use puma::criteria::Criterion;
/// use puma::model::Mlp;
///
/// struct Logit0(Vec<f64>);
/// impl Criterion for Logit0 {
///     fn name(&self) -> String { "logit0".into() }
///     fn len(&self) -> usize { 1 }
///     fn values(&self, mlp: &Mlp, theta: &[f64]) -> puma::Result<Vec<f64>> {
///         Ok(vec![mlp.logits(theta, &self.0).get(0, 0)])
///     }
///     fn jacobian_t(&self, mlp: &Mlp, theta: &[f64]) -> puma::Result<Vec<f64>> {
///         let x = self.0.clone();
///         let (_, g) = value_and_grad(|t: &mut Tape, th| {
///             let xv = t.constant(Mat::from_vec(1, x.len(), x));
///             let z = mlp.logits_on(t, th, xv);
///             let z0 = t.slice(z, 0, 1, 1);
///             t.sum(z0)
///         }, theta);
///         Ok(g)
///     }
///     fn loss_like(&self) -> bool { false }
/// }
/// let mlp = Mlp::new(&[2, 2], puma::autodiff::Activation::Tanh, 0.0).unwrap();
/// let theta = mlp.init(0);
/// let c = Logit0(vec![1.0, 2.0]);
/// assert_eq!(c.jacobian_t(&mlp, &theta).unwrap().len(), mlp.n_params());
/// ```
pub trait Criterion: Sync {
    /// A short name for reports, e.g. `"ce[eval]"`.
    fn name(&self) -> String;

    /// m, the number of criterion rows.
    fn len(&self) -> usize;

    /// Whether the criterion has no rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// C(θ), m entries.
    ///
    /// # Errors
    /// Shape or label mismatches between the model and the criterion's data.
    fn values(&self, mlp: &Mlp, theta: &[f64]) -> Result<Vec<f64>>;

    /// J_Cᵀ as a p × m row-major matrix: column v is ∇_θ C_v(θ).
    ///
    /// # Errors
    /// As [`values`](Self::values).
    fn jacobian_t(&self, mlp: &Mlp, theta: &[f64]) -> Result<Vec<f64>>;

    /// Whether lower is better (a loss), which one-sided compensation \[eq9\] relies on.
    fn loss_like(&self) -> bool {
        true
    }
}

/// The per-sample loss a loss criterion uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossKind {
    /// Softmax cross-entropy CE(z, y) = log Σ_j e^{z_j} − z_y.
    CrossEntropy,
    /// Brier score Σ_j (softmax(z)_j − 1[j = y])².
    Brier,
}

impl LossKind {
    /// `"ce"` or `"brier"`.
    pub fn name(self) -> &'static str {
        match self {
            LossKind::CrossEntropy => "ce",
            LossKind::Brier => "brier",
        }
    }

    /// Records the per-sample losses of `s` (an n × 1 column) on a tape.
    fn record(self, mlp: &Mlp, tape: &mut Tape, theta: Var, s: &Samples) -> Var {
        let x = tape.constant(Mat::from_vec(s.n(), s.d, s.x.to_vec()));
        let z = mlp.logits_on(tape, theta, x);
        match self {
            LossKind::CrossEntropy => tape.softmax_cross_entropy(z, s.y),
            LossKind::Brier => tape.brier(z, s.y),
        }
    }

    /// The per-sample losses of `s` at θ (sample weights ignored).
    fn per_sample(self, mlp: &Mlp, theta: &[f64], s: &Samples) -> Result<Vec<f64>> {
        mlp.check(theta, s)?;
        let mut tape = Tape::new();
        let th = tape.constant(Mat::column(theta));
        let l = self.record(mlp, &mut tape, th, s);
        Ok(tape.value(l).data.clone())
    }
}

/// One criterion row per evaluation sample: C_v(θ) = ℓ(z_v(θ), y_v) \[C\].
///
/// With this criterion ψ_i holds point i's predicted effect on every evaluation sample, so
/// \[eq9\] is a regression with one equation per guarded sample (DESIGN.md §1).
#[derive(Clone, Copy, Debug)]
pub struct PerSampleLoss<'a> {
    eval: Samples<'a>,
    kind: LossKind,
}

impl<'a> PerSampleLoss<'a> {
    /// The per-sample `kind` loss on the evaluation samples `eval` (weights ignored).
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for an empty evaluation set.
    pub fn new(eval: Samples<'a>, kind: LossKind) -> Result<Self> {
        nonempty(&eval)?;
        Ok(PerSampleLoss { eval, kind })
    }
}

impl Criterion for PerSampleLoss<'_> {
    fn name(&self) -> String {
        format!("{}[per-sample, {}]", self.kind.name(), self.eval.n())
    }

    fn len(&self) -> usize {
        self.eval.n()
    }

    fn values(&self, mlp: &Mlp, theta: &[f64]) -> Result<Vec<f64>> {
        self.kind.per_sample(mlp, theta, &self.eval)
    }

    /// Column v = ∇_θ ℓ(z_v, y_v), one small reverse pass per sample (O(p) each, in
    /// parallel, results placed by index so the thread count does not matter).
    fn jacobian_t(&self, mlp: &Mlp, theta: &[f64]) -> Result<Vec<f64>> {
        mlp.check(theta, &self.eval)?;
        let m = self.eval.n();
        let cols: Vec<Vec<f64>> = (0..m)
            .into_par_iter()
            .map(|v| {
                let row = self.eval.rows(v..v + 1);
                value_and_grad(
                    |tape, th| {
                        let l = self.kind.record(mlp, tape, th, &row);
                        tape.sum(l)
                    },
                    theta,
                )
                .1
            })
            .collect();
        Ok(transpose_columns(&cols, mlp.n_params()))
    }
}

/// One criterion row: the mean loss (1/t) Σ_v ℓ(z_v, y_v) over the evaluation set \[C\].
#[derive(Clone, Copy, Debug)]
pub struct MeanLoss<'a> {
    eval: Samples<'a>,
    kind: LossKind,
}

impl<'a> MeanLoss<'a> {
    /// The mean `kind` loss over `eval` (weights ignored).
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for an empty evaluation set.
    pub fn new(eval: Samples<'a>, kind: LossKind) -> Result<Self> {
        nonempty(&eval)?;
        Ok(MeanLoss { eval, kind })
    }
}

impl Criterion for MeanLoss<'_> {
    fn name(&self) -> String {
        format!("{}[mean, {}]", self.kind.name(), self.eval.n())
    }

    fn len(&self) -> usize {
        1
    }

    fn values(&self, mlp: &Mlp, theta: &[f64]) -> Result<Vec<f64>> {
        let l = self.kind.per_sample(mlp, theta, &self.eval)?;
        Ok(vec![l.iter().sum::<f64>() / l.len() as f64])
    }

    fn jacobian_t(&self, mlp: &Mlp, theta: &[f64]) -> Result<Vec<f64>> {
        mlp.check(theta, &self.eval)?;
        let (_, g) = value_and_grad(
            |tape, th| {
                let l = self.kind.record(mlp, tape, th, &self.eval);
                tape.mean(l)
            },
            theta,
        );
        Ok(g)
    }
}

/// The p × m row-major matrix whose column v is `cols[v]` (each of length p).
pub(crate) fn transpose_columns(cols: &[Vec<f64>], p: usize) -> Vec<f64> {
    let m = cols.len();
    let mut out = vec![0.0; p * m];
    for (v, c) in cols.iter().enumerate() {
        for (k, &g) in c.iter().enumerate() {
            out[k * m + v] = g;
        }
    }
    out
}

/// [`Error::InvalidParam`] unless `s` has at least one sample.
fn nonempty(s: &Samples) -> Result<()> {
    if s.n() == 0 {
        return Err(Error::InvalidParam {
            name: "eval",
            reason: "a criterion needs at least one evaluation sample".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::Activation;

    fn setup() -> (Mlp, Vec<f64>, Vec<f64>, Vec<usize>) {
        let mlp = Mlp::new(&[2, 3, 3], Activation::Tanh, 1e-3).unwrap();
        let theta = mlp.init(7);
        let x = vec![0.5, -1.0, 1.5, 0.25, -0.3, 0.7, 0.9, -0.2];
        (mlp, theta, x, vec![0, 2, 1, 2])
    }

    #[test]
    fn mean_loss_is_the_mean_of_the_per_sample_rows() {
        let (mlp, theta, x, y) = setup();
        let s = Samples::new(&x, 2, &y).unwrap();
        for kind in [LossKind::CrossEntropy, LossKind::Brier] {
            let per = PerSampleLoss::new(s, kind).unwrap();
            let mean = MeanLoss::new(s, kind).unwrap();
            let (v, j) = (
                per.values(&mlp, &theta).unwrap(),
                per.jacobian_t(&mlp, &theta).unwrap(),
            );
            let (mv, mj) = (
                mean.values(&mlp, &theta).unwrap(),
                mean.jacobian_t(&mlp, &theta).unwrap(),
            );
            assert!((mv[0] - v.iter().sum::<f64>() / 4.0).abs() < 1e-15);
            for k in 0..mlp.n_params() {
                let avg = j[k * 4..k * 4 + 4].iter().sum::<f64>() / 4.0;
                assert!((mj[k] - avg).abs() < 1e-14, "{kind:?} entry {k}");
            }
        }
    }

    #[test]
    fn per_sample_jacobian_matches_central_differences() {
        let (mlp, theta, x, y) = setup();
        let s = Samples::new(&x, 2, &y).unwrap();
        let c = PerSampleLoss::new(s, LossKind::Brier).unwrap();
        let j = c.jacobian_t(&mlp, &theta).unwrap();
        let h = 1e-6;
        for k in [0, 5, mlp.n_params() - 1] {
            let (mut tp, mut tm) = (theta.clone(), theta.clone());
            tp[k] += h;
            tm[k] -= h;
            let (vp, vm) = (c.values(&mlp, &tp).unwrap(), c.values(&mlp, &tm).unwrap());
            for v in 0..4 {
                let fd = (vp[v] - vm[v]) / (2.0 * h);
                assert!((j[k * 4 + v] - fd).abs() < 1e-8, "param {k} row {v}");
            }
        }
    }

    #[test]
    fn an_empty_evaluation_set_is_refused() {
        let s = Samples::new(&[], 2, &[]).unwrap();
        assert!(matches!(
            MeanLoss::new(s, LossKind::CrossEntropy),
            Err(Error::InvalidParam { name: "eval", .. })
        ));
    }
}
