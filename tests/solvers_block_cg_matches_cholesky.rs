//! Block CG (`Cg::solve_many`, O'Leary's block CG in the breakdown-free form with deflation)
//! agrees with the Cholesky solve on several right-hand sides, including a rank-deficient
//! block (repeated, zero and dependent columns), reports each column's true residual, needs
//! fewer batched passes than lockstep CG, and reports negative curvature.

mod solvers_support;

use puma::Error;
use puma::model::Samples;
use puma::solvers::{
    Cg, CgParams, DenseHessian, Exact, ExactParams, HessianOperator, InverseHvp, MlpHessian, Stop,
};
use solvers_support::{fixture, random_vec, rel_max_err, spd_with_spectrum};

/// p × m row-major from columns.
fn block(p: usize, cols: &[Vec<f64>]) -> Vec<f64> {
    let m = cols.len();
    let mut b = vec![0.0; p * m];
    for (j, c) in cols.iter().enumerate() {
        for i in 0..p {
            b[i * m + j] = c[i];
        }
    }
    b
}

fn column(x: &[f64], m: usize, j: usize) -> Vec<f64> {
    (0..x.len() / m).map(|i| x[i * m + j]).collect()
}

/// ‖H_ρx − b‖/‖b‖ recomputed from scratch.
fn true_rel(op: &dyn HessianOperator, rho: f64, x: &[f64], b: &[f64]) -> f64 {
    let mut hx = vec![0.0; x.len()];
    op.hvp(x, &mut hx).unwrap();
    let r: f64 = hx
        .iter()
        .zip(x)
        .zip(b)
        .map(|((h, xi), bi)| (h + rho * xi - bi).powi(2))
        .sum::<f64>()
        .sqrt();
    r / b.iter().map(|v| v * v).sum::<f64>().sqrt()
}

#[test]
fn block_cg_matches_cholesky_on_several_right_hand_sides() {
    // p = 150, κ = 1e3 (eigenvalues log-spaced in [1e-3, 1]); rtol 1e-11 bounds the error
    // by κ·rtol = 1e-8 relative.
    let p = 150;
    let op = DenseHessian::new(p, spd_with_spectrum(p, 1e-3, 1.0, 11)).unwrap();
    for (m, rho, jacobi) in [
        (2, 0.0, false),
        (8, 0.0, false),
        (8, 0.01, true),
        (16, 0.0, false),
    ] {
        let cols: Vec<Vec<f64>> = (0..m).map(|j| random_vec(p, 300 + j as u64)).collect();
        let b = block(p, &cols);
        let (x_exact, _) = Exact::new(ExactParams {
            rho,
            ..ExactParams::default()
        })
        .unwrap()
        .solve_many(&op, m, &b)
        .unwrap();
        let mut cg = Cg::new(CgParams {
            rho,
            jacobi,
            ..CgParams::default()
        })
        .unwrap();
        let (x, reps) = cg.solve_many(&op, m, &b).unwrap();
        let err = rel_max_err(&x, &x_exact);
        assert!(err < 1e-8, "m {m} ρ {rho} jacobi {jacobi}: error {err:e}");
        assert_eq!(reps.len(), m);
        for (j, rep) in reps.iter().enumerate() {
            assert_eq!(rep.stop, Stop::Converged);
            assert!(rep.rel_residual <= 1e-11);
            assert_eq!(rep.residual_history.len(), rep.iterations);
            // The reported residual is the true one (up to the rounding of recomputing it).
            let t = true_rel(&op, rho, &column(&x, m, j), &cols[j]);
            assert!(
                (t - rep.rel_residual).abs() <= 1e-13,
                "{t} vs {}",
                rep.rel_residual
            );
        }
        // One Krylov space for all columns: fewer block iterations than single CG needs.
        let (_, single) = cg.solve(&op, &cols[0]).unwrap();
        let block_iters = reps.iter().map(|r| r.iterations).max().unwrap();
        eprintln!(
            "p {p} m {m} ρ {rho} jacobi {jacobi}: block CG {block_iters} iterations, single CG {}",
            single.iterations
        );
        assert!(block_iters < single.iterations);
    }
}

