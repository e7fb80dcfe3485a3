//! The PUMA patch: remove the influence of marked training points M from a trained θ̂
//! without retraining, while the guard criteria G stay unchanged (DESIGN.md §1 [eq9],
//! [eq10], [eq5]; [PUMA]).
//!
//! ```text
//! ψ_i     = J_G H_ρ⁻¹ g_i                              per training point, over the guard rows [ψ]
//! λ*      = argmin_{ℓ≤λ≤u} ½‖Ψ_U λ − b‖² + α‖λ‖₁,  b = Ψ_M 1 (or its degradations)   [eq9]
//! θ_mod   = θ̂ + η H_ρ⁻¹(Σ_{k∈M} g_k − Σ_{j∈U} λ*_j g_j),   η = 1/n                  [eq10]
//! ΔG      ≈ η (Ψ_M 1 − Ψ_U λ*)                         predicted; the actual one is measured
//! accept  | mean_G C(θ_mod) − mean_G C(θ̂) | ≤ δ_G per guard group, else η ← η/2       [eq5]
//! ```
//!
//! With η = 1/n, θ_mod is the Newton step toward [retrain-w] (w = 0 on M, 1 + λ* on U);
//! naive removal is λ = 0. Iterated patching repeats the step with the actual ∇J_w at the
//! current θ (H_ρ fixed at θ̂) and converges to [retrain-w]; [retrain] (w = 0 on M) is the
//! product comparison. [`patch`] runs all of them on request and reports them side by side
//! ([`PatchReport`]): accuracy and mean loss on M, U, the rest of training and any named
//! evaluation set, ‖θ − θ_retrain‖/‖θ̂ − θ_retrain‖, prediction flips against [retrain],
//! predicted vs actual change of every criterion, wall times.
//!
//! Cost (DESIGN.md §2): m_G + 2 solves (one cached Cholesky factor on the exact path), one
//! per-example pass per guard group, one Lasso, two gradient passes; iterated patching adds
//! one gradient and one solve per step.
//!
//! # Examples
//! ```
//! use puma::autodiff::Activation;
//! use puma::criteria::{LossKind, PerSampleLoss};
//! use puma::data::synthetic::blobs;
//! use puma::model::{Mlp, Samples, train::{TrainParams, train}};
//! use puma::puma::{Guard, PatchInput, PatchParams, patch};
//! use puma::solvers::{Exact, ExactParams};
//!
//! let ds = blobs(120, 2, 2, 2.0, 3)?;
//! let (train_s, guard_s) = (Samples::of(&ds).rows(0..100), Samples::of(&ds).rows(100..120));
//! let mlp = Mlp::new(&[2, 2], Activation::Tanh, 1e-2)?; // logistic regression
//! let (theta, _) = train(&mlp, &train_s, &TrainParams::default())?;
//! let guard = PerSampleLoss::new(guard_s, LossKind::CrossEntropy)?;
//! let mut input = PatchInput::new(&mlp, &theta, train_s, &[0, 1, 2]);
//! input.guards.push(Guard { criterion: &guard, delta: 0.05 });
//! let mut solver = Exact::new(ExactParams::default())?;
//! let out = patch(&input, &PatchParams::default(), &mut solver)?;
//! assert_eq!(out.theta_mod.len(), mlp.n_params());
//! assert_eq!(out.report.marked, 3);
//! # Ok::<(), puma::Error>(())
//! ```

mod compensate;
mod report;
mod step;

pub use report::{
    Change, CriterionChange, Flips, GroupCheck, ModelSummary, PatchReport, Role, Timings, flips,
};
pub use step::{ITERATE_MEMORY, IterateInfo, iterate, patch_weights, weighted_grad_sum};

use std::time::Instant;

use crate::criteria::Criterion;
use crate::error::{Error, Result};
use crate::influence::hessian_operator;
use crate::lasso::LassoParams;
use crate::model::train::{TrainParams, inf_norm, train_from};
use crate::model::{Mlp, Samples};
use crate::solvers::{HessianOperator, InverseHvp};

