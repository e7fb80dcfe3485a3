//! Seeded synthetic data sets (two moons, a disc inside a ring, Gaussian blobs) and seeded
//! label noise.
//!
//! Each generator draws from [`rand_chacha::ChaCha8Rng`] seeded with `seed`, so a
//! seed names one data set. Rows are shuffled (as scikit-learn's generators do by default),
//! features are named `x0, x1, ...`. Cost: O(n·d) draws.
//!
//! ```
//! use puma::data::synthetic::{flip_labels_in_place, two_moons};
//!
//! let mut ds = two_moons(200, 0.1, 7)?;
//! assert_eq!(ds.label_counts(), vec![100, 100]);
//! let flipped = ds.flip_labels_in_place(0.1, 7)?; // 10% label noise
//! assert_eq!(flipped.len(), 20);
//! # Ok::<(), puma::Error>(())
//! ```

use std::f64::consts::PI;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::{Dataset, rng_from_seed, uniform_below, uniform01};
use crate::error::{Error, Result};

/// Two interleaving half circles, like scikit-learn's `make_moons`.
///
/// Class 0 (⌊n/2⌋ points): `(cos t, sin t)`; class 1 (the rest): `(1 − cos t, 1 − sin t − 0.5)`,
/// with t evenly spaced on `[0, π]`; rows shuffled, then Gaussian noise of standard deviation
/// `noise` added to every coordinate.
///
/// # Errors
/// [`Error::InvalidParam`] if `n < 2` or `noise` is negative or not finite.
///
/// # Examples
/// ```
/// let ds = puma::data::synthetic::two_moons(1000, 0.2, 0)?;
/// assert_eq!((ds.n(), ds.d(), ds.k()), (1000, 2, 2));
/// # Ok::<(), puma::Error>(())
/// ```
pub fn two_moons(n: usize, noise: f64, seed: u64) -> Result<Dataset> {
    check_n(n, 2)?;
    check_noise(noise)?;
    let n_out = n / 2;
    let n_in = n - n_out;
    let mut points = Vec::with_capacity(n);
    for (m, label) in [(n_out, 0), (n_in, 1)] {
        for i in 0..m {
            let t = if m > 1 {
                PI * i as f64 / (m - 1) as f64
            } else {
                0.0
            }; // linspace(0, π, m)
            let (x, y) = if label == 0 {
                (t.cos(), t.sin())
            } else {
                (1.0 - t.cos(), 1.0 - t.sin() - 0.5)
            };
            points.push(([x, y], label));
        }
    }
    finish(points, noise, seed)
}

/// A disc class inside a ring class: a data set no linear model separates.
///
/// Class 0 (⌊n/2⌋ points) is uniform (in area) on the disc of radius 1, class 1 (the rest)
/// uniform on the ring `1.5 ≤ r ≤ 2`; rows shuffled, then Gaussian noise of standard
/// deviation `noise` added to every coordinate. Without noise the classes are separated by
/// a gap of 0.5 in radius.
///
/// # Errors
/// [`Error::InvalidParam`] if `n < 2` or `noise` is negative or not finite.
///
/// # Examples
/// ```
/// let ds = puma::data::synthetic::radial(300, 0.0, 1)?;
/// for i in 0..ds.n() {
///     let r = ds.row(i)[0].hypot(ds.row(i)[1]);
///     assert!(if ds.labels()[i] == 0 { r <= 1.0 } else { (1.5..=2.0).contains(&r) });
/// }
/// # Ok::<(), puma::Error>(())
/// ```
pub fn radial(n: usize, noise: f64, seed: u64) -> Result<Dataset> {
    check_n(n, 2)?;
    check_noise(noise)?;
    // The radii use their own stream so that the shuffle in `finish` is independent.
    let mut rng = rng_from_seed(seed ^ 0x005a_d1a1);
    let (r_disc, r_in, r_out) = (1.0f64, 1.5f64, 2.0f64);
    let n_disc = n / 2;
    let mut points = Vec::with_capacity(n);
    for i in 0..n {
        let u = uniform01(&mut rng);
        let (r, label) = if i < n_disc {
            (r_disc * u.sqrt(), 0) // P(r ≤ s) = s² on the disc
        } else {
            ((r_in * r_in + u * (r_out * r_out - r_in * r_in)).sqrt(), 1) // uniform in area
        };
        let phi = 2.0 * PI * uniform01(&mut rng);
        points.push(([r * phi.cos(), r * phi.sin()], label));
    }
    finish(points, noise, seed)
}

