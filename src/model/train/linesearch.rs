//! A line search meeting the strong Wolfe conditions [NW06, Alg. 3.5 and 3.6]:
//!
//! ```text
//! φ(α) = J(θ + α·d),   φ′(0) < 0,
//! sufficient decrease:  φ(α) ≤ φ(0) + c₁·α·φ′(0),
//! curvature:            |φ′(α)| ≤ c₂·|φ′(0)|,          0 < c₁ < c₂ < 1.
//! ```
//!
//! Near the optimum φ(α) − φ(0) drops below the rounding of J (about ε|J|) long before ∇J
//! does, so sufficient decrease becomes a coin toss. There the search also accepts the
//! approximate Wolfe condition of Hager & Zhang (SIAM J. Optim. 16, 2005, eq. (4.1)):
//! φ(α) ≤ φ(0) + ε_f and φ′(α) ≤ (2c₁ − 1)·φ′(0), which rests on derivatives only, and it
//! keeps its bracket by the sign of φ′ first (their update rule), since comparing values
//! equal to rounding would throw the minimiser out of the bracket. This is what lets L-BFGS
//! drive ‖∇J‖∞ of the fixture MLPs below 1e-13. Cost: one value and gradient per trial
//! step, usually one trial (α = 1) once L-BFGS has curvature information.

use crate::error::Result;

/// Settings of the line search.
#[derive(Clone, Debug, PartialEq)]
pub struct LineSearchParams {
    /// Sufficient-decrease constant c₁. Default 1e-4; in (0, c₂).
    pub c1: f64,
    /// Curvature constant c₂. Default 0.9 (the usual choice for quasi-Newton); in (c₁, 1).
    pub c2: f64,
    /// Trial steps per search, at most. Default 40; ≥ 1.
    pub max_evals: usize,
}

impl Default for LineSearchParams {
    fn default() -> Self {
        LineSearchParams {
            c1: 1e-4,
            c2: 0.9,
            max_evals: 40,
        }
    }
}

/// An accepted step: α, θ + α·d, J and ∇J there, and the evaluations spent.
#[derive(Clone, Debug)]
pub struct Step {
    /// The step length α.
    pub alpha: f64,
    /// θ + α·d.
    pub theta: Vec<f64>,
    /// J(θ + α·d).
    pub value: f64,
    /// ∇J(θ + α·d).
    pub grad: Vec<f64>,
    /// Objective evaluations used.
    pub evals: usize,
}

/// One evaluated trial point.
struct Trial {
    alpha: f64,
    value: f64,
    slope: f64, // φ′(α) = ∇J(θ + αd)·d
    theta: Vec<f64>,
    grad: Vec<f64>,
}

/// Searches along `d` from `theta` (where J = `value`, ∇J = `grad`) for a step meeting the
/// (strong or approximate) Wolfe conditions, starting with `alpha0`.
///
/// Returns `Ok(None)` if no acceptable step was found within `max_evals` (or `d` is not a
/// descent direction).
///
/// # Errors
/// Whatever `f` returns.
pub fn strong_wolfe<F>(
    f: &mut F,
    theta: &[f64],
    value: f64,
    grad: &[f64],
    d: &[f64],
    alpha0: f64,
    params: &LineSearchParams,
) -> Result<Option<Step>>
where
    F: FnMut(&[f64]) -> Result<(f64, Vec<f64>)>,
{
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let slope0 = dot(grad, d); // φ′(0)
    if slope0.is_nan() || slope0 >= 0.0 {
        return Ok(None);
    }
    let (c1, c2) = (params.c1, params.c2);
    let eps_f = 1e-12 * (1.0 + value.abs()); // a change of J we cannot trust the sign of
    // Low enough: sufficient decrease, or no increase beyond rounding.
    let low_enough =
        |t: &Trial| t.value <= value + c1 * t.alpha * slope0 || t.value <= value + eps_f;
    // (Approximate) Wolfe: sufficient decrease, or the derivative-only version of it, plus
    // the strong curvature condition.
    let wolfe = |t: &Trial| {
        let decrease = t.value <= value + c1 * t.alpha * slope0
            || (t.value <= value + eps_f && t.slope <= (2.0 * c1 - 1.0) * slope0);
        decrease && t.slope.abs() <= c2 * slope0.abs()
    };
    let mut evals = 0;
    let mut eval = |alpha: f64, evals: &mut usize| -> Result<Trial> {
        *evals += 1;
        let th: Vec<f64> = theta.iter().zip(d).map(|(t, di)| t + alpha * di).collect();
        let (v, g) = f(&th)?;
        let slope = dot(&g, d);
        // A NaN or ∞ value counts as "too far": it is never low enough.
        let value = if v.is_finite() { v } else { f64::INFINITY };
        Ok(Trial {
            alpha,
            value,
            slope,
            theta: th,
            grad: g,
        })
    };
    let accept = |t: Trial, evals: usize| Step {
        alpha: t.alpha,
        theta: t.theta,
        value: t.value,
        grad: t.grad,
        evals,
    };

    // The bracket [lo, hi] always has lo low enough with φ′(lo) < 0, and hi either past a
    // minimiser (φ′(hi) ≥ 0) or too high. Deciding by the sign of φ′ first, as Hager & Zhang
    // do, keeps the bracket right when the values of J are equal to rounding.
    let mut lo = Trial {
        alpha: 0.0,
        value,
        slope: slope0,
        theta: theta.to_vec(),
        grad: grad.to_vec(),
    };
    let mut alpha = alpha0;
    let mut hi = loop {
        if evals >= params.max_evals {
            return Ok(None);
        }
        let t = eval(alpha, &mut evals)?;
        if wolfe(&t) {
            return Ok(Some(accept(t, evals)));
        }
        if t.slope >= 0.0 || !low_enough(&t) {
            break t;
        }
        alpha = 2.0 * t.alpha; // still descending: extrapolate [NW06, Alg. 3.5]
        lo = t;
    };

    // Zoom [NW06, Alg. 3.6, with the update rule of Hager & Zhang].
    while evals < params.max_evals && (hi.alpha - lo.alpha).abs() > 1e-15 * hi.alpha.abs() {
        let t = eval(interpolate(&lo, &hi, eps_f), &mut evals)?;
        if wolfe(&t) {
            return Ok(Some(accept(t, evals)));
        }
        if t.slope >= 0.0 || !low_enough(&t) {
            hi = t;
        } else {
            lo = t;
        }
    }
    // No Wolfe point: take lo if it moved (it is low enough with φ′ < 0; L-BFGS skips the
    // update when the curvature pair is not positive).
    if lo.alpha > 0.0 {
        return Ok(Some(accept(lo, evals)));
    }
    Ok(None)
}

