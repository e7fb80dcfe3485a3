//! What a patch did, as data and as JSON: predicted vs actual change of every criterion
//! (\[eq5\]), accuracy and mean loss of each model on each evaluation set, prediction flips
//! against \[retrain\], distances to θ_retrain and wall times.

use serde_json::{Value, json};

use crate::error::Result;
use crate::lasso::{LassoInfo, StopReason};
use crate::model::loss::argmax_rows;
use crate::model::{Evaluation, Mlp, Samples};
use crate::solvers::SolveReport;

use super::IterateInfo;

/// Summary statistics of a change vector Δ over criterion rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// mean_v Δ_v: the \[eq5\] quantity mean_G C(θ) − mean_G C(θ̂).
    pub mean: f64,
    /// sqrt(mean_v Δ_v²).
    pub rms: f64,
    /// max_v |Δ_v|.
    pub max_abs: f64,
}

impl Change {
    /// The statistics of `delta` (all 0 for an empty vector).
    pub fn of(delta: &[f64]) -> Change {
        let m = delta.len().max(1) as f64;
        Change {
            mean: delta.iter().sum::<f64>() / m,
            rms: (delta.iter().map(|d| d * d).sum::<f64>() / m).sqrt(),
            max_abs: delta.iter().fold(0.0, |a, d| a.max(d.abs())),
        }
    }

    fn json(&self) -> Value {
        json!({"mean": self.mean, "rms": self.rms, "max_abs": self.max_abs})
    }
}

/// Whether a criterion is guarded or only measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A guard G: compensated by \[eq9\], checked against δ by \[eq5\].
    Guard,
    /// A target T: measured, never compensated.
    Target,
}

/// Predicted and actual change of one criterion under each model.
#[derive(Clone, Debug, PartialEq)]
pub struct CriterionChange {
    /// [`crate::criteria::Criterion::name`].
    pub name: String,
    /// Guard or target.
    pub role: Role,
    /// The guard group's δ of \[eq5\] (`None` for a target).
    pub delta: Option<f64>,
    /// C(θ̂), one entry per row.
    pub before: Vec<f64>,
    /// First-order predicted row changes J_C(θ − θ̂): `(model, Δ)` for "puma" and "naive".
    pub predicted: Vec<(String, Vec<f64>)>,
    /// Actual row changes C(θ) − C(θ̂) for every model patched or retrained.
    pub actual: Vec<(String, Vec<f64>)>,
}

impl CriterionChange {
    /// The actual change of `model` (e.g. "puma", "naive", "iterated", "retrain").
    pub fn actual_of(&self, model: &str) -> Option<Change> {
        self.actual
            .iter()
            .find(|(name, _)| name == model)
            .map(|(_, d)| Change::of(d))
    }

    /// The predicted change of `model` ("puma" or "naive").
    pub fn predicted_of(&self, model: &str) -> Option<Change> {
        self.predicted
            .iter()
            .find(|(name, _)| name == model)
            .map(|(_, d)| Change::of(d))
    }

    fn json(&self) -> Value {
        let rows = |v: &[(String, Vec<f64>)]| -> Value {
            v.iter()
                .map(|(name, d)| {
                    (
                        name.clone(),
                        json!({"summary": Change::of(d).json(), "rows": d}),
                    )
                })
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        json!({
            "name": self.name,
            "role": match self.role { Role::Guard => "guard", Role::Target => "target" },
            "delta": self.delta,
            "rows": self.before.len(),
            "before_mean": Change::of(&self.before).mean,
            "predicted": rows(&self.predicted),
            "actual": rows(&self.actual),
        })
    }
}

/// Prediction flips of a model against \[retrain\] on one evaluation set: among the points
/// where θ_retrain predicts another class than θ̂, how many the model also predicts as
/// θ_retrain does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flips {
    /// Points of the set.
    pub points: usize,
    /// Points where θ_retrain's prediction differs from θ̂'s.
    pub flipped_by_retrain: usize,
    /// Of those, points where the model predicts θ_retrain's class.
    pub reproduced: usize,
    /// Points where the model's prediction differs from θ̂'s.
    pub flipped_by_model: usize,
}

impl Flips {
    /// reproduced / flipped_by_retrain (1 when retraining flips nothing).
    pub fn rate(&self) -> f64 {
        if self.flipped_by_retrain == 0 {
            1.0
        } else {
            self.reproduced as f64 / self.flipped_by_retrain as f64
        }
    }
}

/// [`Flips`] of θ_model on `s` (predictions by argmax logit).
pub fn flips(
    mlp: &Mlp,
    theta_hat: &[f64],
    theta_retrain: &[f64],
    theta_model: &[f64],
    s: &Samples,
) -> Flips {
    let pred = |t: &[f64]| argmax_rows(&mlp.logits(t, s.x));
    let (p0, pr, pm) = (pred(theta_hat), pred(theta_retrain), pred(theta_model));
    let mut f = Flips {
        points: s.n(),
        flipped_by_retrain: 0,
        reproduced: 0,
        flipped_by_model: 0,
    };
    for i in 0..s.n() {
        if pm[i] != p0[i] {
            f.flipped_by_model += 1;
        }
        if pr[i] != p0[i] {
            f.flipped_by_retrain += 1;
            if pm[i] == pr[i] {
                f.reproduced += 1;
            }
        }
    }
    f
}

