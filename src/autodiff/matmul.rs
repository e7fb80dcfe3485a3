//! The one place where the tape multiplies matrices:
//!
//! ```text
//! C ← op(A) · op(B)        or        C ← C + op(A) · op(B),     op(X) ∈ {X, Xᵀ}
//! ```
//!
//! `op(A)` is m × k and `op(B)` is k × n; all buffers are row-major. Every matrix product of the
//! autodiff and model code calls [`matmul`], which hands it to `puma_kernels::gemm_op` (packed
//! AVX2+FMA micro-kernels chosen at run time \[GotoVdG08\], split over rayon threads by rows or
//! columns only, so the bits do not depend on the thread count). Cost: 2·m·k·n flops.

use puma_kernels::{Op, gemm_op};

/// C ← op(A)·op(B) (`accumulate == false`) or C ← C + op(A)·op(B) (`accumulate == true`).
///
/// `op(A)` is `m × k` (A is stored `m × k`, or `k × m` when `trans_a`), `op(B)` is `k × n`
/// (B stored `k × n`, or `n × k` when `trans_b`), C is `m × n`. With `accumulate == false`
/// C is never read (it may hold NaN).
///
/// # Panics
/// If a buffer's length is not the product of its dimensions.
#[track_caller]
#[allow(clippy::too_many_arguments, non_snake_case)]
pub fn matmul(
    m: usize,
    k: usize,
    n: usize,
    A: &[f64],
    trans_a: bool,
    B: &[f64],
    trans_b: bool,
    C: &mut [f64],
    accumulate: bool,
) {
    assert_eq!(A.len(), m * k, "matmul: A has the wrong length");
    assert_eq!(B.len(), k * n, "matmul: B has the wrong length");
    assert_eq!(C.len(), m * n, "matmul: C has the wrong length");
    if m == 0 || n == 0 || k == 0 {
        if !accumulate {
            C.fill(0.0);
        }
        return;
    }
    let op = |t: bool| if t { Op::Trans } else { Op::NoTrans };
    let lda = if trans_a { m } else { k }; // row length of A as stored
    let ldb = if trans_b { k } else { n };
    let beta = if accumulate { 1.0 } else { 0.0 };
    gemm_op(
        op(trans_a),
        op(trans_b),
        m,
        k,
        n,
        1.0,
        A,
        lda,
        B,
        ldb,
        beta,
        C,
        n,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// C = op(A)·op(B) by the definition, one entry at a time.
    #[allow(non_snake_case, clippy::too_many_arguments)]
    fn matmul_naive(
        m: usize,
        k: usize,
        n: usize,
        A: &[f64],
        ta: bool,
        B: &[f64],
        tb: bool,
    ) -> Vec<f64> {
        let a = |i: usize, l: usize| if ta { A[l * m + i] } else { A[i * k + l] };
        let b = |l: usize, j: usize| if tb { B[j * k + l] } else { B[l * n + j] };
        let mut C = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                C[i * n + j] = (0..k).map(|l| a(i, l) * b(l, j)).sum();
            }
        }
        C
    }

    #[test]
    #[allow(non_snake_case)]
    fn all_transpose_cases_match_the_definition_exactly() {
        // Small integers: every product and sum is exact, so assert_eq! is fair.
        for (m, k, n) in [(0, 3, 2), (1, 1, 1), (3, 4, 5), (7, 2, 6), (5, 9, 1)] {
            let A: Vec<f64> = (0..m * k)
                .map(|v| ((v * 7 + 3) % 11) as f64 - 5.0)
                .collect();
            let B: Vec<f64> = (0..k * n)
                .map(|v| ((v * 5 + 1) % 13) as f64 - 6.0)
                .collect();
            for ta in [false, true] {
                for tb in [false, true] {
                    let expected = matmul_naive(m, k, n, &A, ta, &B, tb);
                    let mut C = vec![f64::NAN; m * n]; // NaN: proves C is not read
                    matmul(m, k, n, &A, ta, &B, tb, &mut C, false);
                    assert_eq!(C, expected, "m={m} k={k} n={n} ta={ta} tb={tb}");
                    let mut C2 = vec![1.0; m * n];
                    matmul(m, k, n, &A, ta, &B, tb, &mut C2, true);
                    let plus_one: Vec<f64> = expected.iter().map(|c| c + 1.0).collect();
                    assert_eq!(C2, plus_one);
                }
            }
        }
    }
}
