//! The exact MLP Hessian diagonal (`puma::solvers::mlp_diagonal`, from the layer structure)
//! on the trained digits MLP [64,32,10] (p = 2410): it equals e_kᵀ H e_k from HVPs, and Jacobi-
//! preconditioned CG reaches the same s_test = H_ρ⁻¹ ∇L_test (ρ = 0.01) as plain CG. Prints the
//! HVP counts of both (the measurement quoted in the solvers' notes).

mod solvers_support;

use puma::influence::grad_mean_loss;
use puma::model::Samples;
use puma::solvers::{Cg, CgParams, HessianOperator, InverseHvp, MlpHessian};
use solvers_support::{digits_mlp, rel_max_err};

#[test]
fn jacobi_diagonal_is_exact_and_preconditioned_cg_agrees() {
    let (mlp, theta, train, test) = digits_mlp();
    let op = MlpHessian::new(&mlp, &theta, Samples::of(&train)).unwrap();
    let p = op.dim();
    let diag = op.diagonal().expect("MlpHessian provides its diagonal");
    // 48 seeded coordinates k, e_kᵀ H e_k from one batched HVP.
    let ks: Vec<usize> = (0..48).map(|j| (j * 7919 + 13) % p).collect();
    let mut e = vec![0.0; p * ks.len()];
    for (j, &k) in ks.iter().enumerate() {
        e[k * ks.len() + j] = 1.0;
    }
    let mut he = vec![0.0; p * ks.len()];
    op.hvp_many(ks.len(), &e, &mut he).unwrap();
    let scale = diag.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (j, &k) in ks.iter().enumerate() {
        let want = he[k * ks.len() + j];
        // Both exact; rounding of n = 1437 summed terms: 1e-12 of the largest entry.
        assert!(
            (diag[k] - want).abs() <= 1e-12 * scale,
            "entry {k}: {} vs {want}",
            diag[k]
        );
    }
    let b = grad_mean_loss(&mlp, &theta, &Samples::of(&test)).unwrap(); // ∇L_test
    let mut answers = vec![];
    for rtol in [1e-6, 1e-11] {
        for jacobi in [false, true] {
            let mut cg = Cg::new(CgParams {
                rho: 0.01,
                rtol,
                jacobi,
                ..CgParams::default()
            })
            .unwrap();
            let (x, rep) = cg.solve(&op, &b).unwrap();
            eprintln!(
                "digits MLP, ρ = 0.01, rtol {rtol:e}, jacobi {jacobi}: {} iterations, {} HVPs, \
                 true rel residual {:.2e}",
                rep.iterations, rep.hvps, rep.rel_residual
            );
            assert!(rep.rel_residual <= rtol);
            if rtol == 1e-11 {
                answers.push(x);
            }
        }
    }
    // κ(H_ρ) ≲ 10³ here, so residuals 1e-11 put both within 1e-8 of x*.
    let err = rel_max_err(&answers[1], &answers[0]);
    assert!(err < 1e-8, "Jacobi vs plain CG differ by {err:e}");
}

/// HVP counts with and without Jacobi on the moons reference MLP [2,16,16,2] (p = 354) and
/// the digits MLP at ρ = 0 and 0.01 (printed; both must converge to the same answer).
#[test]
fn jacobi_and_plain_cg_hvp_counts() {
    let model = puma::io::load(solvers_support::fixture(
        "reference/moons_mlp/model.safetensors",
    ))
    .unwrap();
    let tr = puma::data::csv::read_csv(solvers_support::fixture("reference/moons_mlp/train.csv"))
        .unwrap();
    let te = puma::data::csv::read_csv(solvers_support::fixture("reference/moons_mlp/test.csv"))
        .unwrap();
    let (mlp, theta) = (&model.mlp, &model.theta);
    let op = MlpHessian::new(mlp, theta, Samples::of(&tr)).unwrap();
    let b = grad_mean_loss(mlp, theta, &Samples::of(&te)).unwrap();
    for rho in [0.0, 0.01] {
        let mut xs = vec![];
        for jacobi in [false, true] {
            let mut cg = Cg::new(CgParams {
                rho,
                jacobi,
                ..CgParams::default()
            })
            .unwrap();
            let (x, rep) = cg.solve(&op, &b).unwrap();
            eprintln!(
                "moons MLP, ρ = {rho}, rtol 1e-11, jacobi {jacobi}: {} iterations, {} HVPs",
                rep.iterations, rep.hvps
            );
            xs.push(x);
        }
        assert!(rel_max_err(&xs[1], &xs[0]) < 1e-7);
    }
    let model = puma::io::load(solvers_support::fixture(
        "reference/digits_logreg/model.safetensors",
    ))
    .unwrap();
    let tr = puma::data::csv::read_csv(solvers_support::fixture(
        "reference/digits_logreg/train.csv",
    ))
    .unwrap();
    let te =
        puma::data::csv::read_csv(solvers_support::fixture("reference/digits_logreg/test.csv"))
            .unwrap();
    let (mlp, theta) = (&model.mlp, &model.theta);
    let op = puma::influence::hessian_operator(mlp, theta, Samples::of(&tr)).unwrap();
    let b = grad_mean_loss(mlp, theta, &Samples::of(&te)).unwrap();
    for rho in [0.0, 0.01] {
        for jacobi in [false, true] {
            let mut cg = Cg::new(CgParams {
                rho,
                jacobi,
                ..CgParams::default()
            })
            .unwrap();
            let (_, rep) = cg.solve(op.as_ref(), &b).unwrap();
            eprintln!(
                "digits logreg, ρ = {rho}, rtol 1e-11, jacobi {jacobi}: {} iterations, {} HVPs",
                rep.iterations, rep.hvps
            );
        }
    }
}
