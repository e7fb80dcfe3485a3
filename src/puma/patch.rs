//! Running the patch: [`prepare`] (ψ over the guard rows, independent of M), then
//! [`patch_prepared`] (\[eq9\] λ*, the \[eq10\] step, η shrinking under \[eq5\], naive removal,
//! iterated patching, \[retrain\]) and the assembly of the [`PatchReport`].

use std::time::Instant;

use crate::error::{Error, Result};
use crate::influence::hessian_operator;
use crate::model::Samples;
use crate::model::train::{inf_norm, train_from};
use crate::solvers::{HessianOperator, InverseHvp};

use super::compensate::{self, choose_upweight, compensation, guard_psi, target};
use super::report::{dist, evaluate_sets};
use super::step;
use super::{
    CriterionChange, GroupCheck, ModelSummary, Patch, PatchInput, PatchParams, PatchReport, Role,
    Sides, Timings, flips, iterate, patch_weights,
};

/// [`patch_with_operator`] with the Hessian operator of [`hessian_operator`] at θ̂.
///
/// A solver that caches a factor ([`crate::solvers::Exact`]) may be reused across calls on
/// the same model and θ̂ (the factor is then not recomputed); for another model, use a fresh
/// solver or clear it first.
///
/// # Errors
/// As [`patch_with_operator`] and [`hessian_operator`].
pub fn patch(
    input: &PatchInput,
    params: &PatchParams,
    solver: &mut dyn InverseHvp,
) -> Result<Patch> {
    let op = hessian_operator(input.mlp, input.theta, input.train)?;
    patch_with_operator(input, params, solver, op.as_ref())
}

/// The PUMA patch of `input` (\[eq9\], \[eq10\], \[eq5\]), naive removal, and on request iterated
/// patching and \[retrain\], with the [`PatchReport`] comparing them.
///
/// `solver` and `op` give H_ρ⁻¹ at θ̂; every solve (m_G guard directions, the two \[eq10\]
/// directions, the iterated steps) reuses them. This is [`prepare`] followed by
/// [`patch_prepared`].
///
/// # Errors
/// Checked before any work: [`Error::InvalidParam`] for an empty marked set, a marked set
/// covering every training row, a repeated marked row, no guard group, weighted training
/// samples, or a parameter outside the table of [`PatchParams`];
/// [`Error::IndexOutOfRange`] for a marked or up-weight row ≥ n. Then the errors of the
/// criteria, the solver, the Lasso and training.
pub fn patch_with_operator(
    input: &PatchInput,
    params: &PatchParams,
    solver: &mut dyn InverseHvp,
    op: &dyn HessianOperator,
) -> Result<Patch> {
    check(input, params)?;
    let prepared = prepare(input, solver, op)?;
    patch_prepared(input, params, &prepared, solver, op)
}

/// ψ of every training point over the guard rows, which does not depend on M: computed
/// once per model and guard set, it serves any number of removal requests
/// ([`patch_prepared`]).
#[derive(Clone, Debug)]
pub struct Prepared {
    gpsi: compensate::GuardPsi,
    n: usize,
    /// Wall time of [`prepare`], seconds (includes the Hessian factorisation on the exact
    /// path when the solver had none cached).
    pub seconds: f64,
}

impl Prepared {
    /// The stacked guard rows m.
    pub fn guard_rows(&self) -> usize {
        self.gpsi.m
    }
}

/// \[ψ\] over the guard rows of `input` for every training point: Σ_G m_G solves and one
/// per-example pass per group. `input.marked` is not used.
///
/// # Errors
/// [`Error::InvalidParam`] for no guard group; as [`crate::valuation::psi`].
pub fn prepare(
    input: &PatchInput,
    solver: &mut dyn InverseHvp,
    op: &dyn HessianOperator,
) -> Result<Prepared> {
    if input.guards.is_empty() {
        return Err(Error::InvalidParam {
            name: "guards",
            reason: "PUMA needs at least one guard criterion".into(),
        });
    }
    let t = Instant::now();
    let gpsi = guard_psi(
        &input.guards,
        input.mlp,
        input.theta,
        &input.train,
        solver,
        op,
    )?;
    Ok(Prepared {
        gpsi,
        n: input.train.n(),
        seconds: t.elapsed().as_secs_f64(),
    })
}

