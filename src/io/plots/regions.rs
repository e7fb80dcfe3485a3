//! Decision regions of a 2-D classifier (blog post, Figure 6): the predicted class over a
//! grid, shaded in the class's colour, with the training points coloured by label and the
//! points marked for removal drawn as crosses, one panel per model ("before", "after").

use std::path::Path;

use plotters::prelude::*;

use super::{CAPTION, LABEL, check_finite, color, render_svg};
use crate::error::{Error, Result};

/// Predicted classes at the centres of an `nx × ny` grid over `[x.0, x.1] × [y.0, y.1]`:
/// `classes[j·nx + i]` is the class at (x.0 + (i + ½)·dx, y.0 + (j + ½)·dy).
#[derive(Clone, Debug, PartialEq)]
pub struct RegionGrid {
    /// Range of the first feature, x.0 < x.1.
    pub x: (f64, f64),
    /// Range of the second feature, y.0 < y.1.
    pub y: (f64, f64),
    /// Cells along x, ≥ 1.
    pub nx: usize,
    /// Cells along y, ≥ 1.
    pub ny: usize,
    /// The predicted class per cell, row-major from the bottom row.
    pub classes: Vec<usize>,
}

impl RegionGrid {
    /// The cell centres, row-major from the bottom row, flattened as (x, y) pairs: a
    /// `nx·ny × 2` feature matrix for a caller that predicts in one batch, then calls
    /// [`RegionGrid::new`].
    pub fn centers(x: (f64, f64), y: (f64, f64), nx: usize, ny: usize) -> Vec<f64> {
        let (dx, dy) = ((x.1 - x.0) / nx as f64, (y.1 - y.0) / ny as f64);
        let mut c = Vec::with_capacity(2 * nx * ny);
        for j in 0..ny {
            for i in 0..nx {
                c.push(x.0 + (i as f64 + 0.5) * dx);
                c.push(y.0 + (j as f64 + 0.5) * dy);
            }
        }
        c
    }

    /// A grid from its predicted classes.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for an empty or non-finite range or `nx`, `ny` of 0;
    /// [`Error::ShapeMismatch`] if `classes` does not have `nx·ny` entries.
    pub fn new(
        x: (f64, f64),
        y: (f64, f64),
        nx: usize,
        ny: usize,
        classes: Vec<usize>,
    ) -> Result<RegionGrid> {
        let ok = |r: (f64, f64)| r.0.is_finite() && r.1.is_finite() && r.0 < r.1;
        if !(ok(x) && ok(y) && nx > 0 && ny > 0) {
            return Err(Error::InvalidParam {
                name: "grid",
                reason: format!(
                    "need finite ranges lo < hi and nx, ny ≥ 1; got {x:?} × {y:?}, {nx} × {ny}"
                ),
            });
        }
        if classes.len() != nx * ny {
            return Err(Error::ShapeMismatch {
                what: "grid classes vs nx·ny",
                expected: nx * ny,
                found: classes.len(),
            });
        }
        Ok(RegionGrid {
            x,
            y,
            nx,
            ny,
            classes,
        })
    }

    /// A grid whose classes are `predict(x, y)` at each cell centre.
    ///
    /// # Errors
    /// As [`RegionGrid::new`].
    pub fn from_fn(
        x: (f64, f64),
        y: (f64, f64),
        nx: usize,
        ny: usize,
        mut predict: impl FnMut(f64, f64) -> usize,
    ) -> Result<RegionGrid> {
        let classes = RegionGrid::centers(x, y, nx, ny)
            .chunks_exact(2)
            .map(|c| predict(c[0], c[1]))
            .collect();
        RegionGrid::new(x, y, nx, ny, classes)
    }
}

/// The training points of a 2-D data set and the ones marked for removal.
#[derive(Clone, Copy, Debug)]
pub struct Points<'a> {
    /// Features, n × 2 row-major.
    pub xy: &'a [f64],
    /// Labels, n of them.
    pub labels: &'a [usize],
    /// Row indices of the marked points (drawn as crosses).
    pub marked: &'a [usize],
    /// Axis labels (feature names), for example `["x0", "x1"]`.
    pub axes: [&'a str; 2],
}

/// The range of each feature of an n × 2 matrix, widened by 10% on each side (a unit range
/// around a constant feature; (−1, 1) for no points).
pub fn padded_bounds(xy: &[f64]) -> ((f64, f64), (f64, f64)) {
    let range = |k: usize| {
        let (lo, hi) = xy
            .iter()
            .skip(k)
            .step_by(2)
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        if lo > hi {
            (-1.0, 1.0)
        } else if lo == hi {
            (lo - 0.5, hi + 0.5)
        } else {
            let pad = 0.1 * (hi - lo);
            (lo - pad, hi + pad)
        }
    };
    (range(0), range(1))
}

/// Width of one panel in pixels, of which the legend takes the right [`LEGEND_WIDTH`], so it
/// never hides a point.
const PANEL_WIDTH: u32 = 660;
const LEGEND_WIDTH: u32 = 160;

