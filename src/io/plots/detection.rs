//! Detection curves (blog post, Figure 5): inspect training points in the order a score
//! ranks them and plot the fraction of the known bad points (flipped labels) found against
//! the fraction inspected. A ranking no better than chance follows the diagonal, drawn as
//! "random (expected)"; a perfect one rises with slope n/|bad| to 1.

use std::path::Path;

use plotters::prelude::*;

use super::{CAPTION, LABEL, check_finite, color, render_svg};
use crate::error::{Error, Result};

/// Indices `0..n` ordered by `scores` ascending (lowest value first, the order in which
/// DESIGN.md §1 \[ψ\] inspects points), ties broken by index; NaN sorts last.
pub fn ascending_order(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        let key = |i: usize| (scores[i].is_nan(), scores[i]);
        let (na, va) = key(a);
        let (nb, vb) = key(b);
        na.cmp(&nb).then(va.total_cmp(&vb)).then(a.cmp(&b))
    });
    order
}

/// The detection curve of an inspection `order` over points of which `is_bad` marks the
/// known bad ones: the n + 1 points (k/n, found_k/|bad|), k = 0..=n, where found_k counts
/// the bad points among the first k inspected.
///
/// # Errors
/// [`Error::ShapeMismatch`] if `order` is not as long as `is_bad`;
/// [`Error::IndexOutOfRange`] for an index ≥ n; [`Error::InvalidParam`] if an index repeats
/// or no point is bad.
///
/// # Examples
/// ```
/// use puma::io::plots::detection_curve;
/// let curve = detection_curve(&[2, 0, 1, 3], &[false, false, true, false]).unwrap();
/// assert_eq!(curve[1], (0.25, 1.0)); // the one bad point is inspected first
/// ```
pub fn detection_curve(order: &[usize], is_bad: &[bool]) -> Result<Vec<(f64, f64)>> {
    let n = is_bad.len();
    if order.len() != n {
        return Err(Error::ShapeMismatch {
            what: "inspection order vs points",
            expected: n,
            found: order.len(),
        });
    }
    let bad = is_bad.iter().filter(|&&b| b).count();
    if bad == 0 {
        return Err(Error::InvalidParam {
            name: "is_bad",
            reason: "no point is marked bad, so there is nothing to detect".into(),
        });
    }
    let mut seen = vec![false; n];
    let mut curve = Vec::with_capacity(n + 1);
    curve.push((0.0, 0.0));
    let mut found = 0usize;
    for (k, &i) in order.iter().enumerate() {
        if i >= n {
            return Err(Error::IndexOutOfRange {
                what: "inspection order",
                index: i,
                len: n,
            });
        }
        if std::mem::replace(&mut seen[i], true) {
            return Err(Error::InvalidParam {
                name: "order",
                reason: format!("index {i} appears twice in the inspection order"),
            });
        }
        found += usize::from(is_bad[i]);
        curve.push(((k + 1) as f64 / n as f64, found as f64 / bad as f64));
    }
    Ok(curve)
}

/// The fraction found after inspecting `fraction` of the points: the curve's value at the
/// last point with x ≤ `fraction` (0 for an empty curve).
pub fn found_at(curve: &[(f64, f64)], fraction: f64) -> f64 {
    curve
        .iter()
        .take_while(|(x, _)| *x <= fraction + 1e-12)
        .last()
        .map_or(0.0, |&(_, y)| y)
}

/// Draws detection curves: one line per named series of (fraction inspected, fraction
/// found) points, plus the diagonal "random (expected)", to an SVG at `path`.
///
/// Axis labels: "fraction of training points inspected" and "fraction of flipped labels
/// found"; `title` is the caption.
///
/// # Errors
/// [`Error::InvalidParam`] for no series or an empty one; [`Error::NonFinite`] for a NaN
/// coordinate; [`Error::Io`] naming `path` if it cannot be written.
pub fn detection_curves(path: &Path, title: &str, series: &[(&str, &[(f64, f64)])]) -> Result<()> {
    if series.is_empty() {
        return Err(Error::InvalidParam {
            name: "series",
            reason: "a detection plot needs at least one series".into(),
        });
    }
    for (name, points) in series {
        if points.is_empty() {
            return Err(Error::InvalidParam {
                name: "series",
                reason: format!("series {name:?} has no points"),
            });
        }
        check_finite("detection curve", points.iter().flat_map(|&(x, y)| [x, y]))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curve_counts_bad_points_in_inspection_order() {
        let is_bad = [true, false, true, false];
        let curve = detection_curve(&[1, 0, 3, 2], &is_bad).unwrap();
        let ys: Vec<f64> = curve.iter().map(|p| p.1).collect();
        assert_eq!(ys, [0.0, 0.0, 0.5, 0.5, 1.0]);
        assert_eq!(found_at(&curve, 0.5), 0.5);
        assert_eq!(found_at(&curve, 0.49), 0.0);
    }

    #[test]
    fn ascending_order_breaks_ties_by_index_and_puts_nan_last() {
        assert_eq!(ascending_order(&[0.5, f64::NAN, -1.0, 0.5]), [2, 0, 3, 1]);
    }

    #[test]
    fn bad_orders_are_errors() {
        let is_bad = [true, false];
        assert!(matches!(
            detection_curve(&[0, 2], &is_bad),
            Err(Error::IndexOutOfRange {
                index: 2,
                len: 2,
                ..
            })
        ));
        assert!(detection_curve(&[0, 0], &is_bad).is_err());
        assert!(detection_curve(&[0], &is_bad).is_err());
        assert!(detection_curve(&[0, 1], &[false, false]).is_err());
    }
}
