//! Eigenvalues of a small dense symmetric matrix, for checking Hessians (\[H\]) and their
//! spectra: Householder reduction to tridiagonal form, then bisection on Sturm counts.
//!
//! ```text
//! Qᵀ A Q = T (tridiagonal),   #{λ(T) < x} = #{i : q_i < 0},
//! q_0 = d_0 − x,   q_i = d_i − x − e_{i−1}² / q_{i−1}
//! ```
//!
//! Bisection finds each requested eigenvalue to about ε‖A‖ absolute accuracy (the
//! reduction is backward stable). Cost: 4p³/3 flops for the reduction (≈ 0.4 s at p = 650),
//! then O(p) per bisection step. Plain loops, no pivoting subtleties: for tests and small p.

/// The diagonal d (length p) and off-diagonal e (length p − 1) of a tridiagonal T
/// orthogonally similar to the symmetric `a` (p × p row-major; only the lower triangle is
/// read), by Householder reflections.
///
/// # Panics
/// If `a.len() != p²`.
#[track_caller]
pub fn tridiagonalize(a: &[f64], p: usize) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(a.len(), p * p, "tridiagonalize: a is not p × p");
    // Work on a full symmetric copy built from the lower triangle.
    let mut m = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..=i {
            m[i * p + j] = a[i * p + j];
            m[j * p + i] = a[i * p + j];
        }
    }
    let mut e = vec![0.0; p.saturating_sub(1)];
    for k in 0..p.saturating_sub(2) {
        let len = p - k - 1; // the trailing block k+1..p
        let x: Vec<f64> = (0..len).map(|i| m[(k + 1 + i) * p + k]).collect();
        let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == 0.0 {
            e[k] = 0.0;
            continue;
        }
        let alpha = if x[0] > 0.0 { -norm } else { norm };
        let mut v = x;
        v[0] -= alpha; // v = x − αe_1, reflect x onto αe_1
        let vn = v.iter().map(|t| t * t).sum::<f64>().sqrt();
        v.iter_mut().for_each(|t| *t /= vn);
        e[k] = alpha;
        // A22 ← (I − 2vvᵀ) A22 (I − 2vvᵀ) = A22 − v qᵀ − q vᵀ, q = 2(w − (vᵀw) v), w = A22 v
        let w: Vec<f64> = (0..len)
            .map(|i| {
                let row = &m[(k + 1 + i) * p + k + 1..(k + 2 + i) * p];
                row.iter().zip(&v).map(|(a, b)| a * b).sum()
            })
            .collect();
        let kk: f64 = v.iter().zip(&w).map(|(a, b)| a * b).sum();
        let q: Vec<f64> = (0..len).map(|i| 2.0 * (w[i] - kk * v[i])).collect();
        for i in 0..len {
            let row = &mut m[(k + 1 + i) * p + k + 1..(k + 2 + i) * p];
            for j in 0..len {
                row[j] -= v[i] * q[j] + q[i] * v[j];
            }
        }
    }
    if p >= 2 {
        e[p - 2] = m[(p - 1) * p + p - 2];
    }
    let d = (0..p).map(|i| m[i * p + i]).collect();
    (d, e)
}

/// The number of eigenvalues of the tridiagonal (d, e) below x (Sturm count).
fn count_below(d: &[f64], e: &[f64], x: f64) -> usize {
    let mut count = 0;
    let mut q = 1.0;
    for i in 0..d.len() {
        let off = if i == 0 { 0.0 } else { e[i - 1] * e[i - 1] / q };
        q = d[i] - x - off;
        if q == 0.0 {
            q = -f64::EPSILON * (x.abs() + f64::MIN_POSITIVE); // step just past a zero pivot
        }
        if q < 0.0 {
            count += 1;
        }
    }
    count
}

/// The `k`-th smallest eigenvalue (k = 0 is the smallest) of the tridiagonal (d, e), by
/// bisection on Sturm counts within the Gershgorin interval.
///
/// # Panics
/// If `k ≥ d.len()` or `e.len() + 1 != d.len()`.
#[track_caller]
pub fn tridiagonal_eigenvalue(d: &[f64], e: &[f64], k: usize) -> f64 {
    assert!(
        k < d.len() && e.len() + 1 == d.len(),
        "tridiagonal_eigenvalue: bad input"
    );
    let p = d.len();
    let radius = |i: usize| {
        (if i > 0 { e[i - 1].abs() } else { 0.0 }) + (if i + 1 < p { e[i].abs() } else { 0.0 })
    };
    let mut lo = (0..p)
        .map(|i| d[i] - radius(i))
        .fold(f64::INFINITY, f64::min);
    let mut hi = (0..p)
        .map(|i| d[i] + radius(i))
        .fold(f64::NEG_INFINITY, f64::max);
    let scale = lo.abs().max(hi.abs());
    while hi - lo > 2.0 * f64::EPSILON * scale {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if count_below(d, e, mid) > k {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The smallest and largest eigenvalues of the symmetric `a` (p × p row-major, lower
/// triangle read).
///
/// # Panics
/// If `p == 0` or `a.len() != p²`.
///
/// # Examples
/// ```
/// use puma::autodiff::eigen::eigenvalue_range;
/// let (lo, hi) = eigenvalue_range(&[2.0, 1.0, 1.0, 2.0], 2); // eigenvalues 1 and 3
/// assert!((lo - 1.0).abs() < 1e-15 && (hi - 3.0).abs() < 1e-15);
/// ```
#[track_caller]
pub fn eigenvalue_range(a: &[f64], p: usize) -> (f64, f64) {
    assert!(p > 0, "eigenvalue_range: empty matrix");
    let (d, e) = tridiagonalize(a, p);
    (
        tridiagonal_eigenvalue(&d, &e, 0),
        tridiagonal_eigenvalue(&d, &e, p - 1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_spectrum_is_recovered() {
        // A = Q diag(λ) Qᵀ with Q a product of Givens rotations, λ = 1..=8 scaled.
        let p = 8;
        let lambda: Vec<f64> = (0..p).map(|i| (i as f64 + 1.0) * 0.5 - 1.0).collect();
        let mut a = vec![0.0; p * p];
        for i in 0..p {
            a[i * p + i] = lambda[i];
        }
        for (i, j, t) in [
            (0, 3, 0.3),
            (1, 5, -1.1),
            (2, 7, 0.7),
            (3, 4, 2.0),
            (0, 6, -0.4),
        ] {
            let (c, s) = (f64::cos(t), f64::sin(t));
            // a ← G a Gᵀ with G the rotation in the (i, j) plane
            for col in 0..p {
                let (x, y) = (a[i * p + col], a[j * p + col]);
                a[i * p + col] = c * x - s * y;
                a[j * p + col] = s * x + c * y;
            }
            for row in 0..p {
                let (x, y) = (a[row * p + i], a[row * p + j]);
                a[row * p + i] = c * x - s * y;
                a[row * p + j] = s * x + c * y;
            }
        }
        let (d, e) = tridiagonalize(&a, p);
        let tol = 64.0 * f64::EPSILON * 4.0; // O(pε‖A‖) backward error, ‖A‖ = 3.5
        for (k, want) in lambda.iter().enumerate() {
            let got = tridiagonal_eigenvalue(&d, &e, k);
            assert!((got - want).abs() <= tol, "λ_{k}: {got} vs {want}");
        }
    }
}