/// `k` isotropic Gaussian blobs in `d` dimensions, like scikit-learn's `make_blobs`.
///
/// Centres are uniform in `[-10, 10]^d`; blob j gets ⌊n/k⌋ points, plus one for j < n mod k;
/// each point is its centre plus `N(0, std²)` noise per coordinate. Rows are shuffled.
///
/// # Errors
/// [`Error::InvalidParam`] if `k == 0`, `n < k`, `d == 0`, or `std` is negative or not
/// finite.
///
/// # Examples
/// ```
/// let ds = puma::data::synthetic::blobs(100, 3, 5, 1.0, 2)?;
/// assert_eq!((ds.n(), ds.d(), ds.k()), (100, 5, 3));
/// assert_eq!(ds.label_counts(), vec![34, 33, 33]);
/// # Ok::<(), puma::Error>(())
/// ```
pub fn blobs(n: usize, k: usize, d: usize, std: f64, seed: u64) -> Result<Dataset> {
    if k == 0 {
        return Err(invalid("k", "must be at least 1".into()));
    }
    check_n(n, k)?;
    if d == 0 {
        return Err(invalid("d", "must be at least 1".into()));
    }
    check_noise(std).map_err(|_| invalid("std", format!("must be finite and ≥ 0, got {std}")))?;
    let mut rng = rng_from_seed(seed);
    let centres: Vec<f64> = (0..k * d)
        .map(|_| -10.0 + 20.0 * uniform01(&mut rng))
        .collect();
    let mut labels: Vec<usize> = (0..n).map(|i| blob_of(i, n, k)).collect();
    shuffle(&mut labels, &mut rng);
    let mut x = Vec::with_capacity(n * d);
    for &y in &labels {
        for c in &centres[y * d..(y + 1) * d] {
            let z: f64 = rng.sample(StandardNormal);
            x.push(c + std * z);
        }
    }
    Dataset::new(x, d, labels)?
        .with_classes(k)?
        .with_feature_names(names(d))
}

/// Flips `round(fraction · n)` labels, chosen uniformly without replacement, each to a class
/// drawn uniformly from the other `k − 1`; returns the flipped rows in increasing order.
///
/// This is how the reference problems' label noise was made (10% of training labels).
///
/// # Errors
/// [`Error::InvalidParam`] if `fraction` is not in `[0, 1]`, `k < 2`, or a label is `≥ k`.
///
/// # Examples
/// ```
/// use puma::data::synthetic::flip_labels_in_place;
/// let mut y = vec![0, 1, 2, 0, 1, 2, 0, 1, 2, 0];
/// let before = y.clone();
/// let flipped = flip_labels_in_place(&mut y, 3, 0.3, 11)?;
/// assert_eq!(flipped.len(), 3);
/// for i in 0..10 {
///     assert_eq!(flipped.contains(&i), y[i] != before[i]);
/// }
/// # Ok::<(), puma::Error>(())
/// ```
pub fn flip_labels_in_place(
    labels: &mut [usize],
    k: usize,
    fraction: f64,
    seed: u64,
) -> Result<Vec<usize>> {
    if !(0.0..=1.0).contains(&fraction) {
        return Err(invalid(
            "fraction",
            format!("must be in [0, 1], got {fraction}"),
        ));
    }
    if k < 2 {
        return Err(invalid(
            "k",
            format!("flipping needs at least 2 classes, got {k}"),
        ));
    }
    if let Some(&y) = labels.iter().find(|&&y| y >= k) {
        return Err(invalid("k", format!("label {y} is not below k = {k}")));
    }
    let n = labels.len();
    let m = (fraction * n as f64).round() as usize;
    let mut rng = rng_from_seed(seed);
    // Partial Fisher–Yates: the first m entries of `rows` are a uniform m-subset.
    let mut rows: Vec<usize> = (0..n).collect();
    for i in 0..m {
        let j = i + uniform_below(&mut rng, n - i);
        rows.swap(i, j);
    }
    let mut flipped = rows[..m].to_vec();
    flipped.sort_unstable();
    for &i in &flipped {
        let offset = 1 + uniform_below(&mut rng, k - 1); // 1..k: never the same class
        labels[i] = (labels[i] + offset) % k;
    }
    Ok(flipped)
}

