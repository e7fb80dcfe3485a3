//! The small-product gemm path (unpacked kernels for skinny MLP products) against the naive
//! triple loop, on real-valued data: every `Op` pair, padded leading dimensions, strided and
//! column-major C, α and β (NaN in C for β = 0), many small shapes with tails, the eight
//! products of a [2, 16, 16, 2] MLP gradient and MNIST-size ones. Errors are bounded
//! relative to Σ|α·a·b| + |β·c|, since these kernels may sum k in another order than the loop.
//! Also: results do not depend on the number of rayon threads.

mod level3_common;

use level3_common::rng;
use puma_kernels::naive::gemm_naive;
use puma_kernels::variants::{self, Level};
use puma_kernels::{Op, gemm_op};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A value marking elements outside a matrix (padding, gaps of strided C).
const GAP: f64 = -777.25;

fn real(r: &mut ChaCha8Rng, len: usize) -> Vec<f64> {
    (0..len).map(|_| r.random_range(-1.0..1.0)).collect()
}

/// A strided m × n operand: X[i, j] at `data[i·rs + j·cs]`, GAP elsewhere.
struct Mat {
    data: Vec<f64>,
    rs: usize,
    cs: usize,
}

impl Mat {
    fn random(r: &mut ChaCha8Rng, rows: usize, cols: usize, rs: usize, cs: usize) -> Mat {
        let len = if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * rs + (cols - 1) * cs + 1
        };
        let mut data = vec![GAP; len + 3]; // + 3: gaps past the end
        for i in 0..rows {
            for j in 0..cols {
                data[i * rs + j * cs] = r.random_range(-1.0..1.0);
            }
        }
        Mat { data, rs, cs }
    }
}

/// Row and column strides of op(X), X stored row-major with leading dimension `ld` as
/// rows × cols (NoTrans) or cols × rows (Trans).
fn op_strides(op: Op, ld: usize) -> (usize, usize) {
    match op {
        Op::NoTrans => (ld, 1),
        Op::Trans => (1, ld),
    }
}

/// Whether `got` is within rounding of `want` for every element of C, C's gaps are intact,
/// and β = 0 overwrote NaN. `c0` is C before the call.
#[allow(clippy::too_many_arguments)]
fn assert_close(
    what: &str,
    (m, k, n): (usize, usize, usize),
    alpha: f64,
    a: &Mat,
    b: &Mat,
    beta: f64,
    c0: &Mat,
    got: &[f64],
    want: &[f64],
) {
    let eps = f64::EPSILON;
    for i in 0..m {
        for j in 0..n {
            let idx = i * c0.rs + j * c0.cs;
            let mag: f64 = (0..k)
                .map(|p| (a.data[i * a.rs + p * a.cs] * b.data[p * b.rs + j * b.cs]).abs())
                .sum();
            let old = if beta == 0.0 { 0.0 } else { c0.data[idx] };
            let tol = 2.0 * (k + 2) as f64 * eps * (alpha.abs() * mag + (beta * old).abs());
            let (g, w) = (got[idx], want[idx]);
            assert!(
                g.is_finite() && (g - w).abs() <= tol,
                "{what} {m}×{k}×{n} α={alpha} β={beta} at ({i}, {j}): {g} vs {w} (tol {tol:e})"
            );
        }
    }
    let mut inside = vec![false; got.len()];
    for i in 0..m {
        for j in 0..n {
            inside[i * c0.rs + j * c0.cs] = true;
        }
    }
    for (x, &ins) in got.iter().zip(&inside) {
        assert!(
            ins || x.to_bits() == GAP.to_bits(),
            "{what} {m}×{k}×{n}: wrote outside C"
        );
    }
}

/// C ← α op(A) op(B) + βC through `gemm_strided` on `level` (the dispatching public
/// `gemm_op` when `None` and C is row-major), checked against the naive loop.
#[allow(clippy::too_many_arguments)]
fn check(
    level: Option<Level>,
    r: &mut ChaCha8Rng,
    (ta, tb): (Op, Op),
    (m, k, n): (usize, usize, usize),
    (pad_a, pad_b): (usize, usize),
    (rsc, csc): (usize, usize),
    alpha: f64,
    beta: f64,
) {
    // Stored row-major: A is m × k (NoTrans) or k × m (Trans), with padded rows.
    let lda = if ta == Op::NoTrans { k } else { m } + pad_a;
    let ldb = if tb == Op::NoTrans { n } else { k } + pad_b;
    let ((rsa, csa), (rsb, csb)) = (op_strides(ta, lda), op_strides(tb, ldb));
    let (a, b) = (
        Mat::random(r, m, k, rsa, csa),
        Mat::random(r, k, n, rsb, csb),
    );
    let mut c0 = Mat::random(r, m, n, rsc, csc);
    if beta == 0.0 {
        for i in 0..m {
            for j in 0..n {
                c0.data[i * rsc + j * csc] = f64::NAN; // β = 0 must not read C
            }
        }
    }
    let (mut got, mut want) = (c0.data.clone(), c0.data.clone());
    match level {
        None => {
            assert_eq!(csc, 1, "gemm_op takes a row-major C");
            gemm_op(
                ta, tb, m, k, n, alpha, &a.data, lda, &b.data, ldb, beta, &mut got, rsc,
            );
        }
        Some(l) => variants::gemm_strided(
            l, m, k, n, alpha, &a.data, rsa, csa, &b.data, rsb, csb, beta, &mut got, rsc, csc, true,
        ),
    }
    gemm_naive(
        m, k, n, alpha, &a.data, rsa, csa, &b.data, rsb, csb, beta, &mut want, rsc, csc,
    );
    let what = format!("{level:?} {ta:?}{tb:?} pad ({pad_a}, {pad_b}) C ({rsc}, {csc})");
    assert_close(&what, (m, k, n), alpha, &a, &b, beta, &c0, &got, &want);
}

