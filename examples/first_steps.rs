//! First steps with puma: read a data set, train logistic regression to a true optimum,
//! check its gradient against finite differences, and solve a box-constrained Lasso.
//!
//! Run with `cargo run --release --example first_steps`. Expected output (the numbers are
//! deterministic; the last digits of ‖∇J‖∞ may differ between machines):
//!
//! ```text
//! digits (reference split): 1437 train rows, 360 test rows, 64 features, 10 classes
//! trained [64, 10]: J = 0.567996730805, ‖∇J‖∞ = 3e-17, stop Converged
//! test accuracy 0.9083, mean test loss 0.365209 (reference: 0.9083, 0.365209)
//! gradient check: passed = true, worst ratio 0.16
//! lasso: λ = [0.7500, 0.0000, 0.0000], gap 5.6e-17, stop Converged
//! ```

use puma::autodiff::{CheckParams, check_grad};
use puma::data::read_dataset;
use puma::kernels::Activation;
use puma::lasso::lasso;
use puma::model::train::{TrainParams, inf_norm, train};
use puma::model::{Mlp, Samples};

fn main() -> Result<(), puma::Error> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/reference/digits_logreg"
    );
    let train_set = read_dataset(format!("{dir}/train.csv"), None, None)?;
    let test_set = read_dataset(format!("{dir}/test.csv"), None, None)?;
    println!(
        "digits (reference split): {} train rows, {} test rows, {} features, {} classes",
        train_set.n(),
        test_set.n(),
        train_set.d(),
        train_set.k()
    );

    // [J]: J(θ) = (1/n) Σ CE(z_i, θ) + (μ/2)‖θ‖², μ = 1e-3; no hidden layer = logistic regression.
    let mlp = Mlp::new(&[64, 10], Activation::Tanh, 1e-3)?;
    let samples = Samples::of(&train_set);
    let (theta, info) = train(&mlp, &samples, &TrainParams::default())?; // L-BFGS + Newton polish
    println!(
        "trained {:?}: J = {:.12}, ‖∇J‖∞ = {:.0e}, stop {:?}",
        mlp.sizes(),
        info.objective,
        info.grad_inf,
        info.stop
    );
    let test = mlp.evaluate(&theta, &Samples::of(&test_set))?;
    println!(
        "test accuracy {:.4}, mean test loss {:.6} (reference: 0.9083, 0.365209)",
        test.accuracy, test.mean_loss
    );

    // The reverse-mode gradient against central differences in seeded random directions.
    let (_, g) = mlp.value_and_grad(&theta, &samples)?;
    assert!(inf_norm(&g) < 1e-12);
    let j = |t: &[f64]| mlp.objective(t, &samples).unwrap_or(f64::NAN);
    let check = check_grad(j, &theta, &g, &CheckParams::default());
    println!(
        "gradient check: passed = {}, worst ratio {:.2}",
        check.passed,
        check.worst()
    );

    // [eq9]: min over λ ∈ [0, 1]³ of ½‖Aλ − b‖² + α‖λ‖₁, A column-major (3 orthonormal columns).
    let a = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    let b = [1.0, 0.2, -0.5];
    let (lambda, lasso_info) = lasso(&a, 3, 3, &b, 0.25)?;
    println!(
        "lasso: λ = [{:.4}, {:.4}, {:.4}], gap {:.1e}, stop {:?}",
        lambda[0], lambda[1], lambda[2], lasso_info.gap, lasso_info.stop
    );
    Ok(())
}