/// [`patch_with_operator`] with ψ from [`prepare`] (same model, θ̂, training set and guards):
/// a removal request then costs one Lasso, two weighted gradients and one two-column solve.
/// The report's ψ time is the time spent in [`prepare`].
///
/// # Errors
/// As [`patch_with_operator`]; [`Error::ShapeMismatch`] if `prepared` was made for another
/// training set size or guard set.
pub fn patch_prepared(
    input: &PatchInput,
    params: &PatchParams,
    prepared: &Prepared,
    solver: &mut dyn InverseHvp,
    op: &dyn HessianOperator,
) -> Result<Patch> {
    let (mlp, theta, train) = (input.mlp, input.theta, &input.train);
    let n = train.n();
    let marked_mask = check(input, params)?;
    if prepared.n != n {
        return Err(Error::ShapeMismatch {
            what: "prepared ψ training points vs training set",
            expected: n,
            found: prepared.n,
        });
    }
    let m: usize = input.guards.iter().map(|g| g.criterion.len()).sum();
    if prepared.gpsi.m != m {
        return Err(Error::ShapeMismatch {
            what: "prepared ψ guard rows vs guard criteria",
            expected: m,
            found: prepared.gpsi.m,
        });
    }
    let marked: Vec<usize> = (0..n).filter(|&i| marked_mask[i]).collect();
    let eta0 = params.eta.unwrap_or(1.0 / n as f64);
    let t_start = Instant::now();

    // [ψ] over the guard rows (prepared), then [eq9].
    let gpsi = &prepared.gpsi;
    let t_psi = prepared.seconds;
    let t_lasso_start = Instant::now();
    let b0 = gpsi.sum_over(&marked); // Ψ_M 1
    let b = target(&b0, &gpsi.loss_like, params.sides);
    let upweighted = choose_upweight(
        &input.upweight,
        &marked_mask,
        gpsi,
        &b,
        params.bounds,
        &params.lasso,
    )?;
    let (lambda, alpha_max, alpha, lasso_info) = compensation(
        gpsi,
        &upweighted,
        &b,
        params.alpha_rel,
        params.bounds,
        &params.lasso,
    )?; // λ* [eq9]
    let t_lasso = t_lasso_start.elapsed().as_secs_f64();

    // [eq10]: d_M = H_ρ⁻¹ r_M, d_U = H_ρ⁻¹ r_U.
    let t_step_start = Instant::now();
    let dirs = step::directions(mlp, theta, train, &marked, &upweighted, &lambda, solver, op)?;
    let d_patch: Vec<f64> = dirs
        .d_marked
        .iter()
        .zip(&dirs.d_up)
        .map(|(m, u)| m - u)
        .collect();
    let t_step = t_step_start.elapsed().as_secs_f64();

    // η shrinking under [eq5] (the step is linear in η: no new solve).
    let t_shrink_start = Instant::now();
    let before: Vec<Vec<f64>> = input
        .guards
        .iter()
        .map(|g| g.criterion.values(mlp, theta))
        .collect::<Result<_>>()?;
    let mut eta = eta0;
    let mut halvings = 0;
    let (theta_mod, groups, guard_after) = loop {
        let cand = step::step(theta, n as f64 * eta, &d_patch); // θ̂ + η H_ρ⁻¹(Σ_M g − Σ_U λ g)
        let after: Vec<Vec<f64>> = input
            .guards
            .iter()
            .map(|g| g.criterion.values(mlp, &cand))
            .collect::<Result<_>>()?;
        let groups: Vec<GroupCheck> = input
            .guards
            .iter()
            .zip(before.iter().zip(&after))
            .map(|(g, (c0, c1))| {
                let change = mean(c1) - mean(c0); // mean_G C(θ_mod) − mean_G C(θ̂)
                let moved = match (params.sides, g.criterion.loss_like()) {
                    (Sides::Two, _) => change.abs(),       // [eq5]
                    (Sides::One, true) => change.max(0.0), // only a degradation counts
                    (Sides::One, false) => (-change).max(0.0),
                };
                GroupCheck {
                    name: g.criterion.name(),
                    delta: g.delta,
                    change,
                    moved,
                    within: moved <= g.delta,
                }
            })
            .collect();
        let ok = groups.iter().all(|g| g.within);
        if ok || !params.shrink || halvings >= params.max_halvings {
            break (cand, groups, after);
        }
        eta *= 0.5;
        halvings += 1;
    };
    let theta_naive = step::step(theta, n as f64 * eta, &dirs.d_marked); // λ = 0
    let t_shrink = t_shrink_start.elapsed().as_secs_f64();
    let t_patch = t_psi + t_start.elapsed().as_secs_f64();

    // Iterated patching toward [retrain-w].
    let weights = patch_weights(n, &marked, &upweighted, &lambda);
    let t_iter_start = Instant::now();
    let (theta_iterated, iterate_info) = if params.iterate > 0 {
        let (t, info) = iterate(
            mlp,
            theta_mod.clone(),
            train,
            &weights,
            params.iterate,
            params.iterate_tol,
            solver,
            op,
        )?;
        (Some(t), Some(info))
    } else {
        (None, None)
    };
    let t_iter = t_iter_start.elapsed().as_secs_f64();

    // [retrain]: w = 0 on M, warm-started from θ̂.
    let t_retrain_start = Instant::now();
    let theta_retrain = if params.retrain {
        let w0 = patch_weights(n, &marked, &[], &[]);
        let s = train.with_weights(&w0)?;
        Some(train_from(mlp, theta.to_vec(), &s, &params.retrain_params)?.0)
    } else {
        None
    };
    let t_retrain = t_retrain_start.elapsed().as_secs_f64();

    // The report.
    let t_report_start = Instant::now();
    let scale = n as f64 * eta;
    let mut variants: Vec<(&str, &[f64], f64)> = vec![
        ("theta_hat", theta, 0.0),
        ("puma", &theta_mod, t_patch),
        ("naive", &theta_naive, t_step), // the factor is shared with ψ, not counted
    ];
    if let Some(t) = &theta_iterated {
        variants.push(("iterated", t, t_patch + t_iter));
    }
    if let Some(t) = &theta_retrain {
        variants.push(("retrain", t, t_retrain));
    }

    let mut criteria = Vec::new();
    let psi_lambda = gpsi.combine(&upweighted, &lambda); // Ψ_U λ*
    for (gi, g) in input.guards.iter().enumerate() {
        let (lo, hi) = (gpsi.offsets[gi], gpsi.offsets[gi + 1]);
        let pred_naive: Vec<f64> = b0[lo..hi].iter().map(|v| eta * v).collect(); // η Ψ_M 1
        let pred_puma: Vec<f64> = (lo..hi).map(|v| eta * (b0[v] - psi_lambda[v])).collect();
        let mut actual = Vec::new();
        for (name, t, _) in &variants[1..] {
            let after = if *name == "puma" {
                guard_after[gi].clone()
            } else {
                g.criterion.values(mlp, t)?
            };
            actual.push((name.to_string(), diff(&after, &before[gi])));
        }
        criteria.push(CriterionChange {
            name: g.criterion.name(),
            role: Role::Guard,
            delta: Some(g.delta),
            before: before[gi].clone(),
            predicted: vec![("puma".into(), pred_puma), ("naive".into(), pred_naive)],
            actual,
        });
    }
    for t_crit in &input.targets {
        let c0 = t_crit.values(mlp, theta)?;
        let m = t_crit.len();
        let jt = t_crit.jacobian_t(mlp, theta)?; // J_Tᵀ, p × m
        let jvp = |d: &[f64], s: f64| -> Vec<f64> {
            (0..m)
                .map(|v| s * (0..d.len()).map(|k| jt[k * m + v] * d[k]).sum::<f64>())
                .collect()
        }; // J_T (s·d)
        let mut actual = Vec::new();
        for (name, t, _) in &variants[1..] {
            actual.push((name.to_string(), diff(&t_crit.values(mlp, t)?, &c0)));
        }
        criteria.push(CriterionChange {
            name: t_crit.name(),
            role: Role::Target,
            delta: None,
            before: c0,
            predicted: vec![
                ("puma".into(), jvp(&d_patch, scale)),
                ("naive".into(), jvp(&dirs.d_marked, scale)),
            ],
            actual,
        });
    }

    let gather = |idx: &[usize]| -> (Vec<f64>, Vec<usize>) {
        let mut x = Vec::with_capacity(idx.len() * train.d);
        let mut y = Vec::with_capacity(idx.len());
        for &i in idx {
            x.extend_from_slice(&train.x[i * train.d..(i + 1) * train.d]);
            y.push(train.y[i]);
        }
        (x, y)
    };
    let in_u = {
        let mut mask = vec![false; n];
        for &j in &upweighted {
            mask[j] = true;
        }
        mask
    };
    let rest: Vec<usize> = (0..n).filter(|&i| !marked_mask[i] && !in_u[i]).collect();
    let (xm, ym) = gather(&marked);
    let (xu, yu) = gather(&upweighted);
    let (xr, yr) = gather(&rest);
    let mut sets: Vec<(String, Samples)> = vec![
        ("marked".into(), Samples::new(&xm, train.d, &ym)?),
        ("upweighted".into(), Samples::new(&xu, train.d, &yu)?),
        ("rest".into(), Samples::new(&xr, train.d, &yr)?),
    ];
    sets.extend(input.eval_sets.iter().cloned());
    let mut models = Vec::new();
    for (name, t, seconds) in &variants {
        let flips_v = match &theta_retrain {
            Some(tr) => sets
                .iter()
                .filter(|(_, s)| s.n() > 0)
                .map(|(sn, s)| (sn.clone(), flips(mlp, theta, tr, t, s)))
                .collect(),
            None => vec![],
        };
        models.push(ModelSummary {
            name: name.to_string(),
            seconds: *seconds,
            sets: evaluate_sets(mlp, t, &sets)?,
            rel_dist_to_retrain: theta_retrain
                .as_ref()
                .map(|tr| dist(t, tr) / dist(theta, tr).max(f64::MIN_POSITIVE)),
            dist_to_theta_hat: dist(t, theta),
            flips: flips_v,
        });
    }
    let grad_inf_theta_hat = inf_norm(&mlp.value_and_grad(theta, train)?.1);
    let compensation_residual = {
        let r: f64 = (0..gpsi.m).map(|v| (psi_lambda[v] - b[v]).powi(2)).sum();
        let bb: f64 = b.iter().map(|v| v * v).sum();
        if bb > 0.0 { (r / bb).sqrt() } else { 0.0 }
    };
    let mut solves = gpsi.reports.clone();
    solves.extend(dirs.reports.iter().cloned());
    let rho = solves.first().map_or(0.0, |r| r.rho);
    let t_report = t_report_start.elapsed().as_secs_f64();

    let report = PatchReport {
        n,
        p: mlp.n_params(),
        grad_inf_theta_hat,
        marked: marked.len(),
        upweighted: upweighted.len(),
        upweight_rule: input.upweight.name(),
        guard_rows: gpsi.m,
        sides: params.sides.name(),
        bounds: params.bounds,
        alpha_rel: params.alpha_rel,
        alpha_max,
        alpha,
        lasso: lasso_info,
        lambda_nnz: lambda.iter().filter(|&&l| l != 0.0).count(),
        lambda_sum: lambda.iter().sum(),
        compensation_residual,
        eta_initial: eta0,
        eta,
        halvings,
        shrink: params.shrink,
        groups,
        criteria,
        models,
        iterate: iterate_info,
        rho,
        solves,
        seconds: Timings {
            psi: t_psi,
            lasso: t_lasso,
            step: t_step,
            shrink: t_shrink,
            patch: t_patch,
            iterate: t_iter,
            retrain: t_retrain,
            report: t_report,
        },
    };
    Ok(Patch {
        theta_mod,
        theta_naive,
        theta_iterated,
        theta_retrain,
        marked,
        upweighted,
        lambda,
        weights,
        report,
    })
}

