//! Input validation and the outer loop: full gap checks, screening, working sets, inner sweeps.
//!
//! ```text
//!     loop:
//!         full check: z = Aᵀr on the live columns, P, best D on the ray, gap; stop if gap ≤ tol·½‖b‖²
//!         screen (live ← live minus the columns proven zero)
//!         W ← live, or the k most violating live columns, non-zeros always in, with
//!             k = max(32, 2·nnz), doubled instead when the last round did not halve the gap [Celer]
//!         sweep W (extrapolating every 5 epochs) until its own gap ≤ max(tol·½‖b‖², 0.1·gap)
//!             or stalls; when W = live, for gap_every epochs
//! ```
//!
//! Every column outside W has λ_j = 0, so the residual, P and the sub-problem's dual are those
//! of the Lasso on W. Each round either halves the full gap or doubles W, so the loop ends at
//! the tolerance or at `max_epochs`. The first check of a cold start reuses Aᵀb from the
//! validation pass, which computes ‖a_j‖² and a_jᵀb in one sweep over A.

use super::accel::{Anderson, extrapolate};
use super::cd::{Backend, Gram, Residual, sweep};
use super::gap::ray_dual;
use super::screening::{screen, working_set};
use super::{Bounds, GramMode, LassoInfo, LassoParams, LassoProblem, StopReason};
use crate::error::{Error, Result};
use puma_kernels::dot;

/// First working-set size [Celer uses 10; a little more amortises the full checks].
const WS_START: usize = 32;
/// Working sets only when more columns than this are live.
const WS_MIN_LIVE: usize = 2 * WS_START;
/// Epochs between extrapolation attempts (Anderson depth).
const ACCEL_DEPTH: usize = 5;
/// Inner sweeps on W stop at this fraction of the last full gap ([Celer, Alg. 4] uses 0.3;
/// 0.1 needed fewer full checks on the benchmark problems, and inner epochs are cheap).
const WS_INNER_FRACTION: f64 = 0.1;

/// A validated problem with the box, weights and column norms expanded to length-p vectors.
pub(crate) struct Spec<'a> {
    pub(crate) a: &'a [f64],
    pub(crate) m: usize,
    pub(crate) p: usize,
    pub(crate) b: &'a [f64],
    pub(crate) lower: Vec<f64>,
    pub(crate) upper: Vec<f64>,
    /// Weights c_j.
    pub(crate) c: Vec<f64>,
    /// αc_j.
    pub(crate) pen: Vec<f64>,
    /// ‖a_j‖.
    pub(crate) norm: Vec<f64>,
    /// 1/‖a_j‖² (0 for a zero column).
    pub(crate) inv_norm2: Vec<f64>,
    /// max_j αc_j/‖a_j‖ when every box is two-sided (else +∞): no sphere of a larger radius
    /// can screen a column.
    pub(crate) screen_radius_max: f64,
    /// Aᵀb: the correlations at λ = 0 (first check of a cold start, α_max, Gram mode).
    pub(crate) atb: Vec<f64>,
    /// ½‖b‖² = P(0), the scale of the relative gap.
    pub(crate) half_bb: f64,
}

fn first_non_finite(what: &'static str, x: &[f64]) -> Result<()> {
    match x.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::NonFinite {
            what,
            index,
            value: x[index],
        }),
        None => Ok(()),
    }
}

/// `NonFinite` or `InvalidParam` unless α is finite and ≥ 0.
pub(crate) fn check_alpha(alpha: f64) -> Result<()> {
    if !alpha.is_finite() {
        return Err(Error::NonFinite {
            what: "alpha",
            index: 0,
            value: alpha,
        });
    }
    if alpha < 0.0 {
        return Err(Error::InvalidParam {
            name: "alpha",
            reason: format!("must be >= 0, got {alpha}"),
        });
    }
    Ok(())
}

impl<'a> Spec<'a> {
    /// Validate everything, α and the warm start included.
    pub(crate) fn new(problem: &LassoProblem<'a>) -> Result<Self> {
        let mut spec = Self::without_alpha(problem)?;
        check_alpha(problem.alpha)?;
        spec.check_warm(problem.warm_start)?;
        spec.set_alpha(problem.alpha);
        Ok(spec)
    }

