//! Claim: `MlpGaussNewton` is the Gauss-Newton matrix as a solver operator. Its products are
//! `Mlp::gauss_newton_batch`'s (single, many, and over all samples as a batch); it equals the
//! Hessian operator for logistic regression; and where an MLP's H is indefinite, so that H_ρ
//! has no Cholesky factor, CG on G converges to the exact solve of G (assembled by `Exact`
//! from G's own products).

use puma::autodiff::Activation;
use puma::model::{Mlp, Samples};
use puma::solvers::{
    Cg, CgParams, Exact, ExactParams, HessianOperator, InverseHvp, MlpGaussNewton, MlpHessian,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn uniform(len: usize, scale: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-scale..scale)).collect()
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn inf_norm(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m: f64, x| m.max(x.abs()))
}

#[test]
fn operator_products_are_the_gauss_newton_products() {
    let (n, d) = (150, 3);
    let x = uniform(n * d, 1.5, 1);
    let y: Vec<usize> = (0..n).map(|i| (i * 5) % 3).collect();
    let mlp = Mlp::new(&[d, 6, 3], Activation::Tanh, 1e-2).unwrap();
    let p = mlp.n_params();
    let theta = mlp.init(2);
    let s = Samples::new(&x, d, &y).unwrap();
    let op = MlpGaussNewton::new(&mlp, &theta, s).unwrap();
    let k = 3;
    let v = uniform(k * p, 1.0, 3); // direction-major
    let want = mlp.gauss_newton_batch(&theta, &s, &v).unwrap();
    let mut one = vec![0.0; p];
    op.hvp(&v[..p], &mut one).unwrap();
    assert!(max_abs_diff(&one, &want[..p]) <= 1e-14 * inf_norm(&want[..p]));
    // hvp_many takes and gives p × k row-major
    let vt: Vec<f64> = (0..p * k).map(|ij| v[(ij % k) * p + ij / k]).collect();
    let mut many = vec![0.0; p * k];
    op.hvp_many(k, &vt, &mut many).unwrap();
    for j in 0..k {
        let col: Vec<f64> = (0..p).map(|i| many[i * k + j]).collect();
        let w = &want[j * p..(j + 1) * p];
        assert!(max_abs_diff(&col, w) <= 1e-13 * inf_norm(w), "column {j}");
    }
    let all: Vec<usize> = (0..n).collect();
    let mut batch = vec![0.0; p];
    op.hvp_batch(&all, &v[..p], &mut batch).unwrap();
    assert!(max_abs_diff(&batch, &want[..p]) <= 1e-13 * inf_norm(&want[..p]));
    assert!(op.hvp_batch(&[n], &v[..p], &mut batch).is_err()); // out of range
}

#[test]
fn gauss_newton_operator_equals_the_hessian_for_logistic_regression() {
    let (n, d) = (120, 4);
    let x = uniform(n * d, 2.0, 4);
    let y: Vec<usize> = (0..n).map(|i| i % 3).collect();
    let mlp = Mlp::new(&[d, 3], Activation::Tanh, 1e-3).unwrap();
    let p = mlp.n_params();
    let theta = mlp.init(5);
    let s = Samples::new(&x, d, &y).unwrap();
    let (g, h) = (
        MlpGaussNewton::new(&mlp, &theta, s).unwrap(),
        MlpHessian::new(&mlp, &theta, s).unwrap(),
    );
    let v = uniform(p, 1.0, 6);
    let (mut gv, mut hv) = (vec![0.0; p], vec![0.0; p]);
    g.hvp(&v, &mut gv).unwrap();
    h.hvp(&v, &mut hv).unwrap();
    assert!(max_abs_diff(&gv, &hv) <= 1e-13 * inf_norm(&hv));
}

#[test]
fn cg_on_gauss_newton_converges_where_the_hessian_is_indefinite() {
    let (n, d) = (200, 2);
    let x = uniform(n * d, 2.0, 7);
    let y: Vec<usize> = (0..n).map(|i| (i / 3) % 2).collect();
    let mlp = Mlp::new(&[d, 8, 2], Activation::Tanh, 1e-3).unwrap();
    let p = mlp.n_params();
    let theta: Vec<f64> = mlp.init(8).iter().map(|t| 4.0 * t).collect(); // far from optimum
    let s = Samples::new(&x, d, &y).unwrap();
    let b = uniform(p, 1.0, 9);
    // H is indefinite here: its exact solve has no Cholesky factor.
    let h = MlpHessian::new(&mlp, &theta, s).unwrap();
    assert!(
        Exact::new(ExactParams::default())
            .unwrap()
            .solve(&h, &b)
            .is_err()
    );
    let g = MlpGaussNewton::new(&mlp, &theta, s).unwrap();
    let (x_exact, _) = Exact::new(ExactParams::default())
        .unwrap()
        .solve(&g, &b)
        .unwrap();
    let mut cg = Cg::new(CgParams {
        rtol: 1e-12,
        max_iters: Some(50 * p),
        ..CgParams::default()
    })
    .unwrap();
    let (x_cg, _) = cg.solve(&g, &b).unwrap();
    let err = max_abs_diff(&x_cg, &x_exact) / inf_norm(&x_exact);
    assert!(err < 1e-7, "CG on G vs exact solve of G: {err:e}");
}
