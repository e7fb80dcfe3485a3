//! `puma influence` on the reference moons MLP (exact solver, ρ = 0.01) writes, one row per
//! training row in file order, the reference [remove] influence of
//! fixtures/reference/moons_mlp/influence.csv (column influence_rho0.01) within 1e-9 relative
//! to the largest |value|; it refuses an output equal to an input with one error line, and
//! warns that influence is not meaningful at a perturbed θ (‖∇J‖∞ > 1e-8), which `--polish`
//! repairs.

mod common;

use common::{moons, puma, temp_dir};
mod solvers_support;

use std::path::Path;

use solvers_support::rel_max_err;

/// Column `name` of a CSV with a header.
fn column(path: &Path, name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let c = header.iter().position(|h| *h == name).expect("column");
    lines
        .map(|l| l.split(',').nth(c).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn cli_influence_writes_reference_values() {
    let dir = temp_dir("cli_influence_reference");
    let out = dir.join("infl.csv");
    let report = dir.join("report.json");
    let o = puma(&[
        "influence",
        "--model",
        &moons("model.safetensors"),
        "--train",
        &moons("train.csv"),
        "--test",
        &moons("test.csv"),
        "--damping",
        "0.01",
        "--solver",
        "exact",
        "--out",
        out.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!stdout.contains("warning"), "{stdout}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("index,influence\n"));
    let idx = column(&out, "index");
    assert!(idx.iter().enumerate().all(|(i, &v)| v == i as f64)); // file order
    let want = column(Path::new(&moons("influence.csv")), "influence_rho0.01");
    let got = column(&out, "influence");
    assert_eq!(got.len(), want.len());
    let err = rel_max_err(&got, &want);
    assert!(err < 1e-9, "influence vs reference: {err:e}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["solver"]["rho"], 0.01);
    assert!(json["solver"]["rel_residual"].as_f64().unwrap() < 1e-10);
    assert_eq!(json["meaningful"], true);
}

#[test]
fn cli_influence_refuses_an_output_equal_to_an_input() {
    let train = moons("train.csv");
    let before = std::fs::read(&train).unwrap();
    let o = puma(&[
        "influence",
        "--model",
        &moons("model.safetensors"),
        "--train",
        &train,
        "--test",
        &moons("test.csv"),
        "--out",
        &train,
    ]);
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("is an input"), "{stderr}");
    assert_eq!(std::fs::read(&train).unwrap(), before);
}

#[test]
fn cli_influence_warns_at_a_perturbed_theta() {
    let dir = temp_dir("cli_influence_perturbed");
    let mut model = puma::io::load(moons("model.safetensors")).unwrap();
    for (k, t) in model.theta.iter_mut().enumerate() {
        *t += 1e-3 * if k % 2 == 0 { 1.0 } else { -1.0 };
    }
    let perturbed = dir.join("perturbed.safetensors");
    puma::io::save(&perturbed, &model).unwrap();
    let out = dir.join("infl.csv");
    let o = puma(&[
        "influence",
        "--model",
        perturbed.to_str().unwrap(),
        "--train",
        &moons("train.csv"),
        "--test",
        &moons("test.csv"),
        "--damping",
        "0.01",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("warning") && stdout.contains("not meaningful"),
        "{stdout}"
    );

    // --polish returns θ to the reference optimum: no warning, the reference values again
    // (a minimiser with ‖∇J‖∞ ≤ 1e-12; measured 9e-13 relative).
    let o = puma(&[
        "influence",
        "--model",
        perturbed.to_str().unwrap(),
        "--train",
        &moons("train.csv"),
        "--test",
        &moons("test.csv"),
        "--damping",
        "0.01",
        "--polish",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("before polish") && !stdout.contains("warning"),
        "{stdout}"
    );
    let want = column(Path::new(&moons("influence.csv")), "influence_rho0.01");
    let err = rel_max_err(&column(&out, "influence"), &want);
    assert!(err < 1e-9, "polished influence vs reference: {err:e}");
}
