//! The MLP's Σ_i w_i CE_i and its gradient by a hand-written forward and backward pass over
//! the dense-layer chain, for one chunk of samples: the same products the tape records
//! ([`super::Mlp::weighted_loss_on`]), without the tape's per-node allocations, copies of
//! X and of the weight slices, and adjoint slots.
//!
//! ```text
//! forward:   z_l = a_l W_lᵀ + 1 b_lᵀ,   a_{l+1} = f(z_l),   CE_i = lse(z_{L−1,i}) − z_{L−1,i,y_i}
//! backward:  G_{L−1} = diag(w) (P − Y)                       (P = softmax rows, Y one-hot)
//!            ∂W_l = G_lᵀ a_l,  ∂b_l = G_lᵀ 1,  G_{l−1} = (G_l W_l) ⊙ f′(z_{l−1})
//! ```
//!
//! Cost: the GEMM flops of the tape's gradient, 2c·(3·Σ_l d_l d_{l+1} − d_0 d_1) for c
//! rows, plus O(c·Σ d_l) element-wise work. The tape stays the general engine and the
//! oracle ([`super::Mlp::value_and_grad_tape`]); tests/gradient_fused_matches_tape.rs
//! compares the two.

use puma_kernels::dispatch::Pass;

use super::super::loss::Samples;
use super::super::scratch::{add_column_sums_to, forward, mm, sized};
use super::Mlp;
use crate::autodiff::Activation;

/// The buffers of one chunk's pass, kept between chunks (`super::super::scratch`).
#[derive(Default)]
pub(super) struct Scratch {
    /// z_l for every layer; the logits' slot becomes G_{L−1}, then holds each G_l in turn.
    zs: Vec<Vec<f64>>,
    /// a_{l+1} = f(z_l) for the hidden layers.
    acts: Vec<Vec<f64>>,
    /// G_l W_l, which becomes G_{l−1}.
    prev: Vec<f64>,
    /// The c log-sum-exps of the logits.
    lse: Vec<f64>,
}

impl Mlp {
    /// Σ_i w_i CE_i over the chunk `s` (Σ_i CE_i without weights), with its gradient written
    /// into `grad` (length p, overwritten); `scratch` keeps the buffers between calls.
    /// The element-wise loops between the GEMMs run vectorised for the kernels' dispatch
    /// level ([`puma_kernels::dispatch::vectorised`]).
    pub(super) fn chunk_loss_and_grad_fused(
        &self,
        theta: &[f64],
        s: &Samples,
        grad: &mut [f64],
        scratch: &mut Scratch,
    ) -> f64 {
        puma_kernels::dispatch::vectorised(GradChunk {
            mlp: self,
            theta,
            s,
            grad,
            scratch,
        })
    }
}

/// The arguments of [`Mlp::chunk_loss_and_grad_fused`], as a [`Pass`].
struct GradChunk<'a> {
    mlp: &'a Mlp,
    theta: &'a [f64],
    s: &'a Samples<'a>,
    grad: &'a mut [f64],
    scratch: &'a mut Scratch,
}