    /// `ShapeMismatch` or `NonFinite` for a bad warm start.
    pub(crate) fn check_warm(&self, warm: Option<&[f64]>) -> Result<()> {
        if let Some(w) = warm {
            self.check_len("warm start vs p", w.len())?;
            first_non_finite("warm start", w)?;
        }
        Ok(())
    }

    /// Validate A, b, box and weights (not α, not the warm start); pen = 0.
    pub(crate) fn without_alpha(problem: &LassoProblem<'a>) -> Result<Self> {
        let (m, p) = (problem.m, problem.p);
        let mp = m.checked_mul(p).ok_or_else(|| Error::InvalidParam {
            name: "m, p",
            reason: format!("m·p overflows ({m} × {p})"),
        })?;
        if problem.a.len() != mp {
            return Err(Error::ShapeMismatch {
                what: "A entries vs m·p",
                expected: mp,
                found: problem.a.len(),
            });
        }
        if problem.b.len() != m {
            return Err(Error::ShapeMismatch {
                what: "b rows vs A rows",
                expected: m,
                found: problem.b.len(),
            });
        }
        let (lower, upper) = match problem.bounds {
            Bounds::Uniform { lower, upper } => (vec![lower; p], vec![upper; p]),
            Bounds::PerCoefficient { lower, upper } => {
                let len = |what, n: usize| {
                    if n == p {
                        Ok(())
                    } else {
                        Err(Error::ShapeMismatch {
                            what,
                            expected: p,
                            found: n,
                        })
                    }
                };
                len("lower bounds vs p", lower.len())?;
                len("upper bounds vs p", upper.len())?;
                (lower.to_vec(), upper.to_vec())
            }
        };
        let c = match problem.weights {
            Some(c) if c.len() != p => {
                return Err(Error::ShapeMismatch {
                    what: "weights vs p",
                    expected: p,
                    found: c.len(),
                });
            }
            Some(c) => c.to_vec(),
            None => vec![1.0; p],
        };
        first_non_finite("b", problem.b)?;
        first_non_finite("lower bounds", &lower)?;
        first_non_finite("upper bounds", &upper)?;
        first_non_finite("weights", &c)?;
        if let Some(j) = lower.iter().position(|&l| l > 0.0) {
            return Err(Error::InvalidParam {
                name: "lower bounds",
                reason: format!("lower[{j}] = {} > 0: the box must contain 0", lower[j]),
            });
        }
        if let Some(j) = upper.iter().position(|&u| u < 0.0) {
            return Err(Error::InvalidParam {
                name: "upper bounds",
                reason: format!("upper[{j}] = {} < 0: the box must contain 0", upper[j]),
            });
        }
        if let Some(j) = c.iter().position(|&w| w < 0.0) {
            return Err(Error::InvalidParam {
                name: "weights",
                reason: format!("c[{j}] = {} < 0", c[j]),
            });
        }
        // One pass over A: ‖a_j‖² and a_jᵀb while the column is in cache. A NaN or ±inf in
        // A makes its column's ‖a_j‖² non-finite, so A is scanned entry by entry only then
        // (nothing has been returned or changed yet: the check still precedes the work).
        let (norm2, atb): (Vec<f64>, Vec<f64>) = (0..p)
            .map(|j| {
                let col = &problem.a[j * m..(j + 1) * m];
                (dot(col, col), dot(col, problem.b))
            })
            .unzip();
        if norm2.iter().any(|v| !v.is_finite()) {
            first_non_finite("A", problem.a)?;
            return Err(Error::InvalidParam {
                name: "A",
                reason: "a column's squared norm overflows f64; rescale A".to_string(),
            });
        }
        Ok(Spec {
            a: problem.a,
            m,
            p,
            b: problem.b,
            lower,
            upper,
            pen: vec![0.0; p],
            c,
            norm: norm2.iter().map(|v| v.sqrt()).collect(),
            inv_norm2: norm2
                .iter()
                .map(|&v| if v > 0.0 { 1.0 / v } else { 0.0 })
                .collect(),
            atb,
            screen_radius_max: 0.0,
            half_bb: 0.5 * dot(problem.b, problem.b),
        })
    }

