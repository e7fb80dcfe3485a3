//! `puma patch` on the reference moons MLP: the patched model keeps the input's tensor
//! names, dtype (an F32 copy stays F32) and metadata, only θ changes, and the JSON report
//! holds PUMA, naive removal and [retrain] side by side; an empty marked set, a marked set
//! covering every row, an index past the end and an output equal to an input are refused
//! with one error line naming the file (and line).

mod common;

use common::{moons, puma, temp_dir};

use puma::io::{Precision, load, save};

#[test]
fn cli_patch_keeps_the_model_format() {
    let dir = temp_dir("cli_patch_format");
    // An F32 copy of the reference model with an extra metadata entry.
    let mut model = load(moons("model.safetensors")).unwrap();
    model.precision = Precision::F32;
    model.metadata.insert("note".into(), "kept".into());
    let input = dir.join("m32.safetensors");
    save(&input, &model).unwrap();
    let model = load(&input).unwrap(); // θ rounded to f32 as stored
    let remove = dir.join("remove.txt");
    std::fs::write(&remove, "3\n17\n25\n40\n").unwrap();
    let (out, report) = (dir.join("patched.safetensors"), dir.join("patch.json"));
    let o = puma(&[
        "patch",
        "--model",
        input.to_str().unwrap(),
        "--train",
        &moons("train.csv"),
        "--eval",
        &moons("test.csv"),
        "--remove",
        remove.to_str().unwrap(),
        "--compare",
        "retrain",
        "--no-shrink",
        "--out",
        out.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{}\n{}",
        stdout,
        String::from_utf8_lossy(&o.stderr)
    );
    println!("{stdout}");
    assert!(
        stdout.contains("retrain") && stdout.contains("naive"),
        "{stdout}"
    );

    let patched = load(&out).unwrap();
    assert_eq!(patched.precision, Precision::F32);
    assert_eq!(patched.keys, model.keys);
    assert_eq!(patched.metadata, model.metadata);
    assert_eq!(patched.mlp, model.mlp);
    let moved = patched
        .theta
        .iter()
        .zip(&model.theta)
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        moved > model.theta.len() / 2,
        "only {moved} parameters changed"
    );

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["marked"], 4);
    let names: Vec<&str> = json["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["theta_hat", "puma", "naive", "retrain"]);
    assert!(json["models"][1]["rel_dist_to_retrain"].as_f64().unwrap() < 1.0);
    assert_eq!(json["written"], "puma");
    // No temporary file is left beside the outputs.
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f.contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn cli_patch_refuses_bad_marked_sets_and_outputs() {
    let dir = temp_dir("cli_patch_refusals");
    let run = |remove: &str, out: &str| -> String {
        let o = puma(&[
            "patch",
            "--model",
            &moons("model.safetensors"),
            "--train",
            &moons("train.csv"),
            "--eval",
            &moons("test.csv"),
            "--remove",
            remove,
            "--out",
            out,
        ]);
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(err.lines().count(), 1, "one error line: {err}");
        err
    };
    let out = dir.join("p.safetensors");
    let out = out.to_str().unwrap();

    let empty = dir.join("empty.txt");
    std::fs::write(&empty, "\n\n").unwrap();
    let err = run(empty.to_str().unwrap(), out);
    assert!(err.contains("empty.txt lists no row"), "{err}");

    let all = dir.join("all.txt");
    let text: String = (0..1000).map(|i| format!("{i}\n")).collect();
    std::fs::write(&all, text).unwrap();
    let err = run(all.to_str().unwrap(), out);
    assert!(
        err.contains("all.txt lists all 1000 training rows"),
        "{err}"
    );

    let past = dir.join("past.txt");
    std::fs::write(&past, "5\n7\n1000\n").unwrap();
    let err = run(past.to_str().unwrap(), out);
    assert!(
        err.contains("past.txt:3:1: row index 1000 is out of range"),
        "{err}"
    );

    let ok = dir.join("ok.txt");
    std::fs::write(&ok, "5\n").unwrap();
    let err = run(ok.to_str().unwrap(), &moons("model.safetensors"));
    assert!(err.contains("is an input"), "{err}");
    assert!(
        !std::path::Path::new(out).exists(),
        "nothing written on refusal"
    );
}

#[test]
fn cli_patch_plots_decision_regions_for_two_features_only() {
    let dir = temp_dir("cli_patch_plot");
    let remove = dir.join("remove.txt");
    std::fs::write(&remove, "3\n17\n25\n40\n").unwrap();
    let (out, plot) = (dir.join("patched.safetensors"), dir.join("regions.svg"));
    let o = puma(&[
        "patch",
        "--model",
        &moons("model.safetensors"),
        "--train",
        &moons("train.csv"),
        "--eval",
        &moons("test.csv"),
        "--remove",
        remove.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = std::fs::read_to_string(&plot).unwrap();
    for wanted in [
        "before",
        "after",
        "marked for removal",
        "x0",
        "x1",
        "class 0",
        "class 1",
    ] {
        assert!(
            svg.contains(&format!(">\n{wanted}\n</text>")),
            "regions.svg lacks {wanted:?}"
        );
    }

    // Digits have 64 features: refused before any work, naming the file and the count.
    let digits = common::fixture("reference/digits_logreg/train.csv");
    let o = puma(&[
        "patch",
        "--model",
        &common::fixture("reference/digits_logreg/model.safetensors")
            .display()
            .to_string(),
        "--train",
        &digits.display().to_string(),
        "--eval",
        &common::fixture("reference/digits_logreg/test.csv")
            .display()
            .to_string(),
        "--remove",
        remove.to_str().unwrap(),
        "--out",
        dir.join("d.safetensors").to_str().unwrap(),
        "--plot",
        dir.join("d.svg").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("need 2 features") && err.contains("has 64"),
        "{err}"
    );
    assert!(!dir.join("d.safetensors").exists());
}
