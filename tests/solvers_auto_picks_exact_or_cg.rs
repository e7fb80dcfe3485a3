//! `auto` picks the exact solver when the dense H_ρ fits and p ≤ 5,000, CG otherwise.

use puma::Result;
use puma::solvers::{DenseHessian, HessianOperator, Method, auto};

/// diag(1, 2, ..., p), matrix-free.
struct Diagonal(usize);

impl HessianOperator for Diagonal {
    fn dim(&self) -> usize {
        self.0
    }
    fn hvp(&self, v: &[f64], out: &mut [f64]) -> Result<()> {
        for (i, (o, x)) in out.iter_mut().zip(v).enumerate() {
            *o = (i + 1) as f64 * x;
        }
        Ok(())
    }
}

#[test]
fn auto_is_exact_for_small_p_and_cg_above_5000() {
    let small = DenseHessian::new(2, vec![2.0, 0.0, 0.0, 4.0]).unwrap();
    let (x, rep) = auto(&small, 0.0)
        .unwrap()
        .solve(&small, &[2.0, 4.0])
        .unwrap();
    assert_eq!(rep.method, Method::Exact);
    assert!(x.iter().all(|v| (v - 1.0).abs() <= 2.0 * f64::EPSILON)); // √2·√2 rounding

    let big = Diagonal(5001);
    let b: Vec<f64> = (0..5001).map(|i| (i + 1) as f64).collect(); // x* = 1
    let (x, rep) = auto(&big, 0.0).unwrap().solve(&big, &b).unwrap();
    assert_eq!(rep.method, Method::Cg);
    // κ = 5001 and no diagonal (no Jacobi): ‖x − x*‖/‖x*‖ ≤ κ·rtol = 5e-8.
    assert!(rep.rel_residual <= 1e-11);
    assert!(x.iter().all(|v| (v - 1.0).abs() < 1e-6));
}
