//! `puma train` on the reference digits problem reaches the reference optimum (the test
//! accuracy and mean test loss of summary.json), writes a model file `puma::io::load` reads
//! back, stores the standardisation it applied, and refuses to overwrite an input.

mod common;

use common::puma;

use std::path::{Path, PathBuf};

use puma::data::read_dataset;
use puma::model::Samples;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("puma-cli-train-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn logistic_regression_on_reference_digits_matches_summary() {
    let dir = scratch("logreg");
    let out_file = dir.join("model.safetensors");
    let out = puma::<&std::ffi::OsStr>(&[
        "train".as_ref(),
        "--data".as_ref(),
        fixture("reference/digits_logreg/train.csv").as_os_str(),
        "--out".as_ref(),
        out_file.as_os_str(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("stop: converged"), "{stdout}");
    assert!(!stdout.contains("warning"), "{stdout}");

    let model = puma::io::load(&out_file).unwrap();
    assert_eq!(model.mlp.sizes(), &[64, 10]);
    assert_eq!(model.metadata.get("l2").map(String::as_str), Some("0.001"));
    let test = read_dataset(fixture("reference/digits_logreg/test.csv"), None, None).unwrap();
    let eval = model
        .mlp
        .evaluate(&model.theta, &Samples::of(&test))
        .unwrap();
    // summary.json: test_acc 0.9083333333333333 (327 of 360), test_mean_ce 0.36520858100195613.
    // Both runs stop within ‖∇J‖∞ ≤ 1e-12 of the same strictly convex optimum (μ = 1e-3 makes
    // H ⪰ μI), so ‖θ − θ*‖ ≤ 1e-12·√p/μ ≈ 3e-8 and the loss agrees to about that.
    assert_eq!((eval.accuracy * 360.0).round() as usize, 327);
    assert!(
        (eval.mean_loss - 0.36520858100195613).abs() < 1e-7,
        "mean test loss {}",
        eval.mean_loss
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn standardisation_is_stored_and_held_out_rows_are_reported() {
    let dir = scratch("mlp");
    let out_file = dir.join("mlp.safetensors");
    let out = puma::<&std::ffi::OsStr>(&[
        "train".as_ref(),
        "--data".as_ref(),
        fixture("breast_cancer/breast_cancer.csv").as_os_str(),
        "--hidden".as_ref(),
        "8".as_ref(),
        "--standardise".as_ref(),
        "--test-fraction".as_ref(),
        "0.25".as_ref(),
        "--out".as_ref(),
        out_file.as_os_str(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("held out    accuracy"), "{stdout}");
    let model = puma::io::load(&out_file).unwrap();
    assert_eq!(model.mlp.sizes(), &[30, 8, 2]);
    let scaler = puma::cli::train::stored_scaler(&model).unwrap().unwrap();
    assert_eq!(scaler.mean.len(), 30);
    // Feature 0 (mean radius) is in the tens of units with a spread of a few units.
    assert!(
        scaler.mean[0] > 10.0 && scaler.mean[0] < 20.0,
        "{}",
        scaler.mean[0]
    );
    assert!(
        scaler.scale[0] > 1.0 && scaler.scale[0] < 10.0,
        "{}",
        scaler.scale[0]
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_output_equal_to_the_input_is_refused_and_the_input_kept() {
    let dir = scratch("refuse");
    let data = dir.join("train.csv");
    std::fs::copy(fixture("reference/moons_mlp/train.csv"), &data).unwrap();
    let before = std::fs::read(&data).unwrap();
    let out = puma::<&std::ffi::OsStr>(&[
        "train".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--out".as_ref(),
        data.as_os_str(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is an input"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(std::fs::read(&data).unwrap(), before);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_bad_activation_is_one_error_line() {
    let out = puma::<&std::ffi::OsStr>(&[
        "train".as_ref(),
        "--data".as_ref(),
        fixture("reference/moons_mlp/train.csv").as_os_str(),
        "--act".as_ref(),
        "swish".as_ref(),
        "--out".as_ref(),
        std::env::temp_dir()
            .join("never-written.safetensors")
            .as_os_str(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown activation \"swish\""), "{stderr}");
}
