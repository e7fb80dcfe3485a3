//! Cholesky (potrf) and its solve (potrs) on every variant: LLᵀ reconstructs A, a known x
//! is recovered, an indefinite matrix is rejected naming the failing pivot and its value,
//! and the unused triangle (NaN) is never read nor written.

mod level3_common;

use level3_common::{rng, spd};
use puma_kernels::naive::potrf_naive;
use puma_kernels::variants::{self, Level};
use puma_kernels::{NotPositiveDefinite, Uplo, potrf, potrs};
use rand::Rng;

fn levels() -> Vec<Option<Level>> {
    let mut v: Vec<Option<Level>> = variants::available().into_iter().map(Some).collect();
    v.push(None);
    v
}

fn factor(
    level: Option<Level>,
    uplo: Uplo,
    n: usize,
    a: &mut [f64],
    lda: usize,
) -> Result<(), NotPositiveDefinite> {
    match level {
        Some(l) => variants::potrf_with(l, uplo, n, a, lda, true),
        None => potrf(uplo, n, a, lda),
    }
}

/// Factors a seeded SPD matrix and checks LLᵀ = A, the untouched triangle, the naive factor,
/// and the solve of A x = b for a known x.
fn check(level: Option<Level>, uplo: Uplo, n: usize) {
    let mut r = rng(n as u64);
    let lda = n + 2;
    let lower = uplo == Uplo::Lower;
    let (mut a, dense) = spd(&mut r, n, lda, lower, f64::NAN);
    factor(level, uplo, n, &mut a, lda).unwrap();
    let l = |i: usize, j: usize| {
        if lower {
            a[i * lda + j]
        } else {
            a[j * lda + i]
        }
    }; // L = Uᵀ
    let scale = dense.iter().fold(0.0f64, |s, x| s.max(x.abs()));
    let tol = 8.0 * f64::EPSILON * n as f64 * scale; // O(nε‖A‖) backward error of Cholesky
    for i in 0..n {
        for j in 0..n {
            let stored = if lower { j <= i } else { j >= i };
            if !stored {
                assert!(
                    a[i * lda + j].is_nan(),
                    "{level:?} {uplo:?} n={n}: wrote the other triangle at ({i}, {j})"
                );
                continue;
            }
            let llt: f64 = (0..=i.min(j)).map(|p| l(i, p) * l(j, p)).sum();
            assert!(
                (llt - dense[i * n + j]).abs() <= tol,
                "{level:?} {uplo:?} n={n}: LLᵀ ≠ A at ({i}, {j})"
            );
        }
    }
    // Against the naive factor (lower form of the same matrix).
    let (mut naive, _) = spd(&mut rng(n as u64), n, lda, true, f64::NAN);
    potrf_naive(n, &mut naive, lda).unwrap();
    let ltol = 64.0 * f64::EPSILON * n as f64 * scale.sqrt(); // entries of L are O(√‖A‖)
    for i in 0..n {
        for j in 0..=i {
            assert!(
                (l(i, j) - naive[i * lda + j]).abs() <= ltol,
                "{level:?} {uplo:?} n={n}: L differs from naive at ({i}, {j})"
            );
        }
    }
    // A x = b for a known x with 3 right-hand sides.
    let nrhs = 3;
    let x: Vec<f64> = (0..n * nrhs)
        .map(|_| r.random_range(-5..=5) as f64)
        .collect();
    let mut b = vec![0.0; n * nrhs];
    for i in 0..n {
        for c in 0..nrhs {
            b[i * nrhs + c] = (0..n).map(|p| dense[i * n + p] * x[p * nrhs + c]).sum();
        }
    }
    match level {
        Some(lv) => variants::potrs_with(lv, uplo, n, nrhs, &a, lda, &mut b, nrhs, true),
        None => potrs(uplo, n, nrhs, &a, lda, &mut b, nrhs),
    }
    // A = BᵀB + nI has eigenvalues in [n, ~17n], so κ(A) ≲ 17: the error is O(κ n ε)·|x|.
    let xtol = 1e3 * f64::EPSILON * n as f64 * 5.0;
    for (k, (got, want)) in b.iter().zip(&x).enumerate() {
        assert!(
            (got - want).abs() <= xtol,
            "{level:?} {uplo:?} n={n}: x[{k}] = {got}, want {want}"
        );
    }
}

#[test]
fn factor_and_solve_every_order_up_to_67() {
    for level in levels() {
        for n in 0..=67 {
            check(level, if n % 2 == 0 { Uplo::Lower } else { Uplo::Upper }, n);
        }
    }
}

#[test]
fn factor_and_solve_large_orders() {
    for level in levels() {
        for uplo in [Uplo::Lower, Uplo::Upper] {
            check(level, uplo, 300);
            check(level, uplo, 257);
        }
    }
}

#[test]
fn indefinite_matrices_are_rejected_at_the_right_pivot() {
    for level in levels() {
        for uplo in [Uplo::Lower, Uplo::Upper] {
            let n = 150;
            // A negative diagonal entry fails at its own pivot with its own value.
            for p in [0, 1, 31, 32, 33, 75, 149] {
                let mut a = vec![f64::NAN; n * n]; // NaN in the unused triangle
                for i in 0..n {
                    for j in 0..n {
                        if (uplo == Uplo::Lower && j < i) || (uplo == Uplo::Upper && j > i) {
                            a[i * n + j] = 0.0;
                        }
                    }
                    a[i * n + i] = if i == p { -3.0 } else { 4.0 };
                }
                let err = factor(level, uplo, n, &mut a, n).unwrap_err();
                assert_eq!(
                    err,
                    NotPositiveDefinite {
                        pivot: p,
                        value: -3.0
                    },
                    "{level:?} {uplo:?}"
                );
            }
            // [[1, 2], [2, 1]] embedded at (q, q): the Schur complement 1 − 2² = −3 fails at q + 1.
            for q in [0, 40, 100] {
                let mut a = vec![0.0; n * n];
                for i in 0..n {
                    a[i * n + i] = 1.0;
                }
                a[(q + 1) * n + q] = 2.0;
                a[q * n + q + 1] = 2.0;
                let err = factor(level, uplo, n, &mut a, n).unwrap_err();
                assert_eq!(
                    err,
                    NotPositiveDefinite {
                        pivot: q + 1,
                        value: -3.0
                    },
                    "{level:?} {uplo:?} q={q}"
                );
            }
            // A NaN pivot is not positive either.
            let mut a = vec![0.0; 4];
            a[0] = f64::NAN;
            a[3] = 1.0;
            let err = factor(level, uplo, 2, &mut a, 2).unwrap_err();
            assert_eq!(err.pivot, 0);
            assert!(err.value.is_nan());
        }
    }
}

#[test]
fn the_error_reads_as_a_sentence() {
    let e = NotPositiveDefinite {
        pivot: 3,
        value: -0.5,
    };
    assert_eq!(
        e.to_string(),
        "the matrix is not positive definite: pivot 3 of the Cholesky factorisation is -0.5 (must be > 0)"
    );
}