    /// Set the penalty: pen_j = αc_j.
    pub(crate) fn set_alpha(&mut self, alpha: f64) {
        for (pen, c) in self.pen.iter_mut().zip(&self.c) {
            *pen = alpha * c;
        }
        // Two-sided boxes need |a_jᵀθ| + R‖a_j‖ < αc_j, so R < αc_j/‖a_j‖; a one-sided box
        // screens any column with a_jᵀθ far enough on its closed side, whatever R.
        let two_sided = (0..self.p).all(|j| self.lower[j] < 0.0 && self.upper[j] > 0.0);
        self.screen_radius_max = if two_sided {
            self.pen
                .iter()
                .zip(&self.norm)
                .filter(|&(_, &n)| n > 0.0)
                .map(|(pen, n)| pen / n)
                .fold(0.0, f64::max)
        } else {
            f64::INFINITY
        };
    }

    /// Column j of A.
    #[inline]
    pub(crate) fn col(&self, j: usize) -> &'a [f64] {
        &self.a[j * self.m..(j + 1) * self.m]
    }

    /// `ShapeMismatch` unless `n == p`.
    pub(crate) fn check_len(&self, what: &'static str, n: usize) -> Result<()> {
        if n == self.p {
            Ok(())
        } else {
            Err(Error::ShapeMismatch {
                what,
                expected: self.p,
                found: n,
            })
        }
    }
}

/// Solve a validated problem.
pub(crate) fn solve(
    spec: &Spec,
    warm: Option<&[f64]>,
    params: &LassoParams,
) -> (Vec<f64>, LassoInfo) {
    let p = spec.p;
    let mut lambda = vec![0.0; p];
    let mut live = Vec::with_capacity(p);
    let trivial = spec.half_bb == 0.0; // b = 0: λ = 0 is optimal, P(0) = 0
    for j in 0..p {
        if !trivial && spec.inv_norm2[j] > 0.0 && (spec.upper[j] > 0.0 || spec.lower[j] < 0.0) {
            live.push(j);
            if let Some(w) = warm {
                lambda[j] = w[j].clamp(spec.lower[j], spec.upper[j]);
            }
        } // else λ_j = 0 is optimal: zero column (αc_j|λ_j| ≥ 0), box {0}, or b = 0
    }
    let use_gram = match params.gram {
        GramMode::On => true,
        GramMode::Off => false,
        GramMode::Auto => spec.m >= 2 * p && p <= 4096 && !params.working_sets,
    };
    if use_gram {
        let mut be = Gram::new(spec, &lambda);
        run(spec, params, &mut be, lambda, live, true)
    } else {
        let mut be = Residual::new(spec, &lambda);
        run(spec, params, &mut be, lambda, live, false)
    }
}