/// One model's quality: accuracy and mean loss on every evaluation set, its distance to
/// θ_retrain, and its flips against \[retrain\].
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSummary {
    /// "theta_hat", "puma", "naive", "iterated" or "retrain".
    pub name: String,
    /// Wall time to produce it, seconds: 0 for θ̂; for "naive" only its own gradient and
    /// solve (the Hessian factor is shared with ψ); "iterated" includes the PUMA patch.
    pub seconds: f64,
    /// `(set, evaluation)` for every non-empty evaluation set.
    pub sets: Vec<(String, Evaluation)>,
    /// ‖θ − θ_retrain‖ / ‖θ̂ − θ_retrain‖ when \[retrain\] was run.
    pub rel_dist_to_retrain: Option<f64>,
    /// ‖θ − θ̂‖.
    pub dist_to_theta_hat: f64,
    /// `(set, flips)` against \[retrain\] when it was run.
    pub flips: Vec<(String, Flips)>,
}

impl ModelSummary {
    /// The evaluation on `set`.
    pub fn on(&self, set: &str) -> Option<&Evaluation> {
        self.sets.iter().find(|(n, _)| n == set).map(|(_, e)| e)
    }

    fn json(&self) -> Value {
        let sets: serde_json::Map<String, Value> = self
            .sets
            .iter()
            .map(|(n, e)| {
                (
                    n.clone(),
                    json!({"accuracy": e.accuracy, "mean_loss": e.mean_loss}),
                )
            })
            .collect();
        let flips: serde_json::Map<String, Value> = self
            .flips
            .iter()
            .map(|(n, f)| {
                (
                    n.clone(),
                    json!({
                        "points": f.points,
                        "flipped_by_retrain": f.flipped_by_retrain,
                        "reproduced": f.reproduced,
                        "rate": f.rate(),
                        "flipped_by_model": f.flipped_by_model,
                    }),
                )
            })
            .collect();
        json!({
            "name": self.name,
            "seconds": self.seconds,
            "sets": sets,
            "rel_dist_to_retrain": self.rel_dist_to_retrain,
            "dist_to_theta_hat": self.dist_to_theta_hat,
            "flips_vs_retrain": flips,
        })
    }
}

/// The \[eq5\] check of one guard group for the PUMA step.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupCheck {
    /// The guard criterion's name.
    pub name: String,
    /// Its tolerance δ_G.
    pub delta: f64,
    /// mean_G C(θ_mod) − mean_G C(θ̂) for the returned θ_mod (signed).
    pub change: f64,
    /// What \[eq5\] compares with δ: |change| two-sided; one-sided only a degradation
    /// (max(change, 0) for a loss-like guard, max(−change, 0) otherwise).
    pub moved: f64,
    /// `moved ≤ δ`.
    pub within: bool,
}

/// Wall times of the stages, seconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timings {
    /// ψ over the guards (includes the Hessian factorisation on the exact path).
    pub psi: f64,
    /// Choice of U and the Lasso of \[eq9\].
    pub lasso: f64,
    /// The \[eq10\] step (two weighted gradients, one two-column solve).
    pub step: f64,
    /// η shrinking (criterion evaluations only).
    pub shrink: f64,
    /// ψ + Lasso + step + shrink: the PUMA patch.
    pub patch: f64,
    /// Iterated patching.
    pub iterate: f64,
    /// \[retrain\], warm-started from θ̂.
    pub retrain: f64,
    /// Evaluations for this report.
    pub report: f64,
}

/// Everything a patch reports (see [`PatchReport::to_json`]).
#[derive(Clone, Debug, PartialEq)]
pub struct PatchReport {
    /// Training points n.
    pub n: usize,
    /// Parameters p.
    pub p: usize,
    /// ‖∇J(θ̂)‖∞ on the training set: first-order patching assumes θ̂ is a minimiser.
    pub grad_inf_theta_hat: f64,
    /// |M|.
    pub marked: usize,
    /// |U|.
    pub upweighted: usize,
    /// How U was chosen.
    pub upweight_rule: String,
    /// Guard rows m (all groups).
    pub guard_rows: usize,
    /// "two-sided" or "one-sided".
    pub sides: &'static str,
    /// The box [ℓ, u].
    pub bounds: (f64, f64),
    /// a_rel.
    pub alpha_rel: f64,
    /// Box-aware α_max of \[eq9\].
    pub alpha_max: f64,
    /// α = a_rel · α_max.
    pub alpha: f64,
    /// The Lasso's report (`None` when nothing needed compensating).
    pub lasso: Option<LassoInfo>,
    /// Non-zero λ*_j and Σ λ*_j.
    pub lambda_nnz: usize,
    /// Σ_j λ*_j.
    pub lambda_sum: f64,
    /// ½‖Ψ_U λ* − b‖ / ½‖b‖ (relative residual of the compensation; 0 when b = 0).
    pub compensation_residual: f64,
    /// η asked for.
    pub eta_initial: f64,
    /// η of the returned θ_mod (after shrinking).
    pub eta: f64,
    /// Halvings of η done.
    pub halvings: usize,
    /// Whether η shrinking was on.
    pub shrink: bool,
    /// \[eq5\] for every guard group at the returned η.
    pub groups: Vec<GroupCheck>,
    /// Every guard and target: predicted and actual change.
    pub criteria: Vec<CriterionChange>,
    /// θ̂, PUMA, naive, iterated and \[retrain\].
    pub models: Vec<ModelSummary>,
    /// Iterated patching, when asked for.
    pub iterate: Option<IterateInfo>,
    /// Damping ρ of the solves.
    pub rho: f64,
    /// Every solve: the guard directions, then the two \[eq10\] directions.
    pub solves: Vec<SolveReport>,
    /// Wall times.
    pub seconds: Timings,
}

