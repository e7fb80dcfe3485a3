//! The multilayer perceptron and its training objective \[J\] (DESIGN.md §1):
//!
//! ```text
//! h_0 = x,   h_{l+1} = f(h_l W_lᵀ + b_l) for hidden layers,   z = h_{L−1} W_{L−1}ᵀ + b_{L−1},
//! J_w(θ) = (1/n) Σ_i w_i CE(z_i, y_i) + (μ/2)‖θ‖²      (biases decayed too; divisor n).
//! ```
//!
//! Logistic regression is the MLP without hidden layers (`sizes = [d, K]`). θ is one flat
//! vector ([`super::params`]). The objective can be built on the autodiff tape
//! ([`Mlp::logits_on`], [`Mlp::value_and_grad_tape`]); [`Mlp::value_and_grad`] runs the same
//! products by a hand-written forward and backward pass over the layer chain (`fused.rs`),
//! tested against the tape. Both gradients are exact to rounding.
//!
//! Parallelism with reproducible bits: the samples are cut into fixed chunks of
//! [`CHUNK_ROWS`] rows (independent of the number of threads), each chunk's Σ w_i CE_i and
//! its gradient are computed on its own tape (in parallel with rayon), and the chunk results
//! are added in chunk order. So 1 or 16 threads give identical bits.
//! Cost of a gradient: about 3× the 2·n·Σ_l d_l d_{l+1} flops of a forward pass, minus the
//! unneeded product for ∂/∂X.

use rayon::prelude::*;

use super::loss::{Evaluation, Samples, argmax_rows, cross_entropy_rows};
use super::params::Layout;
use crate::autodiff::{Activation, Mat, Tape, Var, value_and_grad};
use crate::error::{Error, Result};

mod fused;

pub(super) use fused::times_deriv;

/// Rows per chunk of the fixed-order parallel reduction (a constant, so results do not
/// depend on the thread count). 512 rather than 256: the \[2,16,16,2\] gradient on 1000
/// samples 81 → 77.5 µs (fewer per-chunk calls; its buffers still fit L2), the larger
/// models unchanged; 1024 was slower again.
pub const CHUNK_ROWS: usize = 512;

/// An MLP classifier: layer sizes, hidden activation and weight decay μ.
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    layout: Layout,
    /// The activation f of the hidden layers (unused without hidden layers).
    pub activation: Activation,
    /// The weight decay μ ≥ 0 of \[J\], applied to every parameter, biases included.
    pub l2: f64,
}

impl Mlp {
    /// The MLP with layer sizes `[d, h_1, …, K]`, activation f and weight decay μ = `l2`.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for fewer than two sizes, a zero size, or μ negative or not finite.
    ///
    /// # Examples
    /// ```
    /// use puma::autodiff::Activation;
    /// use puma::model::Mlp;
    /// let mlp = Mlp::new(&[2, 16, 16, 2], Activation::Tanh, 1e-3).unwrap();
    /// assert_eq!(mlp.n_params(), 354);
    /// ```
    pub fn new(sizes: &[usize], activation: Activation, l2: f64) -> Result<Self> {
        if !(l2 >= 0.0 && l2.is_finite()) {
            return Err(Error::InvalidParam {
                name: "l2",
                reason: format!("weight decay must be finite and ≥ 0, got {l2}"),
            });
        }
        Ok(Mlp {
            layout: Layout::new(sizes)?,
            activation,
            l2,
        })
    }

    /// The layer sizes `[d, …, K]`.
    pub fn sizes(&self) -> &[usize] {
        &self.layout.sizes
    }

    /// Where each layer sits in θ.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The number of parameters p.
    pub fn n_params(&self) -> usize {
        self.layout.p
    }

    /// The number of input features d.
    pub fn n_features(&self) -> usize {
        self.layout.sizes[0]
    }

    /// The number of classes K.
    pub fn n_classes(&self) -> usize {
        *self.layout.sizes.last().expect("at least two sizes")
    }

    /// A seeded initial θ ([`Layout::init`]).
    pub fn init(&self, seed: u64) -> Vec<f64> {
        self.layout.init(seed)
    }

