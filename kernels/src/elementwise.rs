//! Element-wise kernels for an MLP: activations with their first and second derivatives
//! (the second for Pearlmutter's HVP pass \[Pearl94\]), and a stable per-row log-softmax
//! and softmax (the latter with each row's log-sum-exp, for softmax cross-entropy).
//!
//! Each activation is applied to pre-activations `x` (never to outputs), so derivatives do
//! not depend on which value was cached.
//!
//! Accuracy. Portable path: std's `tanh`, `exp`, `ln_1p`, `cosh` (each ≤ 2 ulp) composed in
//! cancellation-free forms, so every function and derivative is within a few ulp; GELU uses
//! Φ(x) = ½ erfc(−x/√2), accurate in relative terms even in the left tail; ReLU is exact.
//! AVX2 path: relu, tanh, sech², σ, σ′ (also softplus′ = σ), log-softmax and softmax are
//! vectorised on an exp within 2 ulp of std's (the softmax also on an ln within 1 ulp,
//! measured). The tests hold tanh to 6 ulp of std's and σ, σ′ to 8 ulp; measured on 2·10⁶
//! points of [−25, 25]: tanh max 3 ulp (mean 0.02), σ max 2 ulp.
//! Softplus, gelu and the second derivatives are scalar on both paths (gelu: one
//! [`crate::erfc`], i.e. a polynomial and an `exp`).

use crate::{dispatch, level12};

/// An activation function f applied element by element.
///
/// | variant | f(x) | f′(x) | f″(x) |
/// |---|---|---|---|
/// | `Tanh` | tanh x | sech² x | −2 tanh x sech² x |
/// | `Sigmoid` | σ(x) = 1/(1 + e^{−x}) | σ(x) σ(−x) | σ(x) σ(−x) (1 − 2σ(x)) |
/// | `Relu` | max(x, 0) | 1 if x > 0, else 0 | 0 |
/// | `Softplus` | ln(1 + eˣ) | σ(x) | σ(x) σ(−x) |
/// | `Gelu` | x Φ(x), Φ(x) = ½(1 + erf(x/√2)) | Φ(x) + x φ(x) | φ(x)(2 − x²) |
///
/// GELU is the exact, erf-based one (PyTorch's default `nn.GELU()`, not its
/// `approximate="tanh"` form); φ is the standard normal density. The ReLU derivative at 0 is
/// 0 (as in PyTorch). NaN inputs give NaN for every function and derivative; relu(−0.0) = 0.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic sigmoid σ.
    Sigmoid,
    /// Rectified linear unit.
    Relu,
    /// ln(1 + eˣ), a smooth ReLU.
    Softplus,
    /// Gaussian error linear unit x Φ(x) (exact erf form).
    Gelu,
}

impl Activation {
    /// Every activation, in the order of the table above.
    pub const ALL: [Activation; 5] = [
        Self::Tanh,
        Self::Sigmoid,
        Self::Relu,
        Self::Softplus,
        Self::Gelu,
    ];

    /// The lowercase name used in model metadata: `tanh`, `sigmoid`, `relu`, `softplus`, `gelu`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tanh => "tanh",
            Self::Sigmoid => "sigmoid",
            Self::Relu => "relu",
            Self::Softplus => "softplus",
            Self::Gelu => "gelu",
        }
    }

    /// The activation called `name` (as [`Activation::name`] spells it), if any.
    ///
    /// # Examples
    /// ```
    /// use puma_kernels::Activation;
    /// assert_eq!(Activation::from_name("gelu"), Some(Activation::Gelu));
    /// assert_eq!(Activation::from_name("swish"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// f(x) for one number.
    ///
    /// # Examples
    /// ```
    /// use puma_kernels::Activation;
    /// assert_eq!(Activation::Relu.value(-3.0), 0.0);
    /// assert_eq!(Activation::Sigmoid.value(0.0), 0.5);
    /// ```
    pub fn value(self, x: f64) -> f64 {
        crate::portable::value(self, x)
    }

    /// f′(x) for one number.
    pub fn deriv_at(self, x: f64) -> f64 {
        crate::portable::deriv(self, x)
    }

    /// f″(x) for one number.
    pub fn second_deriv_at(self, x: f64) -> f64 {
        crate::portable::second_deriv(self, x)
    }

    /// y_i ← f(x_i)
    ///
    /// # Panics
    /// If `x.len() != y.len()`.
    ///
    /// # Examples
    /// ```
    /// use puma_kernels::Activation;
    /// let mut y = [f64::NAN; 3];
    /// Activation::Relu.apply(&[-1.0, 0.5, 2.0], &mut y);
    /// assert_eq!(y, [0.0, 0.5, 2.0]);
    /// ```
    #[track_caller]
    pub fn apply(self, x: &[f64], y: &mut [f64]) {
        level12::activation_apply(dispatch::level(), self, x, y)
    }

    /// Z ← Z + 1bᵀ and Y ← f(Z) for the row-major blocks Z and Y with rows of b.len()
    /// entries: a layer's bias and activation in one call,
    /// [`Activation::apply`] after adding b to each row of z, with the same bits. For tanh
    /// with b.len() dividing 16, on AVX-512F, it is one pass over z (the add is free beside
    /// tanh's arithmetic).
    ///
    /// # Panics
    /// If `z.len() != y.len()`, or z's length is not a multiple of b's (b empty: z empty).
    ///
    /// # Examples
    /// ```
    /// use puma_kernels::Activation;
    /// let mut z = [-1.0, 0.5, 2.0, -3.0];
    /// let mut y = [f64::NAN; 4];
    /// Activation::Relu.apply_with_bias(&[1.0, -1.0], &mut z, &mut y);
    /// assert_eq!(z, [0.0, -0.5, 3.0, -4.0]);
    /// assert_eq!(y, [0.0, 0.0, 3.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn apply_with_bias(self, b: &[f64], z: &mut [f64], y: &mut [f64]) {
        level12::activation_apply_with_bias(dispatch::level(), self, b, z, y)
    }

    /// x_i ← f(x_i)
    ///
    /// # Examples
    /// ```
    /// use puma_kernels::Activation;
    /// let mut x = [0.0, 1e300];
    /// Activation::Softplus.apply_in_place(&mut x);
    /// assert_eq!(x, [std::f64::consts::LN_2, 1e300]); // no overflow in e^x
    /// ```
    pub fn apply_in_place(self, x: &mut [f64]) {
        level12::activation_apply_in_place(dispatch::level(), self, x)
    }

    /// d_i ← f′(x_i), the derivative at the pre-activation x_i.
    ///
    /// # Panics
    /// If `x.len() != d.len()`.
    ///
    /// # Examples
    /// ```
    /// use puma_kernels::Activation;
    /// let mut d = [0.0; 2];
    /// Activation::Tanh.deriv(&[0.0, 40.0], &mut d);
    /// assert_eq!(d[0], 1.0);
    /// assert!(d[1] > 0.0); // sech²(40) ≈ 7e-35, not the 0 of 1 − tanh²
    /// ```
    #[track_caller]
    pub fn deriv(self, x: &[f64], d: &mut [f64]) {
        level12::activation_deriv(dispatch::level(), self, x, d)
    }

    /// d_i ← f″(x_i), the second derivative at the pre-activation x_i.
    ///
    /// # Panics
    /// If `x.len() != d.len()`.
    #[track_caller]
    pub fn second_deriv(self, x: &[f64], d: &mut [f64]) {
        level12::activation_second_deriv(dispatch::level(), self, x, d)
    }
}

