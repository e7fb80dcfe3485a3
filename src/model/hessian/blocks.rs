//! The exact Hessian H = ∇²J_w(θ) of \[J\] (DESIGN.md §1 \[H\], ρ = 0) assembled block by
//! block from the layer structure, each block one GEMM over the samples (DESIGN.md §2),
//! instead of p Hessian-vector products.
//!
//! Per sample (index i dropped), layer l maps ã_l = [a_l; 1] (its input with a 1 appended
//! for the bias) to z_l = W̃_l ã_l, W̃_l = [W_l | b_l], and a_{l+1} = f(z_l) for hidden l.
//! With g_l = ∂CE/∂z_l (the backpropagated error e_l), the per-sample gradient of W̃_m is
//! g_m ã_mᵀ. Differentiating it once more with respect to W̃_l (l ≤ m) gives, for the
//! entries (r, c) of W̃_m and (s, t) of W̃_l,
//!
//! ```text
//! ∂²CE / ∂W̃_m[r,c] ∂W̃_l[s,t] = ã_l[t] · ( ã_m[c] · Q^{ml}[r,s] + g_m[r] · A^{ml}[c,s] )
//!
//! Q^{ml} = Hz_m · J_{m←l}            J_{m←l} = ∂z_m/∂z_l = W_m A^{ml},  J_{l←l} = I
//! A^{ml} = ∂a_m/∂z_l = diag(f′(z_{m−1})) J_{m−1←l}   (m > l; A^{ll} = 0, and the bias
//!          row c = d_m of A is 0 because ã_m's last entry is the constant 1)
//! Hz_{L−1} = diag(p) − p pᵀ                              (softmax cross-entropy, p = softmax(z))
//! Hz_l = J_{l+1←l}ᵀ Hz_{l+1} J_{l+1←l} + diag(f″(z_l) ⊙ W_{l+1}ᵀ g_{l+1})     [Botev17]
//! ```
//!
//! (the second term of the first line is the bilinear coupling: ã_m itself depends on W̃_l).
//! Summed over the samples with weights w_i/n:
//!
//! - a diagonal block (l = m, A = 0) is Σ_i (w_i/n) (ã_i ã_iᵀ) ⊗ Q_i with both factors
//!   symmetric, so only the pairs c ≥ t and r ≥ s are formed: one GEMM
//!   G[(c,t), (r,s)] = Σ_i K_i[(c,t)] Q_i[(r,s)] over the samples, (d_l+2)(d_l+1)/2 ×
//!   d_{l+1}(d_{l+1}+1)/2 entries, each written to the four places it occupies in H;
//! - an off-diagonal block (l < m), for each row s of W̃_l, is
//!   H[(s,·), θ_m] = Σ_i (w_i/n) ã_{l,i} N_iᵀ with N_i\[(r,c)\] = ã_{m,i}\[c\] Q_i\[r,s\] + g_{m,i}\[r\] A_i\[c,s\]:
//!   one GEMM Ãᵀ·N of size (d_l + 1) × n × p_m, written straight into H's rows, and
//!   mirrored below the diagonal. μI is added last; H is exactly symmetric.
//!
//! Cost: ≈ n·p_l²/2 flops per diagonal block and 2n·p_l·p_m per off-diagonal one
//! (≈ 6.6 GFLOP for \[64,32,10\] on 1797 samples), against p HVPs of ≈ 5 forward passes
//! each for the HVP route ([`Mlp::hessian_with`]), which stays as the oracle.
//! Per-sample curvature (Hz, Q, A: n·Σ d_{l+1}·d_{m+1} numbers) is built for
//! at most [`BLOCK_ROWS`] samples at a time (fewer for wide layers, see
//! [`CURVATURE_ENTRIES`]); the chunks are added in order and every GEMM computes
//! each entry in the same order on any number of threads, so the bits do not depend on it.
//!
//! \[Botev17\]: Botev, Ritter, Barber, "Practical Gauss-Newton optimisation for deep
//! learning", ICML 2017, eq. (8)–(9) (the pre-activation Hessian recursion).

use puma_kernels::{Op, gemm_op};