use compensate::{choose_upweight, compensation, guard_psi, target};
use report::{dist, evaluate_sets};

/// A guard group: a criterion that must stay unchanged, with its tolerance δ_G of [eq5]
/// (nats for a loss, the criterion's own unit otherwise).
#[derive(Clone, Copy)]
pub struct Guard<'a> {
    /// The criterion (all its rows are guarded; [eq5] checks their mean).
    pub criterion: &'a dyn Criterion,
    /// δ_G ≥ 0.
    pub delta: f64,
}

/// Which guard changes [eq9] cancels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Sides {
    /// b = Ψ_M 1: every guard row stays unchanged. The default.
    #[default]
    Two,
    /// b = max(Ψ_M 1, 0) on loss-like rows (min(·, 0) on higher-is-better rows): only
    /// predicted degradations are cancelled, improvements are kept.
    One,
}

impl Sides {
    fn name(self) -> &'static str {
        match self {
            Sides::Two => "two-sided",
            Sides::One => "one-sided",
        }
    }
}

/// The up-weight set U of [eq9] (always disjoint from M).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum UpWeight {
    /// Every unmarked training point. The default.
    #[default]
    Unmarked,
    /// The given training rows.
    Given(Vec<usize>),
    /// The first k unmarked points to enter the Lasso path of [eq9] (α from α_max down to
    /// 1e-4·α_max over `path_steps` geometric steps).
    LassoPath {
        /// |U|, ≥ 1.
        k: usize,
        /// Penalties on the path, ≥ 1 (50 is plenty).
        path_steps: usize,
    },
}

impl UpWeight {
    fn name(&self) -> String {
        match self {
            UpWeight::Unmarked => "all unmarked".into(),
            UpWeight::Given(idx) => format!("given ({} rows)", idx.len()),
            UpWeight::LassoPath { k, path_steps } => {
                format!("first {k} along the Lasso path ({path_steps} steps)")
            }
        }
    }
}

/// What to patch: the trained model, its training set, the marked set, the up-weight rule,
/// the guard groups, the targets (measured only) and named evaluation sets for the report.
pub struct PatchInput<'a> {
    /// The model (layer sizes, activation, μ).
    pub mlp: &'a Mlp,
    /// θ̂, a minimiser of [J] on `train`.
    pub theta: &'a [f64],
    /// The training set θ̂ was fitted on (weights must be `None`: [J] with w = 1).
    pub train: Samples<'a>,
    /// M: training rows whose influence is removed (distinct, non-empty, not every row).
    pub marked: &'a [usize],
    /// U. Default [`UpWeight::Unmarked`].
    pub upweight: UpWeight,
    /// G: at least one group.
    pub guards: Vec<Guard<'a>>,
    /// T: criteria whose change is predicted and measured, never compensated.
    pub targets: Vec<&'a dyn Criterion>,
    /// Extra named evaluation sets for the report (e.g. "guard", "test"); "marked",
    /// "upweighted" and "rest" (training rows in neither) are always added.
    pub eval_sets: Vec<(String, Samples<'a>)>,
}

impl<'a> PatchInput<'a> {
    /// An input with U = every unmarked point and no guards, targets or evaluation sets yet.
    pub fn new(mlp: &'a Mlp, theta: &'a [f64], train: Samples<'a>, marked: &'a [usize]) -> Self {
        PatchInput {
            mlp,
            theta,
            train,
            marked,
            upweight: UpWeight::Unmarked,
            guards: vec![],
            targets: vec![],
            eval_sets: vec![],
        }
    }
}

