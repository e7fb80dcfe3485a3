//! Detection curves (blog post, Figure 5): inspect training points in the order a score
//! ranks them and plot the fraction of the known bad points (flipped labels) found against
//! the fraction inspected. A ranking no better than chance follows the diagonal, drawn as
//! "random (expected)"; a perfect one rises with slope n/|bad| to 1. The curves themselves
//! are [`DetectionCurve`]s from the valuation.

use std::path::Path;

use plotters::prelude::*;

use super::{CAPTION, LABEL, check_finite, color, render_svg};
use crate::error::{Error, Result};
use crate::valuation::DetectionCurve;

/// Draws detection curves: one line per [`DetectionCurve`] (fraction inspected k/n against
/// fraction found), plus the diagonal "random (expected)", to an SVG at `path`.
///
/// Axis labels: "fraction of training points inspected" and "fraction of flipped labels
/// found"; `title` is the caption.
///
/// # Errors
/// [`Error::InvalidParam`] for no curves or a curve with no points; [`Error::NonFinite`]
/// for a NaN fraction; [`Error::Io`] naming `path` if it cannot be written.
pub fn detection_curves(path: &Path, title: &str, curves: &[DetectionCurve]) -> Result<()> {
    if curves.is_empty() {
        return Err(Error::InvalidParam {
            name: "curves",
            reason: "a detection plot needs at least one curve".into(),
        });
    }
    let mut series = Vec::with_capacity(curves.len());
    for c in curves {
        if c.found.len() < 2 {
            return Err(Error::InvalidParam {
                name: "curves",
                reason: format!("curve {:?} has no points", c.name),
            });
        }
        check_finite("detection curve", c.found.iter().copied())?;
        let n = (c.found.len() - 1) as f64;
        let points: Vec<(f64, f64)> = c
            .found
            .iter()
            .enumerate()
            .map(|(k, &f)| (k as f64 / n, f))
            .collect();
        series.push((c.name.as_str(), points));
    }
    render_svg(path, (720, 560), |root| {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", CAPTION))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(55)
            .build_cartesian_2d(0f64..1f64, 0f64..1.02f64)?;
        chart
            .configure_mesh()
            .x_desc("fraction of training points inspected")
            .y_desc("fraction of flipped labels found")
            .label_style(("sans-serif", LABEL))
            .draw()?;
        let grey = RGBColor(120, 120, 120);
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                6,
                4,
                grey.stroke_width(1),
            ))?
            .label("random (expected)")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], grey));
        for (k, (name, points)) in series.iter().enumerate() {
            let c = color(k);
            chart
                .draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(2)))?
                .label(*name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font(("sans-serif", LABEL))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })
}
