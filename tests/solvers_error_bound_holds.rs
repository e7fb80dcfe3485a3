//! The reported error bound ‖x − x*‖ ≤ (‖H_ρx − b‖ + rounding)/σ holds for exact and CG
//! on problems whose exact answer x* is known (integer H, x*, b: b = Hx* exact in f64).

mod solvers_support;

use puma::solvers::{Cg, CgParams, DenseHessian, Exact, ExactParams, InverseHvp, SigmaSource};
use solvers_support::{dist, integer_problem};

#[test]
fn exact_and_cg_error_bounds_hold_on_integer_problems() {
    for (seed, (p, q, c)) in [(60, 80, 1), (90, 40, 2), (150, 150, 1)]
        .into_iter()
        .enumerate()
    {
        let (h, x_star, b) = integer_problem(p, q, c, seed as u64);
        // Without the convexity statement only the Cholesky certificate is available.
        for convex in [false, true] {
            let mut op = DenseHessian::new(p, h.clone()).unwrap();
            if convex {
                op = op.with_convexity(c as f64).unwrap(); // H = AᵀA + cI ⪰ cI
            }
            let mut exact = Exact::new(ExactParams::default()).unwrap();
            let (x, rep) = exact.solve(&op, &b).unwrap();
            let sigma = rep.sigma.expect("a certified σ");
            if !convex {
                assert_ne!(sigma.source, SigmaSource::Convexity);
            }
            let err = dist(&x, &x_star);
            let bound = rep.error_bound.unwrap();
            assert!(err <= bound, "exact p {p}: error {err:e} > bound {bound:e}");
            assert!(bound < 1e-6, "bound {bound:e} uselessly loose");

            let mut cg = Cg::new(CgParams {
                max_iters: Some(50 * p),
                ..CgParams::default()
            })
            .unwrap();
            let (x, rep) = cg.solve(&op, &b).unwrap();
            let err = dist(&x, &x_star);
            match rep.error_bound {
                Some(bound) => assert!(err <= bound, "cg p {p}: {err:e} > {bound:e}"),
                None => assert!(!convex, "a convex operator must give CG a bound"),
            }
        }
    }
}

#[test]
fn error_bound_holds_with_damping() {
    let (h, x_star, _) = integer_problem(40, 30, 1, 9);
    let p = 40;
    let rho = 0.5; // H_ρ x* = b + 0.5 x*, still exact (halves of integers)
    let b: Vec<f64> = (0..p)
        .map(|i| (0..p).map(|j| h[i * p + j] * x_star[j]).sum::<f64>() + rho * x_star[i])
        .collect();
    let op = DenseHessian::new(p, h)
        .unwrap()
        .with_convexity(1.0)
        .unwrap();
    for solver in [
        Box::new(
            Exact::new(ExactParams {
                rho,
                ..ExactParams::default()
            })
            .unwrap(),
        ) as Box<dyn InverseHvp>,
        Box::new(
            Cg::new(CgParams {
                rho,
                ..CgParams::default()
            })
            .unwrap(),
        ),
    ] {
        let mut solver = solver;
        let (x, rep) = solver.solve(&op, &b).unwrap();
        assert_eq!(rep.rho, rho);
        assert!(rep.sigma.unwrap().value >= 1.5 - 1e-12); // μ + ρ or better
        assert!(dist(&x, &x_star) <= rep.error_bound.unwrap());
    }
}
