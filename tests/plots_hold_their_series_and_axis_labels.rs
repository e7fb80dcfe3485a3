//! Each SVG plot of issue #10 holds the series names and axis labels it was asked for, as
//! text a reader (and this test) can find, and an unwritable path is a clear error.

use std::path::{Path, PathBuf};

use puma::Error;
use puma::criteria::{Reliability, hard_ece_from};
use puma::io::plots::{
    Points, RegionGrid, decision_regions, detection_curves, padded_bounds, reliability_diagram,
};
use puma::valuation::{DetectionCurve, ascending};

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("puma-plots-{}-{name}", std::process::id()));
    if std::env::var_os("PUMA_KEEP_PLOTS").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The text of every `<text>` element of an SVG, in order.
fn texts(svg: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find("<text") {
        rest = &rest[start..];
        let open_end = rest.find('>').expect("unterminated <text> tag");
        let close = rest.find("</text>").expect("<text> without </text>");
        out.push(rest[open_end + 1..close].trim().to_string());
        rest = &rest[close + "</text>".len()..];
    }
    out
}

/// Reads an SVG, checks it is one well-formed-looking document, returns its texts.
fn svg_texts(path: &Path) -> Vec<String> {
    let svg = std::fs::read_to_string(path).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "not an SVG: {}",
        &svg[..svg.len().min(200)]
    );
    texts(&svg)
}

fn assert_has(texts: &[String], wanted: &str) {
    assert!(
        texts.iter().any(|t| t == wanted),
        "no text {wanted:?} among {texts:?}"
    );
}

/// Only the output file is left behind: the temporary file was renamed.
fn assert_only(dir: &Path, name: &str) {
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, [name]);
}

fn unwritable() -> &'static Path {
    Path::new("/nonexistent-puma-plots/plot.svg")
}

fn assert_io_error_naming_it(result: puma::Result<()>) {
    let err = result.unwrap_err();
    assert!(
        matches!(&err, Error::Io { file, .. } if file == unwritable()),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with("/nonexistent-puma-plots/plot.svg: "),
        "{msg}"
    );
    assert!(msg.contains("No such file or directory"), "{msg}");
}

#[test]
fn detection_curves_hold_each_series_the_diagonal_and_axis_labels() {
    let dir = scratch("detection");
    let n = 200;
    let is_bad: Vec<bool> = (0..n).map(|i| i % 10 == 3).collect();
    let bad: Vec<usize> = (0..n).filter(|&i| is_bad[i]).collect();
    // A good score (bad points lowest), a useless one, and the identity order.
    let psi: Vec<f64> = (0..n)
        .map(|i| if is_bad[i] { -1.0 - i as f64 } else { i as f64 })
        .collect();
    let loss: Vec<f64> = (0..n).map(|i| ((i * 37) % 101) as f64).collect();
    let good = DetectionCurve::new("ψ value", &ascending(&psi), &bad).unwrap();
    let poor = DetectionCurve::new("training loss", &ascending(&loss), &bad).unwrap();
    assert_eq!(good.found_at(0.1), 1.0); // every bad point within the first 10%
    let path = dir.join("detection.svg");
    let series = [good, poor];
    detection_curves(&path, "digits, 10% of labels flipped", &series).unwrap();
    let t = svg_texts(&path);
    for wanted in [
        "ψ value",
        "training loss",
        "random (expected)",
        "fraction of training points inspected",
        "fraction of flipped labels found",
        "digits, 10% of labels flipped",
    ] {
        assert_has(&t, wanted);
    }
    assert_only(&dir, "detection.svg");
    assert_io_error_naming_it(detection_curves(unwritable(), "t", &series));
    assert!(detection_curves(&path, "t", &[]).is_err());
    if std::env::var_os("PUMA_KEEP_PLOTS").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn reliability_diagrams_hold_both_panels_bins_and_axis_labels() {
    let dir = scratch("reliability");
    // Over-confident before (all 0.95, 70% right), better after.
    let correct: Vec<bool> = (0..100).map(|i| i % 10 < 7).collect();
    let before = hard_ece_from(&[0.95; 100], &correct).unwrap();
    let after_conf: Vec<f64> = (0..100)
        .map(|i| if i % 2 == 0 { 0.72 } else { 0.55 })
        .collect();
    let after = hard_ece_from(&after_conf, &correct).unwrap();
    assert!(after.ece < before.ece);
    assert_eq!(before.bins.len(), 15);
    let path = dir.join("reliability.svg");
    reliability_diagram(&path, &[("before", &before), ("after", &after)]).unwrap();
    let t = svg_texts(&path);
    for wanted in [
        "confidence",
        "accuracy",
        "perfect calibration",
        "mean confidence",
        "100",
    ] {
        assert_has(&t, wanted);
    }
    let caption = |name: &str, r: &Reliability| format!("{name}: ECE {:.4} (n = 100)", r.ece);
    assert_has(&t, &caption("before", &before));
    assert_has(&t, &caption("after", &after));
    assert_has(&t, "50"); // the bin counts of the after panel
    assert_only(&dir, "reliability.svg");
    assert_io_error_naming_it(reliability_diagram(unwritable(), &[("before", &before)]));
    if std::env::var_os("PUMA_KEEP_PLOTS").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn decision_regions_hold_both_panels_classes_marked_points_and_axes() {
    let dir = scratch("regions");
    // Two clusters; the model "before" splits at x = 0, "after" at x = 1.
    let mut xy = Vec::new();
    let mut labels = Vec::new();
    for i in 0..40 {
        let t = i as f64 / 40.0;
        xy.extend([-1.5 + t, (7.0 * t).sin()]);
        labels.push(0);
        xy.extend([0.5 + t, (5.0 * t).cos()]);
        labels.push(1);
    }
    let marked = [1, 3, 5];
    let ((x0, x1), (y0, y1)) = padded_bounds(&xy);
    let before =
        RegionGrid::from_fn((x0, x1), (y0, y1), 40, 30, |x, _| usize::from(x > 0.0)).unwrap();
    let after =
        RegionGrid::from_fn((x0, x1), (y0, y1), 40, 30, |x, _| usize::from(x > 1.0)).unwrap();
    let points = Points {
        xy: &xy,
        labels: &labels,
        marked: &marked,
        axes: ["x0", "x1"],
    };
    let path = dir.join("regions.svg");
    decision_regions(&path, &points, &[("before", &before), ("after", &after)]).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    let t = texts(&svg);
    for wanted in [
        "before",
        "after",
        "class 0",
        "class 1",
        "marked for removal",
        "x0",
        "x1",
    ] {
        assert_has(&t, wanted);
    }
    // Each panel: 80 training points as circles (plus one legend circle per class).
    assert_eq!(svg.matches("<circle").count(), 2 * (80 + 2));
    assert_only(&dir, "regions.svg");
    assert_io_error_naming_it(decision_regions(
        unwritable(),
        &points,
        &[("before", &before)],
    ));
    let bad = Points {
        marked: &[80],
        ..points
    };
    let err = decision_regions(&path, &bad, &[("before", &before)]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::IndexOutOfRange {
                index: 80,
                len: 80,
                ..
            }
        ),
        "{err:?}"
    );
    if std::env::var_os("PUMA_KEEP_PLOTS").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
