//! Claim: `Mlp::hvp_batch` (Pearlmutter's R-operator written out by hand for the dense
//! layer chain, k directions per pass) equals the tape's R-operator
//! (`Mlp::hvp_batch_tape`, itself checked against the dense Hessian and finite differences
//! in hvp_matches_hessian.rs and hessian_routes_agree.rs) for zero to three hidden layers,
//! every activation, with and without sample weights, over several chunks, for k = 1 and
//! k = 5 directions, and for k·p large enough (k = 700) that the chunks are added into one
//! accumulator in order; `Mlp::hvp` is the k = 1 case; the bits do not depend on the
//! threads on either path.
//!
//! Tolerance: `TOL` = 1e-13 relative to ‖Hv‖∞ per direction: the two routes run the same
//! products with sums in possibly different orders (O(kε) for inner dimensions ≤ 256);
//! a wrong term (a missing f″ or G·Ẇ product) is O(1) relative.

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
fn fused_hvp_matches_the_tape() {
    let (n, d) = (CHUNK_ROWS + 45, 4); // two chunks
    let x = uniform(n * d, 2.0, 31);
    let y: Vec<usize> = (0..n).map(|i| (i * 5 + i / 3) % 3).collect();
    let w: Vec<f64> = (0..n).map(|i| [2.0, 1.0, 0.0, 0.5][i % 4]).collect();
    let acts = [
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Relu,
        Activation::Softplus,
        Activation::Gelu,
    ];
    for sizes in [&[d, 3][..], &[d, 6, 3], &[d, 5, 4, 3], &[d, 3, 6, 4, 3]] {
        for (a, &act) in acts.iter().enumerate() {
            let mlp = Mlp::new(sizes, act, [1e-3, 0.0][a % 2]).unwrap();
            let p = mlp.n_params();
            let theta: Vec<f64> = mlp.init(a as u64).iter().map(|t| 1.5 * t).collect();
            for weighted in [false, true] {
                let mut s = Samples::new(&x, d, &y).unwrap();
                if weighted {
                    s = s.with_weights(&w).unwrap();
                }
                for k in [1, 5] {
                    let v = uniform(k * p, 1.0, 7 + k as u64);
                    let hf = mlp.hvp_batch(&theta, &s, &v).unwrap();
                    let ht = mlp.hvp_batch_tape(&theta, &s, &v).unwrap();
                    for j in 0..k {
                        let (f, t) = (&hf[j * p..(j + 1) * p], &ht[j * p..(j + 1) * p]);
                        let err = f
                            .iter()
                            .zip(t)
                            .map(|(a, b)| (a - b).abs())
                            .fold(0.0, f64::max);
                        assert!(
                            err <= TOL * inf_norm(t),
                            "{sizes:?} {act:?} weighted={weighted} k={k} j={j}: {err:e}"
                        );
                    }
                    if k == 1 {
                        assert_eq!(mlp.hvp(&theta, &s, &v).unwrap(), hf);
                    }
                }
            }
        }
    }
}

#[test]
fn fused_hvp_bits_do_not_depend_on_threads() {
    let (n, d) = (3 * CHUNK_ROWS + 5, 6);
    let x = uniform(n * d, 1.0, 4);
    let y: Vec<usize> = (0..n).map(|i| i % 4).collect();
    let mlp = Mlp::new(&[d, 24, 12, 4], Activation::Gelu, 1e-3).unwrap();
    let theta = mlp.init(5);
    let s = Samples::new(&x, d, &y).unwrap();
    let v = uniform(3 * mlp.n_params(), 1.0, 6);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| mlp.hvp_batch(&theta, &s, &v).unwrap())
    };
    let (h1, h2) = (run(1), run(2));
    assert!(h1.iter().zip(&h2).all(|(a, b)| a.to_bits() == b.to_bits()));
}

#[test]
fn fused_hvp_with_many_directions_accumulates_chunks_in_order() {
    let (n, d, k) = (CHUNK_ROWS + 44, 20, 700); // k·p·chunks > 2^20: the sequential path
    let x = uniform(n * d, 1.0, 12);
    let y: Vec<usize> = (0..n).map(|i| (i * 3) % 4).collect();
    let w: Vec<f64> = (0..n).map(|i| [1.0, 0.5, 3.0][i % 3]).collect();
    let mlp = Mlp::new(&[d, 30, 4], Activation::Softplus, 1e-3).unwrap();
    let p = mlp.n_params();
    assert!(k * p * 2 > 1 << 20);
    let theta = mlp.init(13);
    let s = Samples::new(&x, d, &y).unwrap().with_weights(&w).unwrap();
    let v = uniform(k * p, 1.0, 14);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| mlp.hvp_batch(&theta, &s, &v).unwrap())
    };
    let (h1, h2) = (run(1), run(2));
    assert!(h1.iter().zip(&h2).all(|(a, b)| a.to_bits() == b.to_bits()));
    let ht = mlp.hvp_batch_tape(&theta, &s, &v).unwrap();
    for j in 0..k {
        let (f, t) = (&h1[j * p..(j + 1) * p], &ht[j * p..(j + 1) * p]);
        let err = f
            .iter()
            .zip(t)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(err <= TOL * inf_norm(t), "direction {j}: {err:e}");
    }
}

#[test]
fn fused_hvp_directions_in_several_groups_match_single_hvps() {
    // Layers as wide as make two directions a group over full chunks (GROUP_ENTRIES /
    // (CHUNK_ROWS·width) = 2), so k = 5 runs as groups of 2, 2 and 1, the first two through
    // the layer-major buffer.
    let (n, d, k) = (2 * CHUNK_ROWS, 3, 5);
    let width = puma::model::hessian::GROUP_ENTRIES / (CHUNK_ROWS * 2);
    assert_eq!(
        puma::model::hessian::GROUP_ENTRIES / (CHUNK_ROWS * width),
        2
    );
    let x = uniform(n * d, 1.5, 21);
    let y: Vec<usize> = (0..n).map(|i| (i * 7 + 1) % 3).collect();
    let mlp = Mlp::new(&[d, width, 3], Activation::Tanh, 1e-3).unwrap();
    let p = mlp.n_params();
    let theta: Vec<f64> = mlp.init(22).iter().map(|t| 2.0 * t).collect();
    let s = Samples::new(&x, d, &y).unwrap();
    let v = uniform(k * p, 1.0, 23);
    let batch = mlp.hvp_batch(&theta, &s, &v).unwrap();
    for j in 0..k {
        let single = mlp.hvp(&theta, &s, &v[j * p..(j + 1) * p]).unwrap();
        let err = batch[j * p..(j + 1) * p]
            .iter()
            .zip(&single)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(err <= TOL * inf_norm(&single), "direction {j}: {err:e}");
    }
}
