//! `puma demo` end to end on a reduced setting (700 digits rows): every figure of the final
//! table is finite, the ψ value finds flipped labels far better than chance, the PUMA model
//! keeps its test accuracy within 1 point of the original's and moves the guard loss less
//! than naive removal does; the binary writes its report and plots to a fresh folder and
//! refuses to overwrite them.

use std::path::PathBuf;
use std::process::Command;

use puma::demo::{DemoParams, run};

fn reduced() -> DemoParams {
    DemoParams {
        rows: Some(700),
        ..DemoParams::default()
    }
}

#[test]
fn the_demo_table_is_finite_and_puma_keeps_accuracy() {
    let mut printed = Vec::new();
    let demo = run(&reduced(), &mut printed).unwrap();
    let text = String::from_utf8(printed).unwrap();
    for header in [
        "test acc",
        "naive removal",
        "PUMA",
        "retrained",
        "psi-value",
    ] {
        assert!(
            text.contains(header),
            "printed report lacks {header:?}:\n{text}"
        );
    }
    let names: Vec<&str> = demo.models.iter().map(|m| m.name).collect();
    assert_eq!(
        names,
        [
            "original",
            "naive removal",
            "PUMA",
            "PUMA iterated",
            "retrained"
        ]
    );
    for m in &demo.models {
        let figures = [
            m.test.accuracy,
            m.test.mean_loss,
            m.reliability.ece,
            m.guard_loss,
            m.seconds,
        ];
        assert!(
            figures.iter().all(|v| v.is_finite()),
            "{}: {figures:?}",
            m.name
        );
    }
    let (original, naive, puma) = (&demo.models[0], &demo.models[1], &demo.models[2]);
    assert!(
        puma.test.accuracy >= original.test.accuracy - 0.01,
        "PUMA test accuracy {} vs original {}",
        puma.test.accuracy,
        original.test.accuracy
    );
    let moved = |m: &puma::demo::ModelRow| (m.guard_loss - original.guard_loss).abs();
    assert!(
        moved(puma) <= moved(naive) || puma.guard_loss <= original.guard_loss,
        "guard CE: original {}, naive {}, PUMA {}",
        original.guard_loss,
        naive.guard_loss,
        puma.guard_loss
    );
    let psi = demo.curves.iter().find(|c| c.name == "psi-value").unwrap();
    let random = demo.curves.iter().find(|c| c.name == "random").unwrap();
    assert!(
        psi.found_at(0.2) >= 0.5 && psi.found_at(0.2) > 2.0 * random.found_at(0.2),
        "ψ value found {} of the flipped labels in the first 20%, random {}",
        psi.found_at(0.2),
        random.found_at(0.2)
    );
    assert_eq!(demo.report["models"].as_array().unwrap().len(), 5);
    // Iterated patching heads for retraining with the compensating weights: closer to the
    // retrained model's guard loss than the one-step patch.
    let (iterated, retrained) = (&demo.models[3], &demo.models[4]);
    assert!(
        (iterated.guard_loss - retrained.guard_loss).abs()
            < (puma.guard_loss - retrained.guard_loss).abs(),
        "guard CE: PUMA {}, iterated {}, retrained {}",
        puma.guard_loss,
        iterated.guard_loss,
        retrained.guard_loss
    );
}

#[test]
fn the_binary_writes_report_and_plots_and_never_overwrites() {
    let dir = std::env::temp_dir().join(format!("puma-demo-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let demo = |threads: &str| {
        Command::new(env!("CARGO_BIN_EXE_puma"))
            .args(["demo", "--rows", "700", "--threads", threads, "--out"])
            .arg(&dir)
            .output()
            .unwrap()
    };
    let first = demo("2");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let report: serde_json::Value = serde_json::from_str(&read("report.json")).unwrap();
    assert_eq!(report["data"]["train"], 420);
    let detection = read("detection.svg");
    for series in ["psi-value", "self-influence", "training-loss", "random"] {
        assert!(detection.contains(series), "detection.svg lacks {series}");
    }
    let reliability = read("reliability.svg");
    assert!(reliability.contains("original") && reliability.contains("PUMA"));

    // Same figures with one thread; the existing outputs are refused, not overwritten.
    let before: PathBuf = dir.join("report.json");
    let mtime = std::fs::metadata(&before).unwrap().modified().unwrap();
    let again = demo("1");
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("report.json exists"), "{err}");
    assert_eq!(
        std::fs::metadata(&before).unwrap().modified().unwrap(),
        mtime
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let in_pool = |t: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .unwrap();
        pool.install(|| run(&reduced(), &mut Vec::new()).unwrap())
    };
    let (one, two) = (in_pool(1), in_pool(2));
    for (a, b) in one.models.iter().zip(&two.models) {
        assert_eq!(
            a.test.mean_loss.to_bits(),
            b.test.mean_loss.to_bits(),
            "{}",
            a.name
        );
        assert_eq!(a.guard_loss.to_bits(), b.guard_loss.to_bits(), "{}", a.name);
    }
    assert_eq!(one.marked, two.marked);
}
