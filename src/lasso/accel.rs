//! Extrapolation of the coordinate-descent iterates, kept only when it lowers P.
//!
//! Every K = 5 epochs, from the last K+1 iterates x_0..x_K (restricted to the working set):
//! 1. Anderson (Bertrand & Massias, "Anderson acceleration of coordinate descent", AISTATS
//!    2021, Alg. 1): with U = [x_1 − x_0, …, x_K − x_{K−1}], solve (UᵀU) z = 1, c = z / Σz,
//!    and try x_acc = Σ_i c_i x_i clipped to the box. It suits the linearly convergent phase.
//! 2. If that does not lower P: try x_K + t·(x_K − x_0) for t = 1, 2, 4, … while P keeps
//!    decreasing. This is CD's worst case on rank-deficient working sets (more non-zeros than
//!    rows, common with a box): the iterates drift along a flat direction of ½‖Aλ − b‖² by
//!    small equal steps for thousands of epochs, which Anderson cannot extrapolate.
//!
//! A trial is accepted only if it lowers P, so the objective stays monotone and the gap
//! certificate is untouched. Cost per attempt: O(K²·|W|) plus one trial residual update
//! (2m·|W| flops) per trial point.

use super::cd::Backend;
use super::solve::Spec;

/// Move λ on `ws` to `cand` (clipped to the box) if that lowers P below `p_now`; returns the
/// new P. The state is saved first and restored on failure, so P never increases.
pub(crate) fn try_point<B: Backend>(
    spec: &Spec,
    be: &mut B,
    ws: &[usize],
    lambda: &mut [f64],
    cand: &[f64],
    p_now: f64,
    old: &mut Vec<f64>,
) -> Option<f64> {
    be.save();
    old.clear();
    let mut penalty = 0.0;
    for (&j, &v) in ws.iter().zip(cand) {
        old.push(lambda[j]);
        let v = v.clamp(spec.lower[j], spec.upper[j]);
        penalty += spec.pen[j] * v.abs();
        if v != lambda[j] {
            be.step(j, v - lambda[j]); // r ← r − (v − λ_j) a_j
            lambda[j] = v;
        }
    }
    let p_new = 0.5 * be.br_rr(lambda, ws).1 + penalty; // P at the candidate
    if p_new < p_now {
        Some(p_new)
    } else {
        for (&j, &v) in ws.iter().zip(old.iter()) {
            lambda[j] = v;
        }
        be.restore();
        None
    }
}

/// Extrapolate after K epochs: Anderson's point first; if it does not lower P, the drift
/// λ + t·(x_K − x_0) for t = 1, 2, 4, … while P keeps decreasing (a drift along a flat
/// direction of a rank-deficient W is what Anderson cannot extrapolate). Returns the new P.
#[allow(clippy::too_many_arguments)]
pub(crate) fn extrapolate<B: Backend>(
    spec: &Spec,
    be: &mut B,
    ws: &[usize],
    lambda: &mut [f64],
    acc: &Anderson,
    p_now: f64,
    cand: &mut Vec<f64>,
    old: &mut Vec<f64>,
) -> Option<f64> {
    cand.resize(ws.len(), 0.0);
    if acc.extrapolate(cand)
        && let Some(p_new) = try_point(spec, be, ws, lambda, cand, p_now, old)
    {
        return Some(p_new);
    }
    let (first, last) = acc.ends();
    let mut best = None;
    let mut p_cur = p_now;
    let mut t = 1.0;
    for _ in 0..40 {
        for (i, c) in cand.iter_mut().enumerate() {
            *c = last[i] + t * (last[i] - first[i]);
        }
        match try_point(spec, be, ws, lambda, cand, p_cur, old) {
            Some(p_new) => {
                best = Some(p_new);
                p_cur = p_new;
                t *= 2.0;
            }
            None => break,
        }
    }
    best
}

/// Iterates K+1 at a time; K = `depth`.
pub(crate) struct Anderson {
    depth: usize,
    n: usize,
    count: usize,
    /// (depth + 1) × n, iterate i in `hist[i*n..(i+1)*n]`.
    hist: Vec<f64>,
}

impl Anderson {
    /// Extrapolation over `depth` differences.
    pub(crate) fn new(depth: usize) -> Self {
        Anderson {
            depth,
            n: 0,
            count: 0,
            hist: Vec::new(),
        }
    }

