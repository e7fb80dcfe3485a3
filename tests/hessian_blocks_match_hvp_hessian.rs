//! Claim: the exact Hessian of [J] assembled block by block from the layer structure
//! (`Mlp::hessian`, one GEMM per block over the samples) equals the oracle built from p
//! unit-vector HVPs (`Mlp::hessian_with`, Pearlmutter's R-operator [Pearl94]) for MLPs with
//! zero to three hidden layers (so every block kind occurs: diagonal, neighbouring layers
//! with A = diag f′, and layers two or more apart with a dense A), every activation, sample
//! weights (including 0) and several assembly chunks; it is exactly symmetric and its bits
//! do not depend on the number of threads.
//!
//! Tolerance: `TOL` = 1e-12·max|H|. Both routes sum n ≤ 1100 per-sample terms of size
//! ≲ max|H| in different orders, O(nε) ≈ 2e-13 relative; a wrong term (a missing f″ or
//! coupling term) is of the size of H's entries.

use puma::autodiff::Activation;
use puma::model::hessian::blocks::BLOCK_ROWS;
use puma::model::{Mlp, Samples};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TOL: f64 = 1e-12;

fn uniform(len: usize, s: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-s..s)).collect()
}

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Max |blocks − oracle| / max|oracle|, after checking exact symmetry of the blocks.
fn compare(mlp: &Mlp, theta: &[f64], s: &Samples) -> f64 {
    let p = mlp.n_params();
    let hb = mlp.hessian(theta, s).unwrap();
    let ho = mlp.hessian_with(theta, s, 32).unwrap();
    for i in 0..p {
        for j in 0..i {
            assert_eq!(hb[i * p + j], hb[j * p + i], "not symmetric at ({i}, {j})");
        }
    }
    let err = hb
        .iter()
        .zip(&ho)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    err / inf_norm(&ho)
}

#[test]
fn block_hessian_matches_hvp_hessian_for_every_depth_and_activation() {
    let (n, d) = (BLOCK_ROWS + 88, 3); // two assembly chunks
    let x = uniform(n * d, 2.0, 21);
    let y: Vec<usize> = (0..n).map(|i| (i * 5) % 3).collect();
    let w: Vec<f64> = (0..n).map(|i| [1.0, 0.0, 0.5, 2.0, 1.5][i % 5]).collect();
    let acts = [
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Softplus,
        Activation::Gelu,
        Activation::Relu,
    ];
    for sizes in [&[d, 3][..], &[d, 5, 3], &[d, 5, 4, 3], &[d, 4, 3, 5, 3]] {
        for (k, &act) in acts.iter().enumerate() {
            let l2 = if k % 2 == 0 { 0.01 } else { 0.0 };
            let mlp = Mlp::new(sizes, act, l2).unwrap();
            let theta: Vec<f64> = mlp.init(k as u64).iter().map(|t| 2.0 * t).collect(); // not near 0
            for weighted in [false, true] {
                let mut s = Samples::new(&x, d, &y).unwrap();
                if weighted {
                    s = s.with_weights(&w).unwrap();
                }
                let rel = compare(&mlp, &theta, &s);
                assert!(rel <= TOL, "{sizes:?} {act:?} weighted={weighted}: {rel:e}");
            }
        }
    }
}

#[test]
fn block_hessian_matches_on_a_wider_model_over_three_chunks() {
    let (n, d) = (2 * BLOCK_ROWS + 76, 8);
    let x = uniform(n * d, 1.5, 5);
    let y: Vec<usize> = (0..n).map(|i| (i * 3 + i / 7) % 5).collect();
    let mlp = Mlp::new(&[d, 16, 5], Activation::Tanh, 1e-3).unwrap();
    let theta = mlp.init(9);
    let s = Samples::new(&x, d, &y).unwrap();
    let rel = compare(&mlp, &theta, &s);
    assert!(rel <= TOL, "{rel:e}");
}

#[test]
fn block_hessian_matches_for_wide_layers() {
    // [120, 2, 2]: tri(d_0 + 1) = 7,381 pairs × 512 rows exceed the 2^21-number slab, so ã ã ᵀ
    // is formed in two slabs. [3, 100, 2]: Hz_0 has 10^4 entries per sample, so the chunks
    // shrink to 2^22 / 10,204 = 411 rows (two chunks for n = 532).
    let (n, d) = (BLOCK_ROWS + 20, 120);
    let x = uniform(n * d, 1.0, 15);
    let y: Vec<usize> = (0..n).map(|i| (i * 11) % 2).collect();
    for sizes in [&[d, 2, 2][..], &[3, 100, 2]] {
        let mlp = Mlp::new(sizes, Activation::Tanh, 1e-3).unwrap();
        let theta = mlp.init(16);
        let xs = &x[..n * sizes[0]];
        let s = Samples::new(xs, sizes[0], &y).unwrap();
        let rel = compare(&mlp, &theta, &s);
        assert!(rel <= TOL, "{sizes:?}: {rel:e}");
    }
}

#[test]
fn block_hessian_bits_do_not_depend_on_threads() {
    let (n, d) = (BLOCK_ROWS + 300, 6);
    let x = uniform(n * d, 1.0, 8);
    let y: Vec<usize> = (0..n).map(|i| i % 4).collect();
    let mlp = Mlp::new(&[d, 12, 7, 4], Activation::Gelu, 1e-3).unwrap();
    let theta = mlp.init(2);
    let s = Samples::new(&x, d, &y).unwrap();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| mlp.hessian(&theta, &s).unwrap())
    };
    let (h1, h2) = (run(1), run(2));
    assert!(h1.iter().zip(&h2).all(|(a, b)| a.to_bits() == b.to_bits()));
}

#[test]
fn block_hessian_rejects_bad_input() {
    let mlp = Mlp::new(&[2, 3, 2], Activation::Tanh, 0.0).unwrap();
    let theta = mlp.init(0);
    let (x, y) = ([0.5, -1.0], [1]);
    let s = Samples::new(&x, 2, &y).unwrap();
    assert!(mlp.hessian(&theta[1..], &s).is_err());
    let empty = Samples::new(&[], 2, &[]).unwrap();
    assert!(mlp.hessian(&theta, &empty).is_err());
    assert!(
        mlp.hessian(&theta, &Samples::new(&x, 2, &[2]).unwrap())
            .is_err()
    ); // label ≥ K
}
