//! Claim: `Mlp::value_and_grad` (the hand-written forward and backward pass over the dense
//! layer chain) equals the same objective [J] differentiated on the autodiff tape
//! (`Mlp::value_and_grad_tape`, itself checked against finite differences in
//! gradients_match_finite_differences.rs) for zero to three hidden layers, every activation,
//! with and without sample weights, over several reduction chunks; and its bits do not
//! depend on the number of threads.
//!
//! Tolerance: `TOL` = 1e-13 relative to ‖∇J‖∞ (and to |J|): the two routes run the same
//! products with sums in possibly different orders, O(kε) for inner dimensions k ≤ 16 and
//! chunk sums of ≤ 512 rows ≈ 1e-14; a wrong term is O(1) relative.

use puma::autodiff::Activation;
use puma::model::mlp::CHUNK_ROWS;
use puma::model::{Mlp, Samples};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TOL: f64 = 1e-13;

fn uniform(len: usize, s: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-s..s)).collect()
}

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

#[test]
fn fused_gradient_matches_the_tape() {
    let (n, d) = (2 * CHUNK_ROWS + 37, 5); // three chunks, the last one short
    let x = uniform(n * d, 2.0, 1);
    let y: Vec<usize> = (0..n).map(|i| (i * 7 + i / 5) % 4).collect();
    let w: Vec<f64> = (0..n).map(|i| [1.0, 0.0, 0.25, 3.0][i % 4]).collect();
    let acts = [
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Relu,
        Activation::Softplus,
        Activation::Gelu,
    ];
    for sizes in [&[d, 4][..], &[d, 16, 4], &[d, 8, 6, 4], &[d, 3, 7, 5, 4]] {
        for (k, &act) in acts.iter().enumerate() {
            let mlp = Mlp::new(sizes, act, [0.0, 1e-3][k % 2]).unwrap();
            let theta = mlp.init(10 + k as u64);
            for weighted in [false, true] {
                let mut s = Samples::new(&x, d, &y).unwrap();
                if weighted {
                    s = s.with_weights(&w).unwrap();
                }
                let (jf, gf) = mlp.value_and_grad(&theta, &s).unwrap();
                let (jt, gt) = mlp.value_and_grad_tape(&theta, &s).unwrap();
                let what = format!("{sizes:?} {act:?} weighted={weighted}");
                assert!((jf - jt).abs() <= TOL * jt.abs(), "{what}: J {jf} vs {jt}");
                let err = gf
                    .iter()
                    .zip(&gt)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                assert!(err <= TOL * inf_norm(&gt), "{what}: ∇J off by {err:e}");
            }
        }
    }
}

#[test]
fn fused_gradient_bits_do_not_depend_on_threads() {
    let (n, d) = (3 * CHUNK_ROWS + 11, 7);
    let x = uniform(n * d, 1.0, 2);
    let y: Vec<usize> = (0..n).map(|i| i % 3).collect();
    let mlp = Mlp::new(&[d, 32, 16, 3], Activation::Tanh, 1e-3).unwrap();
    let theta = mlp.init(3);
    let s = Samples::new(&x, d, &y).unwrap();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| mlp.value_and_grad(&theta, &s).unwrap())
    };
    let ((j1, g1), (j2, g2)) = (run(1), run(2));
    assert_eq!(j1.to_bits(), j2.to_bits());
    assert!(g1.iter().zip(&g2).all(|(a, b)| a.to_bits() == b.to_bits()));
}
