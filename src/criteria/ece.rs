//! Calibration: the differentiable soft calibration error \[ece\] of DESIGN.md §1 as a
//! [`Criterion`], and the ordinary hard 15-bin ECE as a reported metric.
//!
//! ```text
//! c_i   = softmax(z_i)_ŷ_i              confidence in the predicted class ŷ_i (ŷ held fixed)
//! o_i   = 1[ŷ_i = y_i]                  correctness, held constant
//! w_ib  = softmax_b(−(c_i − m_b)²/τ²)   soft bin weights, m_b = (b + ½)/15, τ = 1/15
//! N_b   = Σ_i w_ib,  conf_b = Σ_i w_ib c_i / N_b,  acc_b = Σ_i w_ib o_i / N_b
//! ECE_s = Σ_b (N_b/N) · sqrt((conf_b − acc_b)² + 1e-12)                  \[ece\]
//! ECE_h = Σ_b (|B_b|/N) · |conf(B_b) − acc(B_b)|,  B_b = {i : c_i ∈ [b/15, (b+1)/15)}
//! ```
//!
//! Gradient: with r_b = (conf_b − acc_b), f_b = sqrt(r_b² + 1e-12) and D_b = N_b r_b,
//! ∂ECE_s/∂N_b = (f_b − r_b²/f_b)/N and ∂ECE_s/∂D_b = (r_b/f_b)/N; through
//! ∂w_ib/∂c_i = w_ib(u′_ib − Σ_b′ w_ib′ u′_ib′), u′_ib = −2(c_i − m_b)/τ², this gives
//! ∂ECE_s/∂c_i. Then ∂c_i/∂z_ij = c_i(1[j = ŷ_i] − p_ij) makes a cotangent on the logits, and
//! one reverse pass ([`Mlp::logits_vjp`]) carries it to θ. Cost: one forward pass for the
//! confidences, O(15·N) for the bins, one gradient-sized reverse pass.

use super::Criterion;
use crate::autodiff::op::softmax_rows;
use crate::error::{Error, Result};
use crate::model::loss::argmax_rows;
use crate::model::{Mlp, Samples};

/// Number of confidence bins of \[ece\] and of the hard ECE: 15.
pub const ECE_BINS: usize = 15;
/// Bin temperature τ of \[ece\]: 1/15, one bin width.
pub const ECE_TAU: f64 = 1.0 / 15.0;
/// The ε under the square root of \[ece\], which keeps it differentiable at conf_b = acc_b.
pub const ECE_EPS: f64 = 1e-12;

/// The soft calibration error \[ece\] on an evaluation set: one criterion row, loss-like.
///
/// The predicted classes ŷ_i and the correctness o_i = 1[ŷ_i = y_i] are computed **once, at
/// construction**, from the θ given there (normally θ̂), and held fixed wherever the
/// criterion is later evaluated. So C(θ) is one smooth function of θ, its Jacobian is exact,
/// and C(θ_mod) − C(θ̂) measures exactly what the first-order prediction (1/n)·ψ linearises.
/// A patched model whose argmax changes on some rows has a different hard ECE; report
/// [`hard_ece`] (which recomputes ŷ) next to it.
///
/// # Examples
/// ```
/// use puma::autodiff::Activation;
/// use puma::criteria::{Criterion, SoftEce};
/// use puma::model::{Mlp, Samples};
/// let mlp = Mlp::new(&[2, 3], Activation::Tanh, 0.0).unwrap();
/// let theta = mlp.init(1);
/// let (x, y) = ([0.5, -1.0, 1.5, 0.25, -0.3, 0.7], [0, 2, 1]);
/// let eval = Samples::new(&x, 2, &y).unwrap();
/// let ece = SoftEce::new(eval, &mlp, &theta).unwrap();
/// let v = ece.values(&mlp, &theta).unwrap()[0];
/// assert!(v > 0.0 && v < 1.0);
/// assert_eq!(ece.jacobian_t(&mlp, &theta).unwrap().len(), mlp.n_params());
/// ```
#[derive(Clone, Debug)]
pub struct SoftEce<'a> {
    eval: Samples<'a>,
    predicted: Vec<usize>,
    correct: Vec<f64>,
}

