//! Claim: where the exact Hessian of an MLP is not positive definite the Newton polish says
//! so (`Error::NotPositiveDefinite`) and `train_from` falls back to the L-BFGS-only path
//! instead of failing.
//!
//! The saddle: from θ = 0, a tanh MLP's weight gradients vanish (h = tanh(0) = 0 and the
//! output weights are 0), so L-BFGS moves the biases only and stops at a stationary point
//! with W = 0. There H has the block [[μI, C], [Cᵀ, μI]] over the two weight layers, with
//! C ≠ 0 the mixed second derivative, so H has eigenvalues μ ± σ(C) < 0 for σ(C) > μ.

mod common;

use common::read_csv;
use puma::Error;
use puma::autodiff::Activation;
use puma::autodiff::eigen::eigenvalue_range;
use puma::model::train::{
    LbfgsParams, NewtonParams, Stop, TrainParams, lbfgs, newton_polish, train_from,
};
use puma::model::{Mlp, Samples};

#[test]
fn an_indefinite_hessian_is_reported_and_train_keeps_the_lbfgs_path() {
    let t = read_csv("reference/moons_mlp/train.csv");
    let s = Samples::new(&t.x, t.d, &t.y).unwrap();
    let mlp = Mlp::new(&[2, 4, 2], Activation::Tanh, 1e-3).unwrap();
    let zero = vec![0.0; mlp.n_params()];
    let lb = LbfgsParams {
        grad_tol: 1e-10,
        ..Default::default()
    };
    let (theta, info) = lbfgs(|th| mlp.value_and_grad(th, &s), zero.clone(), &lb).unwrap();
    assert!(info.grad_inf <= 1e-10, "{info:?}");
    let (lo, _) = eigenvalue_range(&mlp.hessian(&theta, &s).unwrap(), mlp.n_params());
    assert!(lo < 0.0, "the stationary point is a saddle: λ_min = {lo:e}");

    let polish = newton_polish(&mlp, theta, &s, &NewtonParams::default());
    assert!(
        matches!(polish, Err(Error::NotPositiveDefinite { .. })),
        "{polish:?}"
    );

    let (_, info) = train_from(&mlp, zero, &s, &TrainParams::default()).unwrap();
    assert_ne!(info.stop, Stop::SingularHessian); // that stop is logistic regression's
    assert!(info.grad_inf <= 1e-12, "{info:?}");
}
