//! Level-3 kernels and factorisations: gemm, syrk, Cholesky (potrf, potrs), trsm.
//!
//! All matrices are f64. The slice API is row-major with leading dimensions and BLAS/LAPACK
//! names and argument order, except that sizes follow matrixmultiply's `(m, k, n)`;
//! [`gemm_strided`] takes general row and column strides. Everything is built on one packed,
//! blocked gemm ([`gemm`] module docs); syrk, trsm and Cholesky are recursive so that nearly
//! all of their flops are large gemm calls [Gustavson 1997, "Recursion leads to automatic
//! variable blocking for dense linear-algebra algorithms"].
//!
//! | routine | computes | reads | flops |
//! |---|---|---|---|
//! | [`gemm`], [`gemm_op`], [`gemm_strided`] | C ← α op(A) op(B) + βC | all of A, B (C unless β = 0) | 2mnk |
//! | [`syrk`] | C ← α op(A) op(A)ᵀ + βC, one triangle | that triangle of C | n²k |
//! | [`potrf`] | A = LLᵀ (or UᵀU) in place | one triangle | n³/3 |
//! | [`trsm`] | B ← α op(A)⁻¹ B or α B op(A)⁻¹ | one triangle of A | m²n or mn² |
//! | [`potrs`] | B ← A⁻¹B from potrf's factor | one triangle | 2n²·nrhs |

mod cholesky;
mod gemm;
mod layout;
mod syrk;
mod trsm;

pub use cholesky::{NotPositiveDefinite, potrf, potrs};
pub use gemm::{gemm, gemm_op, gemm_strided};
pub use syrk::syrk;
pub use trsm::trsm;

/// Whether a matrix operand is used as stored or transposed (BLAS `TRANS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// op(A) = A.
    NoTrans,
    /// op(A) = Aᵀ.
    Trans,
}

/// Which triangle of a symmetric or triangular matrix is referenced (BLAS `UPLO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uplo {
    /// The lower triangle, i ≥ j.
    Lower,
    /// The upper triangle, i ≤ j.
    Upper,
}

/// Which side the triangular matrix multiplies from in [`trsm`] (BLAS `SIDE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Solve op(A)·X = αB.
    Left,
    /// Solve X·op(A) = αB.
    Right,
}

/// Whether a triangular matrix has an implicit unit diagonal (BLAS `DIAG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Diag {
    /// The diagonal is read from the matrix.
    NonUnit,
    /// The diagonal is taken to be 1 and never read.
    Unit,
}

/// Entry points that run one chosen variant, so that one test run covers both paths.
///
/// Not part of the stable API. Each function panics if asked for a variant the CPU cannot
/// run; `par = false` keeps the call on the current thread.
#[doc(hidden)]
pub mod variants {
    pub use super::cholesky::{potrf_with, potrs_with};
    pub use super::gemm::PAR_MIN_FLOPS;
    pub use super::syrk::syrk_with;
    pub use super::trsm::trsm_with;
    pub use crate::dispatch::Level;

    /// The variants this CPU can run: always portable, plus AVX2+FMA when detected.
    pub fn available() -> Vec<Level> {
        let mut v = vec![Level::Portable];
        if crate::dispatch::avx2_fma_available() {
            v.push(Level::Avx2Fma);
        }
        v
    }

    /// [`crate::gemm_strided`] on `level`, on more than one thread only if `par`.
    ///
    /// # Panics
    /// As [`crate::gemm_strided`], or if the CPU cannot run `level`.
    #[track_caller]
    #[allow(clippy::too_many_arguments)]
    pub fn gemm_strided(
        level: Level,
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
        par: bool,
    ) {
        super::gemm::gemm_strided_with(
            level, m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc, par,
        );
    }
}
