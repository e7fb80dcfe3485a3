//! The PUMA patch: remove the influence of marked training points M from a trained θ̂
//! without retraining, while the guard criteria G stay unchanged (DESIGN.md §1 \[eq9\],
//! \[eq10\], \[eq5\]; \[PUMA\]).
//!
//! ```text
//! ψ_i     = J_G H_ρ⁻¹ g_i                              per training point, over the guard rows [ψ]
//! λ*      = argmin_{ℓ≤λ≤u} ½‖Ψ_U λ − b‖² + α‖λ‖₁,  b = Ψ_M 1 (or its degradations)   [eq9]
//! θ_mod   = θ̂ + η H_ρ⁻¹(Σ_{k∈M} g_k − Σ_{j∈U} λ*_j g_j),   η = 1/n                  [eq10]
//! ΔG      ≈ η (Ψ_M 1 − Ψ_U λ*)                         predicted; the actual one is measured
//! accept  | mean_G C(θ_mod) − mean_G C(θ̂) | ≤ δ_G per guard group, else η ← η/2       [eq5]
//! ```
//!
//! With η = 1/n, θ_mod is the Newton step toward \[retrain-w\] (w = 0 on M, 1 + λ* on U);
//! naive removal is λ = 0. Iterated patching repeats the step with the actual ∇J_w at the
//! current θ (H_ρ fixed at θ̂) and converges to \[retrain-w\]; \[retrain\] (w = 0 on M) is the
//! product comparison. [`patch`] runs all of them on request and reports them side by side
//! ([`PatchReport`]): accuracy and mean loss on M, U, the rest of training and any named
//! evaluation set, ‖θ − θ_retrain‖/‖θ̂ − θ_retrain‖, prediction flips against \[retrain\],
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
mod patch;
mod report;
mod step;

pub use patch::{Prepared, patch, patch_prepared, patch_with_operator, prepare};
pub use report::{
    Change, CriterionChange, Flips, GroupCheck, ModelSummary, PatchReport, Role, Timings, flips,
};
pub use step::{ITERATE_MEMORY, IterateInfo, iterate, patch_weights, weighted_grad_sum};

use crate::criteria::Criterion;
use crate::lasso::LassoParams;
use crate::model::train::TrainParams;
use crate::model::{Mlp, Samples};

/// A guard group: a criterion that must stay unchanged, with its tolerance δ_G of \[eq5\]
/// (nats for a loss, the criterion's own unit otherwise).
#[derive(Clone, Copy)]
pub struct Guard<'a> {
    /// The criterion (all its rows are guarded; \[eq5\] checks their mean).
    pub criterion: &'a dyn Criterion,
    /// δ_G ≥ 0.
    pub delta: f64,
}

/// Which guard changes \[eq9\] cancels.
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

/// The up-weight set U of \[eq9\] (always disjoint from M).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum UpWeight {
    /// Every unmarked training point. The default.
    #[default]
    Unmarked,
    /// The given training rows.
    Given(Vec<usize>),
    /// The first k unmarked points to enter the Lasso path of \[eq9\] (α from α_max down to
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
    /// θ̂, a minimiser of \[J\] on `train`.
    pub theta: &'a [f64],
    /// The training set θ̂ was fitted on (weights must be `None`: \[J\] with w = 1).
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
/// | `retrain` | false | run \[retrain\] for the comparison |
#[derive(Clone, Debug, PartialEq)]
pub struct PatchParams {
    /// a_rel: α = a_rel · α_max of \[eq9\]. Default 0.01.
    pub alpha_rel: f64,
    /// The box [ℓ, u] of λ. Default [0, 1] (pure up-weighting, at most doubling a point);
    /// ℓ ≥ −1 keeps every weight 1 + λ_j ≥ 0.
    pub bounds: (f64, f64),
    /// Two- or one-sided compensation. Default two-sided.
    pub sides: Sides,
    /// η of \[eq10\]; `None` means 1/n (the Newton step toward \[retrain-w\]).
    pub eta: Option<f64>,
    /// Halve η while a guard group moves more than its δ \[eq5\]. Default on.
    pub shrink: bool,
    /// Most halvings of η. Default 10.
    pub max_halvings: usize,
    /// Steps of iterated patching after θ_mod (0: none). Default 0.
    pub iterate: usize,
    /// Stop iterating at ‖∇J_w‖∞ ≤ this. Default 1e-11.
    pub iterate_tol: f64,
    /// Also run \[retrain\] (warm start from θ̂) and compare. Default false.
    pub retrain: bool,
    /// Settings of \[retrain\]. Default [`TrainParams::default`].
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
    /// θ_mod of \[eq10\] at the returned η.
    pub theta_mod: Vec<f64>,
    /// Naive removal: \[eq10\] with λ = 0, same η.
    pub theta_naive: Vec<f64>,
    /// Iterated patching from θ_mod, when asked for.
    pub theta_iterated: Option<Vec<f64>>,
    /// \[retrain\], when asked for.
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