impl<'a> SoftEce<'a> {
    /// \[ece\] on `eval`, with ŷ_i and o_i taken from `mlp` at `theta` and then held fixed.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for an empty evaluation set; as [`Mlp::check`].
    pub fn new(eval: Samples<'a>, mlp: &Mlp, theta: &[f64]) -> Result<Self> {
        super::nonempty(&eval)?;
        mlp.check(theta, &eval)?;
        let predicted = argmax_rows(&mlp.logits(theta, eval.x)); // ŷ_i
        let correct = predicted
            .iter()
            .zip(eval.y)
            .map(|(p, y)| if p == y { 1.0 } else { 0.0 }) // o_i
            .collect();
        Ok(SoftEce {
            eval,
            predicted,
            correct,
        })
    }

    /// The held predicted classes ŷ_i.
    pub fn predicted(&self) -> &[usize] {
        &self.predicted
    }

    /// The held correctness o_i ∈ {0, 1}.
    pub fn correct(&self) -> &[f64] {
        &self.correct
    }

    /// Probabilities P (t × K row-major) and confidences c_i = p_i,ŷ_i at θ.
    fn confidences(&self, mlp: &Mlp, theta: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
        mlp.check(theta, &self.eval)?;
        let (p, _) = softmax_rows(&mlp.logits(theta, self.eval.x));
        let k = p.cols;
        let c = self
            .predicted
            .iter()
            .enumerate()
            .map(|(i, &yh)| p.data[i * k + yh])
            .collect();
        Ok((p.data, c))
    }
}

impl Criterion for SoftEce<'_> {
    fn name(&self) -> String {
        format!("soft-ece[{} bins, {}]", ECE_BINS, self.eval.n())
    }

    fn len(&self) -> usize {
        1
    }

    fn values(&self, mlp: &Mlp, theta: &[f64]) -> Result<Vec<f64>> {
        let (_, c) = self.confidences(mlp, theta)?;
        Ok(vec![soft_ece_and_grad(&c, &self.correct).0])
    }

    /// ∇_θ ECE_s: ∂ECE_s/∂c_i in closed form, chained through c_i = softmax(z_i)_ŷ_i into
    /// a logit cotangent, then one reverse pass ([`Mlp::logits_vjp`]).
    fn jacobian_t(&self, mlp: &Mlp, theta: &[f64]) -> Result<Vec<f64>> {
        let (p, c) = self.confidences(mlp, theta)?;
        let (_, dc) = soft_ece_and_grad(&c, &self.correct); // ∂ECE_s/∂c_i
        let k = mlp.n_classes();
        let mut cot = vec![0.0; p.len()];
        for (i, &yh) in self.predicted.iter().enumerate() {
            for j in 0..k {
                let delta = if j == yh { 1.0 } else { 0.0 };
                cot[i * k + j] = dc[i] * c[i] * (delta - p[i * k + j]); // ∂c_i/∂z_ij
            }
        }
        mlp.logits_vjp(theta, self.eval.x, &cot) // J_Zᵀ Z̄, p × 1
    }
}

