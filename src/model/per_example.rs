//! Dot products of given vectors with every per-example gradient, without a p × n buffer
//! (DESIGN.md §1 \[g\]: g_i = ∇_θ CE(z_i, y_i), without the weight-decay term).
//!
//! For a dense layer z_i = W h_i + b, the per-example gradient is g_i^W = δ_i h_iᵀ and
//! g_i^b = δ_i, where δ_i = ∂CE_i/∂z_i is row i of the batched reverse pass (samples are
//! independent). So for a direction s with blocks S^W, s^b,
//!
//! ```text
//! sᵀ g_i = Σ_l ( δ_iᵀ S^W_l h_i + δ_iᵀ s^b_l ),
//! ```
//!
//! and for m directions at once layer l needs T = H_l·B_l (n × d_l times d_l × d_{l+1}·m, B_l
//! the m weight blocks rearranged once), then P_ic += Σ_a δ_ia T_i,(a,c): one GEMM per layer
//! over all samples and all m directions, plus δ_l·S^b_l for the biases.
//! Cost for m = 1: one forward pass, the δ recursion and one extra forward-sized GEMM, about
//! one gradient; each further direction adds 2n·Σ_l d_l d_{l+1} flops.

use rayon::prelude::*;

use super::loss::Samples;
use super::mlp::{CHUNK_ROWS, Mlp};
use crate::autodiff::matmul::matmul;
use crate::autodiff::op::softmax_rows;
use crate::error::{Error, Result};

impl Mlp {
    /// P = (s_cᵀ g_i) for all n samples i and m directions c, an n × m row-major matrix,
    /// with g_i = ∇_θ CE(z_i, y_i) the per-example gradient of \[g\] (no μθ, sample weights
    /// ignored) and `S` the p × m row-major matrix whose columns are the s_c.
    ///
    /// # Errors
    /// As [`Mlp::check`]; [`Error::ShapeMismatch`] if `S.len() != p·m` or m = 0.
    ///
    /// # Examples
    /// ```
    /// use puma::autodiff::Activation;
    /// use puma::model::{Mlp, Samples};
    /// let mlp = Mlp::new(&[2, 3, 2], Activation::Tanh, 1e-3).unwrap();
    /// let theta = mlp.init(0);
    /// let (x, y) = ([0.5, -1.0, 1.5, 0.25], [0, 1]);
    /// let s = Samples::new(&x, 2, &y).unwrap();
    /// let dirs = vec![1.0; mlp.n_params()]; // m = 1: s = (1, …, 1)
    /// let p = mlp.per_example_grad_dots(&theta, &s, &dirs, 1).unwrap();
    /// assert_eq!(p.len(), 2); // one product per sample
    /// ```
    #[allow(non_snake_case)]
    pub fn per_example_grad_dots(
        &self,
        theta: &[f64],
        s: &Samples,
        S: &[f64],
        m: usize,
    ) -> Result<Vec<f64>> {
        self.check(theta, s)?;
        let p = self.n_params();
        if m == 0 || S.len() != p * m {
            return Err(Error::ShapeMismatch {
                what: "S (p × m, m ≥ 1) entries",
                expected: p * m.max(1),
                found: S.len(),
            });
        }
        // B_l[b, a·m + c] = S[(w_l + a·d_l + b)·m + c]: the weight blocks as d_l × (d_{l+1}·m).
        let blocks: Vec<Vec<f64>> = self
            .layout()
            .layers
            .iter()
            .map(|span| {
                let (din, dout) = (span.fan_in, span.fan_out);
                let mut b = vec![0.0; din * dout * m];
                for a in 0..dout {
                    for j in 0..din {
                        let src = (span.weight + a * din + j) * m;
                        let dst = j * dout * m + a * m;
                        b[dst..dst + m].copy_from_slice(&S[src..src + m]);
                    }
                }
                b
            })
            .collect();
        let n = s.n();
        let parts: Vec<Vec<f64>> = (0..n.div_ceil(CHUNK_ROWS))
            .into_par_iter()
            .map(|c| {
                let chunk = s.rows(c * CHUNK_ROWS..((c + 1) * CHUNK_ROWS).min(n));
                self.chunk_grad_dots(theta, &chunk, S, m, &blocks)
            })
            .collect();
        Ok(parts.concat())
    }

