//! Hessian-vector products of an MLP's objective \[J\] at a fixed θ̂ with the forward and
//! backward pass done once: the linearisation that CG and block CG reuse for every product
//! (what `jax.linearize` does), so an HVP inside a solver costs only the R-passes.
//!
//! Pearlmutter's R-operator \[Pearl94\] on the layer chain z_l = h_l W_lᵀ + b_l,
//! h_{l+1} = f(z_l), with everything that depends only on θ̂ cached per chunk of rows: h_l,
//! f′(z_l), f″(z_l), the softmax P, δ_l = ∂(w_i CE_i)/∂z_l and g_l = δ_{l+1} W_{l+1}
//! (= ∂/∂h_{l+1}). For a direction v with blocks V_l, c_l:
//!
//! ```text
//! R-forward:   Rz_l = Rh_l W_lᵀ + h_l V_lᵀ + c_l,   Rh_{l+1} = f′(z_l) ⊙ Rz_l,   Rh_0 = 0
//! at the top:  Rδ_L = w_i (diag p − ppᵀ) Rz_L                  (softmax cross-entropy)
//! R-backward:  (Hv)_{W_l} = Rδ_lᵀ h_l + δ_lᵀ Rh_l,   (Hv)_{b_l} = Σ_i Rδ_l
//!              Rδ_{l−1} = (Rδ_l W_l + δ_l V_l) ⊙ f′(z_{l−1}) + g_{l−1} ⊙ f″(z_{l−1}) ⊙ Rz_{l−1}
//! H v = (1/n) Σ_i (…) + μ v
//! ```
//!
//! Cost per product: about 6 GEMMs of n × d_l × d_{l+1} per layer (the first layer 5), against
//! about 9 for a standalone HVP that also runs the forward and backward pass; the cache holds
//! n·Σ_l (d_l + 4 d_{l+1}) doubles. Chunks of [`CHUNK_ROWS`] rows are added in chunk order,
//! so the bits do not depend on the thread count.

use rayon::prelude::*;

use crate::autodiff::matmul::matmul;
use crate::model::mlp::CHUNK_ROWS;
use crate::model::{Mlp, Samples};

/// What one chunk of rows needs for the R-passes, all at θ̂.
#[derive(Clone, Debug)]
struct Chunk {
    n: usize,
    /// Layer inputs h_l (n × d_l), l = 0..L.
    h: Vec<Vec<f64>>,
    /// f′(z_l), f″(z_l) of the hidden layers (n × d_{l+1}).
    f1: Vec<Vec<f64>>,
    f2: Vec<Vec<f64>>,
    /// δ_l = w_i ∂CE_i/∂z_l (n × d_{l+1}), every layer.
    delta: Vec<Vec<f64>>,
    /// g_l = δ_{l+1} W_{l+1} (n × d_{l+1}) for the hidden layers.
    g: Vec<Vec<f64>>,
    /// Softmax rows P (n × K) and the sample weights w_i.
    prob: Vec<f64>,
    w: Vec<f64>,
}

/// An MLP's objective linearised at θ̂ on a sample set: H·v by the R-passes alone.
#[derive(Clone, Debug)]
pub struct Linearised {
    chunks: Vec<Chunk>,
    n: usize,
}

impl Linearised {
    /// Runs the forward and backward pass at θ̂ once, chunk by chunk, and keeps what the
    /// R-passes need. `mlp.check(theta, s)` must hold and `s` must be non-empty (the caller,
    /// [`super::MlpHessian::new`], checks both).
    pub fn new(mlp: &Mlp, theta: &[f64], s: &Samples) -> Self {
        let n = s.n();
        let chunks = (0..n.div_ceil(CHUNK_ROWS))
            .into_par_iter()
            .map(|c| {
                forward_backward(
                    mlp,
                    theta,
                    &s.rows(c * CHUNK_ROWS..((c + 1) * CHUNK_ROWS).min(n)),
                )
            })
            .collect();
        Linearised { chunks, n }
    }

    /// out ← H·v (length p), v a single direction.
    pub fn hvp(&self, mlp: &Mlp, theta: &[f64], v: &[f64], out: &mut [f64]) {
        let parts: Vec<Vec<f64>> = self
            .chunks
            .par_iter()
            .map(|ch| r_passes(mlp, theta, ch, v))
            .collect();
        out.fill(0.0);
        for part in parts {
            crate::kernels::axpy(1.0, &part, out); // chunk order, whatever the thread count
        }
        let inv_n = 1.0 / self.n as f64;
        for (o, vi) in out.iter_mut().zip(v) {
            *o = *o * inv_n + mlp.l2 * vi; // (1/n) Σ + μ v
        }
    }
}