use super::super::loss::Samples;
use super::super::mlp::Mlp;
use super::super::params::LayerSpan;
use crate::autodiff::matmul::matmul;
use crate::autodiff::op::softmax_rows;

/// Samples per chunk of the block assembly (fixed, so the bits do not depend on threads).
pub const BLOCK_ROWS: usize = 512;

/// The per-sample curvature of one chunk (Hz, Q, A) holds at most about this many numbers
/// (32 MB): wide layers get chunks of fewer than [`BLOCK_ROWS`] rows (a size rule, so the
/// bits still do not depend on the threads).
pub const CURVATURE_ENTRIES: usize = 1 << 22;

/// The per-sample quantities of one chunk of c samples that every block needs.
struct Curvature {
    /// ã_l, c × (d_l + 1) row-major (the 1 last), for every layer l.
    a: Vec<Vec<f64>>,
    /// (w_i/n)·ã_l: the left GEMM operand of the blocks in row layer l.
    aw: Vec<Vec<f64>>,
    /// g_l = ∂CE/∂z_l, c × d_{l+1}.
    g: Vec<Vec<f64>>,
    /// f′(z_l), c × d_{l+1}, hidden layers only.
    fp: Vec<Vec<f64>>,
    /// Qᵀ for the pair (l, m), l ≤ m, at `q[l][m − l]`: sample-major, then s, then r:
    /// c × d_{l+1} × d_{m+1}.
    q: Vec<Vec<Vec<f64>>>,
    /// Aᵀ for the pair (l, m), m ≥ l + 2, at `at[l][m − l]` (empty otherwise, where A is
    /// 0 or the diagonal f′(z_l)): c × d_{l+1} × d_m.
    at: Vec<Vec<Vec<f64>>>,
}

/// out (rows × cols) = a (rows × inner) · b (inner × cols), all row-major, by plain loops
/// (the per-sample products here are at most a few hundred entries on a side).
fn small_mm(a: &[f64], b: &[f64], rows: usize, inner: usize, cols: usize, out: &mut [f64]) {
    out.fill(0.0);
    for i in 0..rows {
        let o = &mut out[i * cols..(i + 1) * cols];
        for k in 0..inner {
            let aik = a[i * inner + k];
            for (oj, bj) in o.iter_mut().zip(&b[k * cols..(k + 1) * cols]) {
                *oj += aik * bj;
            }
        }
    }
}

/// The number of pairs (a, b) with b ≤ a < d.
fn tri(d: usize) -> usize {
    d * (d + 1) / 2
}

/// At most this many numbers in one slab of pair products (16 MB), see [`slabs`].
const PAIR_ENTRIES: usize = 1 << 21;

/// Consecutive ranges [a0, a1) of 0..d whose pairs (a, b ≤ a) number at most
/// [`PAIR_ENTRIES`] / c (and at least one a per range), covering 0..d in order.
fn slabs(d: usize, c: usize) -> Vec<(usize, usize)> {
    let max = (PAIR_ENTRIES / c.max(1)).max(1);
    let mut out = Vec::new();
    let mut a0 = 0;
    while a0 < d {
        let mut a1 = a0 + 1;
        while a1 < d && tri(a1 + 1) - tri(a0) <= max {
            a1 += 1;
        }
        out.push((a0, a1));
        a0 = a1;
    }
    out
}

/// Writes the diagonal block of layer `span` into H from its pair products
/// G[(c,t), (r,s)] = Σ_i (w_i/n) ã[c] ã[t] Q[r,s] (c ≥ t, r ≥ s): entry
/// ((s,t), (r,c)) of the block is G[(c,t),(r,s)], as are ((s,c), (r,t)) (ã ã ᵀ is
/// symmetric) and the two mirror images (Q = Hz_l is symmetric).
fn scatter_diagonal_block(span: &LayerSpan, g: &[f64], p: usize, h: &mut [f64]) {
    let (dl, e) = (span.fan_in, span.fan_out);
    let nrs = tri(e);
    // θ index of W̃_l[r, c]: the weight, or the bias for c = d_l.
    let idx = |r: usize, c: usize| {
        if c < dl {
            span.weight + r * dl + c
        } else {
            span.bias + r
        }
    };
    for c in 0..=dl {
        for t in 0..=c {
            let row = &g[(tri(c) + t) * nrs..(tri(c) + t + 1) * nrs];
            for r in 0..e {
                for s in 0..=r {
                    let v = row[tri(r) + s];
                    let (st, rc, sc, rt) = (idx(s, t), idx(r, c), idx(s, c), idx(r, t));
                    h[st * p + rc] = v;
                    h[rc * p + st] = v;
                    h[sc * p + rt] = v;
                    h[rt * p + sc] = v;
                }
            }
        }
    }
}

