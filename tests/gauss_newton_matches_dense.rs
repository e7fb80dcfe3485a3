//! Claim: `Mlp::gauss_newton_batch` computes G·v for the Gauss-Newton matrix of [J],
//! G = (1/n) Σ_i w_i J_iᵀ (diag p_i − p_i p_iᵀ) J_i + μI (J_i = ∂z_i/∂θ, the logits'
//! Jacobian). Oracles: the dense G assembled from central finite differences of the logits
//! (a route that shares nothing with the pass); the exact Hessian for logistic regression,
//! where G = H; and G's own structure (symmetric, positive semi-definite where H is not).

use puma::autodiff::Activation;
use puma::model::{Mlp, Samples};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn uniform(len: usize, scale: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-scale..scale)).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// G from its definition: J_i column q by central differences of the logits along e_q.
fn dense_gauss_newton(mlp: &Mlp, theta: &[f64], x: &[f64], w: &[f64]) -> Vec<f64> {
    let (p, k) = (mlp.n_params(), mlp.n_classes());
    let n = x.len() / mlp.n_features();
    let h = 1e-5;
    let mut jac = vec![0.0; n * k * p]; // [i][a][q]
    for q in 0..p {
        let (mut up, mut down) = (theta.to_vec(), theta.to_vec());
        up[q] += h;
        down[q] -= h;
        let (zu, zd) = (mlp.logits(&up, x), mlp.logits(&down, x));
        for ia in 0..n * k {
            jac[ia * p + q] = (zu.data[ia] - zd.data[ia]) / (2.0 * h);
        }
    }
    let z = mlp.logits(theta, x);
    let mut g = vec![0.0; p * p];
    for i in 0..n {
        let zi = &z.data[i * k..(i + 1) * k];
        let m = zi.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = zi.iter().map(|v| (v - m).exp()).collect();
        let total: f64 = e.iter().sum();
        let pi: Vec<f64> = e.iter().map(|v| v / total).collect();
        let ji = &jac[i * k * p..(i + 1) * k * p];
        for a in 0..k {
            for b in 0..k {
                let hab = w[i] * (if a == b { pi[a] } else { 0.0 } - pi[a] * pi[b]);
                if hab == 0.0 {
                    continue;
                }
                for r in 0..p {
                    let jar = ji[a * p + r] * hab;
                    for c in 0..p {
                        g[r * p + c] += jar * ji[b * p + c];
                    }
                }
            }
        }
    }
    for (r, row) in g.chunks_exact_mut(p).enumerate() {
        row.iter_mut().for_each(|v| *v /= n as f64);
        row[r] += mlp.l2;
    }
    g
}

#[test]
fn gauss_newton_matches_finite_difference_jacobians() {
    let (n, d) = (puma::model::mlp::CHUNK_ROWS + 44, 3); // two chunks
    let x = uniform(n * d, 1.5, 1);
    let y: Vec<usize> = (0..n).map(|i| (i * 7 + i / 5) % 3).collect();
    let w: Vec<f64> = (0..n).map(|i| [1.0, 0.5, 2.0, 0.0][i % 4]).collect();
    for act in [Activation::Tanh, Activation::Sigmoid, Activation::Softplus] {
        let mlp = Mlp::new(&[d, 4, 5, 3], act, 1e-2).unwrap();
        let p = mlp.n_params();
        let theta: Vec<f64> = mlp.init(2).iter().map(|t| 1.5 * t).collect();
        let s = Samples::new(&x, d, &y).unwrap().with_weights(&w).unwrap();
        let g = dense_gauss_newton(&mlp, &theta, &x, &w);
        let k = 3;
        let v = uniform(k * p, 1.0, 3);
        let gv = mlp.gauss_newton_batch(&theta, &s, &v).unwrap();
        for j in 0..k {
            let vj = &v[j * p..(j + 1) * p];
            let want: Vec<f64> = g.chunks_exact(p).map(|row| dot(row, vj)).collect();
            let scale = want.iter().fold(0.0, |m: f64, x| m.max(x.abs()));
            for (q, (a, b)) in gv[j * p..(j + 1) * p].iter().zip(&want).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-7 * scale,
                    "{act:?} direction {j}, entry {q}: {a} vs {b}"
                );
            }
        }
    }
}

#[test]
fn gauss_newton_equals_the_hessian_for_logistic_regression() {
    let (n, d) = (280, 5);
    let x = uniform(n * d, 2.0, 4);
    let y: Vec<usize> = (0..n).map(|i| i % 4).collect();
    let mlp = Mlp::new(&[d, 4], Activation::Tanh, 1e-3).unwrap();
    let p = mlp.n_params();
    let theta = mlp.init(5);
    let s = Samples::new(&x, d, &y).unwrap();
    let v = uniform(2 * p, 1.0, 6);
    let (gv, hv) = (
        mlp.gauss_newton_batch(&theta, &s, &v).unwrap(),
        mlp.hvp_batch(&theta, &s, &v).unwrap(),
    );
    let scale = hv.iter().fold(0.0, |m: f64, x| m.max(x.abs()));
    for (q, (a, b)) in gv.iter().zip(&hv).enumerate() {
        assert!((a - b).abs() <= 1e-13 * scale, "entry {q}: {a} vs {b}");
    }
}

#[test]
fn gauss_newton_is_symmetric_and_semidefinite_where_the_hessian_is_not() {
    let (n, d) = (200, 2);
    let x = uniform(n * d, 2.0, 7);
    let y: Vec<usize> = (0..n).map(|i| (i / 3) % 2).collect();
    let mlp = Mlp::new(&[d, 8, 2], Activation::Tanh, 0.0).unwrap();
    let p = mlp.n_params();
    let theta: Vec<f64> = mlp.init(8).iter().map(|t| 4.0 * t).collect(); // far from optimum
    let s = Samples::new(&x, d, &y).unwrap();
    let (mut min_g, mut min_h) = (f64::INFINITY, f64::INFINITY);
    for seed in 0..40 {
        let (u, v) = (uniform(p, 1.0, 100 + seed), uniform(p, 1.0, 200 + seed));
        let (gu, gv) = (
            mlp.gauss_newton_batch(&theta, &s, &u).unwrap(),
            mlp.gauss_newton_batch(&theta, &s, &v).unwrap(),
        );
        let (ugv, vgu) = (dot(&u, &gv), dot(&v, &gu));
        assert!(
            (ugv - vgu).abs() <= 1e-12 * (ugv.abs() + vgu.abs() + 1e-300),
            "{ugv} vs {vgu}"
        );
        min_g = min_g.min(dot(&v, &gv) / dot(&v, &v));
        let hv = mlp.hvp(&theta, &s, &v).unwrap();
        min_h = min_h.min(dot(&v, &hv) / dot(&v, &v));
    }
    assert!(min_g >= -1e-14, "vᵀGv / vᵀv reached {min_g}");
    assert!(
        min_h < 0.0,
        "H should be indefinite here (min vᵀHv / vᵀv = {min_h})"
    );
}
