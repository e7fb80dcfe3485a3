//! Level-1/2 and element-wise oracles.

/// ⟨x, y⟩ summed left to right.
pub fn dot_naive(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

/// y ← αx + y, one element at a time.
pub fn axpy_naive(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}