    /// Records the logits Z = MLP(X; θ) (n × K) on a tape, reading W_l and b_l out of the
    /// flat `theta` node (p × 1 or 1 × p) and taking X (n × d) from node `x`.
    pub fn logits_on(&self, tape: &mut Tape, theta: Var, x: Var) -> Var {
        let last = self.layout.layers.len() - 1;
        let mut h = x;
        for (l, span) in self.layout.layers.iter().enumerate() {
            let w = tape.slice(theta, span.weight, span.fan_out, span.fan_in); // W_l [out, in]
            let b = tape.slice(theta, span.bias, 1, span.fan_out); // b_l
            let z = tape.matmul_nt(h, w); // h W_lᵀ
            let z = tape.add_bias(z, b); // + b_l
            h = if l < last {
                tape.activation(z, self.activation)
            } else {
                z
            };
        }
        h
    }

    /// Records Σ_i w_i CE_i over the samples `s` on a tape (Σ_i CE_i without weights): the
    /// data term of \[J\] before the 1/n, shared by the gradient and the HVP passes.
    pub(crate) fn weighted_loss_on(&self, tape: &mut Tape, theta: Var, s: &Samples) -> Var {
        let x = tape.constant(Mat::from_vec(s.n(), s.d, s.x.to_vec()));
        let z = self.logits_on(tape, theta, x);
        let ce = tape.softmax_cross_entropy(z, s.y); // CE_i
        match s.w {
            Some(w) => tape.weighted_sum(ce, w), // Σ w_i CE_i
            None => tape.sum(ce),
        }
    }

    /// Checks θ's length, the feature count and the labels of `s` against this model.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for a wrong θ length or feature count,
    /// [`Error::InvalidParam`] for a label ≥ K.
    pub fn check(&self, theta: &[f64], s: &Samples) -> Result<()> {
        if theta.len() != self.n_params() {
            return Err(Error::ShapeMismatch {
                what: "theta length vs model parameters",
                expected: self.n_params(),
                found: theta.len(),
            });
        }
        if s.d != self.n_features() {
            return Err(Error::ShapeMismatch {
                what: "data features vs model inputs",
                expected: self.n_features(),
                found: s.d,
            });
        }
        if let Some(i) = s.y.iter().position(|&y| y >= self.n_classes()) {
            return Err(Error::InvalidParam {
                name: "labels",
                reason: format!(
                    "row {i} has label {} but the model has {} classes",
                    s.y[i],
                    self.n_classes()
                ),
            });
        }
        Ok(())
    }

    /// The logits Z (n × K) for features `x` (n × d row-major), computed in chunks.
    ///
    /// # Panics
    /// If `theta.len() != p` or `x.len()` is not a multiple of d.
    #[track_caller]
    pub fn logits(&self, theta: &[f64], x: &[f64]) -> Mat {
        let d = self.n_features();
        assert_eq!(theta.len(), self.n_params(), "logits: theta length");
        assert_eq!(x.len() % d, 0, "logits: x is not n × d");
        let n = x.len() / d;
        let chunks: Vec<Mat> = (0..n.div_ceil(CHUNK_ROWS))
            .into_par_iter()
            .map(|c| {
                let r = c * CHUNK_ROWS..((c + 1) * CHUNK_ROWS).min(n);
                let mut tape = Tape::new();
                let th = tape.constant(Mat::column(theta));
                let xc = tape.constant(Mat::from_vec(
                    r.len(),
                    d,
                    x[r.start * d..r.end * d].to_vec(),
                ));
                let z = self.logits_on(&mut tape, th, xc);
                tape.value(z).clone()
            })
            .collect();
        let k = self.n_classes();
        let data = chunks.into_iter().flat_map(|m| m.data).collect();
        Mat::from_vec(n, k, data)
    }

    /// Σ_i w_i CE_i over `s` and its gradient, by chunks reduced in a fixed order, each
    /// chunk by the fused pass (`fused.rs`) or on a tape.
    fn weighted_loss_sum_and_grad(
        &self,
        theta: &[f64],
        s: &Samples,
        on_tape: bool,
    ) -> (f64, Vec<f64>) {
        let n = s.n();
        let parts: Vec<(f64, Vec<f64>)> = super::scratch::map_chunks(
            n.div_ceil(CHUNK_ROWS),
            |scratch: &mut fused::Scratch, c| {
                let chunk = s.rows(c * CHUNK_ROWS..((c + 1) * CHUNK_ROWS).min(n));
                if on_tape {
                    value_and_grad(|tape, th| self.weighted_loss_on(tape, th, &chunk), theta)
                } else {
                    let mut g = vec![0.0; theta.len()];
                    let v = self.chunk_loss_and_grad_fused(theta, &chunk, &mut g, scratch);
                    (v, g)
                }
            },
        );
        let mut total = 0.0;
        let mut g = vec![0.0; theta.len()];
        for (v, gc) in parts {
            // chunk order, whatever the thread count
            total += v;
            crate::kernels::axpy(1.0, &gc, &mut g);
        }
        (total, g)
    }