fn run<B: Backend>(
    spec: &Spec,
    params: &LassoParams,
    be: &mut B,
    mut lambda: Vec<f64>,
    mut live: Vec<usize>,
    gram: bool,
) -> (Vec<f64>, LassoInfo) {
    let tol_abs = params.tol * spec.half_bb;
    let penalty_of = |lambda: &[f64], cols: &[usize]| -> f64 {
        cols.iter().map(|&j| spec.pen[j] * lambda[j].abs()).sum()
    };
    let mut z = vec![0.0; spec.p]; // a_jᵀr at the last evaluation
    let mut best_zt = vec![0.0; spec.p]; // a_jᵀθ_best
    let mut best_dual = f64::NEG_INFINITY;
    let (mut breaks, mut scratch, mut ws) = (Vec::new(), Vec::new(), Vec::new());
    let mut ws_size = 0;
    let mut anderson = Anderson::new(ACCEL_DEPTH);
    let (mut cand, mut old) = (Vec::new(), Vec::new());
    let mut info = LassoInfo {
        epochs: 0,
        objective_history: Vec::new(),
        gap_history: Vec::new(),
        primal: f64::NAN,
        dual: f64::NAN,
        gap: f64::NAN,
        rel_gap: f64::NAN,
        nnz: 0,
        screened: 0,
        working_set: live.len(),
        gram,
        stop: StopReason::MaxEpochs,
    };
    let mut penalty = penalty_of(&lambda, &live);
    let mut cold = lambda.iter().all(|&l| l == 0.0);
    let mut prev_gap = f64::INFINITY;
    info.objective_history
        .push(0.5 * be.br_rr(&lambda, &live).1 + penalty);
    loop {
        // Full check on every live column.
        if cold {
            for &j in &live {
                z[j] = spec.atb[j]; // r = b at λ = 0
            }
            cold = false;
        } else {
            for &j in &live {
                z[j] = be.corr(j); // a_jᵀr
            }
        }
        let (br, rr) = be.br_rr(&lambda, &live);
        penalty = penalty_of(&lambda, &live); // drop the drift of the incremental sum
        let primal = 0.5 * rr + penalty; // P(λ)
        let (dual, s) = ray_dual(spec, &live, &z, br, rr, &mut breaks); // D(s·r)
        if dual > best_dual {
            best_dual = dual;
            for &j in &live {
                best_zt[j] = s * z[j]; // a_jᵀθ
            }
        }
        let gap = primal - best_dual;
        info.gap_history.push(gap);
        info.primal = primal;
        info.gap = gap;
        if gap <= tol_abs {
            info.stop = StopReason::Converged;
            break;
        }
        if info.epochs >= params.max_epochs {
            info.stop = StopReason::MaxEpochs;
            break;
        }
        if params.screening {
            info.screened += screen(spec, &mut live, &best_zt, gap, &lambda);
        }
        if params.working_sets && live.len() > WS_MIN_LIVE {
            let nnz = live.iter().filter(|&&j| lambda[j] != 0.0).count();
            // [Celer, "prune"]: W = the non-zeros twice over, grown only when a round
            // did not halve the full gap (so W eventually covers every live column).
            ws_size = if ws_size > 0 && gap > 0.5 * prev_gap {
                2 * ws_size
            } else {
                WS_START
            };
            ws_size = ws_size.max(2 * nnz).min(live.len());
            working_set(spec, &live, &z, s, &lambda, ws_size, &mut scratch, &mut ws);
        } else {
            ws.clone_from(&live);
        }
        info.working_set = ws.len();
        prev_gap = gap;
        let whole = ws.len() == live.len();
        let inner_tol = tol_abs.max(WS_INNER_FRACTION * gap);
        let start = info.epochs;
        let mut last_gap_ws = f64::INFINITY;
        anderson.reset(ws.len());
        if params.extrapolation {
            anderson.push(ws.iter().map(|&j| lambda[j]));
        }
        while info.epochs < params.max_epochs {
            penalty += sweep(spec, be, &ws, &mut lambda);
            info.epochs += 1;
            let mut p_now = 0.5 * be.br_rr(&lambda, &ws).1 + penalty;
            if params.extrapolation && anderson.push(ws.iter().map(|&j| lambda[j])) {
                let step = extrapolate(
                    spec,
                    be,
                    &ws,
                    &mut lambda,
                    &anderson,
                    p_now,
                    &mut cand,
                    &mut old,
                );
                if let Some(p_new) = step {
                    p_now = p_new;
                    penalty = penalty_of(&lambda, &ws);
                }
                anderson.reset(ws.len());
                anderson.push(ws.iter().map(|&j| lambda[j]));
            }
            info.objective_history.push(p_now);
            if !(info.epochs - start).is_multiple_of(params.gap_every) {
                continue;
            }
            if whole {
                break; // the full check is this sub-problem's check
            }
            for &j in &ws {
                z[j] = be.corr(j);
            }
            let (br, rr) = be.br_rr(&lambda, &ws);
            let (dual_ws, _) = ray_dual(spec, &ws, &z, br, rr, &mut breaks);
            let gap_ws = 0.5 * rr + penalty - dual_ws;
            // Done, or stalled at the rounding floor (possible when tol·½‖b‖² is below it).
            if gap_ws <= inner_tol || gap_ws >= last_gap_ws {
                break;
            }
            last_gap_ws = gap_ws;
        }
    }
    if params.screening {
        // One more sphere test at the final gap: the count is then every column certified
        // zero, whether or not removing it saved work.
        info.screened += screen(spec, &mut live, &best_zt, info.gap, &lambda);
    }
    info.dual = best_dual;
    info.nnz = lambda.iter().filter(|&&l| l != 0.0).count();
    info.rel_gap = if spec.half_bb > 0.0 {
        info.gap / spec.half_bb
    } else {
        0.0
    };
    (lambda, info)
}
