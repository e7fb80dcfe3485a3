//! Level-3 and factorisation oracles: gemm, syrk, Cholesky, trsm, written as their
//! definitions. Slow on purpose; every fast path in `level3` is tested against these.

use crate::{Diag, NotPositiveDefinite, Op, Side, Uplo};

/// C ← αAB + βC by the triple loop, X[i, j] at `x[i·rsx + j·csx]`; β = 0 never reads C.
#[allow(clippy::too_many_arguments)]
pub fn gemm_naive(
    m: usize,
    k: usize,
    n: usize,
    alpha: f64,
    a: &[f64],
    rsa: usize,
    csa: usize,
    b: &[f64],
    rsb: usize,
    csb: usize,
    beta: f64,
    c: &mut [f64],
    rsc: usize,
    csc: usize,
) {
    for i in 0..m {
        for j in 0..n {
            let ab: f64 = (0..k)
                .map(|p| a[i * rsa + p * csa] * b[p * rsb + j * csb])
                .sum();
            let cij = &mut c[i * rsc + j * csc];
            *cij = if beta == 0.0 {
                alpha * ab
            } else {
                alpha * ab + beta * *cij
            };
        }
    }
}

/// C ← α op(A) op(A)ᵀ + βC on the `uplo` triangle of row-major C (n × n, leading dim `ldc`);
/// op(A) is n × k (A stored n × k for `NoTrans`, k × n for `Trans`, leading dim `lda`).
#[allow(clippy::too_many_arguments)]
pub fn syrk_naive(
    uplo: Uplo,
    trans: Op,
    n: usize,
    k: usize,
    alpha: f64,
    a: &[f64],
    lda: usize,
    beta: f64,
    c: &mut [f64],
    ldc: usize,
) {
    let op_a = |i: usize, p: usize| {
        if trans == Op::NoTrans {
            a[i * lda + p]
        } else {
            a[p * lda + i]
        }
    };
    for i in 0..n {
        for j in 0..n {
            if (uplo == Uplo::Lower && j > i) || (uplo == Uplo::Upper && j < i) {
                continue;
            }
            let s: f64 = (0..k).map(|p| op_a(i, p) * op_a(j, p)).sum();
            let cij = &mut c[i * ldc + j];
            *cij = if beta == 0.0 {
                alpha * s
            } else {
                alpha * s + beta * *cij
            };
        }
    }
}

/// A = LLᵀ in place on the lower triangle of row-major A (Cholesky–Banachiewicz, row by row).
///
/// # Errors
/// [`NotPositiveDefinite`] at the first pivot j with `A[j, j] − Σ_p L[j, p]² ≤ 0` (or NaN).
pub fn potrf_naive(n: usize, a: &mut [f64], lda: usize) -> Result<(), NotPositiveDefinite> {
    for j in 0..n {
        for i in j..n {
            let s: f64 = (0..j).map(|p| a[i * lda + p] * a[j * lda + p]).sum();
            let v = a[i * lda + j] - s;
            if i == j {
                if v.is_nan() || v <= 0.0 {
                    return Err(NotPositiveDefinite { pivot: j, value: v });
                }
                a[j * lda + j] = v.sqrt();
            } else {
                a[i * lda + j] = v / a[j * lda + j];
            }
        }
    }
    Ok(())
}

/// Solves op(A)X = αB (`Side::Left`) or X op(A) = αB (`Side::Right`), X overwriting the
/// row-major m × n B, by forming op(A) densely and substituting one column (row) at a time.
#[allow(clippy::too_many_arguments)]
pub fn trsm_naive(
    side: Side,
    uplo: Uplo,
    trans: Op,
    diag: Diag,
    m: usize,
    n: usize,
    alpha: f64,
    a: &[f64],
    lda: usize,
    b: &mut [f64],
    ldb: usize,
) {
    let na = if side == Side::Left { m } else { n };
    // T = op(A) with the unreferenced triangle zeroed and the unit diagonal filled in.
    let mut t = vec![0.0; na * na];
    for i in 0..na {
        for j in 0..na {
            let stored = (uplo == Uplo::Lower && j <= i) || (uplo == Uplo::Upper && j >= i);
            let v = if i == j && diag == Diag::Unit {
                1.0
            } else if stored {
                a[i * lda + j]
            } else {
                0.0
            };
            if trans == Op::NoTrans {
                t[i * na + j] = v
            } else {
                t[j * na + i] = v
            }
        }
    }
    let lower = (uplo == Uplo::Lower) == (trans == Op::NoTrans);
    if side == Side::Left {
        // Column j of X solves T x = α b_j.
        for j in 0..n {
            let order: Vec<usize> = if lower {
                (0..m).collect()
            } else {
                (0..m).rev().collect()
            };
            for &i in &order {
                let mut s = alpha * b[i * ldb + j];
                for p in 0..m {
                    if (lower && p < i) || (!lower && p > i) {
                        s -= t[i * na + p] * b[p * ldb + j];
                    }
                }
                b[i * ldb + j] = s / t[i * na + i];
            }
        }
    } else {
        // Row i of X solves x T = α b_i, i.e. Tᵀ xᵀ = α b_iᵀ.
        for i in 0..m {
            let order: Vec<usize> = if lower {
                (0..n).rev().collect()
            } else {
                (0..n).collect()
            };
            for &j in &order {
                let mut s = alpha * b[i * ldb + j];
                for p in 0..n {
                    if (lower && p > j) || (!lower && p < j) {
                        s -= b[i * ldb + p] * t[p * na + j];
                    }
                }
                b[i * ldb + j] = s / t[j * na + j];
            }
        }
    }
}
