//! Leave-one-out: the actual change of the test loss when a training point is removed
//! (\[retrain-w\] with w_i = 0, divisor n kept), and the Newton-corrected estimate of it
//! (DESIGN.md §1 "beyond the paper"), the oracles the first-order \[remove\] values are
//! validated against.
//!
//! ```text
//! J_−i(θ)  = J(θ) − (1/n) CE(z_i, θ)                     the objective without point i
//! θ_N      = θ̂ − H_−i⁻¹ ∇J_−i(θ̂),  H_−i = ∇²J_−i(θ̂) = H − (1/n) ∇²CE_i(θ̂)
//! Newton   = L_test(θ_N) − L_test(θ̂)                    one Newton step, its own Hessian
//! first    = (1/n) g_iᵀ H⁻¹ ∇L_test                      \[remove\], the linear term alone
//! ```
//!
//! For softmax regression ∇²CE_i = (diag(p_i) − p_i p_iᵀ) ⊗ x̃_i x̃_iᵀ, x̃_i = (x_i, 1), is
//! rank K − 1: with B = (I − p_i 1ᵀ) diag(√p_i) it is U Uᵀ, U = B ⊗ x̃_i (p × K), and
//! Woodbury gives H_−i⁻¹ r = H⁻¹r + H⁻¹U (nI − UᵀH⁻¹U)⁻¹ UᵀH⁻¹r: K + 1 solves with the
//! cached factor of H and one K × K Cholesky, O(Kp²) per point. Models with hidden layers
//! take H_−i densely (∇²CE_i from p HVPs on one row) and one Cholesky, O(p³/3) per point;
//! their H_−i may be indefinite away from a strict minimum, which is reported as
//! [`Error::NotPositiveDefinite`].

use crate::autodiff::op::softmax_rows;
use crate::error::{Error, Result};
use crate::influence::per_example_grads;
use crate::kernels::{Uplo, potrf, potrs};
use crate::model::train::{TrainInfo, TrainParams, logistic_hessian, train_from};
use crate::model::{Mlp, Samples};
use crate::solvers::{DenseHessian, Exact, ExactParams, InverseHvp};

/// The training settings for leave-one-out retraining: L-BFGS from θ̂ to ‖∇J_w‖∞ ≤ 1e-6,
/// then the exact Newton polish to 1e-12 (where H_w is not positive definite, L-BFGS goes on
/// to 1e-12 instead; where the polish stalls, [`retrain_without`] goes on from the default
/// L-BFGS tolerance). The optimum is the one of [`TrainParams::default`]; handing over to
/// Newton early saves most L-BFGS iterations (≈ 4× fewer on the reference problems).
pub fn loo_train_params() -> TrainParams {
    let mut params = TrainParams::default();
    params.lbfgs.grad_tol = 1e-6;
    params
}

/// θ retrained without training row `i` (\[retrain-w\], w_i = 0, divisor n kept), warm-started
/// at `theta_start`: L-BFGS, then the exact Newton polish of `params`.
///
/// Start at θ̂, or closer at the one-step estimate θ̂ + H_ρ⁻¹g_i/n (\[KL-params\] for
/// w_i: 1 → 0; one solve with a cached factor), which saves L-BFGS iterations (≈ 20% of the
/// work on the reference problems) and, for a non-convex model, stays in θ̂'s basin.
///
/// # Errors
/// [`Error::IndexOutOfRange`] for `i ≥ n`; as [`train_from`].
pub fn retrain_without(
    mlp: &Mlp,
    theta_start: &[f64],
    train: &Samples,
    i: usize,
    params: &TrainParams,
) -> Result<(Vec<f64>, TrainInfo)> {
    check_index(i, train.n())?;
    let mut w = vec![1.0; train.n()];
    w[i] = 0.0; // removing point i
    let s = train.with_weights(&w)?;
    let (theta, info) = train_from(mlp, theta_start.to_vec(), &s, params)?;
    let target = params.polish.as_ref().map(|p| p.grad_tol);
    match target {
        // The polish stalled where Newton steps do not yet shrink ∇J (an MLP far from the
        // quadratic region): go on with the default L-BFGS tolerance from there.
        Some(tol) if info.grad_inf > tol && params.lbfgs.grad_tol > 1e-10 => {
            let (theta, more) = train_from(mlp, theta, &s, &TrainParams::default())?;
            let info = TrainInfo {
                iters: info.iters + more.iters,
                evals: info.evals + more.evals,
                ..more
            };
            Ok((theta, info))
        }
        _ => Ok((theta, info)),
    }
}

/// How [`NewtonLoo`] applies H_−i⁻¹.
#[derive(Debug)]
enum Inverse {
    /// Softmax regression: cached Cholesky of H and Woodbury for the rank-(K−1) update.
    Woodbury { op: DenseHessian, solver: Exact },
    /// Any MLP: the dense H, updated and factored per point.
    Dense { h: Vec<f64> },
}

