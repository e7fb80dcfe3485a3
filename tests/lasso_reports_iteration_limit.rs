//! Stopping at the epoch limit is reported in the info (and as an error by the strict variant),
//! never silent.

#[path = "lasso_support/mod.rs"]
mod support;

use puma::Error;
use puma::lasso::{LassoParams, LassoProblem, StopReason, alpha_max, lasso_strict, lasso_with};

#[test]
fn epoch_limit_is_reported_with_the_gap_reached() {
    let (m, p) = (50, 200);
    let (a, b) = support::correlated_problem(3, m, p, 0.9, 0.1); // strongly correlated: slow
    let base = LassoProblem::new(&a, m, p, &b, 0.0).with_box(-1e9, 1e9);
    let prob = base.with_alpha(1e-3 * alpha_max(&base).unwrap());
    let params = LassoParams {
        tol: 1e-12,
        max_epochs: 3,
        ..LassoParams::default()
    };
    let (lambda, info) = lasso_with(&prob, &params).unwrap();
    assert_eq!(info.stop, StopReason::MaxEpochs);
    assert_eq!(info.epochs, 3);
    assert!(info.rel_gap > params.tol);
    assert!(info.gap.is_finite() && info.gap > 0.0);
    assert_eq!(lambda.len(), p);
    match lasso_strict(&prob, &params) {
        Err(Error::NoConvergence {
            method: "lasso",
            iters: 3,
            achieved,
            target,
        }) => {
            assert_eq!(achieved, info.rel_gap);
            assert_eq!(target, 1e-12);
        }
        other => panic!("expected NoConvergence, got {other:?}"),
    }
    // Zero epochs: only the starting point is evaluated.
    let (_, none) = lasso_with(
        &prob,
        &LassoParams {
            max_epochs: 0,
            ..params.clone()
        },
    )
    .unwrap();
    assert_eq!(
        (none.epochs, none.stop, none.objective_history.len()),
        (0, StopReason::MaxEpochs, 1)
    );
    // With enough epochs the same problem converges and the strict variant agrees.
    let (_, done) = lasso_strict(
        &prob,
        &LassoParams {
            tol: 1e-6,
            ..LassoParams::default()
        },
    )
    .unwrap();
    assert_eq!(done.stop, StopReason::Converged);
}
