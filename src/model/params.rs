//! The flat parameter vector θ of an MLP and where each layer lives in it.
//!
//! θ ∈ R^p holds the layers in order; layer l (fan-in d_l, fan-out d_{l+1}) stores its
//! weight W_l ∈ R^{d_{l+1} × d_l} row-major (PyTorch's `[out, in]`), then its bias
//! b_l ∈ R^{d_{l+1}} (DESIGN.md §4):
//!
//! ```text
//! θ = [ vec(W_0) | b_0 | vec(W_1) | b_1 | … ],     p = Σ_l d_{l+1}·(d_l + 1).
//! ```
//!
//! For logistic regression [64, 10] that is 640 weights then 10 biases, p = 650.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};

/// Where one dense layer's parameters sit in θ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerSpan {
    /// Inputs to the layer (d_l).
    pub fan_in: usize,
    /// Outputs of the layer (d_{l+1}).
    pub fan_out: usize,
    /// Offset of W_l (`fan_out × fan_in`, row-major) in θ.
    pub weight: usize,
    /// Offset of b_l (`fan_out` entries) in θ, `weight + fan_out·fan_in`.
    pub bias: usize,
}

impl LayerSpan {
    /// The index range of W_l in θ.
    pub fn weight_range(&self) -> std::ops::Range<usize> {
        self.weight..self.weight + self.fan_out * self.fan_in
    }

    /// The index range of b_l in θ.
    pub fn bias_range(&self) -> std::ops::Range<usize> {
        self.bias..self.bias + self.fan_out
    }
}

/// The layout of θ for layer sizes `[d_0, d_1, …, d_L]`: one [`LayerSpan`] per layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The layer sizes, input first, classes last.
    pub sizes: Vec<usize>,
    /// One span per dense layer (`sizes.len() − 1` of them).
    pub layers: Vec<LayerSpan>,
    /// The number of parameters p.
    pub p: usize,
}

impl Layout {
    /// The layout for `sizes` = `[d_0, …, d_L]`.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] if fewer than two sizes are given or a size is 0.
    ///
    /// # Examples
    /// ```
    /// use puma::model::params::Layout;
    /// let layout = Layout::new(&[2, 16, 16, 2]).unwrap();
    /// assert_eq!(layout.p, 354);
    /// assert_eq!(layout.layers[1].weight, 48); // after W_0 (32) and b_0 (16)
    /// ```
    pub fn new(sizes: &[usize]) -> Result<Self> {
        if sizes.len() < 2 {
            return Err(Error::InvalidParam {
                name: "sizes",
                reason: format!("need at least input and output sizes, got {sizes:?}"),
            });
        }
        if sizes.contains(&0) {
            return Err(Error::InvalidParam {
                name: "sizes",
                reason: format!("every layer size must be positive, got {sizes:?}"),
            });
        }
        let mut layers = Vec::with_capacity(sizes.len() - 1);
        let mut offset = 0;
        for w in sizes.windows(2) {
            let (fan_in, fan_out) = (w[0], w[1]);
            let span = LayerSpan {
                fan_in,
                fan_out,
                weight: offset,
                bias: offset + fan_out * fan_in,
            };
            offset = span.bias + fan_out;
            layers.push(span);
        }
        Ok(Layout {
            sizes: sizes.to_vec(),
            layers,
            p: offset,
        })
    }

    /// A seeded initial θ in PyTorch's default for `nn.Linear`: every weight and bias of a
    /// layer drawn uniformly from [−1/√fan_in, 1/√fan_in), layer by layer in θ order.
    ///
    /// The draws are ChaCha8 64-bit words seeded with `seed`, mapped to [0, 1) by this crate
    /// ([`uniform01`]) rather than by `rand`'s float sampler, so a seed names one θ for good.
    pub fn init(&self, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut theta = vec![0.0; self.p];
        for span in &self.layers {
            let bound = 1.0 / (span.fan_in as f64).sqrt();
            for t in &mut theta[span.weight..span.bias + span.fan_out] {
                *t = bound * (2.0 * uniform01(&mut rng) - 1.0);
            }
        }
        theta
    }
}

/// A uniform draw from [0, 1) with 53 random bits: (u >> 11) · 2⁻⁵³ for a 64-bit word u.
pub fn uniform01(rng: &mut impl RngCore) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_tile_theta_without_gaps() {
        let layout = Layout::new(&[64, 32, 10]).unwrap();
        assert_eq!(layout.p, 64 * 32 + 32 + 32 * 10 + 10);
        let mut next = 0;
        for s in &layout.layers {
            assert_eq!(s.weight_range().start, next);
            assert_eq!(s.weight_range().end, s.bias_range().start);
            next = s.bias_range().end;
        }
        assert_eq!(next, layout.p);
    }

    #[test]
    fn bad_sizes_are_errors() {
        assert!(matches!(
            Layout::new(&[3]),
            Err(Error::InvalidParam { name: "sizes", .. })
        ));
        assert!(Layout::new(&[3, 0, 2]).is_err());
    }

    #[test]
    fn init_is_pinned_to_its_seed_for_good() {
        // ChaCha8's stream and our own [0, 1) mapping fix these bits; a dependency upgrade
        // that changed them would silently change every seeded experiment.
        let theta = Layout::new(&[2, 2]).unwrap().init(0);
        let bits: Vec<u64> = theta.iter().map(|t| t.to_bits()).collect();
        assert_eq!(bits, PINNED);
    }

    #[test]
    fn init_is_seeded_and_bounded() {
        let layout = Layout::new(&[4, 9, 3]).unwrap();
        let a = layout.init(7);
        assert_eq!(a, layout.init(7));
        assert_ne!(a, layout.init(8));
        let s = &layout.layers[1];
        let bound = 1.0 / 3.0; // 1/√9
        assert!(a[s.weight..].iter().all(|t| t.abs() <= bound));
    }

    const PINNED: [u64; 6] = [
        4598998068415132177,
        13810478339863311238,
        4598745034329224743,
        13827149841546337702,
        4603004371049849988,
        4589711896028376890,
    ];
}
