//! Reliability diagrams (blog post, Figure 9): predictions binned by confidence into 15
//! equal bins ((b−1)/15, b/15]; each bin's bar is its accuracy and a red mark its mean
//! confidence, beside the diagonal of perfect calibration, with the number of predictions in
//! the bin written above it. The caption
//! gives the hard ECE = Σ_b (N_b/N)·|conf_b − acc_b| (DESIGN.md §1 \[ece\], hard form).

use std::path::Path;

use plotters::prelude::*;

use super::{CAPTION, LABEL, check_finite, render_svg};
use crate::error::{Error, Result};

/// Per-bin counts, mean confidences and accuracies of a model's predictions.
#[derive(Clone, Debug, PartialEq)]
pub struct Reliability {
    /// Predictions per bin, N_b.
    pub count: Vec<usize>,
    /// Mean confidence per bin, conf_b (0 for an empty bin).
    pub confidence: Vec<f64>,
    /// Fraction correct per bin, acc_b (0 for an empty bin).
    pub accuracy: Vec<f64>,
}

impl Reliability {
    /// The number of bins of DESIGN.md's \[ece\].
    pub const BINS: usize = 15;

    /// Bins `confidence` (the probability of the predicted class) and `correct` (whether
    /// the predicted class is the label) into [`Reliability::BINS`] bins.
    ///
    /// # Errors
    /// As [`Reliability::with_bins`].
    ///
    /// # Examples
    /// ```
    /// use puma::io::plots::Reliability;
    /// let r = Reliability::from_predictions(&[0.95, 0.95, 0.55], &[true, false, true]).unwrap();
    /// assert_eq!(r.count[14], 2); // (14/15, 1]
    /// assert!((r.ece() - (2.0 / 3.0 * 0.45 + 1.0 / 3.0 * 0.45)).abs() < 1e-12);
    /// ```
    pub fn from_predictions(confidence: &[f64], correct: &[bool]) -> Result<Reliability> {
        Reliability::with_bins(confidence, correct, Reliability::BINS)
    }

    /// As [`Reliability::from_predictions`] with `bins` equal bins ((b−1)/bins, b/bins]
    /// (a confidence of exactly 0 goes into the first).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the slices differ in length; [`Error::InvalidParam`] for
    /// `bins == 0` or a confidence outside [0, 1]; [`Error::NonFinite`] for NaN.
    pub fn with_bins(confidence: &[f64], correct: &[bool], bins: usize) -> Result<Reliability> {
        if confidence.len() != correct.len() {
            return Err(Error::ShapeMismatch {
                what: "confidences vs correctness flags",
                expected: confidence.len(),
                found: correct.len(),
            });
        }
        if bins == 0 {
            return Err(Error::InvalidParam {
                name: "bins",
                reason: "need at least one bin".into(),
            });
        }
        check_finite("confidence", confidence.iter().copied())?;
        if let Some(i) = confidence.iter().position(|c| !(0.0..=1.0).contains(c)) {
            return Err(Error::InvalidParam {
                name: "confidence",
                reason: format!(
                    "confidence {} at index {i} is outside [0, 1]",
                    confidence[i]
                ),
            });
        }
        let mut r = Reliability {
            count: vec![0; bins],
            confidence: vec![0.0; bins],
            accuracy: vec![0.0; bins],
        };
        for (&c, &ok) in confidence.iter().zip(correct) {
            let b = ((c * bins as f64).ceil() as usize).clamp(1, bins) - 1;
            r.count[b] += 1;
            r.confidence[b] += c;
            r.accuracy[b] += f64::from(u8::from(ok));
        }
        for b in 0..bins {
            if r.count[b] > 0 {
                r.confidence[b] /= r.count[b] as f64;
                r.accuracy[b] /= r.count[b] as f64;
            }
        }
        Ok(r)
    }

    /// Number of bins.
    pub fn bins(&self) -> usize {
        self.count.len()
    }

    /// Number of predictions, N = Σ_b N_b.
    pub fn n(&self) -> usize {
        self.count.iter().sum()
    }

    /// Hard expected calibration error Σ_b (N_b/N)·|conf_b − acc_b| (0 with no predictions).
    pub fn ece(&self) -> f64 {
        let n = self.n();
        if n == 0 {
            return 0.0;
        }
        (0..self.bins())
            .map(|b| {
                self.count[b] as f64 / n as f64 * (self.confidence[b] - self.accuracy[b]).abs()
            })
            .sum()
    }
}

