//! A gradient checker: central finite differences in random directions.
//!
//! For a unit direction u the directional derivative ⟨∇J(θ), u⟩ is compared with the
//! Richardson-extrapolated central difference
//!
//! ```text
//! D(h) = (J(θ + hu) − J(θ − hu)) / 2h,      R = (4·D(h/2) − D(h)) / 3,
//! ```
//!
//! whose truncation error is O(h⁴) (D alone is O(h²)) and whose rounding error is about
//! 3ε|J|/h. A direction passes when |R − ⟨g, u⟩| ≤ rtol·max(|R|, |⟨g, u⟩|) + atol with
//! atol = 16ε(1 + |J(θ)|)/h, the rounding floor. Random directions test every coordinate of
//! g at once with one pair of evaluations each (after autograd's `check_grads`).
//! Cost: 4 evaluations of J per direction.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Settings of [`check_grad`].
#[derive(Clone, Debug, PartialEq)]
pub struct CheckParams {
    /// Number of random directions. Default 6; at least 1.
    pub directions: usize,
    /// Step h along a unit direction. Default 1e-3; > 0.
    pub step: f64,
    /// Relative tolerance on a directional derivative. Default 1e-7: R is accurate to
    /// O(h⁴) ≈ 1e-12 relative for smooth J, while a wrong derivative is typically off by
    /// ≥ 1e-4 in some direction.
    pub rtol: f64,
    /// Seed of the ChaCha8 generator drawing the directions. Default 0.
    pub seed: u64,
}

impl Default for CheckParams {
    fn default() -> Self {
        CheckParams {
            directions: 6,
            step: 1e-3,
            rtol: 1e-7,
            seed: 0,
        }
    }
}

/// What [`check_grad`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheck {
    /// Per direction: |R − ⟨g, u⟩| / (rtol·max(|R|, |⟨g, u⟩|) + atol); ≤ 1 passes.
    pub ratios: Vec<f64>,
    /// Per direction: (⟨g, u⟩, R).
    pub derivatives: Vec<(f64, f64)>,
    /// Whether every direction passed.
    pub passed: bool,
}

impl GradCheck {
    /// The largest ratio over the directions (≤ 1 passes).
    pub fn worst(&self) -> f64 {
        self.ratios.iter().copied().fold(0.0, f64::max)
    }
}

/// Checks a claimed gradient `g` of `f` at `theta` against central differences (see the
/// module doc for the test applied).
///
/// # Panics
/// If `g.len() != theta.len()`, `theta` is empty, or `params` is out of range.
///
/// # Examples
/// ```
/// use puma::autodiff::check::{check_grad, CheckParams};
/// let f = |x: &[f64]| x[0].sin() * x[1];
/// let x = [0.3, 2.0];
/// let good = [0.3f64.cos() * 2.0, 0.3f64.sin()];
/// assert!(check_grad(f, &x, &good, &CheckParams::default()).passed);
/// let wrong = [0.3f64.cos() * 2.0 * (1.0 + 1e-4), 0.3f64.sin()];
/// assert!(!check_grad(f, &x, &wrong, &CheckParams::default()).passed);
/// ```
#[track_caller]
pub fn check_grad<F>(f: F, theta: &[f64], g: &[f64], params: &CheckParams) -> GradCheck
where
    F: Fn(&[f64]) -> f64,
{
    assert_eq!(
        g.len(),
        theta.len(),
        "check_grad: gradient and theta differ in length"
    );
    assert!(!theta.is_empty(), "check_grad: empty theta");
    assert!(params.directions >= 1 && params.step > 0.0 && params.rtol > 0.0);
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let h = params.step;
    let j0 = f(theta);
    let atol = 16.0 * f64::EPSILON * (1.0 + j0.abs()) / h; // rounding floor of R
    let mut ratios = Vec::with_capacity(params.directions);
    let mut derivatives = Vec::with_capacity(params.directions);
    for _ in 0..params.directions {
        let mut u: Vec<f64> = (0..theta.len())
            .map(|_| 2.0 * crate::model::params::uniform01(&mut rng) - 1.0)
            .collect();
        let norm = u.iter().map(|v| v * v).sum::<f64>().sqrt();
        u.iter_mut().for_each(|v| *v /= norm);
        let central = |h: f64| {
            let plus: Vec<f64> = theta.iter().zip(&u).map(|(t, ui)| t + h * ui).collect();
            let minus: Vec<f64> = theta.iter().zip(&u).map(|(t, ui)| t - h * ui).collect();
            (f(&plus) - f(&minus)) / (2.0 * h)
        };
        let r = (4.0 * central(h / 2.0) - central(h)) / 3.0; // Richardson: O(h⁴)
        let a: f64 = g.iter().zip(&u).map(|(gi, ui)| gi * ui).sum(); // ⟨g, u⟩
        let bound = params.rtol * r.abs().max(a.abs()) + atol;
        let ratio = (r - a).abs() / bound;
        ratios.push(if ratio.is_nan() { f64::INFINITY } else { ratio });
        derivatives.push((a, r));
    }
    let passed = ratios.iter().all(|&q| q <= 1.0);
    GradCheck {
        ratios,
        derivatives,
        passed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// J(x) = Σ_i tanh(x_i)·x_{i+1} + e^{x_0}: smooth, coupled coordinates.
    fn j(x: &[f64]) -> f64 {
        x.windows(2).map(|w| w[0].tanh() * w[1]).sum::<f64>() + x[0].exp()
    }

    fn grad_j(x: &[f64], wrong_tanh_derivative: bool) -> Vec<f64> {
        let n = x.len();
        let mut g = vec![0.0; n];
        g[0] += x[0].exp();
        for i in 0..n - 1 {
            let t = x[i].tanh();
            // The correct derivative is 1 − tanh²; the deliberate mistake drops the square.
            let dt = if wrong_tanh_derivative {
                1.0 - t
            } else {
                1.0 - t * t
            };
            g[i] += dt * x[i + 1];
            g[i + 1] += t;
        }
        g
    }

    #[test]
    fn accepts_the_true_gradient() {
        let x = [0.4, -1.2, 0.7, 2.0, -0.3];
        let check = check_grad(j, &x, &grad_j(&x, false), &CheckParams::default());
        assert!(check.passed, "{check:?}");
    }

    #[test]
    fn rejects_a_deliberately_wrong_derivative() {
        let x = [0.4, -1.2, 0.7, 2.0, -0.3];
        let check = check_grad(j, &x, &grad_j(&x, true), &CheckParams::default());
        assert!(!check.passed, "{check:?}");
    }

    #[test]
    fn rejects_a_gradient_off_by_one_part_in_ten_thousand_in_one_coordinate() {
        let x = [0.4, -1.2, 0.7, 2.0, -0.3];
        let mut g = grad_j(&x, false);
        g[3] *= 1.0 + 1e-4;
        assert!(!check_grad(j, &x, &g, &CheckParams::default()).passed);
    }
}
