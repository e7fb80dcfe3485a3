//! Bad input is an `Error`, detected before any work, one test per kind.

use puma::Error;
use puma::lasso::{
    Bounds, LassoParams, LassoProblem, alpha_max, lasso_path_with_alphas, lasso_with,
};

const A: [f64; 6] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 3 × 2
const B: [f64; 3] = [1.0, 0.0, -1.0];

fn ok() -> LassoProblem<'static> {
    LassoProblem::new(&A, 3, 2, &B, 0.1)
}

fn err(prob: &LassoProblem) -> Error {
    lasso_with(prob, &LassoParams::default()).unwrap_err()
}

#[test]
fn mismatched_shapes_are_rejected() {
    assert!(matches!(
        err(&LassoProblem::new(&A, 3, 3, &B, 0.1)),
        Error::ShapeMismatch {
            expected: 9,
            found: 6,
            ..
        }
    ));
    assert!(matches!(
        err(&LassoProblem::new(&A, 2, 3, &B, 0.1)),
        Error::ShapeMismatch {
            expected: 2,
            found: 3,
            ..
        }
    ));
    let lo = [0.0; 3];
    let up = [1.0; 2];
    assert!(matches!(
        err(&ok().with_bounds(Bounds::PerCoefficient {
            lower: &lo,
            upper: &up
        })),
        Error::ShapeMismatch {
            what: "lower bounds vs p",
            ..
        }
    ));
    assert!(matches!(
        err(&ok().with_weights(&[1.0])),
        Error::ShapeMismatch {
            what: "weights vs p",
            ..
        }
    ));
    assert!(matches!(
        err(&ok().with_warm_start(&[0.0; 5])),
        Error::ShapeMismatch {
            what: "warm start vs p",
            ..
        }
    ));
}

#[test]
fn non_finite_values_are_rejected_with_their_index() {
    let mut a = A;
    a[4] = f64::NAN;
    assert!(matches!(
        err(&LassoProblem::new(&a, 3, 2, &B, 0.1)),
        Error::NonFinite {
            what: "A",
            index: 4,
            ..
        }
    ));
    let mut b = B;
    b[1] = f64::INFINITY;
    assert!(matches!(
        err(&LassoProblem::new(&A, 3, 2, &b, 0.1)),
        Error::NonFinite {
            what: "b",
            index: 1,
            ..
        }
    ));
    assert!(matches!(
        err(&ok().with_box(f64::NEG_INFINITY, 1.0)),
        Error::NonFinite {
            what: "lower bounds",
            ..
        }
    ));
    assert!(matches!(
        err(&ok().with_box(0.0, f64::INFINITY)),
        Error::NonFinite {
            what: "upper bounds",
            ..
        }
    ));
    assert!(matches!(
        err(&ok().with_weights(&[1.0, f64::NAN])),
        Error::NonFinite {
            what: "weights",
            index: 1,
            ..
        }
    ));
    assert!(matches!(
        err(&ok().with_alpha(f64::NAN)),
        Error::NonFinite { what: "alpha", .. }
    ));
    assert!(matches!(
        err(&ok().with_warm_start(&[f64::NAN, 0.0])),
        Error::NonFinite {
            what: "warm start",
            ..
        }
    ));
}

#[test]
fn boxes_without_zero_or_inverted_are_rejected() {
    assert!(matches!(
        err(&ok().with_box(0.5, 1.0)),
        Error::InvalidParam {
            name: "lower bounds",
            ..
        }
    ));
    assert!(matches!(
        err(&ok().with_box(-1.0, -0.5)),
        Error::InvalidParam {
            name: "upper bounds",
            ..
        }
    ));
    // ℓ > u with 0 in neither order: ℓ = 1 > u = −1.
    assert!(matches!(
        err(&ok().with_box(1.0, -1.0)),
        Error::InvalidParam { .. }
    ));
}

#[test]
fn negative_penalties_and_weights_are_rejected() {
    assert!(matches!(
        err(&ok().with_alpha(-0.1)),
        Error::InvalidParam { name: "alpha", .. }
    ));
    assert!(matches!(
        err(&ok().with_weights(&[1.0, -2.0])),
        Error::InvalidParam {
            name: "weights",
            ..
        }
    ));
    assert!(matches!(
        lasso_path_with_alphas(&ok(), &[1.0, -1.0], &LassoParams::default()),
        Err(Error::InvalidParam { name: "alpha", .. })
    ));
}

#[test]
fn bad_params_are_rejected() {
    let bad_tol = LassoParams {
        tol: -1.0,
        ..LassoParams::default()
    };
    assert!(matches!(
        lasso_with(&ok(), &bad_tol),
        Err(Error::InvalidParam { name: "tol", .. })
    ));
    let bad_every = LassoParams {
        gap_every: 0,
        ..LassoParams::default()
    };
    assert!(matches!(
        lasso_with(&ok(), &bad_every),
        Err(Error::InvalidParam {
            name: "gap_every",
            ..
        })
    ));
    let mut a = A;
    a[0] = f64::NAN;
    assert!(matches!(
        alpha_max(&LassoProblem::new(&a, 3, 2, &B, 0.0)),
        Err(Error::NonFinite { what: "A", .. })
    ));
}
