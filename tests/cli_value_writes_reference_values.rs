//! `puma value` on the reference digits logistic regression (exact solver, ρ = 0) writes
//! `index,value,self_influence`, one row per training row in file order: for the mean test
//! cross-entropy the value is the reference [remove] influence (influence_rho0) and the last
//! column the reference self-influence (self_influence_rho0), within 1e-9 relative to the
//! largest |value|. The other criteria (per-class loss, soft ECE, one test row) give finite
//! values; `--bad` puts detection curves in the JSON report; an output equal to an input is
//! refused with one error line and the input is left untouched.

mod common;

use common::{digits, puma, temp_dir};

use std::path::Path;

/// The header and column `name` of a CSV.
fn column(path: &Path, name: &str) -> (String, Vec<f64>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let c = header.split(',').position(|h| h == name).expect("column");
    let values = lines
        .map(|l| l.split(',').nth(c).unwrap().parse().unwrap())
        .collect();
    (header, values)
}

fn rel_max_err(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    got.iter()
        .zip(want)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
        / scale
}

fn base_args(out: &str) -> Vec<&str> {
    vec!["value", "--solver", "exact", "--out", out]
}

#[test]
fn cli_value_writes_reference_values() {
    let dir = temp_dir("cli_value_reference");
    let out = dir.join("values.csv");
    let report = dir.join("values.json");
    let (model, train, test, flipped) = (
        digits("model.safetensors"),
        digits("train.csv"),
        digits("test.csv"),
        digits("flipped.txt"),
    );
    let outs = out.display().to_string();
    let mut args = base_args(&outs);
    let reps = report.display().to_string();
    args.extend([
        "--model", &model, "--train", &train, "--eval", &test, "--bad", &flipped, "--report", &reps,
    ]);
    let o = puma(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("harmful") && stdout.contains("self-influence"),
        "{stdout}"
    );
    let (header, value) = column(&out, "value");
    assert_eq!(header, "index,value,self_influence");
    let (_, self_infl) = column(&out, "self_influence");
    let reference = common::fixture("reference/digits_logreg/influence.csv");
    let (_, want_value) = column(&reference, "influence_rho0");
    let (_, want_self) = column(&reference, "self_influence_rho0");
    let (ev, es) = (
        rel_max_err(&value, &want_value),
        rel_max_err(&self_infl, &want_self),
    );
    assert!(
        ev < 1e-9 && es < 1e-9,
        "value {ev:e}, self-influence {es:e}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let curves = json["detection"].as_array().unwrap();
    assert_eq!(curves.len(), 5);
    assert!(curves[1]["found_at_20pct"].as_f64().unwrap() >= 0.9); // self-influence

    for extra in [
        &["--criterion", "class-loss"][..],
        &["--criterion", "ece"],
        &["--criterion", "loss", "--loss", "brier"],
        &["--test-index", "7", "--top", "3"],
    ] {
        let mut args = base_args(&outs);
        args.extend(["--model", &model, "--train", &train, "--eval", &test]);
        args.extend(extra);
        let o = puma(&args);
        assert!(
            o.status.success(),
            "{extra:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let (_, v) = column(&out, "value");
        assert_eq!(v.len(), 1437);
        assert!(
            v.iter().all(|x| x.is_finite()) && v.iter().any(|x| *x != 0.0),
            "{extra:?}"
        );
    }
}

#[test]
fn cli_value_refuses_to_overwrite_an_input() {
    let dir = temp_dir("cli_value_refuse");
    let eval = dir.join("eval.csv");
    std::fs::copy(digits("test.csv"), &eval).unwrap();
    let before = std::fs::read(&eval).unwrap();
    let evals = eval.display().to_string();
    let (model, train) = (digits("model.safetensors"), digits("train.csv"));
    let mut args = base_args(&evals);
    args.extend(["--model", &model, "--train", &train, "--eval", &evals]);
    let o = puma(&args);
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("is an input"), "{stderr}");
    assert_eq!(std::fs::read(&eval).unwrap(), before);
    let bad_row = puma(&[
        "value",
        "--model",
        &model,
        "--train",
        &train,
        "--eval",
        &evals,
        "--test-index",
        "360",
        "--out",
        &dir.join("v.csv").display().to_string(),
    ]);
    assert!(!bad_row.status.success());
    assert!(!dir.join("v.csv").exists(), "no output after a refused row");
}