impl Linearised {
    /// H·v_j for k direction-major directions (`v.len() = k·p`), direction-major output.
    pub fn hvp_many(&self, mlp: &Mlp, theta: &[f64], k: usize, v: &[f64]) -> Vec<f64> {
        let p = mlp.n_params();
        let parts: Vec<Vec<f64>> = self
            .chunks
            .par_iter()
            .map(|ch| {
                let mut out = Vec::with_capacity(k * p);
                for vj in v.chunks_exact(p) {
                    out.extend(r_passes(mlp, theta, ch, vj));
                }
                out
            })
            .collect();
        let mut hv = vec![0.0; k * p];
        for part in parts {
            crate::kernels::axpy(1.0, &part, &mut hv); // chunk order
        }
        let inv_n = 1.0 / self.n as f64;
        for (o, vi) in hv.iter_mut().zip(v) {
            *o = *o * inv_n + mlp.l2 * vi;
        }
        hv
    }
}

/// The cached pass for one chunk.
fn forward_backward(mlp: &Mlp, theta: &[f64], s: &Samples) -> Chunk {
    let n = s.n();
    let layers = &mlp.layout().layers;
    let last = layers.len() - 1;
    let act = mlp.activation;
    let mut h: Vec<Vec<f64>> = vec![s.x.to_vec()];
    let (mut f1, mut f2) = (Vec::with_capacity(last), Vec::with_capacity(last));
    let mut logits = Vec::new();
    for (l, span) in layers.iter().enumerate() {
        let (din, dout) = (span.fan_in, span.fan_out);
        let mut z = vec![0.0; n * dout];
        matmul(
            n,
            din,
            dout,
            &h[l],
            false,
            &theta[span.weight_range()],
            true,
            &mut z,
            false,
        ); // h_l W_lᵀ
        let b = &theta[span.bias_range()];
        for row in z.chunks_exact_mut(dout) {
            row.iter_mut().zip(b).for_each(|(zi, bi)| *zi += bi);
        }
        if l < last {
            let (mut a, mut d1, mut d2) =
                (vec![0.0; z.len()], vec![0.0; z.len()], vec![0.0; z.len()]);
            act.apply(&z, &mut a);
            act.deriv(&z, &mut d1);
            act.second_deriv(&z, &mut d2);
            h.push(a);
            f1.push(d1);
            f2.push(d2);
        } else {
            logits = z;
        }
    }
    let k = mlp.n_classes();
    let mut prob = logits;
    for row in prob.chunks_exact_mut(k) {
        let max = row.iter().fold(f64::NEG_INFINITY, |m, v| m.max(*v));
        let mut sum = 0.0;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        row.iter_mut().for_each(|v| *v /= sum);
    }
    let w: Vec<f64> = (0..n).map(|i| s.w.map_or(1.0, |w| w[i])).collect();
    let mut top = prob.clone();
    for (i, &yi) in s.y.iter().enumerate() {
        top[i * k + yi] -= 1.0;
        top[i * k..(i + 1) * k].iter_mut().for_each(|d| *d *= w[i]); // w_i (p − e_y)
    }
    let mut delta = vec![Vec::new(); last + 1];
    let mut g = vec![Vec::new(); last];
    delta[last] = top;
    for l in (1..=last).rev() {
        let span = &layers[l];
        let (din, dout) = (span.fan_in, span.fan_out);
        let mut gl = vec![0.0; n * din];
        matmul(
            n,
            dout,
            din,
            &delta[l],
            false,
            &theta[span.weight_range()],
            false,
            &mut gl,
            false,
        ); // δ_l W_l
        delta[l - 1] = gl.iter().zip(&f1[l - 1]).map(|(a, b)| a * b).collect();
        g[l - 1] = gl;
    }
    Chunk {
        n,
        h,
        f1,
        f2,
        delta,
        g,
        prob,
        w,
    }
}