/// Draws one reliability diagram per named panel ("before", "after", ...) side by side to
/// an SVG at `path`. Each panel: accuracy bars with their counts, a mark at each bin's mean
/// confidence, the diagonal "perfect calibration", and its ECE in the caption. Axis labels "confidence" and
/// "accuracy".
///
/// # Errors
/// [`Error::InvalidParam`] for no panels or panels with unequal bin counts, a bin count of
/// 0 or bins whose three vectors differ in length; [`Error::NonFinite`] for NaN;
/// [`Error::Io`] naming `path` if it cannot be written.
pub fn reliability_diagram(path: &Path, panels: &[(&str, &Reliability)]) -> Result<()> {
    let Some((_, first)) = panels.first() else {
        return Err(Error::InvalidParam {
            name: "panels",
            reason: "a reliability diagram needs at least one model".into(),
        });
    };
    let bins = first.bins();
    for (name, r) in panels {
        if bins == 0 || r.bins() != bins || r.confidence.len() != bins || r.accuracy.len() != bins {
            return Err(Error::InvalidParam {
                name: "panels",
                reason: format!("panel {name:?} does not have {bins} > 0 bins in every vector"),
            });
        }
        check_finite(
            "reliability bins",
            r.confidence.iter().chain(&r.accuracy).copied(),
        )?;
    }
    let width = 520 * panels.len() as u32;
    render_svg(path, (width, 520), |root| {
        root.fill(&WHITE)?;
        let areas = root.split_evenly((1, panels.len()));
        let bar = RGBColor(31, 119, 180);
        let mark = RGBColor(214, 39, 40);
        let grey = RGBColor(120, 120, 120);
        for (area, (name, r)) in areas.iter().zip(panels) {
            let caption = format!("{name}: ECE {:.4} (n = {})", r.ece(), r.n());
            let mut chart = ChartBuilder::on(area)
                .caption(caption, ("sans-serif", CAPTION))
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(55)
                .build_cartesian_2d(0f64..1f64, 0f64..1.12f64)?;
            chart
                .configure_mesh()
                .x_desc("confidence")
                .y_desc("accuracy")
                .label_style(("sans-serif", LABEL))
                .disable_x_mesh()
                .draw()?;
            let w = 1.0 / bins as f64;
            let filled: Vec<usize> = (0..bins).filter(|&b| r.count[b] > 0).collect();
            chart
                .draw_series(filled.iter().map(|&b| {
                    let x0 = b as f64 * w;
                    Rectangle::new(
                        [(x0 + 0.04 * w, 0.0), (x0 + 0.96 * w, r.accuracy[b])],
                        bar.mix(0.75).filled(),
                    )
                }))?
                .label("accuracy")
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], bar.filled()));
            chart
                .draw_series(filled.iter().map(|&b| {
                    let x0 = b as f64 * w;
                    let c = r.confidence[b];
                    PathElement::new([(x0, c), (x0 + w, c)], mark.stroke_width(3))
                }))?
                .label("mean confidence")
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 14, y)], mark.stroke_width(3))
                });
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.0, 0.0), (1.0, 1.0)],
                    6,
                    4,
                    grey.stroke_width(1),
                ))?
                .label("perfect calibration")
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], grey));
            chart.draw_series(filled.iter().map(|&b| {
                let top = r.accuracy[b].max(r.confidence[b]);
                Text::new(
                    r.count[b].to_string(),
                    ((b as f64 + 0.1) * w, top + 0.045),
                    ("sans-serif", 11),
                )
            }))?;
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .label_font(("sans-serif", LABEL))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_right_closed_and_zero_goes_first() {
        let r = Reliability::from_predictions(&[0.0, 1.0 / 15.0, 0.1, 1.0], &[true; 4]).unwrap();
        assert_eq!(r.count[0], 2);
        assert_eq!(r.count[1], 1);
        assert_eq!(r.count[14], 1);
        assert_eq!(r.n(), 4);
    }

    #[test]
    fn a_calibrated_bin_has_no_error() {
        let r = Reliability::with_bins(&[0.5, 0.5], &[true, false], 2).unwrap();
        assert_eq!(r.ece(), 0.0);
        assert!(Reliability::with_bins(&[1.5], &[true], 2).is_err());
        assert!(Reliability::with_bins(&[f64::NAN], &[true], 2).is_err());
    }
}