/// Shuffles the points, adds noise, and builds a 2-class, 2-feature data set.
fn finish(mut points: Vec<([f64; 2], usize)>, noise: f64, seed: u64) -> Result<Dataset> {
    let mut rng = rng_from_seed(seed);
    shuffle(&mut points, &mut rng);
    let mut x = Vec::with_capacity(2 * points.len());
    let mut labels = Vec::with_capacity(points.len());
    for (p, y) in points {
        for v in p {
            let z: f64 = rng.sample(StandardNormal);
            x.push(v + noise * z);
        }
        labels.push(y);
    }
    Dataset::new(x, 2, labels)?
        .with_classes(2)?
        .with_feature_names(names(2))
}

/// Fisher–Yates with this crate's fixed integer sampler.
fn shuffle<T>(v: &mut [T], rng: &mut ChaCha8Rng) {
    for i in (1..v.len()).rev() {
        v.swap(i, uniform_below(rng, i + 1));
    }
}

/// Blob of the i-th of n points: ⌊n/k⌋ each, the first n mod k blobs one more.
fn blob_of(i: usize, n: usize, k: usize) -> usize {
    let (q, r) = (n / k, n % k);
    if i < r * (q + 1) {
        i / (q + 1)
    } else {
        r + (i - r * (q + 1)) / q
    }
}

fn names(d: usize) -> Vec<String> {
    (0..d).map(|j| format!("x{j}")).collect()
}

fn invalid(name: &'static str, reason: String) -> Error {
    Error::InvalidParam { name, reason }
}

fn check_n(n: usize, min: usize) -> Result<()> {
    if n < min {
        return Err(invalid("n", format!("must be at least {min}, got {n}")));
    }
    Ok(())
}