impl Mlp {
    /// The exact Hessian of \[J\] at θ assembled block by block (module docs); the caller
    /// has checked θ and `s` and that n > 0.
    pub(super) fn hessian_blocks(&self, theta: &[f64], s: &Samples) -> Vec<f64> {
        let p = self.n_params();
        let n = s.n();
        let layers = &self.layout().layers;
        let nl = layers.len();
        let mut h = vec![0.0; p * p];
        let mut nbuf = Vec::new();
        // Diagonal blocks: G_l[(c,t), (r,s)] = Σ_i (w_i/n) ã[c] ã[t] Q[r,s] for c ≥ t, r ≥ s.
        let mut diag: Vec<Vec<f64>> = layers
            .iter()
            .map(|span| vec![0.0; tri(span.fan_in + 1) * tri(span.fan_out)])
            .collect();
        let (mut kmat, mut qmat) = (Vec::new(), Vec::new());
        // Numbers of per-sample curvature: Q for every pair l ≤ m, A for m ≥ l + 2.
        let per_sample: usize = (0..nl)
            .map(|l| {
                (l..nl)
                    .map(|m| {
                        layers[l].fan_out * layers[m].fan_out
                            + if m >= l + 2 {
                                layers[l].fan_out * layers[m].fan_in
                            } else {
                                0
                            }
                    })
                    .sum::<usize>()
            })
            .sum();
        let rows = (CURVATURE_ENTRIES / per_sample.max(1)).clamp(16, BLOCK_ROWS);
        for start in (0..n).step_by(rows) {
            let chunk = s.rows(start..(start + rows).min(n));
            let cv = self.curvature(theta, &chunk, 1.0 / n as f64);
            let c = chunk.n();
            for (l, span) in layers.iter().enumerate() {
                let (da, e) = (span.fan_in + 1, span.fan_out);
                let nrs = tri(e);
                // Slabs of rows c of ã ã ᵀ and of r of Q, so that the pair matrices stay
                // within PAIR_ENTRIES numbers whatever d_l and d_{l+1} are.
                for (r0, r1) in slabs(e, c) {
                    let (q0, q1) = (tri(r0), tri(r1));
                    qmat.clear();
                    for i in 0..c {
                        let q = &cv.q[l][0][i * e * e..(i + 1) * e * e]; // Hz_l
                        for r in r0..r1 {
                            qmat.extend_from_slice(&q[r * e..=r * e + r]); // Q[r, s ≤ r]
                        }
                    }
                    for (c0, c1) in slabs(da, c) {
                        let (k0, k1) = (tri(c0), tri(c1));
                        kmat.clear();
                        for i in 0..c {
                            let (a, aw) = (
                                &cv.a[l][i * da..(i + 1) * da],
                                &cv.aw[l][i * da..(i + 1) * da],
                            );
                            for (ci, awc) in aw.iter().enumerate().take(c1).skip(c0) {
                                kmat.extend(a[..=ci].iter().map(|at| awc * at)); // (w_i/n) ã[c] ã[t]
                            }
                        }
                        gemm_op(
                            Op::Trans,
                            Op::NoTrans,
                            k1 - k0,
                            c,
                            q1 - q0,
                            1.0,
                            &kmat,
                            k1 - k0,
                            &qmat,
                            q1 - q0,
                            1.0,
                            &mut diag[l][k0 * nrs + q0..],
                            nrs,
                        );
                    }
                }
            }
            for l in 0..nl {
                let (dl, dl1) = (layers[l].fan_in, layers[l].fan_out);
                for m in l + 1..nl {
                    let span_m = &layers[m];
                    let (dm, dm1) = (span_m.fan_in, span_m.fan_out);
                    let pm = dm1 * (dm + 1);
                    let q = &cv.q[l][m - l];
                    for si in 0..dl1 {
                        let width = pm; // all of θ_m
                        if nbuf.len() < c * width {
                            nbuf.resize(c * width, 0.0); // every entry is written below
                        }
                        for i in 0..c {
                            let row = &mut nbuf[i * width..(i + 1) * width];
                            let am = &cv.a[m][i * (dm + 1)..i * (dm + 1) + dm];
                            let qs = &q[(i * dl1 + si) * dm1..(i * dl1 + si + 1) * dm1]; // Q[·, s]
                            for (r, &qr) in qs.iter().enumerate() {
                                let base = r * dm;
                                for (nv, av) in row[base..base + dm].iter_mut().zip(am) {
                                    *nv = qr * av; // ã_m[c] Q[r,s]
                                }
                            }
                            if m == l + 1 {
                                // A = diag(f′(z_l)): only c = s.
                                let fs = cv.fp[l][i * dl1 + si];
                                let gm = &cv.g[m][i * dm1..(i + 1) * dm1];
                                for r in 0..dm1 {
                                    row[r * dm + si] += gm[r] * fs; // g_m[r] A[s,s]
                                }
                            } else if m > l + 1 {
                                let at =
                                    &cv.at[l][m - l][(i * dl1 + si) * dm..(i * dl1 + si + 1) * dm];
                                let gm = &cv.g[m][i * dm1..(i + 1) * dm1];
                                for (r, &gr) in gm.iter().enumerate() {
                                    let base = r * dm;
                                    for (nv, av) in row[base..base + dm].iter_mut().zip(at) {
                                        *nv += gr * av; // g_m[r] A[c,s]
                                    }
                                }
                            }
                            let bias = dm1 * dm;
                            row[bias..bias + dm1].copy_from_slice(qs); // the bias: ã_m[d_m] = 1
                        }
                        let col0 = span_m.weight;
                        let aw = &cv.aw[l];
                        // Rows (s, t < d_l) of W̃_l: contiguous rows of H, stride p.
                        let row0 = layers[l].weight + si * dl;
                        gemm_op(
                            Op::Trans,
                            Op::NoTrans,
                            dl,
                            c,
                            width,
                            1.0,
                            aw,
                            dl + 1,
                            &nbuf,
                            width,
                            1.0,
                            &mut h[row0 * p + col0..],
                            p,
                        );
                        // Row (s, t = d_l): the bias b_l[s].
                        let rowb = layers[l].bias + si;
                        gemm_op(
                            Op::Trans,
                            Op::NoTrans,
                            1,
                            c,
                            width,
                            1.0,
                            &aw[dl..],
                            dl + 1,
                            &nbuf,
                            width,
                            1.0,
                            &mut h[rowb * p + col0..],
                            p,
                        );
                    }
                }
            }
        }
        for (span, g) in layers.iter().zip(&diag) {
            scatter_diagonal_block(span, g, p, &mut h);
        }
        self.mirror_blocks(&mut h);
        for i in 0..p {
            h[i * p + i] += self.l2; // + μI
        }
        h
    }