#[test]
fn rank_deficient_blocks_are_deflated() {
    let p = 100;
    let op = DenseHessian::new(p, spd_with_spectrum(p, 1e-2, 1.0, 5)).unwrap();
    let (b1, b2) = (random_vec(p, 1), random_vec(p, 2));
    let combo: Vec<f64> = b1.iter().zip(&b2).map(|(a, b)| a - 2.0 * b).collect();
    let cols = vec![
        b1.clone(),
        b2.clone(),
        b1.clone(),   // repeated
        vec![0.0; p], // zero: x = 0 exactly
        combo,        // dependent
        random_vec(p, 3),
    ];
    let m = cols.len();
    let b = block(p, &cols);
    let (x_exact, _) = Exact::new(ExactParams::default())
        .unwrap()
        .solve_many(&op, m, &b)
        .unwrap();
    let mut cg = Cg::new(CgParams::default()).unwrap();
    let (x, reps) = cg.solve_many(&op, m, &b).unwrap();
    assert!(rel_max_err(&x, &x_exact) < 1e-8); // κ = 100, rtol 1e-11
    assert_eq!(reps[3].stop, Stop::ZeroRhs);
    assert!(column(&x, m, 3).iter().all(|v| *v == 0.0));
    for j in [0, 1, 2, 4, 5] {
        assert_eq!(reps[j].stop, Stop::Converged, "column {j}");
        assert!(reps[j].rel_residual <= 1e-11);
    }
    // A block of one direction repeated four times is one CG run.
    let b4 = block(p, &vec![b1.clone(); 4]);
    let (x4, reps4) = cg.solve_many(&op, 4, &b4).unwrap();
    let (x1, rep1) = cg.solve(&op, &b1).unwrap();
    assert!(rel_max_err(&column(&x4, 4, 3), &x1) < 1e-9);
    assert!(reps4[0].iterations <= rep1.iterations + 2);
}

#[test]
fn indefinite_block_is_negative_curvature() {
    // diag(2, −1, 3): the direction e₁ has curvature −1.
    let op = DenseHessian::new(3, vec![2.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 3.0]).unwrap();
    let b = block(3, &[vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0]]);
    let mut cg = Cg::new(CgParams::default()).unwrap();
    match cg.solve_many(&op, 2, &b) {
        Err(Error::NegativeCurvature { iter: 0, curvature }) => {
            assert!((curvature + 1.0).abs() < 1e-15, "{curvature}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn block_cg_on_the_moons_mlp_matches_exact_with_fewer_passes() {
    // Eight single-test-point gradients on the reference moons MLP [2,16,16,2], ρ = 0.01.
    let model = puma::io::load(fixture("reference/moons_mlp/model.safetensors")).unwrap();
    let tr = puma::data::csv::read_csv(fixture("reference/moons_mlp/train.csv")).unwrap();
    let te = puma::data::csv::read_csv(fixture("reference/moons_mlp/test.csv")).unwrap();
    let (mlp, theta) = (&model.mlp, &model.theta);
    let op = MlpHessian::new(mlp, theta, Samples::of(&tr)).unwrap();
    let test = Samples::of(&te);
    let m = 8;
    let cols: Vec<Vec<f64>> = (0..m)
        .map(|j| puma::influence::grad_mean_loss(mlp, theta, &test.rows(j..j + 1)).unwrap())
        .collect();
    let p = op.dim();
    let b = block(p, &cols);
    let rho = 0.01;
    let (x_exact, _) = Exact::new(ExactParams {
        rho,
        ..ExactParams::default()
    })
    .unwrap()
    .solve_many(&op, m, &b)
    .unwrap();
    let mut cg = Cg::new(CgParams {
        rho,
        ..CgParams::default()
    })
    .unwrap();
    let (x, reps) = cg.solve_many(&op, m, &b).unwrap();
    let err = rel_max_err(&x, &x_exact);
    assert!(err < 1e-8, "block CG vs exact: {err:e}");
    let (x_lock, reps_lock) = cg.solve_many_lockstep(&op, m, &b).unwrap();
    assert!(rel_max_err(&x_lock, &x_exact) < 1e-8);
    let passes = reps.iter().map(|r| r.iterations).max().unwrap();
    let passes_lock = reps_lock.iter().map(|r| r.iterations).max().unwrap();
    let cols_block: usize = reps.iter().map(|r| r.hvps).sum();
    let cols_lock: usize = reps_lock.iter().map(|r| r.hvps).sum();
    eprintln!(
        "moons MLP, m = {m}: block CG {passes} batched passes (≈{cols_block} HVP columns), \
         lockstep {passes_lock} passes ({cols_lock} HVP columns)"
    );
    assert!(passes < passes_lock);
}