fn check_noise(noise: f64) -> Result<()> {
    if !(noise.is_finite() && noise >= 0.0) {
        return Err(invalid(
            "noise",
            format!("must be finite and ≥ 0, got {noise}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        assert_eq!(
            two_moons(50, 0.1, 3).unwrap(),
            two_moons(50, 0.1, 3).unwrap()
        );
        assert_ne!(
            two_moons(50, 0.1, 3).unwrap(),
            two_moons(50, 0.1, 4).unwrap()
        );
        assert_eq!(radial(50, 0.1, 3).unwrap(), radial(50, 0.1, 3).unwrap());
        assert_ne!(radial(50, 0.1, 3).unwrap(), radial(50, 0.1, 4).unwrap());
        assert_eq!(
            blobs(50, 3, 4, 1.0, 3).unwrap(),
            blobs(50, 3, 4, 1.0, 3).unwrap()
        );
        assert_ne!(
            blobs(50, 3, 4, 1.0, 3).unwrap(),
            blobs(50, 3, 4, 1.0, 4).unwrap()
        );
    }

    #[test]
    fn classes_are_balanced() {
        assert_eq!(two_moons(101, 0.2, 0).unwrap().label_counts(), vec![50, 51]);
        assert_eq!(radial(101, 0.2, 0).unwrap().label_counts(), vec![50, 51]);
        assert_eq!(
            blobs(10, 4, 2, 1.0, 0).unwrap().label_counts(),
            vec![3, 3, 2, 2]
        );
    }

    #[test]
    fn noiseless_moons_lie_on_their_half_circles() {
        let ds = two_moons(200, 0.0, 5).unwrap();
        let tol = 4.0 * f64::EPSILON; // cos² + sin² rounding
        for i in 0..ds.n() {
            let [x, y] = [ds.row(i)[0], ds.row(i)[1]];
            let (cx, cy) = if ds.labels()[i] == 0 {
                (0.0, 0.0)
            } else {
                (1.0, 0.5)
            };
            let r2 = (x - cx).powi(2) + (y - cy).powi(2);
            assert!((r2 - 1.0).abs() < tol, "row {i}: r² = {r2}");
            // outer moon is the upper half circle, inner moon the lower one
            assert!(if ds.labels()[i] == 0 {
                y >= -tol
            } else {
                y <= 0.5 + tol
            });
        }
    }

    #[test]
    fn noiseless_disc_radii_are_all_below_ring_radii() {
        let ds = radial(1000, 0.0, 9).unwrap();
        let radius = |i: usize| ds.row(i)[0].hypot(ds.row(i)[1]);
        let max_disc = (0..ds.n())
            .filter(|&i| ds.labels()[i] == 0)
            .map(radius)
            .fold(0.0, f64::max);
        let min_ring = (0..ds.n())
            .filter(|&i| ds.labels()[i] == 1)
            .map(radius)
            .fold(f64::INFINITY, f64::min);
        assert!(
            max_disc <= 1.0 && min_ring >= 1.5 - 1e-12,
            "{max_disc} {min_ring}"
        );
        // Uniform in area: about a quarter of the disc points lie within radius 1/2.
        let inner = (0..ds.n())
            .filter(|&i| ds.labels()[i] == 0 && radius(i) < 0.5)
            .count();
        assert!((inner as i64 - 125).abs() < 45, "{inner} of 500"); // Binomial sd ≈ 9.7
    }

    #[test]
    fn tight_blobs_sit_nearest_their_own_class_mean() {
        let ds = blobs(300, 4, 3, 0.1, 2).unwrap();
        let mut means = [0.0; 4 * 3];
        let counts = ds.label_counts();
        for i in 0..ds.n() {
            for j in 0..3 {
                means[ds.labels()[i] * 3 + j] += ds.row(i)[j] / counts[ds.labels()[i]] as f64;
            }
        }
        for i in 0..ds.n() {
            let dist = |c: usize| {
                (0..3)
                    .map(|j| (ds.row(i)[j] - means[c * 3 + j]).powi(2))
                    .sum::<f64>()
            };
            let nearest = (0..4).min_by(|&a, &b| dist(a).total_cmp(&dist(b))).unwrap();
            assert_eq!(nearest, ds.labels()[i]);
        }
    }

    #[test]
    fn blob_sizes_follow_make_blobs() {
        for (n, k) in [(10, 4), (9, 3), (7, 7), (100, 6)] {
            let mut counts = vec![0; k];
            (0..n).for_each(|i| counts[blob_of(i, n, k)] += 1);
            let expect: Vec<usize> = (0..k).map(|j| n / k + usize::from(j < n % k)).collect();
            assert_eq!(counts, expect, "n={n} k={k}");
        }
    }

    #[test]
    fn flipping_changes_exactly_the_returned_rows_to_another_class() {
        let mut y: Vec<usize> = (0..1000).map(|i| i % 4).collect();
        let before = y.clone();
        let flipped = flip_labels_in_place(&mut y, 4, 0.1, 5).unwrap();
        assert_eq!(flipped.len(), 100);
        assert!(flipped.windows(2).all(|w| w[0] < w[1]));
        for i in 0..1000 {
            assert_eq!(
                flipped.binary_search(&i).is_ok(),
                y[i] != before[i],
                "row {i}"
            );
        }
        // Same seed, same flips.
        let mut y2 = before.clone();
        assert_eq!(flip_labels_in_place(&mut y2, 4, 0.1, 5).unwrap(), flipped);
        assert_eq!(y2, y);
    }

    #[test]
    fn generators_reject_bad_parameters() {
        assert!(two_moons(1, 0.1, 0).is_err());
        assert!(radial(10, -0.1, 0).is_err());
        assert!(blobs(10, 0, 2, 1.0, 0).is_err());
        assert!(blobs(10, 2, 2, f64::NAN, 0).is_err());
        assert!(flip_labels_in_place(&mut [0, 1], 1, 0.5, 0).is_err());
        assert!(flip_labels_in_place(&mut [0, 1], 2, 1.5, 0).is_err());
        assert!(flip_labels_in_place(&mut [0, 3], 2, 0.5, 0).is_err());
    }
}
