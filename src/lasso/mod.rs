//! Coordinate-descent Lasso with box constraints and a certified duality gap \[eq9\].
//!
//! Computes PUMA's compensation weights: for an m × p matrix A (here Ψ_U), a target b, a
//! penalty α ≥ 0, optional weights c_j ≥ 0 and a box ℓ_j ≤ 0 ≤ u_j,
//!
//! ```text
//!     λ* = argmin_{ℓ ≤ λ ≤ u}  P(λ) = ½‖Aλ − b‖² + α Σ_j c_j |λ_j|
//! ```
//!
//! **Layout.** A is column-major: column j is `a[j*m .. (j+1)*m]`, because coordinate
//! descent touches one column at a time.
//!
//! **Coordinate descent** [FHT10, §2]: cyclic sweeps over the columns, each coordinate set to
//! the exact minimiser of P along it, the soft-threshold of its update clipped to the box
//! (a 1-D convex function on an interval is minimised by projecting its unconstrained
//! minimiser):
//!
//! ```text
//!     λ_j ← clip( S(λ_j + a_jᵀr/‖a_j‖², αc_j/‖a_j‖²), ℓ_j, u_j ),   r = b − Aλ,
//! ```
//!
//! after which r ← r − (Δλ_j) a_j (one `dot` and one `axpy` of length m). So P never increases.
//! In Gram mode ([`GramMode`]) the sweep works on g = Aᵀr = Aᵀb − AᵀAλ instead, O(p) per
//! coordinate after an O(m p²/2) set-up: worth it when m ≫ p.
//!
//! **Duality gap** (\[eq9\]; derivation in [`gap`]). With g_j(x) = αc_j|x| + ι_\[ℓ_j,u_j\](x) the
//! Fenchel dual of P is, for any θ ∈ Rᵐ (the box makes every θ dual-feasible),
//!
//! ```text
//!     D(θ) = ½‖b‖² − ½‖b − θ‖² − Σ_j h*_j(a_jᵀθ),   h*_j(z) = max(0, u_j(z − αc_j), ℓ_j(z + αc_j)),
//! ```
//!
//! and P(λ) − P(λ*) ≤ gap = P(λ) − D(θ). The dual point is the best point of the ray
//! {s·r : s ≥ 0} through the residual (an exact 1-D maximisation; it contains both the raw
//! residual and the classical rescaled residual), the best one seen is kept. The solver
//! stops when gap ≤ tol · ½‖b‖² (½‖b‖² = P(0), the objective's natural scale).
//!
//! **Gap-safe screening** [GapSafe, §3–4, the sphere test of Prop. 4 adapted to the box]: D is
//! 1-strongly concave, so θ* lies in the ball of radius √(2·gap) around any θ; a column whose
//! correlation a_jᵀθ* provably stays strictly inside the flat part of h*_j has λ*_j = 0
//! and is dropped (see [`screening`]).
//!
//! **Extrapolation** (Bertrand & Massias, "Anderson acceleration of coordinate descent",
//! AISTATS 2021): every 5 epochs an extrapolated point is tried and kept only if it lowers P
//! (see `accel.rs`).
//!
//! **Working sets** [Celer, §4]: solve on a small set W of columns (the non-zeros and the
//! columns whose dual constraint is most violated), check the gap on the full problem, and
//! rebuild W (twice the non-zeros, doubled when a round did not halve the gap) until the full
//! gap is met.
//!
//! **Notes.** α_max here is the smallest α with λ = 0 optimal *for the given box* ([`alpha_max`]):
//! max_j (a_jᵀb)⁺ for the default [0, 1], which can be smaller than the ‖Ψ_Uᵀb‖_∞ of DESIGN.md
//! \[eq9\] (that one is α_max of the symmetric box and still gives λ = 0). With α = 0 (or
//! c_j = 0) and a very wide box, h*_j(z) = u_j·z⁺ multiplies the rounding error of a_jᵀr by u_j,
//! so the gap cannot fall below about max(u_j, −ℓ_j)·ε·‖a_j‖‖r‖: pick `tol` accordingly.
//!
//! **Cost.** One epoch is 2·m·|W| flops (residual mode) or 2·p·|W| (Gram mode); a full gap
//! check is one Aᵀr product, 2·m·p flops, done every [`LassoParams::gap_every`] epochs
//! without working sets, once per working-set round with them.

mod accel;
mod cd;
pub mod gap;
mod path;
pub mod screening;
mod solve;

pub use gap::{alpha_max, duality_gap, objective};
pub use path::{LassoPath, geometric_alphas, lasso_path, lasso_path_with_alphas};

use crate::error::{Error, Result};

/// The box ℓ_j ≤ λ_j ≤ u_j: one interval for every coefficient, or one per coefficient.
///
/// Every bound must be finite with ℓ ≤ 0 ≤ u (λ = 0 is always feasible).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bounds<'a> {
    /// The same interval [lower, upper] for every coefficient.
    Uniform {
        /// ℓ ≤ 0.
        lower: f64,
        /// u ≥ 0.
        upper: f64,
    },
    /// Interval `[lower[j], upper[j]]` for coefficient j; both slices have length p.
    PerCoefficient {
        /// ℓ_j ≤ 0.
        lower: &'a [f64],
        /// u_j ≥ 0.
        upper: &'a [f64],
    },
}

