//! syrk on every variant equals the naive loop exactly on its triangle, never touches the
//! other triangle, and β = 0 ignores NaN in C.

mod level3_common;

use level3_common::{ints, rng};
use puma_kernels::naive::syrk_naive;
use puma_kernels::variants::{self, Level};
use puma_kernels::{Op, Uplo, syrk};
use rand::Rng;

#[allow(clippy::too_many_arguments)]
fn check(
    level: Option<Level>,
    seed: u64,
    uplo: Uplo,
    trans: Op,
    n: usize,
    k: usize,
    alpha: f64,
    beta: f64,
) {
    let mut r = rng(seed);
    let (rows, cols) = if trans == Op::NoTrans { (n, k) } else { (k, n) };
    let (lda, ldc) = (cols + 1, n + 2);
    let a = ints(&mut r, rows * lda, -4, 4);
    let junk = -999.0;
    let mut c0 = vec![junk; n * ldc];
    for i in 0..n {
        for j in 0..n {
            let inside = if uplo == Uplo::Lower { j <= i } else { j >= i };
            if inside {
                c0[i * ldc + j] = if beta == 0.0 {
                    f64::NAN
                } else {
                    r.random_range(-4..=4) as f64
                };
            }
        }
    }
    let (mut got, mut want) = (c0.clone(), c0);
    match level {
        Some(l) => variants::syrk_with(
            l, uplo, trans, n, k, alpha, &a, lda, beta, &mut got, ldc, true,
        ),
        None => syrk(uplo, trans, n, k, alpha, &a, lda, beta, &mut got, ldc),
    }
    syrk_naive(uplo, trans, n, k, alpha, &a, lda, beta, &mut want, ldc);
    // `want` keeps the junk outside the triangle, so equality also proves it untouched.
    let same = got.iter().zip(&want).all(|(x, y)| x == y);
    assert!(same, "{level:?} {uplo:?} {trans:?} n={n} k={k} β={beta}");
}

fn levels() -> Vec<Option<Level>> {
    let mut v: Vec<Option<Level>> = variants::available().into_iter().map(Some).collect();
    v.push(None);
    v
}

#[test]
fn every_order_up_to_67_matches_naive() {
    let mut r = rng(3);
    for level in levels() {
        for n in 0..=67 {
            let k = r.random_range(0..=67);
            for (t, beta) in [0.0, 1.0, -2.5].into_iter().enumerate() {
                let uplo = if (n + t) % 2 == 0 {
                    Uplo::Lower
                } else {
                    Uplo::Upper
                };
                let trans = if (n / 2 + t) % 2 == 0 {
                    Op::NoTrans
                } else {
                    Op::Trans
                };
                check(level, n as u64, uplo, trans, n, k, 1.5, beta);
            }
        }
    }
}

#[test]
fn large_orders_and_every_triangle_and_transpose_match_naive() {
    for level in levels() {
        for uplo in [Uplo::Lower, Uplo::Upper] {
            for trans in [Op::NoTrans, Op::Trans] {
                check(level, 1, uplo, trans, 300, 257, -1.0, 1.0);
                check(level, 2, uplo, trans, 131, 5, 2.0, 0.0);
            }
        }
    }
}
