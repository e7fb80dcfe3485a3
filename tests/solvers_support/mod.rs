//! Shared by the solver tests: seeded SPD matrices with a chosen spectrum, exact integer
//! problems, and the digits reference problem.
#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A seeded symmetric p × p matrix Q diag(λ) Qᵀ, Q a product of 4 Householder reflectors,
/// with eigenvalues log-spaced from `lo` to `hi` (condition number hi/lo).
pub fn spd_with_spectrum(p: usize, lo: f64, hi: f64, seed: u64) -> Vec<f64> {
    let lambda: Vec<f64> = (0..p)
        .map(|i| lo * (hi / lo).powf(i as f64 / (p.max(2) - 1) as f64))
        .collect();
    symmetric_with_eigenvalues(&lambda, seed)
}

/// Q diag(λ) Qᵀ for a seeded orthogonal Q (4 Householder reflectors).
pub fn symmetric_with_eigenvalues(lambda: &[f64], seed: u64) -> Vec<f64> {
    let p = lambda.len();
    let mut a = vec![0.0; p * p];
    for i in 0..p {
        a[i * p + i] = lambda[i];
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..4 {
        let mut u: Vec<f64> = (0..p).map(|_| rng.random::<f64>() - 0.5).collect();
        let n = u.iter().map(|v| v * v).sum::<f64>().sqrt();
        u.iter_mut().for_each(|v| *v /= n);
        // A ← (I − 2uuᵀ) A (I − 2uuᵀ)
        let au: Vec<f64> = (0..p)
            .map(|i| (0..p).map(|j| a[i * p + j] * u[j]).sum())
            .collect();
        let uau: f64 = u.iter().zip(&au).map(|(x, y)| x * y).sum();
        for i in 0..p {
            for j in 0..p {
                a[i * p + j] += -2.0 * u[i] * au[j] - 2.0 * au[i] * u[j] + 4.0 * uau * u[i] * u[j];
            }
        }
    }
    for i in 0..p {
        for j in 0..i {
            let m = 0.5 * (a[i * p + j] + a[j * p + i]); // exactly symmetric
            a[i * p + j] = m;
            a[j * p + i] = m;
        }
    }
    a
}

/// A seeded vector with entries uniform in [−1, 1).
pub fn random_vec(p: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..p).map(|_| 2.0 * rng.random::<f64>() - 1.0).collect()
}

/// max_i |x_i − y_i| / max_i |y_i|.
pub fn rel_max_err(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len());
    let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    x.iter()
        .zip(y)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
        / scale
}

/// An exact integer problem: H = AᵀA + c·I with A (q × p) entries in −3..=3, x* in −5..=5,
/// b = H x*, every entry an integer well below 2⁵³, so b is exact in f64 and ‖x − x*‖ is the
/// true error. H ⪰ cI (AᵀA ⪰ 0). Returns (H, x*, b).
pub fn integer_problem(p: usize, q: usize, c: i64, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let a: Vec<i64> = (0..q * p).map(|_| rng.random_range(-3..=3)).collect();
    let x: Vec<i64> = (0..p).map(|_| rng.random_range(-5..=5)).collect();
    let mut h = vec![0i64; p * p];
    for i in 0..p {
        for j in 0..p {
            h[i * p + j] = (0..q).map(|r| a[r * p + i] * a[r * p + j]).sum::<i64>();
        }
        h[i * p + i] += c;
    }
    let b: Vec<i64> = (0..p)
        .map(|i| (0..p).map(|j| h[i * p + j] * x[j]).sum())
        .collect();
    let f = |v: Vec<i64>| v.into_iter().map(|t| t as f64).collect::<Vec<f64>>();
    (f(h), f(x), f(b))
}

/// ‖x − y‖₂.
pub fn dist(x: &[f64], y: &[f64]) -> f64 {
    x.iter()
        .zip(y)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// A fixture path under `fixtures/`.
pub fn fixture(rel: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// The digits MLP problem of the solver benchmarks: fixtures/digits/digits.csv split 1437 train
/// / 360 test (seed 0), standardised with the training mean and scale, [64,32,10] tanh,
/// μ = 1e-3, trained from seed 0 (L-BFGS to ‖∇J‖∞ ≤ 1e-12, ≈ 3 s). Returns (model, θ̂, train,
/// test).
pub fn digits_mlp() -> (
    puma::model::Mlp,
    Vec<f64>,
    puma::data::Dataset,
    puma::data::Dataset,
) {
    use puma::model::train::{TrainParams, train};
    let ds = puma::data::csv::read_csv(fixture("digits/digits.csv")).unwrap();
    let split = ds.train_test_split(360.0 / 1797.0, 0).unwrap();
    let (mut tr, mut te) = (split.train, split.test);
    assert_eq!((tr.n(), te.n()), (1437, 360));
    let scaler = tr.standardise_in_place();
    scaler.apply_in_place(&mut te).unwrap();
    let mlp = puma::model::Mlp::new(&[64, 32, 10], puma::autodiff::Activation::Tanh, 1e-3).unwrap();
    let (theta, info) = train(
        &mlp,
        &puma::model::Samples::of(&tr),
        &TrainParams::default(),
    )
    .unwrap();
    assert!(
        info.grad_inf <= 1e-10,
        "digits MLP not converged: {}",
        info.grad_inf
    );
    (mlp, theta, tr, te)
}