impl Pass for GradChunk<'_> {
    type Output = f64;

    #[inline(always)]
    fn run(self) -> f64 {
        let GradChunk {
            mlp,
            theta,
            s,
            grad,
            scratch,
        } = self;
        let c = s.n();
        let layers = &mlp.layout().layers;
        let last = layers.len() - 1;
        let Scratch {
            zs,
            acts,
            prev,
            lse: lse_buf,
        } = scratch;
        forward(mlp, theta, s.x, c, zs, acts); // z_l, a_{l+1} = f(z_l)
        // Softmax cross-entropy and G_{L−1} = diag(w)(P − Y), in place of the logits, with
        // ∂b_{L−1} = G_{L−1}ᵀ 1 summed on the way.
        let k = mlp.n_classes();
        let logits = &mut zs[last][..c * k];
        let z_y = sized(prev, c); // z_{i,y_i}, before the softmax overwrites the logits
        z_y.iter_mut()
            .zip(logits.chunks_exact(k).zip(s.y))
            .for_each(|(zy, (row, yi))| *zy = row[*yi]);
        let lse = sized(lse_buf, c);
        puma_kernels::softmax_rows_in_place(k, logits, lse); // p_i and log Σ_j e^{z_ij}
        let mut total = 0.0;
        if let Some(w) = s.w {
            for (i, (row, yi)) in logits.chunks_exact_mut(k).zip(s.y).enumerate() {
                total += w[i] * (lse[i] - z_y[i]); // w_i CE_i, CE_i = log Σ_j e^{z_ij} − z_{i,y_i}
                row.iter_mut().for_each(|v| *v *= w[i]); // w_i p_ij
                row[*yi] -= w[i]; // − w_i [j = y_i]
            }
        } else {
            // w_i = 1: the same values without the multiplications by 1
            total = lse
                .iter()
                .zip(z_y.iter())
                .fold(0.0, |t, (l, zy)| t + (l - zy));
            for (row, yi) in logits.chunks_exact_mut(k).zip(s.y) {
                row[*yi] -= 1.0;
            }
        }
        let db = &mut grad[layers[last].bias_range()];
        db.fill(0.0);
        add_column_sums_to(logits, db); // ∂b_{L−1} = G_{L−1}ᵀ 1
        // Backward through the layers; G_l lives in the logits' slot.
        let mut g = std::mem::take(&mut zs[last]);
        for l in (0..=last).rev() {
            let span = &layers[l];
            let (din, dout) = (span.fan_in, span.fan_out);
            let input: &[f64] = if l == 0 { s.x } else { &acts[l - 1][..c * din] };
            let g_l = &g[..c * dout];
            mm(
                true,
                false,
                dout,
                c,
                din,
                g_l,
                input,
                0.0,
                &mut grad[span.weight_range()],
            ); // ∂W_l = G_lᵀ a_l
            if l > 0 {
                let u = sized(prev, c * din);
                mm(
                    false,
                    false,
                    c,
                    dout,
                    din,
                    g_l,
                    &theta[span.weight_range()],
                    0.0,
                    u,
                ); // G_l W_l
                let db = &mut grad[layers[l - 1].bias_range()];
                let (z, a) = (&zs[l - 1][..c * din], &acts[l - 1][..c * din]);
                times_deriv_summed(mlp.activation, z, a, u, db); // G_{l−1}, ∂b_{l−1}
                std::mem::swap(&mut g, prev);
            }
        }
        zs[last] = g; // the buffer goes back for the next chunk
        total
    }
}

/// G ← U ⊙ f′(z) for the c × d blocks U (in `u`), z and y = f(z), and s ← Gᵀ1 (d =
/// `s.len()`): G_{l−1} and ∂b_{l−1}. (Two flat passes: one fused loop measured slower.)
#[inline(always)]
fn times_deriv_summed(f: Activation, z: &[f64], y: &[f64], u: &mut [f64], s: &mut [f64]) {
    times_deriv(f, z, y, u);
    s.fill(0.0);
    add_column_sums_to(u, s);
}

/// g ← g ⊙ f′(z), with f′ from y = f(z) where it is a polynomial in y (tanh: 1 − y²,
/// sigmoid: y(1 − y), as the tape does: no transcendental), from z otherwise.
#[inline(always)]
pub(in crate::model) fn times_deriv(f: Activation, z: &[f64], y: &[f64], g: &mut [f64]) {
    match f {
        Activation::Tanh => g.iter_mut().zip(y).for_each(|(p, y)| *p *= 1.0 - y * y),
        Activation::Sigmoid => g.iter_mut().zip(y).for_each(|(p, y)| *p *= y * (1.0 - y)),
        Activation::Relu => g
            .iter_mut()
            .zip(z)
            .for_each(|(p, x)| *p = if *x > 0.0 { *p } else { 0.0 }),
        f => g.iter_mut().zip(z).for_each(|(p, x)| *p *= f.deriv_at(*x)),
    }
}