impl Default for Bounds<'_> {
    /// The PUMA default box [0, 1]: pure up-weighting, at most doubling a point (\[eq9\]).
    fn default() -> Self {
        Bounds::Uniform {
            lower: 0.0,
            upper: 1.0,
        }
    }
}

/// A box-constrained weighted Lasso problem (borrowed data, validated by the solvers).
///
/// ```text
///     min_{ℓ ≤ λ ≤ u}  ½‖Aλ − b‖² + α Σ_j c_j |λ_j|
/// ```
#[derive(Debug, Clone, Copy)]
pub struct LassoProblem<'a> {
    /// A, m × p, column-major (column j is `a[j*m..(j+1)*m]`).
    pub a: &'a [f64],
    /// Rows of A (length of b).
    pub m: usize,
    /// Columns of A (number of coefficients).
    pub p: usize,
    /// Target b, length m.
    pub b: &'a [f64],
    /// Penalty α ≥ 0.
    pub alpha: f64,
    /// The box; default [0, 1].
    pub bounds: Bounds<'a>,
    /// Penalty weights c_j ≥ 0 (length p); `None` means c_j = 1.
    pub weights: Option<&'a [f64]>,
    /// Starting point (length p, clipped to the box); `None` means λ = 0.
    pub warm_start: Option<&'a [f64]>,
}

impl<'a> LassoProblem<'a> {
    /// A problem with the default box [0, 1], unit weights and a cold start.
    pub fn new(a: &'a [f64], m: usize, p: usize, b: &'a [f64], alpha: f64) -> Self {
        LassoProblem {
            a,
            m,
            p,
            b,
            alpha,
            bounds: Bounds::default(),
            weights: None,
            warm_start: None,
        }
    }

    /// The same problem with the box [lower, upper] for every coefficient.
    pub fn with_box(mut self, lower: f64, upper: f64) -> Self {
        self.bounds = Bounds::Uniform { lower, upper };
        self
    }

    /// The same problem with a per-coefficient box.
    pub fn with_bounds(mut self, bounds: Bounds<'a>) -> Self {
        self.bounds = bounds;
        self
    }

    /// The same problem with penalty weights c.
    pub fn with_weights(mut self, c: &'a [f64]) -> Self {
        self.weights = Some(c);
        self
    }

    /// The same problem started from λ0.
    pub fn with_warm_start(mut self, lambda0: &'a [f64]) -> Self {
        self.warm_start = Some(lambda0);
        self
    }

    /// The same problem with another penalty α.
    pub fn with_alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }
}

/// Whether to precompute the Gram matrix AᵀA (and Aᵀb) and sweep in p-space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GramMode {
    /// Gram mode when m ≥ 2p, p ≤ 4096 and working sets are off. With working sets an
    /// epoch touches only |W| columns (2m·|W| flops), so the m·p² set-up rarely pays.
    #[default]
    Auto,
    /// Always (memory p² doubles, set-up m·p² flops).
    On,
    /// Never: residual updates on A.
    Off,
}

/// Settings of the coordinate-descent Lasso, with defaults (see [`Default`]).
///
/// | field | default | valid range |
/// |---|---|---|
/// | `tol` | 1e-6 | finite, ≥ 0 (0 runs to `max_epochs`) |
/// | `max_epochs` | 10 000 | any (0 only evaluates the starting point) |
/// | `gap_every` | 10 | ≥ 1 |
/// | `screening` | true | |
/// | `working_sets` | true | |
/// | `gram` | [`GramMode::Auto`] | |
/// | `extrapolation` | true | |
#[derive(Debug, Clone, PartialEq)]
pub struct LassoParams {
    /// Relative duality-gap target: stop when P − D ≤ tol · ½‖b‖². Default 1e-6.
    pub tol: f64,
    /// Most coordinate sweeps (each over the current working set). Default 10 000.
    pub max_epochs: usize,
    /// Epochs between gap evaluations. Default 10.
    pub gap_every: usize,
    /// Gap-safe screening of columns proven zero. Default on.
    pub screening: bool,
    /// Working sets: sweep a growing subset, check the gap on all columns. Default on.
    pub working_sets: bool,
    /// Residual or Gram sweeps. Default [`GramMode::Auto`].
    pub gram: GramMode,
    /// Every 5 epochs, try an Anderson-extrapolated point (Bertrand & Massias 2021), then a
    /// doubling step along the last 5 epochs' drift, keeping either only if it lowers P.
    /// Default on.
    pub extrapolation: bool,
}

impl Default for LassoParams {
    fn default() -> Self {
        LassoParams {
            tol: 1e-6,
            max_epochs: 10_000,
            gap_every: 10,
            screening: true,
            working_sets: true,
            gram: GramMode::Auto,
            extrapolation: true,
        }
    }
}