/// Draws one decision-region panel per named grid ("before", "after", ...) side by side to
/// an SVG at `path`, each with every training point (legend "class k") and the marked
/// points as black crosses (legend "marked for removal").
///
/// # Errors
/// [`Error::InvalidParam`] for no panels or `xy` not n × 2; [`Error::ShapeMismatch`] if
/// labels and points differ in number; [`Error::IndexOutOfRange`] for a marked index ≥ n;
/// [`Error::NonFinite`] for a NaN feature; [`Error::Io`] naming `path` if it cannot be
/// written.
pub fn decision_regions(
    path: &Path,
    points: &Points<'_>,
    panels: &[(&str, &RegionGrid)],
) -> Result<()> {
    if panels.is_empty() {
        return Err(Error::InvalidParam {
            name: "panels",
            reason: "a decision-region plot needs at least one model".into(),
        });
    }
    if !points.xy.len().is_multiple_of(2) {
        return Err(Error::InvalidParam {
            name: "points",
            reason: format!(
                "decision regions need 2 features; got {} values",
                points.xy.len()
            ),
        });
    }
    let n = points.xy.len() / 2;
    if points.labels.len() != n {
        return Err(Error::ShapeMismatch {
            what: "labels vs 2-D points",
            expected: n,
            found: points.labels.len(),
        });
    }
    if let Some(&index) = points.marked.iter().find(|&&i| i >= n) {
        return Err(Error::IndexOutOfRange {
            what: "marked point",
            index,
            len: n,
        });
    }
    check_finite("2-D points", points.xy.iter().copied())?;
    let classes = points
        .labels
        .iter()
        .chain(panels.iter().flat_map(|(_, g)| &g.classes))
        .max()
        .map_or(0, |&k| k + 1);
    let width = PANEL_WIDTH * panels.len() as u32;
    render_svg(path, (width, 540), |root| {
        root.fill(&WHITE)?;
        let areas = root.split_evenly((1, panels.len()));
        for (area, (name, grid)) in areas.iter().zip(panels) {
            let mut chart = ChartBuilder::on(area)
                .caption(*name, ("sans-serif", CAPTION))
                .margin(15)
                .margin_right(LEGEND_WIDTH)
                .x_label_area_size(45)
                .y_label_area_size(55)
                .build_cartesian_2d(grid.x.0..grid.x.1, grid.y.0..grid.y.1)?;
            chart
                .configure_mesh()
                .x_desc(points.axes[0])
                .y_desc(points.axes[1])
                .label_style(("sans-serif", LABEL))
                .disable_mesh()
                .draw()?;
            chart.draw_series(region_runs(grid))?;
            for k in 0..classes {
                let c = color(k);
                let rows = (0..n).filter(|&i| points.labels[i] == k);
                chart.draw_series(rows.map(|i| {
                    Circle::new((points.xy[2 * i], points.xy[2 * i + 1]), 3, c.filled())
                }))?;
            }
            chart.draw_series(points.marked.iter().map(|&i| {
                Cross::new(
                    (points.xy[2 * i], points.xy[2 * i + 1]),
                    5,
                    BLACK.stroke_width(2),
                )
            }))?;
            // The legend, in the panel's right margin so it never hides a point.
            let x = (PANEL_WIDTH - LEGEND_WIDTH + 5) as i32;
            let row_y = |k: usize| 60 + 22 * k as i32;
            let font = ("sans-serif", LABEL).into_font();
            for k in 0..classes {
                area.draw(&Circle::new((x + 6, row_y(k)), 4, color(k).filled()))?;
                area.draw(&Text::new(
                    format!("class {k}"),
                    (x + 18, row_y(k) - 7),
                    font.clone(),
                ))?;
            }
            area.draw(&Cross::new(
                (x + 6, row_y(classes)),
                5,
                BLACK.stroke_width(2),
            ))?;
            area.draw(&Text::new(
                "marked for removal",
                (x + 18, row_y(classes) - 7),
                font.clone(),
            ))?;
        }
        Ok(())
    })
}

/// The grid as filled rectangles, one per run of equal classes along a row (far fewer
/// elements than cells: a smooth boundary crosses each row a few times).
fn region_runs(grid: &RegionGrid) -> Vec<Rectangle<(f64, f64)>> {
    let (dx, dy) = (
        (grid.x.1 - grid.x.0) / grid.nx as f64,
        (grid.y.1 - grid.y.0) / grid.ny as f64,
    );
    let mut rects = Vec::new();
    for j in 0..grid.ny {
        let row = &grid.classes[j * grid.nx..(j + 1) * grid.nx];
        let mut start = 0;
        for i in 1..=grid.nx {
            if i == grid.nx || row[i] != row[start] {
                let corner =
                    |i: usize, j: usize| (grid.x.0 + i as f64 * dx, grid.y.0 + j as f64 * dy);
                let tint = color(row[start]).mix(0.22).filled();
                rects.push(Rectangle::new([corner(start, j), corner(i, j + 1)], tint));
                start = i;
            }
        }
    }
    rects
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_equal_neighbours() {
        let g =
            RegionGrid::from_fn((0.0, 4.0), (0.0, 2.0), 4, 2, |x, _| usize::from(x > 2.0)).unwrap();
        assert_eq!(g.classes, [0, 0, 1, 1, 0, 0, 1, 1]);
        assert_eq!(region_runs(&g).len(), 4);
    }

    #[test]
    fn bounds_are_padded() {
        let ((x0, x1), (y0, y1)) = padded_bounds(&[0.0, 5.0, 10.0, 5.0]);
        assert_eq!((x0, x1), (-1.0, 11.0));
        assert_eq!((y0, y1), (4.5, 5.5));
    }

    #[test]
    fn bad_grids_are_errors() {
        assert!(RegionGrid::new((1.0, 0.0), (0.0, 1.0), 1, 1, vec![0]).is_err());
        assert!(RegionGrid::new((0.0, 1.0), (0.0, 1.0), 2, 1, vec![0]).is_err());
    }
}