/// Checks the input and parameters before any work; returns the marked mask.
fn check(input: &PatchInput, params: &PatchParams) -> Result<Vec<bool>> {
    let n = input.train.n();
    let bad = |name: &'static str, reason: String| Err(Error::InvalidParam { name, reason });
    if input.train.w.is_some() {
        return bad(
            "train",
            "the training samples must be unweighted ([J] with w = 1)".into(),
        );
    }
    if input.marked.is_empty() {
        return bad(
            "marked",
            "the marked set is empty: nothing to remove".into(),
        );
    }
    let mut mask = vec![false; n];
    for &i in input.marked {
        if i >= n {
            return Err(Error::IndexOutOfRange {
                what: "marked training row",
                index: i,
                len: n,
            });
        }
        if mask[i] {
            return bad("marked", format!("row {i} is marked twice"));
        }
        mask[i] = true;
    }
    if input.marked.len() == n {
        return bad(
            "marked",
            format!("all {n} training rows are marked: nothing would remain to train on"),
        );
    }
    if input.guards.is_empty() {
        return bad("guards", "PUMA needs at least one guard criterion".into());
    }
    for g in &input.guards {
        if !(g.delta.is_finite() && g.delta >= 0.0) {
            return bad(
                "delta",
                format!(
                    "δ of guard {} must be finite and ≥ 0, got {}",
                    g.criterion.name(),
                    g.delta
                ),
            );
        }
    }
    if !(params.alpha_rel.is_finite() && params.alpha_rel >= 0.0) {
        return bad(
            "alpha_rel",
            format!("must be finite and ≥ 0, got {}", params.alpha_rel),
        );
    }
    let (l, u) = params.bounds;
    if !(l.is_finite() && u.is_finite() && (-1.0..=0.0).contains(&l) && u >= 0.0) {
        return bad(
            "bounds",
            format!("need −1 ≤ ℓ ≤ 0 ≤ u, finite; got [{l}, {u}]"),
        );
    }
    if let Some(eta) = params.eta
        && !(eta.is_finite() && eta > 0.0)
    {
        return bad("eta", format!("must be finite and > 0, got {eta}"));
    }
    if params.iterate_tol.is_nan() || params.iterate_tol < 0.0 {
        return bad(
            "iterate_tol",
            format!("must be ≥ 0, got {}", params.iterate_tol),
        );
    }
    Ok(mask)
}

/// mean_v c_v (0 for no rows).
fn mean(c: &[f64]) -> f64 {
    c.iter().sum::<f64>() / c.len().max(1) as f64
}

/// a − b entrywise.
fn diff(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}
