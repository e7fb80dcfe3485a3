//! trsm recovers a known integer X exactly from B = op(T)X (or X op(T)) for every side,
//! triangle, transpose and diagonal, on every variant, never reading the other triangle of
//! A (NaN there) nor the diagonal when it is a unit one.
//!
//! T has integer entries off the diagonal and powers of two on it, so every partial sum of
//! the substitution is an integer and every division exact: any correct order of operations
//! gives X bit for bit.

mod level3_common;

use level3_common::{ints, rng};
use puma_kernels::naive::{gemm_naive, trsm_naive};
use puma_kernels::variants::{self, Level};
use puma_kernels::{Diag, Op, Side, Uplo, trsm};
use rand::Rng;

#[allow(clippy::too_many_arguments)]
fn check(
    level: Option<Level>,
    seed: u64,
    side: Side,
    uplo: Uplo,
    trans: Op,
    diag: Diag,
    m: usize,
    n: usize,
) {
    let mut r = rng(seed);
    let na = if side == Side::Left { m } else { n };
    let lda = na + 1;
    // A: the stored triangle, NaN elsewhere (and on the diagonal if it is a unit one).
    let mut a = vec![f64::NAN; na * lda];
    let mut t = vec![0.0; na * na]; // dense T = A's triangle, with its real diagonal
    for i in 0..na {
        for j in 0..na {
            let stored = if uplo == Uplo::Lower { j < i } else { j > i };
            if stored {
                let v = r.random_range(-2..=2) as f64;
                a[i * lda + j] = v;
                t[i * na + j] = v;
            } else if i == j {
                let d = if diag == Diag::Unit {
                    1.0
                } else {
                    [1.0, 2.0, -2.0, 4.0][r.random_range(0..4)]
                };
                t[i * na + i] = d;
                if diag == Diag::NonUnit {
                    a[i * lda + i] = d;
                }
            }
        }
    }
    let ldb = n + 3;
    let x = ints(&mut r, m * n, -3, 3);
    // B = op(T)X or X op(T), times 1/α with α = 2 (halving is exact).
    let (rst, cst) = if trans == Op::NoTrans {
        (na, 1)
    } else {
        (1, na)
    };
    let mut b = vec![-777.0; m * ldb];
    if side == Side::Left {
        gemm_naive(m, m, n, 0.5, &t, rst, cst, &x, n, 1, 0.0, &mut b, ldb, 1);
    } else {
        gemm_naive(m, n, n, 0.5, &x, n, 1, &t, rst, cst, 0.0, &mut b, ldb, 1);
    }
    let mut got = b.clone();
    match level {
        Some(l) => variants::trsm_with(
            l, side, uplo, trans, diag, m, n, 2.0, &a, lda, &mut got, ldb, true,
        ),
        None => trsm(side, uplo, trans, diag, m, n, 2.0, &a, lda, &mut got, ldb),
    }
    let mut oracle = b;
    trsm_naive(
        side,
        uplo,
        trans,
        diag,
        m,
        n,
        2.0,
        &a,
        lda,
        &mut oracle,
        ldb,
    );
    let what = format!("{level:?} {side:?} {uplo:?} {trans:?} {diag:?} {m}×{n}");
    for i in 0..m {
        for j in 0..n {
            assert_eq!(got[i * ldb + j], x[i * n + j], "{what} at ({i}, {j})");
            assert_eq!(
                oracle[i * ldb + j],
                x[i * n + j],
                "oracle {what} at ({i}, {j})"
            );
        }
        assert!(
            got[i * ldb + n..(i + 1) * ldb].iter().all(|&g| g == -777.0),
            "{what}: wrote past a row"
        );
    }
}

fn levels() -> Vec<Option<Level>> {
    let mut v: Vec<Option<Level>> = variants::available().into_iter().map(Some).collect();
    v.push(None);
    v
}

const SIDES: [Side; 2] = [Side::Left, Side::Right];
const UPLOS: [Uplo; 2] = [Uplo::Lower, Uplo::Upper];
const OPS: [Op; 2] = [Op::NoTrans, Op::Trans];
const DIAGS: [Diag; 2] = [Diag::NonUnit, Diag::Unit];

#[test]
fn every_case_recovers_x_on_sizes_up_to_67() {
    let mut r = rng(5);
    for level in levels() {
        for size in 0..=67 {
            let other = r.random_range(0..=67);
            for (c, side) in SIDES.into_iter().enumerate() {
                for uplo in UPLOS {
                    for trans in OPS {
                        let diag = DIAGS[(size + c) % 2];
                        let (m, n) = if side == Side::Left {
                            (size, other)
                        } else {
                            (other, size)
                        };
                        check(level, size as u64, side, uplo, trans, diag, m, n);
                    }
                }
            }
        }
    }
}

#[test]
fn large_triangles_and_many_right_hand_sides_recover_x() {
    for level in levels() {
        for side in SIDES {
            for uplo in UPLOS {
                for trans in OPS {
                    for diag in DIAGS {
                        let (m, n) = if side == Side::Left {
                            (200, 1000)
                        } else {
                            (1000, 200)
                        };
                        check(level, 1, side, uplo, trans, diag, m, n);
                        check(level, 2, side, uplo, trans, diag, 1, 1);
                    }
                }
            }
        }
    }
}

#[test]
fn zero_alpha_zeroes_b_without_reading_it_or_a() {
    let a = vec![f64::NAN; 9];
    let mut b = vec![f64::NAN; 6];
    trsm(
        Side::Left,
        Uplo::Lower,
        Op::NoTrans,
        Diag::NonUnit,
        3,
        2,
        0.0,
        &a,
        3,
        &mut b,
        2,
    );
    assert_eq!(b, vec![0.0; 6]);
}
