//! The library's error type: every data-dependent failure, carrying data, not strings.
//!
//! Variants carry the facts a test can match on (`Error::NotPositiveDefinite { pivot: 3, .. }`)
//! and `Display` writes one full sentence per variant naming what is wrong and where.

use std::path::PathBuf;

/// Everything that can go wrong in puma on bad input or a failed computation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A text file (CSV, index list) is malformed at a line and column (both 1-based; the
    /// header is line 1).
    #[error("{}:{line}:{column}: {reason}", file.display())]
    Data {
        /// The file read.
        file: PathBuf,
        /// 1-based line number.
        line: usize,
        /// 1-based column (field) number; 0 when the whole line is at fault.
        column: usize,
        /// What was found and what was expected.
        reason: String,
    },
    /// A binary file (IDX, NPY, safetensors) is malformed at a byte offset.
    #[error("{}: at byte {offset}: {reason}", file.display())]
    DataAt {
        /// The file read.
        file: PathBuf,
        /// 0-based byte offset of the fault (in the decompressed stream for gzipped files).
        offset: u64,
        /// What was found and what was expected.
        reason: String,
    },
    /// A file could not be opened, read or written.
    #[error("{}: {reason}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The operating system's message.
        reason: String,
    },
    /// An index (a row, a class) is outside the range of what it indexes.
    #[error("{what} index {index} is out of range for length {len}")]
    IndexOutOfRange {
        /// What was indexed (for example "dataset row").
        what: &'static str,
        /// The index given.
        index: usize,
        /// The length of what was indexed; valid indices are `0..len`.
        len: usize,
    },
    /// Two sizes that must agree do not.
    #[error("shape mismatch in {what}: expected {expected}, found {found}")]
    ShapeMismatch {
        /// Which quantity (for example "b rows vs A rows").
        what: &'static str,
        /// The size required.
        expected: usize,
        /// The size given.
        found: usize,
    },
    /// A parameter is outside its valid range.
    #[error("invalid parameter {name}: {reason}")]
    InvalidParam {
        /// The parameter's name.
        name: &'static str,
        /// Why it is invalid, with the value given.
        reason: String,
    },
    /// An input holds NaN or ±inf where a finite number is required.
    #[error("{what} holds a non-finite value ({value}) at index {index}")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// Flat index of the first offending entry.
        index: usize,
        /// The value found.
        value: f64,
    },
    /// A Cholesky factorisation met a non-positive pivot.
    #[error("matrix is not positive definite: pivot {pivot} is {value:e}")]
    NotPositiveDefinite {
        /// 0-based index of the failed pivot.
        pivot: usize,
        /// The value of the pivot before its square root.
        value: f64,
    },
    /// An iterative method stopped at its iteration limit before its tolerance.
    #[error(
        "{method} did not converge in {iters} iterations (reached {achieved:e}, target {target:e})"
    )]
    NoConvergence {
        /// Which method ("cg", "lissa", "lasso", ...).
        method: &'static str,
        /// Iterations done.
        iters: usize,
        /// How far it got (relative residual, duality gap, ...).
        achieved: f64,
        /// The tolerance asked for.
        target: f64,
    },
    /// An iterative solver met a direction of non-positive curvature dᵀH_ρd ≤ 0: H_ρ is not
    /// positive definite (raise the damping ρ or use a convex model).
    #[error("negative curvature at iteration {iter}: dᵀH_ρd / dᵀd = {curvature:e} ≤ 0")]
    NegativeCurvature {
        /// 0-based iteration at which it was found.
        iter: usize,
        /// The Rayleigh quotient dᵀH_ρd / dᵀd found (≤ 0, or NaN).
        curvature: f64,
    },
    /// A computation would need more memory than its budget allows.
    #[error("{what} needs {needed} bytes, more than the budget of {budget} bytes")]
    MemoryBudget {
        /// What would be allocated (for example "dense Hessian and its Cholesky factor").
        what: &'static str,
        /// Bytes needed.
        needed: u64,
        /// Bytes allowed.
        budget: u64,
    },
}

/// `Result` with puma's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An [`Error::Io`] for `file` from an operating-system error.
    pub fn io(file: impl Into<PathBuf>, err: &std::io::Error) -> Self {
        Error::Io {
            file: file.into(),
            reason: err.to_string(),
        }
    }
}
