//! SVG plots for reports (issue #10; the blog post's Figures 5, 6 and 9): detection curves,
//! reliability diagrams and 2-D decision regions, drawn with plotters' SVG backend.
//!
//! Each plot is one function taking plain data (slices, small structs, the valuation's
//! [`DetectionCurve`](crate::valuation::DetectionCurve) and the criteria's
//! [`Reliability`](crate::criteria::Reliability); never a model) and an output path; the SVG is rendered in memory, then written to a
//! temporary file and renamed ([`crate::io::report::write_atomically`]). No system fonts or
//! libraries are needed: the SVG holds `<text>` elements and the viewer picks the font, so
//! the series names and axis labels are plain text in the file, which is what the tests read.
//!
//! | function | shows | blog post |
//! |---|---|---|
//! | [`detection_curves`] | fraction of known bad points found vs fraction inspected | Figure 5 |
//! | [`reliability_diagram`] | accuracy vs confidence in 15 bins, with counts, per model | Figure 9 |
//! | [`decision_regions`] | predicted class over a 2-D grid, training points, marked points | Figure 6 |

mod detection;
mod regions;
mod reliability;

pub use detection::detection_curves;
pub use regions::{Points, RegionGrid, decision_regions, padded_bounds};
pub use reliability::reliability_diagram;

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::io::report::write_atomically;

/// What a drawing closure returns: plotters' errors boxed.
type Draw = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Renders an SVG of `size` pixels with `draw`, then writes it to `path` atomically.
fn render_svg<F>(path: &Path, size: (u32, u32), draw: F) -> Result<()>
where
    F: FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Draw,
{
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw(&root)
            .and_then(|()| root.present().map_err(Into::into))
            .map_err(|e| Error::Io {
                file: path.to_path_buf(),
                reason: format!("cannot draw the plot: {e}"),
            })?;
    }
    write_atomically(path, svg.as_bytes())
}

/// The colour of class or series `k`: matplotlib's "tab10", cycling after ten.
fn color(k: usize) -> RGBColor {
    const TAB10: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    let (r, g, b) = TAB10[k % TAB10.len()];
    RGBColor(r, g, b)
}

/// [`Error::NonFinite`] for the first NaN or ±inf in `v`.
fn check_finite(what: &'static str, v: impl IntoIterator<Item = f64>) -> Result<()> {
    match v.into_iter().enumerate().find(|(_, x)| !x.is_finite()) {
        Some((index, value)) => Err(Error::NonFinite { what, index, value }),
        None => Ok(()),
    }
}

/// Font sizes (pixels) shared by the plots.
const CAPTION: u32 = 20;
const LABEL: u32 = 15;