    /// [`Mlp::per_example_grad_dots`] on one chunk of rows.
    #[allow(non_snake_case)]
    fn chunk_grad_dots(
        &self,
        theta: &[f64],
        s: &Samples,
        S: &[f64],
        m: usize,
        blocks: &[Vec<f64>],
    ) -> Vec<f64> {
        let n = s.n();
        let layers = &self.layout().layers;
        let last = layers.len() - 1;
        // Forward: inputs h_l of every layer and pre-activations z_l of the hidden ones.
        let mut h: Vec<Vec<f64>> = vec![s.x.to_vec()];
        let mut z_hidden: Vec<Vec<f64>> = Vec::with_capacity(last);
        for (l, span) in layers.iter().enumerate() {
            let (din, dout) = (span.fan_in, span.fan_out);
            let mut z = vec![0.0; n * dout];
            let w = &theta[span.weight_range()];
            matmul(n, din, dout, &h[l], false, w, true, &mut z, false); // h_l W_lᵀ
            let b = &theta[span.bias_range()];
            for row in z.chunks_exact_mut(dout) {
                row.iter_mut().zip(b).for_each(|(zi, bi)| *zi += bi); // + b_l
            }
            if l < last {
                let mut a = vec![0.0; n * dout];
                self.activation.apply(&z, &mut a); // h_{l+1} = f(z_l)
                z_hidden.push(z);
                h.push(a);
            } else {
                h.push(z); // the logits
            }
        }
        // δ_L = softmax(z_i) − e_{y_i}, row by row.
        let k = self.n_classes();
        let logits = crate::autodiff::Mat::from_vec(n, k, h.pop().expect("logits"));
        let (mut delta, _) = softmax_rows(&logits);
        for (i, &yi) in s.y.iter().enumerate() {
            delta.data[i * k + yi] -= 1.0;
        }
        let mut delta = delta.data;
        let mut out = vec![0.0; n * m];
        for l in (0..=last).rev() {
            let span = &layers[l];
            let (din, dout) = (span.fan_in, span.fan_out);
            // Weights: T = h_l·B_l (n × dout·m), P_ic += Σ_a δ_ia T_i,(a,c).
            let mut t = vec![0.0; n * dout * m];
            matmul(
                n,
                din,
                dout * m,
                &h[l],
                false,
                &blocks[l],
                false,
                &mut t,
                false,
            );
            for i in 0..n {
                let (d, ti, pi) = (
                    &delta[i * dout..(i + 1) * dout],
                    &t[i * dout * m..(i + 1) * dout * m],
                    &mut out[i * m..(i + 1) * m],
                );
                for (a, da) in d.iter().enumerate() {
                    for (pc, tc) in pi.iter_mut().zip(&ti[a * m..(a + 1) * m]) {
                        *pc += da * tc; // δ_iᵀ S^W h_i
                    }
                }
            }
            // Biases: P += δ_l·S^b_l (S^b_l is dout × m, contiguous in S).
            let sb = &S[span.bias * m..(span.bias + dout) * m];
            matmul(n, dout, m, &delta, false, sb, false, &mut out, true);
            if l > 0 {
                // δ_{l−1} = (δ_l W_l) ⊙ f′(z_{l−1})
                let mut prev = vec![0.0; n * din];
                let w = &theta[span.weight_range()];
                matmul(n, dout, din, &delta, false, w, false, &mut prev, false);
                super::mlp::times_deriv(self.activation, &z_hidden[l - 1], &h[l], &mut prev);
                delta = prev;
            }
        }
        out
    }
}