impl PatchReport {
    /// The model summary called `name`.
    pub fn model(&self, name: &str) -> Option<&ModelSummary> {
        self.models.iter().find(|m| m.name == name)
    }

    /// The criterion change called `name`.
    pub fn criterion(&self, name: &str) -> Option<&CriterionChange> {
        self.criteria.iter().find(|c| c.name == name)
    }

    /// The report as JSON (every number, row-level criterion changes included).
    pub fn to_json(&self) -> Value {
        let lasso = self.lasso.as_ref().map(|l| {
            json!({
                "epochs": l.epochs,
                "gap": l.gap,
                "rel_gap": l.rel_gap,
                "nnz": l.nnz,
                "screened": l.screened,
                "stop": match l.stop { StopReason::Converged => "converged", StopReason::MaxEpochs => "max epochs" },
            })
        });
        let solves: Vec<Value> = self.solves.iter().map(SolveReport::to_json).collect();
        let t = &self.seconds;
        json!({
            "n": self.n,
            "p": self.p,
            "grad_inf_theta_hat": self.grad_inf_theta_hat,
            "marked": self.marked,
            "upweighted": self.upweighted,
            "upweight_rule": self.upweight_rule,
            "guard_rows": self.guard_rows,
            "sides": self.sides,
            "box": [self.bounds.0, self.bounds.1],
            "alpha_rel": self.alpha_rel,
            "alpha_max": self.alpha_max,
            "alpha": self.alpha,
            "lasso": lasso,
            "lambda_nnz": self.lambda_nnz,
            "lambda_sum": self.lambda_sum,
            "compensation_residual": self.compensation_residual,
            "eta_initial": self.eta_initial,
            "eta": self.eta,
            "eta_halvings": self.halvings,
            "eta_shrinking": self.shrink,
            "guard_groups": self.groups.iter().map(|g| json!({
                "name": g.name, "delta": g.delta, "change": g.change, "moved": g.moved, "within": g.within,
            })).collect::<Vec<_>>(),
            "criteria": self.criteria.iter().map(CriterionChange::json).collect::<Vec<_>>(),
            "models": self.models.iter().map(ModelSummary::json).collect::<Vec<_>>(),
            "iterate": self.iterate.as_ref().map(|it| json!({
                "steps": it.steps,
                "grad_inf": it.grad_inf,
                "converged": it.converged,
                "grad_inf_history": it.grad_inf_history,
                "step_lengths": it.step_lengths,
            })),
            "rho": self.rho,
            "solves": solves,
            "seconds": {
                "psi": t.psi, "lasso": t.lasso, "step": t.step, "shrink": t.shrink,
                "patch": t.patch, "iterate": t.iterate, "retrain": t.retrain, "report": t.report,
            },
        })
    }
}

/// Evaluations of θ on every non-empty named set.
///
/// # Errors
/// As [`Mlp::evaluate`].
pub(crate) fn evaluate_sets(
    mlp: &Mlp,
    theta: &[f64],
    sets: &[(String, Samples)],
) -> Result<Vec<(String, Evaluation)>> {
    sets.iter()
        .filter(|(_, s)| s.n() > 0)
        .map(|(name, s)| Ok((name.clone(), mlp.evaluate(theta, s)?)))
        .collect()
}

/// ‖a − b‖₂.
pub(crate) fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_statistics() {
        let c = Change::of(&[3.0, -1.0]);
        assert_eq!((c.mean, c.max_abs), (1.0, 3.0));
        assert!((c.rms - 5.0f64.sqrt()).abs() < 1e-15);
        assert_eq!(Change::of(&[]).mean, 0.0);
    }

    #[test]
    fn flip_rate_is_one_without_flips() {
        let f = Flips {
            points: 3,
            flipped_by_retrain: 0,
            reproduced: 0,
            flipped_by_model: 1,
        };
        assert_eq!(f.rate(), 1.0);
    }
}
