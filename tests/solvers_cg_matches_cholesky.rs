//! CG (plain and Jacobi-preconditioned, one and many right-hand sides) agrees with the
//! Cholesky solve on seeded SPD matrices.

mod solvers_support;

use puma::solvers::{Cg, CgParams, DenseHessian, Exact, ExactParams, InverseHvp, Method, Stop};
use solvers_support::{random_vec, rel_max_err, spd_with_spectrum};

#[test]
fn cg_matches_cholesky_on_seeded_spd_matrices() {
    // p = 200, eigenvalues log-spaced in [1e-3, 1]: κ = 1e3. With rtol = 1e-11 the error is
    // at most κ·rtol = 1e-8 relative (‖x − x*‖ ≤ κ‖r‖/‖b‖·‖x*‖); the Cholesky answer
    // itself is accurate to ~κε ≈ 2e-13.
    let p = 200;
    for seed in 0..3 {
        let mut h = spd_with_spectrum(p, 1e-3, 1.0, seed);
        // Uneven diagonal scaling D H D (D in [1, 10]) so that Jacobi has work to do.
        let d: Vec<f64> = random_vec(p, 100 + seed)
            .iter()
            .map(|v| 5.5 + 4.5 * v)
            .collect();
        for i in 0..p {
            for j in 0..p {
                h[i * p + j] *= d[i] * d[j];
            }
        }
        let op = DenseHessian::new(p, h).unwrap();
        let b = random_vec(p, 200 + seed);
        for rho in [0.0, 0.01] {
            let (x_exact, _) = Exact::new(ExactParams {
                rho,
                ..ExactParams::default()
            })
            .unwrap()
            .solve(&op, &b)
            .unwrap();
            for jacobi in [false, true] {
                let mut cg = Cg::new(CgParams {
                    rho,
                    jacobi,
                    max_iters: Some(20 * p),
                    ..CgParams::default()
                })
                .unwrap();
                let (x, rep) = cg.solve(&op, &b).unwrap();
                let err = rel_max_err(&x, &x_exact);
                assert!(
                    err < 1e-8,
                    "seed {seed} ρ {rho} jacobi {jacobi}: error {err:e}"
                );
                assert_eq!(
                    (rep.method, rep.stop, rep.rho),
                    (Method::Cg, Stop::Converged, rho)
                );
                assert!(rep.rel_residual <= 1e-11, "{}", rep.rel_residual);
                assert_eq!(rep.residual_history.len(), rep.iterations);
            }
        }
    }
}

#[test]
fn cg_solve_many_matches_column_solves() {
    let p = 120;
    let op = DenseHessian::new(p, spd_with_spectrum(p, 1e-2, 1.0, 7)).unwrap();
    let m = 3;
    let cols: Vec<Vec<f64>> = (0..m).map(|j| random_vec(p, 50 + j as u64)).collect();
    let mut b = vec![0.0; p * m];
    for (j, c) in cols.iter().enumerate() {
        for i in 0..p {
            b[i * m + j] = c[i];
        }
    }
    let mut cg = Cg::new(CgParams::default()).unwrap();
    let (x, reps) = cg.solve_many(&op, m, &b).unwrap();
    let (x_exact, reps_exact) = Exact::new(ExactParams::default())
        .unwrap()
        .solve_many(&op, m, &b)
        .unwrap();
    assert_eq!((reps.len(), reps_exact.len()), (m, m));
    assert!(rel_max_err(&x, &x_exact) < 1e-8); // κ = 100, rtol 1e-11
    for (j, c) in cols.iter().enumerate() {
        let (xj, _) = cg.solve(&op, c).unwrap();
        let col: Vec<f64> = (0..p).map(|i| x[i * m + j]).collect();
        // Block CG and single solves both stop at rtol 1e-11 with κ = 100: within 1e-9.
        assert!(rel_max_err(&col, &xj) < 1e-9);
        assert_eq!(reps[j].stop, Stop::Converged);
        assert!(reps[j].rel_residual <= 1e-11);
        assert!(reps_exact[j].rel_residual < 1e-13);
    }
}