/// \[ece\] of confidences `c` with correctness `o` (same length ≥ 1), and its gradient
/// ∂ECE_s/∂c_i. Sums run in index order, so the bits do not depend on threads.
///
/// # Panics
/// If `c` and `o` differ in length.
#[track_caller]
pub fn soft_ece_and_grad(c: &[f64], o: &[f64]) -> (f64, Vec<f64>) {
    assert_eq!(c.len(), o.len(), "soft_ece: one correctness per confidence");
    let n = c.len();
    let nt = n.max(1) as f64;
    let tau2 = ECE_TAU * ECE_TAU;
    let centre = |b: usize| (b as f64 + 0.5) / ECE_BINS as f64; // m_b
    let mut w = vec![0.0; n * ECE_BINS];
    let (mut nb, mut db) = ([0.0; ECE_BINS], [0.0; ECE_BINS]);
    for i in 0..n {
        let row = &mut w[i * ECE_BINS..(i + 1) * ECE_BINS];
        let mut top = f64::NEG_INFINITY;
        for (b, wb) in row.iter_mut().enumerate() {
            *wb = -(c[i] - centre(b)).powi(2) / tau2; // u_ib
            top = top.max(*wb);
        }
        let mut s = 0.0;
        for wb in row.iter_mut() {
            *wb = (*wb - top).exp();
            s += *wb;
        }
        for (b, wb) in row.iter_mut().enumerate() {
            *wb /= s; // w_ib
            nb[b] += *wb; // N_b
            db[b] += *wb * (c[i] - o[i]); // D_b = N_b (conf_b − acc_b)
        }
    }
    let (mut ece, mut d_n, mut d_d) = (0.0, [0.0; ECE_BINS], [0.0; ECE_BINS]);
    for b in 0..ECE_BINS {
        let r = db[b] / nb[b]; // conf_b − acc_b (N_b > 0: every w_ib > 0)
        let f = (r * r + ECE_EPS).sqrt();
        ece += nb[b] * f / nt; // (N_b/N) f_b
        d_n[b] = (f - r * r / f) / nt; // ∂ECE_s/∂N_b
        d_d[b] = (r / f) / nt; // ∂ECE_s/∂D_b
    }
    let grad = (0..n)
        .map(|i| {
            let row = &w[i * ECE_BINS..(i + 1) * ECE_BINS];
            let du = |b: usize| -2.0 * (c[i] - centre(b)) / tau2; // u′_ib
            let ubar: f64 = (0..ECE_BINS).map(|b| row[b] * du(b)).sum();
            (0..ECE_BINS)
                .map(|b| {
                    let dw = row[b] * (du(b) - ubar); // ∂w_ib/∂c_i
                    (d_n[b] + d_d[b] * (c[i] - o[i])) * dw + d_d[b] * row[b]
                })
                .sum()
        })
        .collect();
    (ece, grad)
}

/// One bin of the hard reliability diagram.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReliabilityBin {
    /// Rows whose confidence falls in the bin.
    pub count: usize,
    /// Their mean confidence (0 for an empty bin).
    pub confidence: f64,
    /// Their accuracy (0 for an empty bin).
    pub accuracy: f64,
}

/// The hard 15-bin reliability diagram and its ECE.
#[derive(Clone, Debug, PartialEq)]
pub struct Reliability {
    /// ECE_h = Σ_b (|B_b|/N)·|conf(B_b) − acc(B_b)|.
    pub ece: f64,
    /// The 15 bins [b/15, (b+1)/15) (the last one closed).
    pub bins: Vec<ReliabilityBin>,
}

/// The ordinary hard 15-bin ECE of the model on `eval` with its bins: confidence = the
/// largest softmax probability, correctness of the argmax, both recomputed at θ.
///
/// # Errors
/// [`Error::InvalidParam`] for an empty evaluation set; as [`Mlp::check`].
///
/// # Examples
/// ```
/// use puma::autodiff::Activation;
/// use puma::criteria::hard_ece;
/// use puma::model::{Mlp, Samples};
/// let mlp = Mlp::new(&[1, 2], Activation::Tanh, 0.0).unwrap();
/// let theta = vec![0.0; 4]; // every probability ½: confidence 0.5
/// let eval = Samples::new(&[1.0, 2.0], 1, &[0, 1]).unwrap();
/// let r = hard_ece(&mlp, &theta, &eval).unwrap();
/// assert!((r.ece - 0.0).abs() < 1e-15); // argmax 0: right once in two, confidence ½
/// assert_eq!(r.bins[7].count, 2);
/// ```
pub fn hard_ece(mlp: &Mlp, theta: &[f64], eval: &Samples) -> Result<Reliability> {
    super::nonempty(eval)?;
    mlp.check(theta, eval)?;
    let z = mlp.logits(theta, eval.x);
    let (p, _) = softmax_rows(&z);
    let predicted = argmax_rows(&z);
    let k = p.cols;
    let conf: Vec<f64> = predicted
        .iter()
        .enumerate()
        .map(|(i, &yh)| p.data[i * k + yh])
        .collect();
    let correct: Vec<bool> = predicted.iter().zip(eval.y).map(|(a, b)| a == b).collect();
    hard_ece_from(&conf, &correct)
}