    /// Fills the blocks below the diagonal with the mirror images of those above.
    fn mirror_blocks(&self, h: &mut [f64]) {
        let p = self.n_params();
        let layers = &self.layout().layers;
        for (l, span) in layers.iter().enumerate() {
            for i in span.weight..span.bias + span.fan_out {
                // Blocks (l, m > l): the rows of θ_l were computed in full.
                for m in layers.iter().skip(l + 1) {
                    for j in m.weight..m.bias + m.fan_out {
                        h[j * p + i] = h[i * p + j];
                    }
                }
            }
        }
    }

    /// The per-sample quantities of the module docs for the chunk `s`, with the GEMM's
    /// sample weights w_i·`inv_n`.
    fn curvature(&self, theta: &[f64], s: &Samples, inv_n: f64) -> Curvature {
        let c = s.n();
        let layers = &self.layout().layers;
        let nl = layers.len();
        let last = nl - 1;
        // Forward: ã_l, z_l, f′, f″.
        let mut a: Vec<Vec<f64>> = Vec::with_capacity(nl);
        let mut fp: Vec<Vec<f64>> = vec![Vec::new(); nl];
        let mut fpp: Vec<Vec<f64>> = vec![Vec::new(); nl];
        let mut input = s.x.to_vec();
        let mut z_last = Vec::new();
        for (l, span) in layers.iter().enumerate() {
            let (din, dout) = (span.fan_in, span.fan_out);
            let mut at = vec![1.0; c * (din + 1)];
            for i in 0..c {
                at[i * (din + 1)..i * (din + 1) + din]
                    .copy_from_slice(&input[i * din..(i + 1) * din]);
            }
            a.push(at);
            let mut z = vec![0.0; c * dout];
            matmul(
                c,
                din,
                dout,
                &input,
                false,
                &theta[span.weight_range()],
                true,
                &mut z,
                false,
            ); // a_l W_lᵀ
            let b = &theta[span.bias_range()];
            for row in z.chunks_exact_mut(dout) {
                row.iter_mut().zip(b).for_each(|(zi, bi)| *zi += bi); // + b_l
            }
            if l < last {
                let mut d1 = vec![0.0; z.len()];
                let mut d2 = vec![0.0; z.len()];
                self.activation.deriv(&z, &mut d1); // f′(z_l)
                self.activation.second_deriv(&z, &mut d2); // f″(z_l)
                fp[l] = d1;
                fpp[l] = d2;
                let mut next = vec![0.0; z.len()];
                self.activation.apply(&z, &mut next); // a_{l+1} = f(z_l)
                input = next;
            } else {
                z_last = z;
            }
        }
        let aw: Vec<Vec<f64>> = a
            .iter()
            .map(|at| {
                let width = at.len() / c.max(1);
                let mut out = at.clone();
                for i in 0..c {
                    let wi = s.w.map_or(1.0, |w| w[i]) * inv_n;
                    out[i * width..(i + 1) * width]
                        .iter_mut()
                        .for_each(|v| *v *= wi);
                }
                out
            })
            .collect();
        // Softmax, g_{L−1} = p − e_y and Hz_{L−1} = diag(p) − ppᵀ.
        let k = self.n_classes();
        let (prob, _) = softmax_rows(&crate::autodiff::Mat::from_vec(c, k, z_last));
        let prob = prob.data;
        let mut g: Vec<Vec<f64>> = vec![Vec::new(); nl];
        let mut gl = prob.clone();
        for (i, &yi) in s.y.iter().enumerate() {
            gl[i * k + yi] -= 1.0;
        }
        g[last] = gl;
        let mut hz: Vec<Vec<f64>> = vec![Vec::new(); nl];
        let mut hl = vec![0.0; c * k * k];
        for i in 0..c {
            let pi = &prob[i * k..(i + 1) * k];
            let hi = &mut hl[i * k * k..(i + 1) * k * k];
            for r in 0..k {
                for t in 0..k {
                    hi[r * k + t] = -pi[r] * pi[t];
                }
                hi[r * k + r] += pi[r];
            }
        }
        hz[last] = hl;
        // Backward: u_l = g_{l+1} W_{l+1}, g_l = f′ ⊙ u_l, and the Hz recursion [Botev17].
        for l in (0..last).rev() {
            let next = &layers[l + 1];
            let (d, dn) = (next.fan_in, next.fan_out); // d = d_{l+1}, dn = d_{l+2}
            let w = &theta[next.weight_range()];
            let mut u = vec![0.0; c * d];
            matmul(c, dn, d, &g[l + 1], false, w, false, &mut u, false); // g_{l+1} W_{l+1}
            let gl: Vec<f64> = u.iter().zip(&fp[l]).map(|(ui, fi)| ui * fi).collect();
            // J = W_{l+1} diag(f′_l) (dn × d), T = Hz_{l+1} J, Hz_l = Jᵀ T + diag(f″ ⊙ u).
            let mut hl = vec![0.0; c * d * d];
            let (mut j, mut t) = (vec![0.0; dn * d], vec![0.0; dn * d]);
            for i in 0..c {
                let f1 = &fp[l][i * d..(i + 1) * d];
                for r in 0..dn {
                    for col in 0..d {
                        j[r * d + col] = w[r * d + col] * f1[col];
                    }
                }
                small_mm(
                    &hz[l + 1][i * dn * dn..(i + 1) * dn * dn],
                    &j,
                    dn,
                    dn,
                    d,
                    &mut t,
                );
                let hi = &mut hl[i * d * d..(i + 1) * d * d];
                for r in 0..dn {
                    for a_ in 0..d {
                        let jra = j[r * d + a_];
                        for (hv, tv) in hi[a_ * d..(a_ + 1) * d]
                            .iter_mut()
                            .zip(&t[r * d..(r + 1) * d])
                        {
                            *hv += jra * tv; // Jᵀ Hz_{l+1} J
                        }
                    }
                }
                for a_ in 0..d {
                    hi[a_ * d + a_] += fpp[l][i * d + a_] * u[i * d + a_]; // f″ ⊙ W_{l+1}ᵀ g_{l+1}
                }
            }
            g[l] = gl;
            hz[l] = hl;
        }
        // Qᵀ and Aᵀ for every pair l ≤ m, per sample, by J_{m←l} = W_m A^{ml}.
        let mut q: Vec<Vec<Vec<f64>>> = vec![Vec::new(); nl];
        let mut at: Vec<Vec<Vec<f64>>> = vec![Vec::new(); nl];
        for l in 0..nl {
            let dl1 = layers[l].fan_out;
            q[l].push(std::mem::take(&mut hz[l])); // Q^{ll} = Hz_l (symmetric: Qᵀ = Q); later pairs use Hz_m, m > l
            at[l].push(Vec::new());
            // jt: J_{m←l}ᵀ per sample, c × d_{l+1} × d_{m+1}, starting at m = l (I).
            let mut jt = vec![0.0; c * dl1 * dl1];
            for i in 0..c {
                for s_ in 0..dl1 {
                    jt[(i * dl1 + s_) * dl1 + s_] = 1.0;
                }
            }
            for m in l + 1..nl {
                let (dm, dm1) = (layers[m].fan_in, layers[m].fan_out);
                let wm = &theta[layers[m].weight_range()];
                // Aᵀ = J_{m−1←l}ᵀ diag(f′(z_{m−1})): c × d_{l+1} × d_m.
                let mut a_t = jt;
                for i in 0..c {
                    let f1 = &fp[m - 1][i * dm..(i + 1) * dm];
                    for s_ in 0..dl1 {
                        let row = &mut a_t[(i * dl1 + s_) * dm..(i * dl1 + s_ + 1) * dm];
                        row.iter_mut().zip(f1).for_each(|(v, f)| *v *= f);
                    }
                }
                // J_{m←l}ᵀ = Aᵀ W_mᵀ: all samples at once, (c·d_{l+1}) × d_m × d_{m+1}.
                let mut jn = vec![0.0; c * dl1 * dm1];
                matmul(c * dl1, dm, dm1, &a_t, false, wm, true, &mut jn, false);
                // Qᵀ = J_{m←l}ᵀ Hz_m per sample (Hz_m symmetric).
                let mut qt = vec![0.0; c * dl1 * dm1];
                for i in 0..c {
                    small_mm(
                        &jn[i * dl1 * dm1..(i + 1) * dl1 * dm1],
                        &hz[m][i * dm1 * dm1..(i + 1) * dm1 * dm1],
                        dl1,
                        dm1,
                        dm1,
                        &mut qt[i * dl1 * dm1..(i + 1) * dl1 * dm1],
                    );
                }
                q[l].push(qt);
                at[l].push(if m >= l + 2 { a_t } else { Vec::new() });
                jt = jn;
            }
        }
        Curvature {
            a,
            aw,
            g,
            fp,
            q,
            at,
        }
    }
}
