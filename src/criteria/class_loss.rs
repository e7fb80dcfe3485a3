//! Mean loss per class on an evaluation set (DESIGN.md §1 \[C\]): one criterion row per class
//! present in the evaluation labels,
//!
//! ```text
//! C_k(θ) = (1/t_k) Σ_{v : y_v = k} ℓ(z_v(θ), y_v),     t_k = |{v : y_v = k}|,
//! ```
//!
//! so a guard can keep every class's loss unchanged rather than only their average.
//! Jacobian: one reverse pass per class over that class's rows (t rows in all: about one
//! gradient over the evaluation set), rows in parallel, placed by index.

use rayon::prelude::*;

use super::{Criterion, LossKind, nonempty, transpose_columns};
use crate::autodiff::value_and_grad;
use crate::error::Result;
use crate::model::{Mlp, Samples};

/// The mean `kind` loss of each class present in an evaluation set, in increasing label
/// order: row r is class [`classes()`](Self::classes)`[r]` \[C\].
///
/// # Examples
/// ```
/// use puma::autodiff::Activation;
/// use puma::criteria::{ClassLoss, Criterion, LossKind};
/// use puma::model::{Mlp, Samples};
/// let mlp = Mlp::new(&[1, 3], Activation::Tanh, 0.0).unwrap();
/// let theta = mlp.init(0);
/// let eval = Samples::new(&[0.1, 0.2, 0.3], 1, &[2, 0, 2]).unwrap();
/// let c = ClassLoss::new(eval, LossKind::CrossEntropy).unwrap();
/// assert_eq!(c.classes(), &[0, 2]); // class 1 has no evaluation rows: no row for it
/// assert_eq!(c.values(&mlp, &theta).unwrap().len(), 2);
/// ```
#[derive(Clone, Debug)]
pub struct ClassLoss<'a> {
    eval: Samples<'a>,
    kind: LossKind,
    classes: Vec<usize>,
    members: Vec<Vec<usize>>,
}

impl<'a> ClassLoss<'a> {
    /// The per-class mean `kind` loss over `eval` (weights ignored).
    ///
    /// # Errors
    /// [`crate::Error::InvalidParam`] for an empty evaluation set.
    pub fn new(eval: Samples<'a>, kind: LossKind) -> Result<Self> {
        nonempty(&eval)?;
        let top = eval.y.iter().copied().max().unwrap_or(0);
        let mut members = vec![Vec::new(); top + 1];
        for (v, &y) in eval.y.iter().enumerate() {
            members[y].push(v);
        }
        let (classes, members): (Vec<usize>, Vec<Vec<usize>>) = members
            .into_iter()
            .enumerate()
            .filter(|(_, m)| !m.is_empty())
            .unzip();
        Ok(ClassLoss {
            eval,
            kind,
            classes,
            members,
        })
    }

    /// The class label of each criterion row.
    pub fn classes(&self) -> &[usize] {
        &self.classes
    }

    /// The evaluation rows of class row r, owned (features, labels).
    fn rows_of(&self, r: usize) -> (Vec<f64>, Vec<usize>) {
        let d = self.eval.d;
        let idx = &self.members[r];
        let mut x = Vec::with_capacity(idx.len() * d);
        for &v in idx {
            x.extend_from_slice(&self.eval.x[v * d..(v + 1) * d]);
        }
        (x, idx.iter().map(|&v| self.eval.y[v]).collect())
    }
}

impl Criterion for ClassLoss<'_> {
    fn name(&self) -> String {
        format!(
            "{}[per-class, {} classes, {}]",
            self.kind.name(),
            self.classes.len(),
            self.eval.n()
        )
    }

    fn len(&self) -> usize {
        self.classes.len()
    }

    fn values(&self, mlp: &Mlp, theta: &[f64]) -> Result<Vec<f64>> {
        let l = self.kind.per_sample(mlp, theta, &self.eval)?;
        Ok(self
            .members
            .iter()
            .map(|idx| idx.iter().map(|&v| l[v]).sum::<f64>() / idx.len() as f64)
            .collect())
    }

    fn jacobian_t(&self, mlp: &Mlp, theta: &[f64]) -> Result<Vec<f64>> {
        mlp.check(theta, &self.eval)?;
        let cols: Vec<Vec<f64>> = (0..self.classes.len())
            .into_par_iter()
            .map(|r| {
                let (x, y) = self.rows_of(r);
                let s = Samples {
                    x: &x,
                    d: self.eval.d,
                    y: &y,
                    w: None,
                };
                value_and_grad(
                    |tape, th| {
                        let l = self.kind.record(mlp, tape, th, &s);
                        tape.mean(l) // (1/t_k) Σ_{y_v = k} ℓ_v
                    },
                    theta,
                )
                .1
            })
            .collect();
        Ok(transpose_columns(&cols, mlp.n_params()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::Activation;
    use crate::criteria::MeanLoss;

    /// Each class row equals the mean loss over that class's rows alone, values and Jacobian.
    #[test]
    fn each_row_is_the_mean_loss_of_its_class() {
        let mlp = Mlp::new(&[2, 3, 3], Activation::Tanh, 1e-3).unwrap();
        let theta = mlp.init(4);
        let x = [0.5, -1.0, 1.5, 0.25, -0.3, 0.7, 0.9, -0.2, 0.1, 0.1];
        let y = [2, 0, 2, 0, 2];
        let c = ClassLoss::new(Samples::new(&x, 2, &y).unwrap(), LossKind::Brier).unwrap();
        assert_eq!(c.classes(), &[0, 2]);
        let (v, j) = (
            c.values(&mlp, &theta).unwrap(),
            c.jacobian_t(&mlp, &theta).unwrap(),
        );
        let (x0, y0) = ([1.5, 0.25, 0.9, -0.2], [0, 0]);
        let one = MeanLoss::new(Samples::new(&x0, 2, &y0).unwrap(), LossKind::Brier).unwrap();
        let (v0, j0) = (
            one.values(&mlp, &theta).unwrap(),
            one.jacobian_t(&mlp, &theta).unwrap(),
        );
        assert!((v[0] - v0[0]).abs() < 1e-15);
        for k in 0..mlp.n_params() {
            assert!((j[k * 2] - j0[k]).abs() < 1e-15, "entry {k}");
        }
    }
}