/// A trial step inside the bracket: the minimiser of the cubic through (α, φ, φ′) at both
/// ends [NW06, eq. (3.59)], or the zero of the secant of φ′ when the two values are equal
/// to rounding (`eps_f`), kept at least 10% of the interval away from either end; the
/// midpoint when neither exists.
fn interpolate(lo: &Trial, hi: &Trial, eps_f: f64) -> f64 {
    let (a, b) = (lo.alpha, hi.alpha);
    let (left, right) = if a < b { (a, b) } else { (b, a) };
    let margin = 0.1 * (right - left);
    let inside = |x: f64| x.is_finite() && x >= left + margin && x <= right - margin;
    if !hi.value.is_finite() {
        return a + 0.1 * (b - a); // overflow at hi: back off hard
    }
    if (hi.value - lo.value).abs() <= eps_f && hi.slope != lo.slope {
        let x = a - lo.slope * (b - a) / (hi.slope - lo.slope); // φ′ = 0 on the secant
        return if inside(x) { x } else { 0.5 * (a + b) };
    }
    let d1 = lo.slope + hi.slope - 3.0 * (lo.value - hi.value) / (a - b);
    let disc = d1 * d1 - lo.slope * hi.slope;
    if disc.is_nan() || disc < 0.0 {
        return 0.5 * (a + b);
    }
    let d2 = (b - a).signum() * disc.sqrt();
    let x = b - (b - a) * (hi.slope + d2 - d1) / (hi.slope - lo.slope + 2.0 * d2);
    if inside(x) { x } else { 0.5 * (a + b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// φ along a 1-D quartic J(θ) = θ⁴/4 − θ with its minimum at θ = 1.
    fn quartic(t: &[f64]) -> Result<(f64, Vec<f64>)> {
        Ok((t[0].powi(4) / 4.0 - t[0], vec![t[0].powi(3) - 1.0]))
    }

    #[test]
    fn accepted_steps_meet_the_strong_wolfe_conditions() {
        let params = LineSearchParams::default();
        // From θ = 0 with unit steps too short (0.1), right-sized (1) and far too long (30).
        for alpha0 in [0.1, 1.0, 30.0] {
            let (v0, g0) = quartic(&[0.0]).unwrap();
            let d = [1.0];
            let mut f = quartic;
            let step = strong_wolfe(&mut f, &[0.0], v0, &g0, &d, alpha0, &params)
                .unwrap()
                .unwrap();
            let slope0 = g0[0] * d[0];
            assert!(
                step.value <= v0 + params.c1 * step.alpha * slope0,
                "decrease, α0 = {alpha0}"
            );
            assert!(
                (step.grad[0] * d[0]).abs() <= params.c2 * slope0.abs(),
                "curvature, α0 = {alpha0}"
            );
            assert!(step.evals <= params.max_evals);
        }
    }

    #[test]
    fn an_ascent_direction_is_refused_without_evaluating() {
        let (v0, g0) = quartic(&[0.0]).unwrap();
        let mut calls = 0;
        let mut f = |t: &[f64]| {
            calls += 1;
            quartic(t)
        };
        let found = strong_wolfe(
            &mut f,
            &[0.0],
            v0,
            &g0,
            &[-1.0],
            1.0,
            &LineSearchParams::default(),
        )
        .unwrap();
        assert!(found.is_none());
        assert_eq!(calls, 0);
    }
}
