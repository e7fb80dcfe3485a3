//! `puma train` writes the same model whatever `--threads`, a JSON `--report` that agrees with
//! the model file and the printed ‖∇J‖∞, and supports an Adam warm start (`--epochs`); no
//! temporary file is left behind.

mod common;

use common::puma_ok as puma;

use std::path::{Path, PathBuf};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("puma-train-report-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn train(dir: &Path, name: &str, extra: &[&str]) -> (PathBuf, String) {
    let model = dir.join(format!("{name}.safetensors"));
    let data = fixture("breast_cancer/breast_cancer.csv");
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "train".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--hidden".as_ref(),
        "4".as_ref(),
        "--standardise".as_ref(),
        "--out".as_ref(),
        model.as_os_str(),
    ];
    args.extend(extra.iter().map(|&a| std::ffi::OsStr::new(a)));
    let out = puma::<&std::ffi::OsStr>(&args);
    (model, String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn the_model_does_not_depend_on_the_thread_count() {
    let dir = scratch("threads");
    let (one, _) = train(&dir, "one", &["--threads", "1"]);
    let (two, _) = train(&dir, "two", &["--threads", "2"]);
    assert_eq!(std::fs::read(one).unwrap(), std::fs::read(two).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_report_agrees_with_the_model_and_the_summary() {
    let dir = scratch("report");
    let report = dir.join("train.json");
    let report_arg = report.display().to_string();
    let (model, stdout) = train(
        &dir,
        "m",
        &[
            "--epochs",
            "2",
            "--lr",
            "0.01",
            "--test-fraction",
            "0.25",
            "--report",
            &report_arg,
        ],
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["command"], "train");
    assert_eq!(json["sizes"], serde_json::json!([30, 4, 2]));
    assert_eq!(json["p"], 4 * 31 + 2 * 5);
    assert_eq!(json["adam"]["epochs"], 2);
    assert_eq!(json["converged"], true);
    let grad_inf = json["grad_inf"].as_f64().unwrap();
    assert!(grad_inf <= 1e-12, "{grad_inf}");
    assert!(
        stdout.contains(&format!("‖∇J‖∞       {grad_inf:.3e}")),
        "{stdout}"
    );
    assert!(stdout.contains("warm start  Adam, 2 epochs"), "{stdout}");
    let n_train = json["train"]["n"].as_u64().unwrap();
    let n_test = json["held_out"]["n"].as_u64().unwrap();
    assert_eq!(n_train + n_test, 569);
    let loaded = puma::io::load(&model).unwrap();
    assert_eq!(loaded.mlp.sizes(), &[30, 4, 2]);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["m.safetensors", "train.json"]);
    let _ = std::fs::remove_dir_all(&dir);
}
