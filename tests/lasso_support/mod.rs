//! Shared helpers of the `tests/lasso_*.rs` claims: seeded problems and a slow reference solver.
#![allow(dead_code)]

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A seeded m × p column-major matrix with Toeplitz-correlated columns (corr(a_i, a_j) = ρ^|i−j|,
/// an AR(1) chain across columns) and b = A·(a few ±1 coefficients) + `noise`·N(0, I).
pub fn correlated_problem(
    seed: u64,
    m: usize,
    p: usize,
    rho: f64,
    noise: f64,
) -> (Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut gauss = move || -> f64 { StandardNormal.sample(&mut rng) };
    let mut a = vec![0.0; m * p];
    let tail = (1.0 - rho * rho).sqrt();
    for j in 0..p {
        for i in 0..m {
            let fresh = gauss();
            a[j * m + i] = if j == 0 {
                fresh
            } else {
                rho * a[(j - 1) * m + i] + tail * fresh
            };
        }
    }
    let mut b: Vec<f64> = (0..m).map(|_| noise * gauss()).collect();
    for (k, j) in [0, p / 3, (2 * p) / 3].into_iter().enumerate() {
        let sign = if k % 2 == 0 { 1.0 } else { -0.5 };
        for i in 0..m {
            b[i] += sign * a[j * m + i];
        }
    }
    (a, b)
}

/// Uniform(−1, 1) draws.
pub fn uniform(seed: u64, n: usize) -> Vec<f64> {
    use rand::Rng;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// P(λ) = ½‖Aλ − b‖² + α Σ c_j|λ_j|, written out (A column-major).
pub fn objective_naive(
    a: &[f64],
    m: usize,
    b: &[f64],
    alpha: f64,
    c: &[f64],
    lambda: &[f64],
) -> f64 {
    let mut r = b.to_vec();
    for (j, &l) in lambda.iter().enumerate() {
        for i in 0..m {
            r[i] -= a[j * m + i] * l;
        }
    }
    0.5 * r.iter().map(|x| x * x).sum::<f64>()
        + alpha * lambda.iter().zip(c).map(|(l, w)| w * l.abs()).sum::<f64>()
}

/// Slow reference: FISTA with gradient restart on ½‖Aλ − b‖², prox of the weighted ℓ1 norm
/// followed by projection onto the box (exact for a separable box + ℓ1: the 1-D prox of
/// t·αc|x| + ι_[ℓ,u](x) is clip(S(y, tαc), ℓ, u)), step 1/L with L = ‖A‖₂² by power iteration.
#[allow(clippy::too_many_arguments)]
pub fn projected_fista(
    a: &[f64],
    m: usize,
    p: usize,
    b: &[f64],
    alpha: f64,
    lower: &[f64],
    upper: &[f64],
    c: &[f64],
    iters: usize,
) -> Vec<f64> {
    let av = |x: &[f64]| -> Vec<f64> {
        let mut y = vec![0.0; m];
        for j in 0..p {
            for i in 0..m {
                y[i] += a[j * m + i] * x[j];
            }
        }
        y
    };
    let atv = |y: &[f64]| -> Vec<f64> {
        (0..p)
            .map(|j| (0..m).map(|i| a[j * m + i] * y[i]).sum())
            .collect()
    };
    let mut v = vec![1.0; p];
    let mut lip = 0.0;
    for _ in 0..500 {
        let w = atv(&av(&v));
        lip = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        v = w.iter().map(|x| x / lip).collect();
    }
    let step = 1.0 / (1.01 * lip);
    let mut x = vec![0.0; p];
    let mut y = x.clone();
    let mut t = 1.0f64;
    for _ in 0..iters {
        let ay = av(&y);
        let r: Vec<f64> = ay.iter().zip(b).map(|(u, w)| u - w).collect();
        let grad = atv(&r);
        let x_new: Vec<f64> = (0..p)
            .map(|j| {
                let z = y[j] - step * grad[j];
                let thr = step * alpha * c[j];
                let s = z.signum() * (z.abs() - thr).max(0.0);
                s.clamp(lower[j], upper[j])
            })
            .collect();
        let restart: f64 = (0..p).map(|j| (y[j] - x_new[j]) * (x_new[j] - x[j])).sum();
        let t_new = if restart > 0.0 {
            1.0
        } else {
            0.5 * (1.0 + (1.0 + 4.0 * t * t).sqrt())
        };
        let mom = if restart > 0.0 {
            0.0
        } else {
            (t - 1.0) / t_new
        };
        y = (0..p).map(|j| x_new[j] + mom * (x_new[j] - x[j])).collect();
        x = x_new;
        t = t_new;
    }
    x
}

/// Columns of a seeded m × p matrix with orthonormal columns (modified Gram–Schmidt), m ≥ p.
pub fn orthonormal_columns(seed: u64, m: usize, p: usize) -> Vec<f64> {
    let (mut a, _) = correlated_problem(seed, m, p, 0.0, 0.0);
    for j in 0..p {
        for k in 0..j {
            let d: f64 = (0..m).map(|i| a[k * m + i] * a[j * m + i]).sum();
            for i in 0..m {
                a[j * m + i] -= d * a[k * m + i];
            }
        }
        let n: f64 = (0..m)
            .map(|i| a[j * m + i] * a[j * m + i])
            .sum::<f64>()
            .sqrt();
        for i in 0..m {
            a[j * m + i] /= n;
        }
    }
    a
}
