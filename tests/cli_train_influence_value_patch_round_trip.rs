//! The command-line path of a new user, through the binary: `puma train` a small MLP on the
//! moons reference data, `puma influence` on the test set, `puma value` for the mean test
//! cross-entropy — whose values are the same [remove]-convention numbers as the influence
//! column, (1/n) g_iᵀ H_ρ⁻¹ ∇L_test — then `puma patch` out the lowest-valued rows and load
//! the patched model back.

mod common;

use common::puma_ok as puma;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("puma-round-trip-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The named columns of a CSV with a header, as f64 by row.
fn columns(path: &Path) -> HashMap<String, Vec<f64>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let names: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let mut cols: HashMap<String, Vec<f64>> = names.iter().map(|n| (n.clone(), vec![])).collect();
    for line in lines {
        for (name, field) in names.iter().zip(line.split(',')) {
            cols.get_mut(name).unwrap().push(field.parse().unwrap());
        }
    }
    cols
}

#[test]
fn train_influence_value_agree_and_patch_loads_back() {
    let dir = scratch("moons");
    let p = |name: &str| dir.join(name);
    let train = fixture("reference/moons_mlp/train.csv");
    let test = fixture("reference/moons_mlp/test.csv");
    let model = p("model.safetensors");
    let a = |s: &'static str| Path::new(s);

    let out = puma(&[
        a("train"),
        a("--data"),
        &train,
        a("--hidden"),
        a("8"),
        a("--out"),
        &model,
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("stop: converged"));

    let infl = p("influence.csv");
    puma(&[
        a("influence"),
        a("--model"),
        &model,
        a("--train"),
        &train,
        a("--test"),
        &test,
        a("--out"),
        &infl,
    ]);
    let value = p("value.csv");
    puma(&[
        a("value"),
        a("--model"),
        &model,
        a("--train"),
        &train,
        a("--eval"),
        &test,
        a("--out"),
        &value,
    ]);
    let infl = columns(&infl);
    let value = columns(&value);
    let (i, v) = (&infl["influence"], &value["value"]);
    assert_eq!(i.len(), 1000);
    assert_eq!(v.len(), 1000);
    // Same solve, same products, different code paths: agreement to rounding.
    let scale = i.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    for (k, (x, y)) in i.iter().zip(v).enumerate() {
        assert!(
            (x - y).abs() <= 1e-9 * scale,
            "row {k}: influence {x}, value {y}"
        );
    }

    // Patch out the 20 lowest-valued rows (the most harmful to the test loss).
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&x, &y| v[x].total_cmp(&v[y]));
    let marked = p("marked.txt");
    let text: String = order[..20].iter().map(|i| format!("{i}\n")).collect();
    std::fs::write(&marked, text).unwrap();
    let patched = p("patched.safetensors");
    let report = p("patch.json");
    puma(&[
        a("patch"),
        a("--model"),
        &model,
        a("--train"),
        &train,
        a("--eval"),
        &test,
        a("--remove"),
        &marked,
        a("--out"),
        &patched,
        a("--report"),
        &report,
    ]);
    let original = puma::io::load(&model).unwrap();
    let loaded = puma::io::load(&patched).unwrap();
    assert_eq!(loaded.mlp.sizes(), original.mlp.sizes());
    assert!(loaded.theta.iter().all(|t| t.is_finite()));
    assert_ne!(loaded.theta, original.theta);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(json.is_object(), "{json}");
    // Removing the rows that hurt the test loss most must not raise it (to first order it
    // falls by −Σ value over the marked rows, here > 0).
    let test_ds = puma::data::read_dataset(&test, None, None).unwrap();
    let samples = puma::model::Samples::of(&test_ds);
    let before = original.mlp.evaluate(&original.theta, &samples).unwrap();
    let after = loaded.mlp.evaluate(&loaded.theta, &samples).unwrap();
    assert!(after.mean_loss.is_finite() && after.accuracy.is_finite());
    assert!(
        after.mean_loss <= before.mean_loss + 1e-6,
        "test loss {} → {}",
        before.mean_loss,
        after.mean_loss
    );
    let _ = std::fs::remove_dir_all(&dir);
}
