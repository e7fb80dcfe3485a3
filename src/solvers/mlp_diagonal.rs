//! The exact diagonal of an MLP's Hessian H = ∇²J_w(θ) of DESIGN.md §1 \[H\], from the layer
//! structure, for the Jacobi preconditioner of [`super::Cg`] (not from p HVPs).
//!
//! A weight `W_l[a,b]` reaches the loss of sample i only through the pre-activation
//! `z_l,a = W_l[a,:]·h_l + b_l,a`, linearly with coefficient h_l,b (h_l does not depend on W_l).
//! So with M_l,i = ∂²CE_i/∂z_l² (the Hessian with respect to layer l's pre-activations)
//!
//! ```text
//! ∂²CE_i/∂W_l[a,b]² = h_l,b² · M_l,i[a,a],     ∂²CE_i/∂b_l,a² = M_l,i[a,a],
//! diag H            = (1/n) Σ_i w_i diag ∇²CE_i + μ.
//! ```
//!
//! M follows from the logits down by the chain rule for Hessians, exactly (no Gauss-Newton
//! truncation): at the logits M_L = diag(p) − ppᵀ (softmax cross-entropy, p = softmax(z)), and
//! with z_l = W_l f(z_{l−1}) + b_l, D = diag f′(z_{l−1}), g = δ_l W_l = ∂CE/∂h_l,
//!
//! ```text
//! M_{l−1} = D W_lᵀ M_l W_l D + diag(f″(z_{l−1}) ⊙ g)      (Gauss-Newton part + residual part)
//! ```
//!
//! Only diag M is needed for the weights; the full d × d matrix M_{l−1} only to go one layer
//! further down. For one hidden layer everything is GEMMs: `W[:,a]ᵀ M_L W[:,a]` =
//! (P(W∘W))_ia − ((PW)_ia)², with P the n × K softmax rows.
//!
//! Cost: one forward and one backward pass, a GEMM per layer for the diagonal (≈ one
//! gradient), plus, for networks with two or more hidden layers, n·Σ_l d_l·d_{l+1}·(d_l +
//! d_{l+1}) flops for the full per-sample M_l above the first hidden layer. Rows run in fixed
//! chunks of [`CHUNK_ROWS`] added in chunk order, so the bits do not depend on the threads.

use rayon::prelude::*;

use crate::autodiff::matmul::matmul;
use crate::error::{Error, Result};
use crate::model::mlp::CHUNK_ROWS;
use crate::model::{Mlp, Samples};

/// diag H of \[J\] at θ on `s`: (1/n) Σ_i w_i diag ∇²CE_i(θ) + μ, exact (see the module doc).
///
/// # Errors
/// As [`Mlp::check`]; [`Error::InvalidParam`] for an empty sample set.
///
/// # Examples
/// ```
/// use puma::autodiff::Activation;
/// use puma::model::{Mlp, Samples};
/// use puma::solvers::mlp_diagonal::hessian_diagonal;
/// let mlp = Mlp::new(&[2, 3, 2], Activation::Tanh, 1e-3).unwrap();
/// let theta = mlp.init(0);
/// let (x, y) = ([0.5, -1.0, 1.5, 0.25], [0, 1]);
/// let s = Samples::new(&x, 2, &y).unwrap();
/// let diag = hessian_diagonal(&mlp, &theta, &s).unwrap();
/// let h = mlp.hessian(&theta, &s).unwrap();
/// let p = mlp.n_params();
/// for k in 0..p {
///     assert!((diag[k] - h[k * p + k]).abs() < 1e-12);
/// }
/// ```
pub fn hessian_diagonal(mlp: &Mlp, theta: &[f64], s: &Samples) -> Result<Vec<f64>> {
    mlp.check(theta, s)?;
    let n = s.n();
    if n == 0 {
        return Err(Error::InvalidParam {
            name: "samples",
            reason: "the Hessian needs at least one sample".into(),
        });
    }
    let parts: Vec<Vec<f64>> = (0..n.div_ceil(CHUNK_ROWS))
        .into_par_iter()
        .map(|c| {
            chunk_diagonal(
                mlp,
                theta,
                &s.rows(c * CHUNK_ROWS..((c + 1) * CHUNK_ROWS).min(n)),
            )
        })
        .collect();
    let mut diag = vec![0.0; mlp.n_params()];
    for part in parts {
        crate::kernels::axpy(1.0, &part, &mut diag); // chunk order, whatever the thread count
    }
    let inv_n = 1.0 / n as f64;
    for d in &mut diag {
        *d = *d * inv_n + mlp.l2; // (1/n) Σ w_i diag ∇²CE_i + μ
    }
    Ok(diag)
}