/// y_ij ← x_ij − ln Σ_k exp(x_ik), for each row of a row-major matrix with `cols` columns.
///
/// Stable: computed as `(x_ij − m_i) − ln Σ_k exp(x_ik − m_i)` with m_i the row maximum, so
/// every exponent is ≤ 0 and the sum lies in [1, cols]. Error ≤ a few ulp of max(|y_ij|, 1)
/// plus the rounding of x_ij − m_i. A row holding NaN or +∞, or only −∞, becomes NaN.
///
/// # Panics
/// If `x.len() != y.len()`, or the length is not a multiple of `cols` (`cols = 0` only with
/// empty slices).
///
/// # Examples
/// ```
/// let x = [0.0, 0.0, 1000.0, 1000.0];
/// let mut y = [0.0; 4];
/// puma_kernels::log_softmax_rows(2, &x, &mut y);
/// let ln_half = -std::f64::consts::LN_2;
/// assert_eq!(y, [ln_half, ln_half, ln_half, ln_half]); // no overflow at 1000
/// ```
#[track_caller]
pub fn log_softmax_rows(cols: usize, x: &[f64], y: &mut [f64]) {
    level12::log_softmax_rows(dispatch::level(), cols, x, y)
}

/// x_ij ← x_ij − ln Σ_k exp(x_ik) for each row; see [`log_softmax_rows`].
///
/// # Panics
/// If the length is not a multiple of `cols` (`cols = 0` only with an empty slice).
#[track_caller]
pub fn log_softmax_rows_in_place(cols: usize, x: &mut [f64]) {
    level12::log_softmax_rows_in_place(dispatch::level(), cols, x)
}

/// Each row of `cols` entries of x ← its softmax, and lse_i ← the row's log-sum-exp:
///
/// ```text
/// m_i = max_j x_ij,   s_i = Σ_j e^{x_ij − m_i} ∈ [1, cols]
/// x_ij ← e^{x_ij − m_i} / s_i,   lse_i ← ln Σ_j e^{x_ij} = m_i + ln s_i
/// ```
///
/// What a softmax cross-entropy loss and its gradient need from logits (loss = lse_i − x_iy,
/// gradient p − onehot). Stable: every exponent is ≤ 0. Each p_ij is within a few ulp of
/// the quotient of std's `exp` values (AVX2: e^{x − m} within 1 ulp, then one reciprocal
/// and one product per entry), and lse_i within a few ulp of max(|lse_i|, 1) plus the
/// rounding of x − m. A row holding NaN or +∞, or only −∞, becomes NaN, lse_i too (as in
/// [`log_softmax_rows`]). Cost: one `exp` per entry and one `ln` and one division per row;
/// AVX2 evaluates them four rows at a time for rows of at most 16 entries, and along the
/// row otherwise.
///
/// # Panics
/// If the length of `x` is not a multiple of `cols` (`cols = 0` only with an empty slice),
/// or `lse.len()` differs from the number of rows `x.len() / cols`.
///
/// # Examples
/// ```
/// let mut x = [0.0, 2f64.ln(), 1000.0, 1000.0];
/// let mut lse = [0.0; 2];
/// puma_kernels::softmax_rows_in_place(2, &mut x, &mut lse);
/// assert!((x[0] - 1.0 / 3.0).abs() < 1e-15 && (x[1] - 2.0 / 3.0).abs() < 1e-15);
/// assert!((lse[0] - 3f64.ln()).abs() < 1e-15); // ln(e⁰ + e^{ln 2})
/// assert_eq!(&x[2..], &[0.5, 0.5]);
/// assert!((lse[1] - (1000.0 + std::f64::consts::LN_2)).abs() < 1e-12); // no overflow
/// ```
#[track_caller]
pub fn softmax_rows_in_place(cols: usize, x: &mut [f64], lse: &mut [f64]) {
    level12::softmax_rows_in_place(dispatch::level(), cols, x, lse)
}
