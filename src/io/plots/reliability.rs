//! Reliability diagrams (blog post, Figure 9) of [`Reliability`] bins from
//! [`crate::criteria::hard_ece`] (15 equal bins of confidence); each bin's bar is its accuracy and a red mark its mean
//! confidence, beside the diagonal of perfect calibration, with the number of predictions in
//! the bin written above it. The caption
//! gives the hard ECE = Σ_b (N_b/N)·|conf_b − acc_b| (DESIGN.md §1 \[ece\], hard form).

use std::path::Path;

use plotters::prelude::*;

use super::{CAPTION, LABEL, check_finite, render_svg};
use crate::criteria::Reliability;
use crate::error::{Error, Result};

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
    let bins = first.bins.len();
    for (name, r) in panels {
        if bins == 0 || r.bins.len() != bins {
            return Err(Error::InvalidParam {
                name: "panels",
                reason: format!("panel {name:?} does not have the {bins} > 0 bins of the first"),
            });
        }
        check_finite(
            "reliability bins",
            r.bins.iter().flat_map(|b| [b.confidence, b.accuracy]),
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
            let n: usize = r.bins.iter().map(|b| b.count).sum();
            let caption = format!("{name}: ECE {:.4} (n = {n})", r.ece);
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
            let filled: Vec<usize> = (0..bins).filter(|&b| r.bins[b].count > 0).collect();
            chart
                .draw_series(filled.iter().map(|&b| {
                    let x0 = b as f64 * w;
                    Rectangle::new(
                        [(x0 + 0.04 * w, 0.0), (x0 + 0.96 * w, r.bins[b].accuracy)],
                        bar.mix(0.75).filled(),
                    )
                }))?
                .label("accuracy")
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], bar.filled()));
            chart
                .draw_series(filled.iter().map(|&b| {
                    let x0 = b as f64 * w;
                    let c = r.bins[b].confidence;
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
                let top = r.bins[b].accuracy.max(r.bins[b].confidence);
                Text::new(
                    r.bins[b].count.to_string(),
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