/// The Newton-corrected leave-one-out estimate for every point of a fixed problem.
#[derive(Debug)]
pub struct NewtonLoo<'a> {
    mlp: &'a Mlp,
    theta: &'a [f64],
    train: Samples<'a>,
    test: Samples<'a>,
    grad_j: Vec<f64>,
    base: f64,
    inverse: Inverse,
}

impl<'a> NewtonLoo<'a> {
    /// Prepares H at θ̂ (closed form and a Cholesky factor for logistic regression, the dense
    /// autodiff Hessian otherwise), ∇J(θ̂) and L_test(θ̂).
    ///
    /// # Errors
    /// As [`Mlp::value_and_grad`], [`logistic_hessian`], [`Mlp::hessian`] and
    /// [`Mlp::evaluate`].
    pub fn new(
        mlp: &'a Mlp,
        theta: &'a [f64],
        train: Samples<'a>,
        test: Samples<'a>,
    ) -> Result<Self> {
        let train = Samples { w: None, ..train };
        let grad_j = mlp.value_and_grad(theta, &train)?.1; // ∇J(θ̂), ≈ 0 at θ̂
        let base = mlp.evaluate(theta, &test)?.mean_loss; // L_test(θ̂)
        let p = mlp.n_params();
        let inverse = if mlp.sizes().len() == 2 {
            let op = DenseHessian::new(p, logistic_hessian(mlp, theta, &train)?)?;
            let mut solver = Exact::new(ExactParams {
                certify: false,
                ..ExactParams::default()
            })?;
            solver.factor(&op)?;
            Inverse::Woodbury { op, solver }
        } else {
            Inverse::Dense {
                h: mlp.hessian(theta, &train)?,
            }
        };
        Ok(NewtonLoo {
            mlp,
            theta,
            train,
            test,
            grad_j,
            base,
            inverse,
        })
    }

    /// θ_N = θ̂ − H_−i⁻¹ ∇J_−i(θ̂), one Newton step on the objective without point i.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] for `i ≥ n`; [`Error::NotPositiveDefinite`] if H_−i (or the
    /// Woodbury capacitance) is not positive definite.
    #[allow(non_snake_case)]
    pub fn step(&mut self, i: usize) -> Result<Vec<f64>> {
        let n = self.train.n();
        check_index(i, n)?;
        let (mlp, theta, p) = (self.mlp, self.theta, self.mlp.n_params());
        let row = self.train.rows(i..i + 1);
        let g_i = per_example_grads(mlp, theta, &row)?; // p × 1
        let r: Vec<f64> = (0..p)
            .map(|k| self.grad_j[k] - g_i[k] / n as f64) // ∇J_−i(θ̂) = ∇J − g_i/n
            .collect();
        let x = match &mut self.inverse {
            Inverse::Woodbury { op, solver } => {
                let U = logistic_factor(mlp, theta, &row); // p × K, ∇²CE_i = UUᵀ
                let k = mlp.n_classes();
                let (x0, _) = solver.solve(&*op, &r)?; // H⁻¹ r
                let (Y, _) = solver.solve_many(&*op, k, &U)?; // H⁻¹ U
                let mut C = vec![0.0; k * k]; // nI − UᵀH⁻¹U
                let mut t = vec![0.0; k]; // Uᵀ H⁻¹ r
                for q in 0..p {
                    for a in 0..k {
                        t[a] += U[q * k + a] * x0[q];
                        for b in 0..k {
                            C[a * k + b] -= U[q * k + a] * Y[q * k + b];
                        }
                    }
                }
                for a in 0..k {
                    C[a * k + a] += n as f64;
                }
                factor(k, &mut C)?;
                potrs(Uplo::Lower, k, 1, &C, k, &mut t, 1); // (nI − UᵀH⁻¹U)⁻¹ UᵀH⁻¹r
                let mut x = x0;
                for q in 0..p {
                    x[q] += (0..k).map(|a| Y[q * k + a] * t[a]).sum::<f64>();
                }
                x
            }
            Inverse::Dense { h } => {
                let mut h_i = mlp.hessian(theta, &row)?; // ∇²CE_i + μI
                for q in 0..p {
                    h_i[q * p + q] -= mlp.l2;
                }
                let mut H = h.clone();
                for (a, b) in H.iter_mut().zip(&h_i) {
                    *a -= b / n as f64; // H_−i = H − ∇²CE_i / n
                }
                factor(p, &mut H)?;
                let mut x = r;
                potrs(Uplo::Lower, p, 1, &H, p, &mut x, 1); // H_−i⁻¹ ∇J_−i
                x
            }
        };
        Ok(theta.iter().zip(&x).map(|(t, d)| t - d).collect())
    }