const OPS: [(Op, Op); 4] = [
    (Op::NoTrans, Op::NoTrans),
    (Op::NoTrans, Op::Trans),
    (Op::Trans, Op::NoTrans),
    (Op::Trans, Op::Trans),
];

fn levels() -> Vec<Option<Level>> {
    let mut v: Vec<Option<Level>> = variants::available().into_iter().map(Some).collect();
    v.push(None);
    v
}

/// The eight products of one gradient of a [2, 16, 16, 2] MLP over 256 samples.
const MLP: [(Op, Op, usize, usize, usize); 8] = [
    (Op::NoTrans, Op::Trans, 256, 2, 16),    // z0 = X W0ᵀ
    (Op::NoTrans, Op::Trans, 256, 16, 16),   // z1 = a1 W1ᵀ
    (Op::NoTrans, Op::Trans, 256, 16, 2),    // z2 = a2 W2ᵀ
    (Op::Trans, Op::NoTrans, 2, 256, 16),    // ∂W2 = G2ᵀ a2
    (Op::NoTrans, Op::NoTrans, 256, 2, 16),  // G2 W2
    (Op::Trans, Op::NoTrans, 16, 256, 16),   // ∂W1 = G1ᵀ a1
    (Op::NoTrans, Op::NoTrans, 256, 16, 16), // G1 W1
    (Op::Trans, Op::NoTrans, 16, 256, 2),    // ∂W0 = G0ᵀ X
];

#[test]
fn mlp_products_match_naive_for_every_alpha_beta_and_padding() {
    let mut r = rng(21);
    for level in levels() {
        for (ta, tb, m, k, n) in MLP {
            for (alpha, beta) in [(1.0, 0.0), (1.0, 1.0), (-0.5, -2.5), (2.0, 0.0)] {
                for pads in [(0, 0), (3, 1)] {
                    let ldc = n + pads.1;
                    check(
                        level,
                        &mut r,
                        (ta, tb),
                        (m, k, n),
                        pads,
                        (ldc, 1),
                        alpha,
                        beta,
                    );
                }
            }
        }
    }
}

#[test]
fn every_op_pair_and_small_shape_matches_naive() {
    let dims = [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17];
    let mut r = rng(22);
    let mut case = 0usize;
    for &m in &dims {
        for &k in &dims {
            for &n in &dims {
                for ops in OPS {
                    case += 1;
                    let beta = [0.0, 1.0, -2.5][case % 3];
                    let alpha = [1.0, -0.5, 2.0][(case / 3) % 3];
                    let pads = [(0, 0), (2, 0), (0, 3), (1, 1)][(case / 9) % 4];
                    let ldc = n + [0, 2][case % 2];
                    for level in variants::available() {
                        let level = Some(level);
                        check(level, &mut r, ops, (m, k, n), pads, (ldc, 1), alpha, beta);
                    }
                }
            }
        }
    }
}

#[test]
fn strided_and_column_major_c_match_naive() {
    let mut r = rng(23);
    for level in variants::available() {
        for (m, k, n) in [
            (16, 256, 2),
            (2, 256, 16),
            (256, 16, 2),
            (17, 5, 13),
            (3, 33, 7),
        ] {
            for ops in OPS {
                for (rsc, csc) in [(1, m), (1, m + 2), (2 * n + 1, 2)] {
                    for beta in [0.0, -2.5] {
                        check(
                            Some(level),
                            &mut r,
                            ops,
                            (m, k, n),
                            (1, 0),
                            (rsc, csc),
                            1.5,
                            beta,
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn long_and_wide_skinny_shapes_match_naive() {
    // A tiny dimension with the others large (up to the single-thread threshold), deep
    // reductions, k tails after a long k, and MNIST-size products.
    let mut r = rng(24);
    for level in levels() {
        for (m, k, n) in [
            (2, 4001, 3),
            (3, 1000, 17),
            (1000, 3, 37),
            (4, 2000, 64),
            (700, 2, 700),
            (1, 777, 1),
            (256, 128, 10),
            (10, 256, 128),
            (256, 10, 128),
            (64, 300, 9),
        ] {
            for ops in OPS {
                check(level, &mut r, ops, (m, k, n), (1, 2), (n + 1, 1), -1.0, 0.5);
            }
        }
    }
}

#[test]
fn small_products_are_bit_identical_on_one_and_two_threads() {
    let on = |threads: usize, f: &(dyn Fn() -> Vec<f64> + Sync)| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(f)
    };
    let mut r = rng(25);
    for (ta, tb, m, k, n) in MLP {
        let (sa, sb) = (m * k, k * n);
        let (a, b, c) = (real(&mut r, sa), real(&mut r, sb), real(&mut r, m * n));
        let lda = if ta == Op::NoTrans { k } else { m };
        let ldb = if tb == Op::NoTrans { n } else { k };
        let run = || {
            let mut c = c.clone();
            gemm_op(ta, tb, m, k, n, 0.7, &a, lda, &b, ldb, 1.3, &mut c, n);
            c
        };
        let (one, two) = (on(1, &run), on(2, &run));
        assert!(
            one.iter()
                .zip(&two)
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "{ta:?}{tb:?} {m}×{k}×{n}"
        );
    }
}