/// Σ_{i in chunk} w_i ∇²CE_i v by the R-passes.
fn r_passes(mlp: &Mlp, theta: &[f64], ch: &Chunk, v: &[f64]) -> Vec<f64> {
    let n = ch.n;
    let layers = &mlp.layout().layers;
    let last = layers.len() - 1;
    // R-forward: Rz_l for every layer, Rh_l for l ≥ 1 (Rh_0 = 0).
    let mut rz: Vec<Vec<f64>> = Vec::with_capacity(last + 1);
    let mut rh: Vec<Vec<f64>> = vec![Vec::new()];
    for (l, span) in layers.iter().enumerate() {
        let (din, dout) = (span.fan_in, span.fan_out);
        let mut z = vec![0.0; n * dout];
        matmul(
            n,
            din,
            dout,
            &ch.h[l],
            false,
            &v[span.weight_range()],
            true,
            &mut z,
            false,
        ); // h_l V_lᵀ
        if l > 0 {
            matmul(
                n,
                din,
                dout,
                &rh[l],
                false,
                &theta[span.weight_range()],
                true,
                &mut z,
                true,
            ); // + Rh_l W_lᵀ
        }
        let c = &v[span.bias_range()];
        for row in z.chunks_exact_mut(dout) {
            row.iter_mut().zip(c).for_each(|(zi, ci)| *zi += ci); // + c_l
        }
        if l < last {
            rh.push(z.iter().zip(&ch.f1[l]).map(|(a, b)| a * b).collect()); // f′ ⊙ Rz
        }
        rz.push(z);
    }
    // Rδ_L = w_i (diag p − ppᵀ) Rz_L.
    let k = mlp.n_classes();
    let mut rdelta = vec![0.0; n * k];
    for i in 0..n {
        let (p, r) = (&ch.prob[i * k..(i + 1) * k], &rz[last][i * k..(i + 1) * k]);
        let pr: f64 = p.iter().zip(r).map(|(a, b)| a * b).sum();
        for c in 0..k {
            rdelta[i * k + c] = ch.w[i] * p[c] * (r[c] - pr);
        }
    }
    let mut out = vec![0.0; mlp.n_params()];
    for l in (0..=last).rev() {
        let span = &layers[l];
        let (din, dout) = (span.fan_in, span.fan_out);
        let gw = &mut out[span.weight_range()];
        matmul(dout, n, din, &rdelta, true, &ch.h[l], false, gw, false); // Rδ_lᵀ h_l
        if l > 0 {
            matmul(dout, n, din, &ch.delta[l], true, &rh[l], false, gw, true); // + δ_lᵀ Rh_l
        }
        let gb = &mut out[span.bias_range()];
        for row in rdelta.chunks_exact(dout) {
            gb.iter_mut().zip(row).for_each(|(b, r)| *b += r); // Σ_i Rδ_l
        }
        if l == 0 {
            break;
        }
        let mut rg = vec![0.0; n * din];
        matmul(
            n,
            dout,
            din,
            &rdelta,
            false,
            &theta[span.weight_range()],
            false,
            &mut rg,
            false,
        ); // Rδ_l W_l
        matmul(
            n,
            dout,
            din,
            &ch.delta[l],
            false,
            &v[span.weight_range()],
            false,
            &mut rg,
            true,
        ); // + δ_l V_l
        let (f1, f2, g, z) = (&ch.f1[l - 1], &ch.f2[l - 1], &ch.g[l - 1], &rz[l - 1]);
        rdelta = (0..n * din)
            .map(|j| rg[j] * f1[j] + g[j] * f2[j] * z[j])
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::Activation;

    #[test]
    fn matches_the_tape_hvp() {
        for (sizes, act) in [
            (vec![3, 4], Activation::Tanh),
            (vec![3, 5, 4], Activation::Softplus),
            (vec![2, 4, 3, 2], Activation::Tanh),
            (vec![2, 4, 3, 5, 3], Activation::Gelu),
        ] {
            let mlp = Mlp::new(&sizes, act, 1e-3).unwrap();
            let theta: Vec<f64> = mlp.init(4).iter().map(|t| 2.0 * t).collect();
            let (d, k, n) = (sizes[0], *sizes.last().unwrap(), 300); // two chunks
            let x: Vec<f64> = (0..n * d)
                .map(|i| ((i * 37 % 23) as f64 - 11.0) / 7.0)
                .collect();
            let y: Vec<usize> = (0..n).map(|i| (i * 5 + 1) % k).collect();
            let w: Vec<f64> = (0..n).map(|i| 0.5 + (i % 4) as f64 * 0.25).collect();
            let s = Samples::new(&x, d, &y).unwrap().with_weights(&w).unwrap();
            let lin = Linearised::new(&mlp, &theta, &s);
            let p = mlp.n_params();
            let v: Vec<f64> = (0..p).map(|i| ((i * 13 % 17) as f64 - 8.0) / 8.0).collect();
            let want = mlp.hvp_batch_tape(&theta, &s, &v).unwrap();
            let mut got = vec![0.0; p];
            lin.hvp(&mlp, &theta, &v, &mut got);
            let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for (j, (a, b)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-13 * scale,
                    "{sizes:?} entry {j}: {a} vs {b}"
                );
            }
            // Two directions at once: the same bits as one at a time.
            let v2: Vec<f64> = v.iter().chain(v.iter().rev()).copied().collect();
            let many = lin.hvp_many(&mlp, &theta, 2, &v2);
            assert_eq!(&many[..p], &got[..]);
        }
    }
}