    /// Forget the iterates; the next ones have length n.
    pub(crate) fn reset(&mut self, n: usize) {
        self.n = n;
        self.count = 0;
        self.hist.resize((self.depth + 1) * n, 0.0);
    }

    /// Store an iterate; true when K+1 are stored and [`Anderson::extrapolate`] can run.
    pub(crate) fn push(&mut self, x: impl Iterator<Item = f64>) -> bool {
        let n = self.n;
        let row = &mut self.hist[self.count * n..(self.count + 1) * n];
        for (h, v) in row.iter_mut().zip(x) {
            *h = v;
        }
        self.count += 1;
        self.count == self.depth + 1
    }

    /// The first and the last stored iterate.
    pub(crate) fn ends(&self) -> (&[f64], &[f64]) {
        let n = self.n;
        (
            &self.hist[..n],
            &self.hist[self.depth * n..(self.depth + 1) * n],
        )
    }

    /// x_acc = Σ c_i x_i into `out` (length n); false if UᵀU is singular or zero.
    pub(crate) fn extrapolate(&self, out: &mut [f64]) -> bool {
        let (k, n) = (self.depth, self.n);
        let x = |i: usize| &self.hist[i * n..(i + 1) * n];
        let diff = |i: usize, t: usize| x(i + 1)[t] - x(i)[t]; // U_{t,i}
        let mut c = vec![0.0; k * k]; // UᵀU, row-major
        for i in 0..k {
            for j in 0..=i {
                let v: f64 = (0..n).map(|t| diff(i, t) * diff(j, t)).sum();
                c[i * k + j] = v;
                c[j * k + i] = v;
            }
        }
        let trace: f64 = (0..k).map(|i| c[i * k + i]).sum();
        if trace.is_nan() || trace <= 0.0 {
            return false;
        }
        for i in 0..k {
            c[i * k + i] += 1e-12 * trace; // Tikhonov regularisation of a near-singular UᵀU
        }
        let mut z = vec![1.0; k];
        if !solve_small(&mut c, &mut z, k) {
            return false;
        }
        let sum: f64 = z.iter().sum();
        if sum == 0.0 || !sum.is_finite() {
            return false;
        }
        out.fill(0.0);
        for (i, zi) in z.iter().enumerate() {
            let ci = zi / sum;
            for (o, v) in out.iter_mut().zip(x(i + 1)) {
                *o += ci * v;
            }
        }
        out.iter().all(|v| v.is_finite())
    }
}

/// Solve the k × k system C z = rhs in place by Gaussian elimination with partial pivoting.
fn solve_small(c: &mut [f64], z: &mut [f64], k: usize) -> bool {
    for col in 0..k {
        let piv = (col..k)
            .max_by(|&a, &b| c[a * k + col].abs().total_cmp(&c[b * k + col].abs()))
            .unwrap_or(col);
        if c[piv * k + col] == 0.0 {
            return false;
        }
        if piv != col {
            for t in 0..k {
                c.swap(piv * k + t, col * k + t);
            }
            z.swap(piv, col);
        }
        for row in col + 1..k {
            let f = c[row * k + col] / c[col * k + col];
            for t in col..k {
                c[row * k + t] -= f * c[col * k + t];
            }
            z[row] -= f * z[col];
        }
    }
    for row in (0..k).rev() {
        let s: f64 = (row + 1..k).map(|t| c[row * k + t] * z[t]).sum();
        z[row] = (z[row] - s) / c[row * k + row];
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contraction_is_extrapolated_to_its_fixed_point() {
        // x_{t+1} = 0.9 x_t + 0.1·(3, −1): a contraction with fixed point (3, −1).
        let mut acc = Anderson::new(3);
        acc.reset(2);
        let mut x = [0.0, 0.0];
        let mut ready = acc.push(x.into_iter());
        while !ready {
            x = [0.9 * x[0] + 0.3, 0.9 * x[1] - 0.1];
            ready = acc.push(x.into_iter());
        }
        let mut out = [0.0; 2];
        assert!(acc.extrapolate(&mut out));
        assert!(
            (out[0] - 3.0).abs() < 1e-6 && (out[1] + 1.0).abs() < 1e-6,
            "{out:?}"
        );
    }
}