/// Why the solver stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The duality gap met the tolerance: the solution is certified.
    Converged,
    /// `max_epochs` sweeps were done first; `gap` says how far it got.
    MaxEpochs,
}

/// What the solver did, as data.
#[derive(Debug, Clone, PartialEq)]
pub struct LassoInfo {
    /// Coordinate sweeps done (each over the working set of its round).
    pub epochs: usize,
    /// Primal objective P(λ) at the start and after every epoch (never increases).
    pub objective_history: Vec<f64>,
    /// Absolute duality gap at every full-problem check, the start included.
    pub gap_history: Vec<f64>,
    /// P(λ) at the returned λ.
    pub primal: f64,
    /// The best dual value D(θ) found (of the problem with the screened columns removed,
    /// which has the same optimum).
    pub dual: f64,
    /// Final gap P − D ≥ P(λ) − P(λ*) (up to rounding of order ε·‖b‖²).
    pub gap: f64,
    /// gap / (½‖b‖²), the quantity compared with `tol` (0 when b = 0).
    pub rel_gap: f64,
    /// Number of non-zero coefficients.
    pub nnz: usize,
    /// Columns proven λ*_j = 0 by the gap-safe sphere test (removed during the solve, plus
    /// those the final gap certifies); 0 with screening off.
    pub screened: usize,
    /// Size of the last working set (the number of live columns when working sets are off).
    pub working_set: usize,
    /// Whether the Gram mode was used.
    pub gram: bool,
    /// Why the solver stopped.
    pub stop: StopReason,
}

/// Solve the Lasso with the PUMA default box [0, 1], unit weights and default params.
///
/// `a` is m × p column-major. See [`lasso_with`].
///
/// # Errors
/// As [`lasso_with`].
///
/// # Examples
/// ```
/// // Two orthonormal columns: λ_j = clip(S(a_jᵀb, α), 0, 1).
/// let a = [1.0, 0.0, 0.0, 1.0];
/// let (lambda, info) = puma::lasso::lasso(&a, 2, 2, &[0.8, 3.0], 0.3).unwrap();
/// assert!((lambda[0] - 0.5).abs() < 1e-9 && lambda[1] == 1.0);
/// assert_eq!(info.stop, puma::lasso::StopReason::Converged);
/// ```
pub fn lasso(
    a: &[f64],
    m: usize,
    p: usize,
    b: &[f64],
    alpha: f64,
) -> Result<(Vec<f64>, LassoInfo)> {
    lasso_with(
        &LassoProblem::new(a, m, p, b, alpha),
        &LassoParams::default(),
    )
}

/// Solve a box-constrained weighted Lasso by coordinate descent, to a certified duality gap.
///
/// Stopping at `max_epochs` is not an error: `info.stop` says [`StopReason::MaxEpochs`] and
/// `info.gap` how far it got (use [`lasso_strict`] to get an error instead).
///
/// # Errors
/// Checked before any work: [`Error::ShapeMismatch`] if `a.len() != m·p`, `b.len() != m`, or
/// bounds, weights or warm start are not of length p; [`Error::NonFinite`] for NaN or ±inf in
/// A, b, bounds, weights, warm start or α; [`Error::InvalidParam`] for α < 0, a bound with
/// ℓ_j > 0 or u_j < 0, a weight c_j < 0, tol < 0 or `gap_every == 0`.
pub fn lasso_with(problem: &LassoProblem, params: &LassoParams) -> Result<(Vec<f64>, LassoInfo)> {
    let spec = solve::Spec::new(problem)?;
    check_params(params)?;
    Ok(solve::solve(&spec, problem.warm_start, params))
}

/// As [`lasso_with`], but stopping at `max_epochs` is an error.
///
/// # Errors
/// As [`lasso_with`], and [`Error::NoConvergence`] `{ method: "lasso", iters: epochs,
/// achieved: rel_gap, target: tol }` when the gap target was not met.
pub fn lasso_strict(problem: &LassoProblem, params: &LassoParams) -> Result<(Vec<f64>, LassoInfo)> {
    let (lambda, info) = lasso_with(problem, params)?;
    match info.stop {
        StopReason::Converged => Ok((lambda, info)),
        StopReason::MaxEpochs => Err(Error::NoConvergence {
            method: "lasso",
            iters: info.epochs,
            achieved: info.rel_gap,
            target: params.tol,
        }),
    }
}

/// Check the parameter struct (before any work).
pub(crate) fn check_params(params: &LassoParams) -> Result<()> {
    if !params.tol.is_finite() || params.tol < 0.0 {
        return Err(Error::InvalidParam {
            name: "tol",
            reason: format!("must be finite and >= 0, got {}", params.tol),
        });
    }
    if params.gap_every == 0 {
        return Err(Error::InvalidParam {
            name: "gap_every",
            reason: "must be >= 1, got 0".to_string(),
        });
    }
    Ok(())
}
