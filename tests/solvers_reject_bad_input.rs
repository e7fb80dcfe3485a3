//! Bad input gives the error variant that names it: non-finite b, wrong length, negative ρ,
//! an indefinite H with ρ = 0.

use puma::Error;
use puma::solvers::{Cg, CgParams, DenseHessian, Exact, ExactParams, InverseHvp};

fn solvers(rho: f64) -> Vec<Box<dyn InverseHvp>> {
    vec![
        Box::new(
            Exact::new(ExactParams {
                rho,
                ..ExactParams::default()
            })
            .unwrap(),
        ),
        Box::new(
            Cg::new(CgParams {
                rho,
                jacobi: false,
                ..CgParams::default()
            })
            .unwrap(),
        ),
    ]
}

#[test]
fn non_finite_and_wrong_length_rhs_are_rejected() {
    let op = DenseHessian::new(3, vec![2.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 2.0]).unwrap();
    for mut s in solvers(0.0) {
        assert!(matches!(
            s.solve(&op, &[1.0, f64::NAN, 0.0]),
            Err(Error::NonFinite { index: 1, .. })
        ));
        assert!(matches!(
            s.solve(&op, &[1.0, 0.0, f64::INFINITY]),
            Err(Error::NonFinite { index: 2, .. })
        ));
        assert!(matches!(
            s.solve(&op, &[1.0, 2.0]),
            Err(Error::ShapeMismatch {
                expected: 3,
                found: 2,
                ..
            })
        ));
        assert!(matches!(
            s.solve_many(&op, 2, &[1.0; 5]),
            Err(Error::ShapeMismatch {
                expected: 6,
                found: 5,
                ..
            })
        ));
    }
}

#[test]
fn negative_or_nan_rho_is_invalid() {
    for rho in [-1e-3, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            Exact::new(ExactParams {
                rho,
                ..ExactParams::default()
            }),
            Err(Error::InvalidParam { name: "rho", .. })
        ));
        assert!(matches!(
            Cg::new(CgParams {
                rho,
                ..CgParams::default()
            }),
            Err(Error::InvalidParam { name: "rho", .. })
        ));
        let op = DenseHessian::new(1, vec![1.0]).unwrap();
        assert!(puma::solvers::auto(&op, rho).is_err());
    }
}

#[test]
fn indefinite_hessian_without_damping_is_an_error() {
    // diag(2, −1, 3): the Cholesky pivot 1 is −1; CG finds curvature −1 along e₁.
    let op = DenseHessian::new(3, vec![2.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 3.0]).unwrap();
    let mut exact = Exact::new(ExactParams::default()).unwrap();
    assert_eq!(
        exact.solve(&op, &[1.0, 1.0, 1.0]).unwrap_err(),
        Error::NotPositiveDefinite {
            pivot: 1,
            value: -1.0
        }
    );
    let mut cg = Cg::new(CgParams {
        jacobi: true,
        ..CgParams::default()
    })
    .unwrap(); // Jacobi sees diag entry −1
    assert_eq!(
        cg.solve(&op, &[1.0, 1.0, 1.0]).unwrap_err(),
        Error::NegativeCurvature {
            iter: 0,
            curvature: -1.0
        }
    );
    let mut plain = Cg::new(CgParams {
        jacobi: false,
        ..CgParams::default()
    })
    .unwrap();
    match plain.solve(&op, &[0.0, 1.0, 0.0]) {
        Err(Error::NegativeCurvature { iter: 0, curvature }) => assert_eq!(curvature, -1.0),
        other => panic!("{other:?}"),
    }
    // Enough damping makes it definite: ρ = 1.5 gives diag(3.5, 0.5, 4.5).
    let mut damped = Exact::new(ExactParams {
        rho: 1.5,
        ..ExactParams::default()
    })
    .unwrap();
    let (x, rep) = damped.solve(&op, &[3.5, 1.0, 4.5]).unwrap();
    for (xi, want) in x.iter().zip([1.0, 2.0, 1.0]) {
        assert!((xi - want).abs() < 4.0 * f64::EPSILON * want); // √ rounding in the factor
    }
    assert_eq!(rep.rho, 1.5);
}