    /// L_test(θ_N) − L_test(θ̂): the Newton-corrected estimate of the change of the mean
    /// test cross-entropy if point i is removed.
    ///
    /// # Errors
    /// As [`step`](Self::step).
    pub fn predicted_change(&mut self, i: usize) -> Result<f64> {
        let theta_n = self.step(i)?;
        Ok(self.mlp.evaluate(&theta_n, &self.test)?.mean_loss - self.base)
    }
}

/// U = B ⊗ x̃ (p × K row-major) with B = (I − p 1ᵀ) diag(√p) and x̃ = (x, 1) for the one row
/// of `row`, in θ's layout (weight (k, j) at k·d + j, bias k at K·d + k): UUᵀ = ∇²CE.
#[allow(non_snake_case)]
fn logistic_factor(mlp: &Mlp, theta: &[f64], row: &Samples) -> Vec<f64> {
    let (d, k) = (mlp.n_features(), mlp.n_classes());
    let (prob, _) = softmax_rows(&mlp.logits(theta, row.x));
    let pr = &prob.data[..k];
    let mut B = vec![0.0; k * k];
    for a in 0..k {
        for c in 0..k {
            let delta = if a == c { 1.0 } else { 0.0 };
            B[a * k + c] = (delta - pr[a]) * pr[c].sqrt(); // (I − p1ᵀ) diag(√p)
        }
    }
    let mut U = vec![0.0; mlp.n_params() * k];
    for a in 0..k {
        for j in 0..d {
            let q = a * d + j;
            for c in 0..k {
                U[q * k + c] = B[a * k + c] * row.x[j];
            }
        }
        let q = k * d + a;
        U[q * k..(q + 1) * k].copy_from_slice(&B[a * k..(a + 1) * k]);
    }
    U
}

/// Cholesky of an n × n matrix in place, failure as [`Error::NotPositiveDefinite`].
fn factor(n: usize, a: &mut [f64]) -> Result<()> {
    potrf(Uplo::Lower, n, a, n).map_err(|e| Error::NotPositiveDefinite {
        pivot: e.pivot,
        value: e.value,
    })
}

fn check_index(i: usize, n: usize) -> Result<()> {
    if i >= n {
        return Err(Error::IndexOutOfRange {
            what: "training point",
            index: i,
            len: n,
        });
    }
    Ok(())
}

/// Pearson correlation of two equally long series (NaN if either is constant).
///
/// # Panics
/// If the lengths differ.
#[track_caller]
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "pearson: series differ in length");
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

/// The leave-one-out test set of points: the `top` largest |values|, then `random` more
/// drawn without replacement from the rest (ChaCha8 with `seed`).
pub fn loo_points(values: &[f64], top: usize, random: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].abs().total_cmp(&values[a].abs()));
    let top = top.min(order.len());
    let mut rest = order.split_off(top);
    rest.sort_unstable();
    let perm = super::baselines::random_order(rest.len(), seed);
    order.extend(perm.iter().take(random).map(|&j| rest[j]));
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::Activation;

    /// The Woodbury path equals the dense path on a small softmax regression.
    #[test]
    fn woodbury_matches_the_dense_update() {
        let mlp = Mlp::new(&[3, 4], Activation::Tanh, 1e-2).unwrap();
        let x: Vec<f64> = (0..30).map(|i| ((i * 7 % 11) as f64) / 5.0 - 1.0).collect();
        let y: Vec<usize> = (0..10).map(|i| i * 3 % 4).collect();
        let train = Samples::new(&x, 3, &y).unwrap();
        let theta = mlp.init(2);
        let test = train.rows(0..4);
        let mut wood = NewtonLoo::new(&mlp, &theta, train, test).unwrap();
        let mut dense = NewtonLoo {
            inverse: Inverse::Dense {
                h: mlp.hessian(&theta, &train).unwrap(),
            },
            ..NewtonLoo::new(&mlp, &theta, train, test).unwrap()
        };
        for i in [0, 5, 9] {
            let (a, b) = (wood.step(i).unwrap(), dense.step(i).unwrap());
            for (u, v) in a.iter().zip(&b) {
                assert!((u - v).abs() < 1e-10, "point {i}: {u} vs {v}");
            }
        }
        assert!(matches!(
            wood.step(10),
            Err(Error::IndexOutOfRange { index: 10, .. })
        ));
    }

    #[test]
    fn loo_points_take_the_largest_then_distinct_random_ones() {
        let v = [0.1, -5.0, 0.2, 3.0, 0.0, 0.05];
        let pts = loo_points(&v, 2, 3, 1);
        assert_eq!(&pts[..2], &[1, 3]);
        let mut rest = pts[2..].to_vec();
        rest.sort_unstable();
        rest.dedup();
        assert_eq!(rest.len(), 3);
        assert!(rest.iter().all(|i| ![1, 3].contains(i)));
        assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.5]) - 0.9986).abs() < 1e-3);
    }
}