/// Σ_i w_i diag ∇²CE_i over the rows of one chunk.
fn chunk_diagonal(mlp: &Mlp, theta: &[f64], s: &Samples) -> Vec<f64> {
    let n = s.n();
    let layers = &mlp.layout().layers;
    let last = layers.len() - 1;
    let act = mlp.activation;
    // Forward: layer inputs h_l (h_0 = x) and hidden pre-activations z_l.
    let mut h: Vec<Vec<f64>> = vec![s.x.to_vec()];
    let mut z_hidden: Vec<Vec<f64>> = Vec::with_capacity(last);
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
            row.iter_mut().zip(b).for_each(|(zi, bi)| *zi += bi); // + b_l
        }
        if l < last {
            let mut a = vec![0.0; n * dout];
            act.apply(&z, &mut a); // h_{l+1} = f(z_l)
            z_hidden.push(z);
            h.push(a);
        } else {
            logits = z;
        }
    }
    // Softmax rows P and δ_L = P − Y = ∂CE/∂z_L.
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
    let mut delta = prob.clone();
    for (i, &yi) in s.y.iter().enumerate() {
        delta[i * k + yi] -= 1.0;
    }
    // diag M_L = p − p∘p; the full M_L only when a second hidden layer needs it.
    let mut q: Vec<f64> = prob.iter().map(|p| p - p * p).collect();
    let mut m_full: Option<Vec<f64>> = (last >= 2).then(|| {
        let mut m = vec![0.0; n * k * k];
        for i in 0..n {
            let (pi, mi) = (
                &prob[i * k..(i + 1) * k],
                &mut m[i * k * k..(i + 1) * k * k],
            );
            for a in 0..k {
                for b in 0..k {
                    mi[a * k + b] = -pi[a] * pi[b];
                }
                mi[a * k + a] += pi[a]; // diag(p) − ppᵀ
            }
        }
        m
    });
    let mut out = vec![0.0; mlp.n_params()];
    for l in (0..=last).rev() {
        let span = &layers[l];
        let (din, dout) = (span.fan_in, span.fan_out);
        // Layer l's own entries: Σ_i w_i q_ia h_l,ib² and Σ_i w_i q_ia.
        if let Some(w) = s.w {
            for (qi, wi) in q.chunks_exact_mut(dout).zip(w) {
                qi.iter_mut().for_each(|v| *v *= wi);
            }
        }
        let h2: Vec<f64> = h[l].iter().map(|v| v * v).collect();
        matmul(
            dout,
            n,
            din,
            &q,
            true,
            &h2,
            false,
            &mut out[span.weight_range()],
            false,
        ); // Qᵀ (h∘h)
        let bias = &mut out[span.bias_range()];
        for qi in q.chunks_exact(dout) {
            bias.iter_mut().zip(qi).for_each(|(b, v)| *b += v);
        }
        if l == 0 {
            break;
        }
        // Down to layer l − 1 (fan-out din): g = δ_l W_l, D = f′(z_{l−1}), f″(z_{l−1}).
        let w = &theta[span.weight_range()]; // dout × din
        let mut g = vec![0.0; n * din];
        matmul(n, dout, din, &delta, false, w, false, &mut g, false); // δ_l W_l
        let z = &z_hidden[l - 1];
        let (mut f1, mut f2) = (vec![0.0; z.len()], vec![0.0; z.len()]);
        act.deriv(z, &mut f1);
        act.second_deriv(z, &mut f2);
        // c_ia = W[:,a]ᵀ M_l,i W[:,a], the Gauss-Newton core of diag M_{l−1}; and the full
        // M_{l−1} = D Wᵀ M_l W D + diag(f″ ⊙ g) while a layer further down needs it (l ≥ 2).
        let mut c = vec![0.0; n * din];
        m_full = match &m_full {
            None => {
                // One hidden layer, l = L: M_L = diag(p) − ppᵀ, so c = P(W∘W) − (PW)∘(PW).
                let w2: Vec<f64> = w.iter().map(|v| v * v).collect();
                let mut pw = vec![0.0; n * din];
                matmul(n, dout, din, &prob, false, &w2, false, &mut c, false); // P (W∘W)
                matmul(n, dout, din, &prob, false, w, false, &mut pw, false); // P W
                c.iter_mut().zip(&pw).for_each(|(ci, v)| *ci -= v * v);
                None
            }
            Some(m) => {
                let mut next = vec![0.0; if l >= 2 { n * din * din } else { 0 }];
                let mut t = vec![0.0; dout * din];
                for i in 0..n {
                    let mi = &m[i * dout * dout..(i + 1) * dout * dout];
                    matmul(dout, dout, din, mi, false, w, false, &mut t, false); // M_l,i W
                    let ci = &mut c[i * din..(i + 1) * din];
                    for (wr, tr) in w.chunks_exact(din).zip(t.chunks_exact(din)) {
                        ci.iter_mut()
                            .zip(wr.iter().zip(tr))
                            .for_each(|(cv, (wv, tv))| *cv += wv * tv); // Σ_c W_ca (M W)_ca
                    }
                    if l < 2 {
                        continue;
                    }
                    let ni = &mut next[i * din * din..(i + 1) * din * din];
                    matmul(din, dout, din, w, true, &t, false, ni, false); // Wᵀ M_l,i W
                    let (fi, si, gi) = (
                        &f1[i * din..(i + 1) * din],
                        &f2[i * din..(i + 1) * din],
                        &g[i * din..(i + 1) * din],
                    );
                    for a in 0..din {
                        for b in 0..din {
                            ni[a * din + b] *= fi[a] * fi[b]; // D (·) D
                        }
                        ni[a * din + a] += si[a] * gi[a]; // + diag(f″ ⊙ g)
                    }
                }
                (l >= 2).then_some(next)
            }
        };
        // diag M_{l−1} = f′² c + f″ g, and δ_{l−1} = g ⊙ f′.
        q = (0..n * din)
            .map(|j| f1[j] * f1[j] * c[j] + f2[j] * g[j])
            .collect();
        delta = g.iter().zip(&f1).map(|(gv, fv)| gv * fv).collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::Activation;

    /// The diagonal of the dense autodiff Hessian, the oracle.
    fn dense_diag(mlp: &Mlp, theta: &[f64], s: &Samples) -> Vec<f64> {
        let p = mlp.n_params();
        let h = mlp.hessian(theta, s).unwrap();
        (0..p).map(|k| h[k * p + k]).collect()
    }

    fn check(sizes: &[usize], act: Activation, weighted: bool) {
        let mlp = Mlp::new(sizes, act, 1e-3).unwrap();
        let theta: Vec<f64> = mlp.init(3).iter().map(|t| 2.0 * t).collect(); // away from 0
        let (d, k, n) = (sizes[0], *sizes.last().unwrap(), 37);
        let x: Vec<f64> = (0..n * d)
            .map(|i| ((i * 37 % 23) as f64 - 11.0) / 7.0)
            .collect();
        let y: Vec<usize> = (0..n).map(|i| (i * 5 + 1) % k).collect();
        let w: Vec<f64> = (0..n).map(|i| 0.5 + (i % 4) as f64 * 0.25).collect();
        let mut s = Samples::new(&x, d, &y).unwrap();
        if weighted {
            s = s.with_weights(&w).unwrap();
        }
        let got = hessian_diagonal(&mlp, &theta, &s).unwrap();
        let want = dense_diag(&mlp, &theta, &s);
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let tol = 1e-12 * scale; // both exact to O(depth·ε) rounding
        for (j, (a, b)) in got.iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() <= tol,
                "{sizes:?} {act:?} entry {j}: {a} vs {b}"
            );
        }
    }

    #[test]
    fn matches_the_dense_hessian_diagonal() {
        check(&[3, 4], Activation::Tanh, false); // logistic regression
        check(&[3, 5, 4], Activation::Tanh, true);
        check(&[3, 5, 4], Activation::Softplus, false);
        check(&[2, 4, 3, 2], Activation::Tanh, false); // the full M recursion
        check(&[2, 4, 3, 5, 3], Activation::Sigmoid, true);
        check(&[2, 4, 3, 2], Activation::Gelu, false);
    }

    #[test]
    fn rejects_empty_samples() {
        let mlp = Mlp::new(&[2, 2], Activation::Tanh, 0.0).unwrap();
        let theta = mlp.init(0);
        let s = Samples::new(&[], 2, &[]).unwrap();
        assert!(matches!(
            hessian_diagonal(&mlp, &theta, &s),
            Err(Error::InvalidParam { .. })
        ));
    }
}
