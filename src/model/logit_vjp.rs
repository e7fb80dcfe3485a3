//! Vector–Jacobian products through the logits: ∇_θ Σ_ij Z̄_ij z_ij(θ) for a given cotangent
//! Z̄ (n × K), the last step of any criterion whose derivative with respect to the logits is
//! known in closed form (the calibration surrogate \[ece\] of DESIGN.md §1).
//!
//! ```text
//! Z = MLP(X; θ)  (n × K),    vjp(Z̄) = J_Zᵀ Z̄ = Σ_i Σ_j Z̄_ij ∇_θ z_ij
//! ```
//!
//! One reverse pass on the tape (the weighted sum Σ Z̄_ij z_ij as output), in fixed chunks of
//! [`CHUNK_ROWS`] rows reduced in chunk order, so the bits do not depend on the thread count.
//! Cost: about one gradient of the training objective over n rows.

use rayon::prelude::*;

use super::mlp::{CHUNK_ROWS, Mlp};
use crate::autodiff::{Mat, value_and_grad};
use crate::error::{Error, Result};

impl Mlp {
    /// J_Zᵀ Z̄ = Σ_ij Z̄_ij ∇_θ z_ij(θ) for features `x` (n × d row-major) and a cotangent
    /// `cot` on the logits (n × K row-major).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for a wrong θ length, an `x` that is not n × d, or a `cot`
    /// that is not n × K.
    ///
    /// # Examples
    /// ```
    /// use puma::autodiff::Activation;
    /// use puma::model::Mlp;
    /// let mlp = Mlp::new(&[2, 2], Activation::Tanh, 0.0).unwrap(); // z = W x + b
    /// let theta = mlp.init(0);
    /// // Z̄ = e_1 on the single row: the gradient of z_1 = w_1ᵀx + b_1.
    /// let g = mlp.logits_vjp(&theta, &[3.0, 5.0], &[0.0, 1.0]).unwrap();
    /// assert_eq!(g, vec![0.0, 0.0, 3.0, 5.0, 0.0, 1.0]);
    /// ```
    pub fn logits_vjp(&self, theta: &[f64], x: &[f64], cot: &[f64]) -> Result<Vec<f64>> {
        let (d, k) = (self.n_features(), self.n_classes());
        if theta.len() != self.n_params() {
            return Err(Error::ShapeMismatch {
                what: "theta length vs model parameters",
                expected: self.n_params(),
                found: theta.len(),
            });
        }
        if !x.len().is_multiple_of(d) {
            return Err(Error::ShapeMismatch {
                what: "feature entries (a multiple of the model's inputs)",
                expected: x.len().div_ceil(d) * d,
                found: x.len(),
            });
        }
        let n = x.len() / d;
        if cot.len() != n * k {
            return Err(Error::ShapeMismatch {
                what: "logit cotangent entries vs rows × classes",
                expected: n * k,
                found: cot.len(),
            });
        }
        let parts: Vec<Vec<f64>> = (0..n.div_ceil(CHUNK_ROWS))
            .into_par_iter()
            .map(|c| {
                let r = c * CHUNK_ROWS..((c + 1) * CHUNK_ROWS).min(n);
                let xc = Mat::from_vec(r.len(), d, x[r.start * d..r.end * d].to_vec());
                let zbar = &cot[r.start * k..r.end * k];
                value_and_grad(
                    |tape, th| {
                        let xv = tape.constant(xc.clone());
                        let z = self.logits_on(tape, th, xv);
                        tape.weighted_sum(z, zbar) // Σ Z̄_ij z_ij
                    },
                    theta,
                )
                .1
            })
            .collect();
        let mut g = vec![0.0; theta.len()];
        for part in parts {
            crate::kernels::axpy(1.0, &part, &mut g); // chunk order, whatever the thread count
        }
        Ok(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::Activation;

    /// Against central differences of Σ Z̄_ij z_ij on an MLP with more than one chunk.
    #[test]
    fn logits_vjp_matches_central_differences() {
        let mlp = Mlp::new(&[2, 4, 3], Activation::Tanh, 0.0).unwrap();
        let theta = mlp.init(5);
        let n = CHUNK_ROWS + 7;
        let x: Vec<f64> = (0..2 * n)
            .map(|i| ((i * 37 % 23) as f64) / 11.0 - 1.0)
            .collect();
        let cot: Vec<f64> = (0..3 * n).map(|i| ((i * 13 % 7) as f64) - 3.0).collect();
        let g = mlp.logits_vjp(&theta, &x, &cot).unwrap();
        let f = |t: &[f64]| -> f64 {
            let z = mlp.logits(t, &x);
            z.data.iter().zip(&cot).map(|(a, b)| a * b).sum()
        };
        let h = 1e-6;
        for k in [0, 3, 9, mlp.n_params() - 1] {
            let (mut tp, mut tm) = (theta.clone(), theta.clone());
            tp[k] += h;
            tm[k] -= h;
            let fd = (f(&tp) - f(&tm)) / (2.0 * h);
            // Central differences: O(h²) truncation plus O(ε·|f|/h) rounding, |f| ≈ 1e3.
            assert!(
                (g[k] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                "param {k}: {} vs {fd}",
                g[k]
            );
        }
        assert!(matches!(
            mlp.logits_vjp(&theta, &x, &cot[1..]),
            Err(Error::ShapeMismatch { .. })
        ));
    }
}