/// Settings of [`patch`].
///
/// | field | default | valid range |
/// |---|---|---|
/// | `alpha_rel` | 0.01 | finite, ≥ 0 (α = a_rel·α_max) |
/// | `bounds` | (0, 1) | −1 ≤ ℓ ≤ 0 ≤ u, finite |
/// | `sides` | [`Sides::Two`] | |
/// | `eta` | `None` = 1/n | finite, > 0 |
/// | `shrink` | true | |
/// | `max_halvings` | 10 | any |
/// | `iterate` | 0 | steps of iterated patching |
/// | `iterate_tol` | 1e-11 | ≥ 0 (‖∇J_w‖∞) |
/// | `retrain` | false | run [retrain] for the comparison |
#[derive(Clone, Debug, PartialEq)]
pub struct PatchParams {
    /// a_rel: α = a_rel · α_max of [eq9]. Default 0.01.
    pub alpha_rel: f64,
    /// The box [ℓ, u] of λ. Default [0, 1] (pure up-weighting, at most doubling a point);
    /// ℓ ≥ −1 keeps every weight 1 + λ_j ≥ 0.
    pub bounds: (f64, f64),
    /// Two- or one-sided compensation. Default two-sided.
    pub sides: Sides,
    /// η of [eq10]; `None` means 1/n (the Newton step toward [retrain-w]).
    pub eta: Option<f64>,
    /// Halve η while a guard group moves more than its δ [eq5]. Default on.
    pub shrink: bool,
    /// Most halvings of η. Default 10.
    pub max_halvings: usize,
    /// Steps of iterated patching after θ_mod (0: none). Default 0.
    pub iterate: usize,
    /// Stop iterating at ‖∇J_w‖∞ ≤ this. Default 1e-11.
    pub iterate_tol: f64,
    /// Also run [retrain] (warm start from θ̂) and compare. Default false.
    pub retrain: bool,
    /// Settings of [retrain]. Default [`TrainParams::default`].
    pub retrain_params: TrainParams,
    /// Settings of the Lasso. Default [`LassoParams::default`].
    pub lasso: LassoParams,
}

impl Default for PatchParams {
    fn default() -> Self {
        PatchParams {
            alpha_rel: 0.01,
            bounds: (0.0, 1.0),
            sides: Sides::Two,
            eta: None,
            shrink: true,
            max_halvings: 10,
            iterate: 0,
            iterate_tol: 1e-11,
            retrain: false,
            retrain_params: TrainParams::default(),
            lasso: LassoParams::default(),
        }
    }
}

/// The result of [`patch`]: the patched parameters of every variant, λ*, and the report.
#[derive(Clone, Debug)]
pub struct Patch {
    /// θ_mod of [eq10] at the returned η.
    pub theta_mod: Vec<f64>,
    /// Naive removal: [eq10] with λ = 0, same η.
    pub theta_naive: Vec<f64>,
    /// Iterated patching from θ_mod, when asked for.
    pub theta_iterated: Option<Vec<f64>>,
    /// [retrain], when asked for.
    pub theta_retrain: Option<Vec<f64>>,
    /// M, sorted.
    pub marked: Vec<usize>,
    /// U, sorted.
    pub upweighted: Vec<usize>,
    /// λ*, one per row of U.
    pub lambda: Vec<f64>,
    /// The weights of [retrain-w]: 0 on M, 1 + λ* on U, 1 elsewhere.
    pub weights: Vec<f64>,
    /// Everything measured.
    pub report: PatchReport,
}

impl Patch {
    /// The parameters to ship: the iterated patch if one was run, else θ_mod.
    pub fn patched(&self) -> &[f64] {
        self.theta_iterated.as_deref().unwrap_or(&self.theta_mod)
    }
}

/// [`patch_with_operator`] with the Hessian operator of [`hessian_operator`] at θ̂.
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

/// The PUMA patch of `input` ([eq9], [eq10], [eq5]), naive removal, and on request iterated
/// patching and [retrain], with the [`PatchReport`] comparing them.
///
/// `solver` and `op` give H_ρ⁻¹ at θ̂; every solve (m_G guard directions, the two [eq10]
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

/// [ψ] over the guard rows of `input` for every training point: Σ_G m_G solves and one
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
