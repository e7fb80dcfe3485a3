//! Dense f64 kernels for puma, with BLAS/LAPACK names and argument order.
//!
//! This is the only crate of the workspace that may say `unsafe`: each kernel has an
//! AVX2+FMA variant (`core::arch` intrinsics in `#[target_feature]` functions, chosen once
//! at run time by [`dispatch::level`]), a portable variant, and a naive oracle in
//! [`naive`] that the tests compare both against.

pub mod dispatch;
pub mod naive;
mod portable;
#[cfg(target_arch = "x86_64")]
mod x86;

mod level3;
pub use level3::*;

/// ⟨x, y⟩ = Σ_i x_i y_i
///
/// # Panics
/// If `x.len() != y.len()`.
#[track_caller]
pub fn dot(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len(), "dot: x and y differ in length");
    naive::dot_naive(x, y)
}

/// y ← αx + y
///
/// # Panics
/// If `x.len() != y.len()`.
#[track_caller]
pub fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    assert_eq!(x.len(), y.len(), "axpy: x and y differ in length");
    naive::axpy_naive(alpha, x, y)
}
