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
//! With one direction and a narrowing layer (d_{l+1} < d_l) the same sum is taken as
//! sᵀg_i = (δ_iᵀ S^W_l)·h_i: V = δ_l S^W_l, so that the GEMM's output is the wider side (a
//! 1000 × 16 · 16 × 2 product runs at a third of the rate of 1000 × 2 · 2 × 16).
//! Cost for m = 1: one forward pass, the δ recursion and one extra forward-sized GEMM, about
//! one gradient (measured 1.28× on the [2, 16, 16, 2] MLP); each further direction adds
//! 2n·Σ_l d_l d_{l+1} flops. The chunk pass is a [`Pass`] over reused buffers, as the
//! gradient's (`mlp/fused.rs`).

use puma_kernels::dispatch::Pass;

use super::loss::Samples;
use super::mlp::{CHUNK_ROWS, Mlp};
use super::scratch::{forward, map_chunks, mm, sized};
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
        let parts: Vec<Vec<f64>> =
            map_chunks(n.div_ceil(CHUNK_ROWS), |scratch: &mut Scratch, c| {
                let chunk = s.rows(c * CHUNK_ROWS..((c + 1) * CHUNK_ROWS).min(n));
                let mut out = vec![0.0; chunk.n() * m];
                puma_kernels::dispatch::vectorised(DotsChunk {
                    mlp: self,
                    theta,
                    s: &chunk,
                    S,
                    m,
                    blocks: &blocks,
                    out: &mut out,
                    scratch,
                });
                out
            });
        Ok(parts.concat())
    }
}

/// The buffers of one chunk's pass, kept between chunks (`super::scratch`).
#[derive(Default)]
struct Scratch {
    /// z_l for every layer; the logits' slot becomes δ_{L−1}, then holds each δ_l in turn.
    zs: Vec<Vec<f64>>,
    /// h_{l+1} = f(z_l) for the hidden layers.
    acts: Vec<Vec<f64>>,
    /// δ_l W_l, which becomes δ_{l−1}.
    prev: Vec<f64>,
    /// T = h_l·B_l.
    t: Vec<f64>,
    /// The log-sum-exps of the softmax (unused here).
    lse: Vec<f64>,
}

/// [`Mlp::per_example_grad_dots`] on one chunk of rows, as a [`Pass`] (its element-wise
/// loops compiled for the kernels' dispatch level), into `out` (c × m, zeroed).
#[allow(non_snake_case)]
struct DotsChunk<'a> {
    mlp: &'a Mlp,
    theta: &'a [f64],
    s: &'a Samples<'a>,
    S: &'a [f64],
    m: usize,
    blocks: &'a [Vec<f64>],
    out: &'a mut [f64],
    scratch: &'a mut Scratch,
}

impl Pass for DotsChunk<'_> {
    type Output = ();

    #[inline(always)]
    #[allow(non_snake_case)]
    fn run(self) {
        let DotsChunk {
            mlp,
            theta,
            s,
            S,
            m,
            blocks,
            out,
            scratch,
        } = self;
        let Scratch {
            zs,
            acts,
            prev,
            t: t_buf,
            lse,
        } = scratch;
        let c = s.n();
        let layers = &mlp.layout().layers;
        let last = layers.len() - 1;
        forward(mlp, theta, s.x, c, zs, acts); // z_l, h_{l+1} = f(z_l)
        // δ_{L−1} = softmax(z_i) − e_{y_i}, in place of the logits.
        let k = mlp.n_classes();
        let logits = &mut zs[last][..c * k];
        puma_kernels::softmax_rows_in_place(k, logits, sized(lse, c));
        for (row, yi) in logits.chunks_exact_mut(k).zip(s.y) {
            row[*yi] -= 1.0;
        }
        let mut delta = std::mem::take(&mut zs[last]);
        for l in (0..=last).rev() {
            let span = &layers[l];
            let (din, dout) = (span.fan_in, span.fan_out);
            let input: &[f64] = if l == 0 { s.x } else { &acts[l - 1][..c * din] };
            let d_l = &delta[..c * dout];
            let sb = &S[span.bias * m..(span.bias + dout) * m]; // S^b_l, dout × m
            if m == 1 && dout < din {
                // One direction and a narrowing layer: V = δ_l S^W_l (c × din, S^W_l the
                // direction's own dout × din block), P_i += V_i·h_i + δ_i·s^b, so that the
                // GEMM's output is the wider side (the same flops as T below).
                let v = sized(t_buf, c * din);
                mm(
                    false,
                    false,
                    c,
                    dout,
                    din,
                    d_l,
                    &S[span.weight_range()],
                    0.0,
                    v,
                );
                let rows = v.chunks_exact(din).zip(input.chunks_exact(din));
                for ((p, d), (v, h)) in out.iter_mut().zip(d_l.chunks_exact(dout)).zip(rows) {
                    *p += row_dot(v, h) + row_dot(d, sb);
                }
            } else {
                // T = h_l·B_l (c × dout·m): T_i,(a,c) = (S^W_c h_i)_a
                let t = sized(t_buf, c * dout * m);
                mm(false, false, c, din, dout * m, input, &blocks[l], 0.0, t);
                if m == 1 {
                    // P_i += δ_i·T_i + δ_i·s^b, row by row
                    let rows = d_l.chunks_exact(dout).zip(t.chunks_exact(dout));
                    for (p, (d, t)) in out.iter_mut().zip(rows) {
                        *p += row_dot(d, t) + row_dot(d, sb);
                    }
                } else {
                    for ((p, d), t) in out
                        .chunks_exact_mut(m)
                        .zip(d_l.chunks_exact(dout))
                        .zip(t.chunks_exact(dout * m))
                    {
                        for (da, ta) in d.iter().zip(t.chunks_exact(m)) {
                            p.iter_mut().zip(ta).for_each(|(p, t)| *p += da * t); // δ_iᵀ S^W h_i
                        }
                    }
                    mm(false, false, c, dout, m, d_l, sb, 1.0, out); // P += δ_l S^b_l
                }
            }
            if l > 0 {
                // δ_{l−1} = (δ_l W_l) ⊙ f′(z_{l−1})
                let u = sized(prev, c * din);
                mm(
                    false,
                    false,
                    c,
                    dout,
                    din,
                    d_l,
                    &theta[span.weight_range()],
                    0.0,
                    u,
                );
                let (z, h) = (&zs[l - 1][..c * din], &acts[l - 1][..c * din]);
                super::mlp::times_deriv(mlp.activation, z, h, u);
                std::mem::swap(&mut delta, prev);
            }
        }
        zs[last] = delta; // the buffer goes back for the next chunk
    }
}

/// Σ_a x_a y_a, in four interleaved partial sums (a mod 4) so that it vectorises.
#[inline(always)]
fn row_dot(x: &[f64], y: &[f64]) -> f64 {
    let mut parts = [0.0; 4];
    let (xq, yq) = (x.chunks_exact(4), y.chunks_exact(4));
    let rest: f64 = xq
        .remainder()
        .iter()
        .zip(yq.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in xq.zip(yq) {
        parts
            .iter_mut()
            .zip(x.iter().zip(y))
            .for_each(|(p, (x, y))| *p += x * y);
    }
    (parts[0] + parts[1]) + (parts[2] + parts[3]) + rest
}