    /// J_w(θ) and ∇J_w(θ) of \[J\]: (1/n) Σ_i w_i CE_i + (μ/2)‖θ‖², gradient
    /// (1/n) Σ_i w_i ∇CE_i + μθ.
    ///
    /// Computed by the fused forward and backward pass over the layer chain (`fused.rs`);
    /// [`Mlp::value_and_grad_tape`] is the same on the autodiff tape.
    ///
    /// # Errors
    /// As [`Mlp::check`]; [`Error::InvalidParam`] for an empty sample set.
    pub fn value_and_grad(&self, theta: &[f64], s: &Samples) -> Result<(f64, Vec<f64>)> {
        self.value_and_grad_with(theta, s, false)
    }

    /// [`Mlp::value_and_grad`] recorded on the autodiff tape (`Mlp::weighted_loss_on`):
    /// the general engine, and the oracle of the fused pass.
    ///
    /// # Errors
    /// As [`Mlp::value_and_grad`].
    pub fn value_and_grad_tape(&self, theta: &[f64], s: &Samples) -> Result<(f64, Vec<f64>)> {
        self.value_and_grad_with(theta, s, true)
    }

    fn value_and_grad_with(
        &self,
        theta: &[f64],
        s: &Samples,
        on_tape: bool,
    ) -> Result<(f64, Vec<f64>)> {
        self.check(theta, s)?;
        if s.n() == 0 {
            return Err(Error::InvalidParam {
                name: "samples",
                reason: "the objective needs at least one sample".into(),
            });
        }
        let inv_n = 1.0 / s.n() as f64;
        let (sum, mut g) = self.weighted_loss_sum_and_grad(theta, s, on_tape);
        let decay = 0.5 * self.l2 * theta.iter().map(|t| t * t).sum::<f64>(); // (μ/2)‖θ‖²
        for (gi, ti) in g.iter_mut().zip(theta) {
            *gi = *gi * inv_n + self.l2 * ti; // (1/n) Σ w_i ∇CE_i + μθ
        }
        Ok((sum * inv_n + decay, g))
    }

    /// J_w(θ) of \[J\] alone (one forward pass per chunk).
    ///
    /// # Errors
    /// As [`Mlp::value_and_grad`].
    pub fn objective(&self, theta: &[f64], s: &Samples) -> Result<f64> {
        self.check(theta, s)?;
        if s.n() == 0 {
            return Err(Error::InvalidParam {
                name: "samples",
                reason: "the objective needs at least one sample".into(),
            });
        }
        let z = self.logits(theta, s.x);
        let ce = cross_entropy_rows(&z, s.y);
        let sum: f64 = match s.w {
            Some(w) => ce.iter().zip(w).map(|(c, wi)| wi * c).sum(),
            None => ce.iter().sum(),
        };
        let decay = 0.5 * self.l2 * theta.iter().map(|t| t * t).sum::<f64>();
        Ok(sum / s.n() as f64 + decay)
    }

    /// Mean cross-entropy (unweighted, no decay) and accuracy on `s`.
    ///
    /// # Errors
    /// As [`Mlp::check`].
    pub fn evaluate(&self, theta: &[f64], s: &Samples) -> Result<Evaluation> {
        self.check(theta, s)?;
        let z = self.logits(theta, s.x);
        let ce = cross_entropy_rows(&z, s.y);
        let n = s.n().max(1) as f64;
        let correct = argmax_rows(&z)
            .iter()
            .zip(s.y)
            .filter(|(p, y)| p == y)
            .count();
        Ok(Evaluation {
            mean_loss: ce.iter().sum::<f64>() / n,
            accuracy: correct as f64 / n,
        })
    }
}