/// [`hard_ece`] from confidences in [0, 1] and correctness flags.
///
/// # Errors
/// [`Error::ShapeMismatch`] if the lengths differ; [`Error::InvalidParam`] for no rows or a
/// confidence outside [0, 1] (NaN included).
pub fn hard_ece_from(conf: &[f64], correct: &[bool]) -> Result<Reliability> {
    if conf.len() != correct.len() {
        return Err(Error::ShapeMismatch {
            what: "correctness flags vs confidences",
            expected: conf.len(),
            found: correct.len(),
        });
    }
    if conf.is_empty() {
        return Err(Error::InvalidParam {
            name: "conf",
            reason: "the ECE needs at least one row".into(),
        });
    }
    if let Some(i) = conf.iter().position(|c| !(0.0..=1.0).contains(c)) {
        return Err(Error::InvalidParam {
            name: "conf",
            reason: format!("confidence {} of row {i} is not in [0, 1]", conf[i]),
        });
    }
    let mut sums = [(0usize, 0.0, 0.0); ECE_BINS];
    for (&c, &ok) in conf.iter().zip(correct) {
        let b = ((c * ECE_BINS as f64) as usize).min(ECE_BINS - 1);
        sums[b].0 += 1;
        sums[b].1 += c;
        sums[b].2 += if ok { 1.0 } else { 0.0 };
    }
    let n = conf.len() as f64;
    let mut ece = 0.0;
    let bins = sums
        .iter()
        .map(|&(count, cs, acc)| {
            if count == 0 {
                return ReliabilityBin {
                    count,
                    confidence: 0.0,
                    accuracy: 0.0,
                };
            }
            let (confidence, accuracy) = (cs / count as f64, acc / count as f64);
            ece += count as f64 / n * (confidence - accuracy).abs();
            ReliabilityBin {
                count,
                confidence,
                accuracy,
            }
        })
        .collect();
    Ok(Reliability { ece, bins })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_ece_gradient_in_the_confidences_matches_central_differences() {
        let c: Vec<f64> = (0..40)
            .map(|i| 0.3 + 0.69 * ((i * 17 % 40) as f64) / 40.0)
            .collect();
        let o: Vec<f64> = (0..40).map(|i| ((i * 7 % 5) < 3) as u8 as f64).collect();
        let (_, g) = soft_ece_and_grad(&c, &o);
        let h = 1e-6;
        for i in [0, 7, 21, 39] {
            let (mut cp, mut cm) = (c.clone(), c.clone());
            cp[i] += h;
            cm[i] -= h;
            let fd = (soft_ece_and_grad(&cp, &o).0 - soft_ece_and_grad(&cm, &o).0) / (2.0 * h);
            // O(h²·f‴) truncation with f‴ ~ 1/τ³ ≈ 3e3, plus O(ε/h) rounding: 1e-8.
            assert!((g[i] - fd).abs() < 1e-8, "c_{i}: {} vs {fd}", g[i]);
        }
    }

    #[test]
    fn hard_ece_of_known_bins() {
        // Two rows at 0.95 (one right), two at 0.55 (both right):
        // (2/4)|0.95 − 0.5| + (2/4)|0.55 − 1| = 0.225 + 0.225.
        let r = hard_ece_from(&[0.95, 0.95, 0.55, 0.55], &[true, false, true, true]).unwrap();
        assert!((r.ece - 0.45).abs() < 1e-15);
        assert_eq!((r.bins[14].count, r.bins[8].count), (2, 2));
        assert!(matches!(
            hard_ece_from(&[1.5], &[true]),
            Err(Error::InvalidParam { name: "conf", .. })
        ));
    }

    #[test]
    fn a_perfectly_calibrated_soft_ece_is_small_and_positive() {
        // Confidences at bin centres with matching accuracy in every bin: only the soft
        // bins' mixing and √1e-12 remain.
        let (mut c, mut o) = (Vec::new(), Vec::new());
        for k in 0..10 {
            for j in 0..10 {
                c.push(0.55 + 0.4 * k as f64 / 9.0);
                o.push(if (j as f64) < 10.0 * (0.55 + 0.4 * k as f64 / 9.0) {
                    1.0
                } else {
                    0.0
                });
            }
        }
        let (e, _) = soft_ece_and_grad(&c, &o);
        assert!(e > 0.0 && e < 0.1, "{e}");
    }
}
