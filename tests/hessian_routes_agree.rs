//! Claim: for MLPs with hidden layers, over several reduction chunks and with sample
//! weights, the dense Hessian of [J] built from batches of 32 unit vectors equals the one
//! built one HVP at a time, is symmetric, and `Mlp::hvp` matches central differences of
//! the exact gradient `Mlp::value_and_grad` [Pearl94].
//!
//! Tolerances: `ROUTE_TOL` = 1e-12·max|H| (the routes run the same per-direction
//! arithmetic; symmetry holds to O(nε) rounding of sums over n = 600 samples ≈ 1e-13);
//! `FD_RTOL` = 1e-7 for the Richardson central difference (truncation O(h⁴) ≈ 1e-12,
//! rounding ≈ ε‖∇J‖/h).

use puma::autodiff::Activation;
use puma::model::{Mlp, Samples};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ROUTE_TOL: f64 = 1e-12;
const FD_RTOL: f64 = 1e-7;

fn uniform(len: usize, s: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-s..s)).collect()
}

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

#[test]
fn batched_and_column_by_column_hessians_agree_across_chunks() {
    let (n, d) = (600, 3); // two chunks (CHUNK_ROWS = 512)
    let x = uniform(n * d, 2.0, 11);
    let y: Vec<usize> = (0..n).map(|i| (i * 7) % 3).collect();
    let w: Vec<f64> = (0..n).map(|i| [0.0, 1.0, 0.5, 2.0][i % 4]).collect();
    for act in [Activation::Tanh, Activation::Gelu, Activation::Softplus] {
        let mlp = Mlp::new(&[d, 5, 4, 3], act, 0.01).unwrap();
        let p = mlp.n_params();
        let theta = mlp.init(3);
        let s = Samples::new(&x, d, &y).unwrap().with_weights(&w).unwrap();
        let hb = mlp.hessian(&theta, &s).unwrap();
        let hc = mlp.hessian_with(&theta, &s, 1).unwrap();
        let scale = inf_norm(&hc);
        for i in 0..p {
            for j in 0..p {
                let (a, b, t) = (hb[i * p + j], hc[i * p + j], hc[j * p + i]);
                assert!((a - b).abs() <= ROUTE_TOL * scale, "{act:?} H[{i},{j}]");
                assert!(
                    (b - t).abs() <= ROUTE_TOL * scale,
                    "{act:?} symmetry ({i},{j})"
                );
            }
        }
        // Mlp::hvp against central differences of the exact gradient.
        let v = uniform(p, 1.0, 12);
        let hv = mlp.hvp(&theta, &s, &v).unwrap();
        let h = 1e-3;
        let diff = |h: f64| {
            let plus: Vec<f64> = theta.iter().zip(&v).map(|(t, vi)| t + h * vi).collect();
            let minus: Vec<f64> = theta.iter().zip(&v).map(|(t, vi)| t - h * vi).collect();
            let gp = mlp.value_and_grad(&plus, &s).unwrap().1;
            let gm = mlp.value_and_grad(&minus, &s).unwrap().1;
            gp.iter()
                .zip(&gm)
                .map(|(a, b)| (a - b) / (2.0 * h))
                .collect::<Vec<f64>>()
        };
        let (d1, d2) = (diff(h), diff(h / 2.0));
        let fd: Vec<f64> = d1
            .iter()
            .zip(&d2)
            .map(|(a, b)| (4.0 * b - a) / 3.0)
            .collect();
        let err = hv
            .iter()
            .zip(&fd)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(err <= FD_RTOL * inf_norm(&hv) + 1e-12, "{act:?}: {err:e}");
    }
}

#[test]
fn wrong_lengths_are_errors() {
    let mlp = Mlp::new(&[2, 3, 2], Activation::Tanh, 0.0).unwrap();
    let (x, y) = ([0.5, -1.0], [1]);
    let s = Samples::new(&x, 2, &y).unwrap();
    let theta = mlp.init(0);
    assert!(mlp.hvp(&theta, &s, &[1.0; 3]).is_err());
    assert!(mlp.hvp_batch(&theta, &s, &[1.0; 20]).is_err()); // p = 17
    assert!(mlp.hessian_with(&theta, &s, 0).is_err());
}
