//! Claim: `Mlp::per_example_grad_dots` equals s_cᵀ g_i computed from explicit per-example
//! gradients g_i = ∇CE(z_i, y_i) ([g], one tape `grad` per sample, no μθ), for all n samples
//! (across reduction chunks) and m directions, for logistic regression and MLPs.
//!
//! Tolerance: both sides are length-p dot products of the same numbers summed in different
//! orders, so |Δ| ≤ 64·p·ε·Σ_j |s_jc||g_ij| (O(pε) rounding of a dot product, 64× margin);
//! a wrong layout (bias/weight swap, transposed W) or a missing f′ is off by O(|sᵀg|).

use puma::autodiff::{Activation, Mat, value_and_grad};
use puma::model::{Mlp, Samples};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn uniform(len: usize, s: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-s..s)).collect()
}

/// ∇_θ CE(z_i, y_i) for one sample, from the tape.
fn per_example_grad(mlp: &Mlp, theta: &[f64], x: &[f64], y: usize) -> Vec<f64> {
    let d = x.len();
    value_and_grad(
        |tape, th| {
            let xi = tape.constant(Mat::from_vec(1, d, x.to_vec()));
            let z = mlp.logits_on(tape, th, xi);
            let ce = tape.softmax_cross_entropy(z, &[y]);
            tape.sum(ce)
        },
        theta,
    )
    .1
}

#[test]
#[allow(non_snake_case)]
fn products_match_explicit_per_example_gradients() {
    let (n, d) = (puma::model::mlp::CHUNK_ROWS + 44, 4); // two chunks
    let x = uniform(n * d, 2.0, 1);
    let y: Vec<usize> = (0..n).map(|i| (i * 5) % 3).collect();
    let w: Vec<f64> = (0..n).map(|i| [0.5, 2.0][i % 2]).collect(); // must be ignored
    let cases = [
        (vec![d, 3], Activation::Tanh),
        (vec![d, 5, 3], Activation::Tanh),
        (vec![d, 6, 4, 3], Activation::Gelu),
        (vec![d, 5, 3], Activation::Softplus),
    ];
    for (sizes, act) in cases {
        let mlp = Mlp::new(&sizes, act, 0.1).unwrap();
        let p = mlp.n_params();
        let theta = mlp.init(2);
        let s = Samples::new(&x, d, &y).unwrap().with_weights(&w).unwrap();
        for m in [1, 3] {
            let S = uniform(p * m, 1.0, 10 + m as u64);
            let got = mlp.per_example_grad_dots(&theta, &s, &S, m).unwrap();
            assert_eq!(got.len(), n * m);
            for i in 0..n {
                let g = per_example_grad(&mlp, &theta, &x[i * d..(i + 1) * d], y[i]);
                for c in 0..m {
                    let want: f64 = (0..p).map(|j| S[j * m + c] * g[j]).sum();
                    let scale: f64 = (0..p).map(|j| (S[j * m + c] * g[j]).abs()).sum();
                    let tol = 64.0 * p as f64 * f64::EPSILON * scale;
                    let have = got[i * m + c];
                    assert!(
                        (have - want).abs() <= tol,
                        "{sizes:?} {act:?} m={m} i={i} c={c}: {have:e} vs {want:e}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_wrong_shape_of_s_is_an_error() {
    let mlp = Mlp::new(&[2, 3, 2], Activation::Tanh, 0.0).unwrap();
    let (x, y) = ([0.5, -1.0], [1]);
    let s = Samples::new(&x, 2, &y).unwrap();
    let theta = mlp.init(0);
    assert!(
        mlp.per_example_grad_dots(&theta, &s, &[1.0; 17], 2)
            .is_err()
    );
    assert!(mlp.per_example_grad_dots(&theta, &s, &[], 0).is_err());
}
