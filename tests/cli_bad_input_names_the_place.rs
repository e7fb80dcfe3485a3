//! Bad input through the `puma` binary (issue #10): each case exits with status 1 and one
//! error line on stderr that names the file and line/column, the tensor, or the index at
//! fault — never a panic, never a half-written output.

mod common;

use common::puma;

use std::path::{Path, PathBuf};

/// A scratch directory holding the small files of one test.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("puma-bad-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `puma args`, asserts failure with exactly one stderr line holding every needle, and
/// returns that line.
fn fails_naming<S: AsRef<std::ffi::OsStr>>(args: &[S], needles: &[&str]) -> String {
    let out = puma(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1; stderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one error line, got:\n{stderr}");
    let line = lines[0];
    assert!(line.starts_with("puma: error: "), "{line}");
    for needle in needles {
        assert!(line.contains(needle), "`{needle}` not in: {line}");
    }
    line.to_string()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

const GOOD: &str = "a,b,label\n1,2,0\n3,1,1\n0,0,1\n1,1,0\n2,2,0\n0,3,1\n";

/// A logistic-regression model on [`GOOD`] (2 features, 2 classes), trained by the binary.
fn trained_model(dir: &Scratch) -> (PathBuf, PathBuf) {
    let data = dir.file("good.csv", GOOD);
    let model = dir.path("model.safetensors");
    let out = puma(&["train", "--data", &s(&data), "--out", &s(&model)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (data, model)
}

#[test]
fn a_missing_file_is_named() {
    let dir = Scratch::new("missing");
    let missing = dir.path("nowhere.csv");
    fails_naming(&["info", &s(&missing)], &[&s(&missing), "No such file"]);
    let out = dir.path("m.safetensors");
    fails_naming(
        &["train", "--data", &s(&missing), "--out", &s(&out)],
        &[&s(&missing)],
    );
    assert!(dir.names().is_empty(), "{:?}", dir.names());
}

#[test]
fn malformed_csv_fields_are_named_by_file_line_and_column() {
    let dir = Scratch::new("csv");
    let cases = [
        (
            "nonnum.csv",
            "a,b,label\n1,2,0\n3,x,1\n",
            ":3:2:",
            "found `x`",
        ),
        ("ragged.csv", "a,b,label\n1,2,0\n3,1\n", ":3:", "2 fields"),
        ("nan.csv", "a,b,label\n1,2,0\n3,NaN,1\n", ":3:2:", "NaN"),
        (
            "nolabel.csv",
            "a,b,y\n1,2,0\n3,1,1\n",
            ":1:",
            "no `label` column",
        ),
    ];
    for (name, text, place, what) in cases {
        let path = dir.file(name, text);
        let at = format!("{}{place}", s(&path));
        fails_naming(&["info", &s(&path)], &[&at, what]);
        let model = dir.path("m.safetensors");
        fails_naming(
            &["train", "--data", &s(&path), "--out", &s(&model)],
            &[&at, what],
        );
    }
    let names = dir.names();
    assert!(
        !names.iter().any(|n| n.contains("safetensors")),
        "{names:?}"
    );
}

#[test]
fn a_label_the_model_cannot_predict_is_named() {
    let dir = Scratch::new("label");
    let (_, model) = trained_model(&dir);
    // Row 1 (line 4, after a blank line) has label 5; the model has classes 0 and 1.
    let data = dir.file("label5.csv", "a,b,label\n1,2,0\n\n3,1,5\n");
    let line = fails_naming(
        &[
            "influence",
            "--model",
            &s(&model),
            "--train",
            &s(&data),
            "--test",
            &s(&data),
            "--out",
            &s(&dir.path("i.csv")),
        ],
        &["label 5", "2 classes"],
    );
    // The row is named: by file and line where the command reads through
    // cli::common::read_for_model, else by its 0-based index.
    assert!(
        line.contains(&format!("{}:4:3:", s(&data))) || line.contains("row 1"),
        "{line}"
    );
}

#[test]
fn a_truncated_idx_file_is_named_with_the_byte_offset() {
    let dir = Scratch::new("idx");
    // 3 images of 2 × 2 bytes announced, 5 data bytes present.
    let mut images = vec![0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2];
    images.extend([1, 2, 3, 4, 5]);
    let images = dir.file("short-idx3-ubyte", images);
    let labels = dir.file("short-idx1-ubyte", [0, 0, 8, 1, 0, 0, 0, 3, 0, 1, 0]);
    fails_naming(
        &["info", &s(&images), "--labels", &s(&labels)],
        &[&s(&images), "at byte 21", "12 bytes"],
    );
}

/// A safetensors file: 8-byte little-endian header length, the JSON header (padded with
/// spaces to a multiple of 8), then zeros for the data.
fn safetensors(header: &serde_json::Value, data_len: usize) -> Vec<u8> {
    let mut h = header.to_string().into_bytes();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut bytes = (h.len() as u64).to_le_bytes().to_vec();
    bytes.extend(h);
    bytes.extend(vec![0u8; data_len]);
    bytes
}

#[test]
fn safetensors_that_do_not_chain_name_the_tensor() {
    let dir = Scratch::new("chain");
    let (data, _) = trained_model(&dir);
    let t = |shape: &[usize], from: usize| {
        let to = from + 8 * shape.iter().product::<usize>();
        (
            serde_json::json!({"dtype": "F64", "shape": shape, "data_offsets": [from, to]}),
            to,
        )
    };
    let (w0, e) = t(&[3, 2], 0);
    let (b0, e) = t(&[3], e);
    let (w2, e) = t(&[2, 4], e); // 4 inputs after a layer of 3 outputs
    let (b2, e) = t(&[2], e);
    let header = serde_json::json!({
        "__metadata__": {"activation": "tanh", "l2": "0.001"},
        "0.weight": w0, "0.bias": b0, "2.weight": w2, "2.bias": b2,
    });
    let model = dir.file("broken.safetensors", safetensors(&header, e));
    let out = dir.path("i.csv");
    fails_naming(
        &[
            "influence",
            "--model",
            &s(&model),
            "--train",
            &s(&data),
            "--test",
            &s(&data),
            "--out",
            &s(&out),
        ],
        &[&s(&model), "`2.weight`", "do not chain"],
    );
    assert!(!out.exists());
}

#[test]
fn an_output_equal_to_an_input_is_refused_before_any_work() {
    let dir = Scratch::new("same");
    let (data, model) = trained_model(&dir);
    let before = std::fs::read(&data).unwrap();
    let via_dot = dir.0.join(".").join("good.csv");
    fails_naming(
        &["train", "--data", &s(&data), "--out", &s(&via_dot)],
        &["out", &s(&via_dot), "is an input"],
    );
    fails_naming(
        &[
            "train",
            "--data",
            &s(&data),
            "--out",
            &s(&dir.path("m2.safetensors")),
            "--report",
            &s(&data),
        ],
        &["report", &s(&data), "is an input"],
    );
    for (flag, target) in [("--out", &data), ("--out", &model)] {
        fails_naming(
            &[
                "influence",
                "--model",
                &s(&model),
                "--train",
                &s(&data),
                "--test",
                &s(&data),
                flag,
                &s(target),
            ],
            &[&s(target), "is an input"],
        );
    }
    assert_eq!(
        std::fs::read(&data).unwrap(),
        before,
        "an input was overwritten"
    );
    assert_eq!(dir.names(), ["good.csv", "model.safetensors"]);
}

#[test]
fn an_output_in_a_missing_directory_is_refused_before_any_work() {
    let dir = Scratch::new("nodir");
    let data = dir.file("good.csv", GOOD);
    let out = dir.path("no/such/dir/m.safetensors");
    fails_naming(
        &["train", "--data", &s(&data), "--out", &s(&out)],
        &[&s(&out), "is not a directory"],
    );
}

#[test]
fn bad_arguments_are_one_line_naming_the_flag() {
    let dir = Scratch::new("args");
    let data = dir.file("good.csv", GOOD);
    let out = s(&dir.path("m.safetensors"));
    let d = s(&data);
    fails_naming(
        &["train", "--data", &d, "--out", &out, "--act", "swish"],
        &["act", "swish"],
    );
    fails_naming(
        &["train", "--data", &d, "--out", &out, "--l2=-1"],
        &["l2", "-1"],
    );
    fails_naming(
        &["train", "--data", &d, "--out", &out, "--hidden", "4,0"],
        &["hidden layer 2"],
    );
    fails_naming(
        &["train", "--data", &d, "--out", &out, "--threads", "0"],
        &["threads"],
    );
    fails_naming(
        &["train", "--data", &d, "--out", &out, "--test-fraction", "1"],
        &["test-fraction"],
    );
}

#[test]
fn every_subcommand_has_help_with_a_worked_example() {
    let out = puma(&["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|&c| c != "help")
        .collect();
    for c in ["info", "train", "influence"] {
        assert!(commands.contains(&c), "{c} not among {commands:?}");
    }
    for c in commands {
        let out = puma(&[c, "--help"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "puma {c} --help failed");
        assert!(
            text.contains("Example"),
            "puma {c} --help has no example:\n{text}"
        );
        assert!(
            text.contains(&format!("puma {c} ")),
            "puma {c} --help shows no command line"
        );
    }
}

#[test]
fn usage_errors_are_one_line_with_exit_status_2() {
    for (args, needle) in [
        (&["train", "--data", "x.csv"][..], "--out <FILE>"),
        (
            &["train", "--data", "x.csv", "--out", "m", "--hidden", "a"][..],
            "--hidden",
        ),
        (&["frob"][..], "'frob'"),
    ] {
        let out = puma(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("puma: error: "), "{stderr}");
        assert!(stderr.contains(needle), "`{needle}` not in {stderr}");
    }
}

#[test]
fn an_index_past_the_end_is_named() {
    let dir = Scratch::new("index");
    let (data, model) = trained_model(&dir);
    let base = [
        "value",
        "--model",
        &s(&model),
        "--train",
        &s(&data),
        "--eval",
        &s(&data),
        "--out",
        &s(&dir.path("v.csv")),
    ]
    .map(String::from);
    // An evaluation row past the end (GOOD has 6 rows).
    let mut args = base.to_vec();
    args.extend(["--test-index", "6"].map(String::from));
    fails_naming(&args, &["index 6", "out of range", "6"]);
    // A marked-points file naming row 9, on its line 2.
    let bad = dir.file("bad.txt", "0\n9\n");
    let mut args = base.to_vec();
    args.extend(["--bad".to_string(), s(&bad)]);
    fails_naming(&args, &[&format!("{}:2:", s(&bad)), "row index 9"]);
    // A training label past the model's classes, through `puma value`.
    let label5 = dir.file("label5.csv", "a,b,label\n1,2,0\n3,1,5\n");
    let mut args = base.to_vec();
    args[4] = s(&label5);
    fails_naming(&args, &[&format!("{}:3:3:", s(&label5)), "label 5"]);
    assert!(!dir.path("v.csv").exists());
}

#[test]
fn marked_sets_that_are_empty_everything_or_past_the_end_are_refused() {
    let dir = Scratch::new("marked");
    let (data, model) = trained_model(&dir);
    let patch = |remove: &Path| -> Vec<String> {
        [
            "patch",
            "--model",
            &s(&model),
            "--train",
            &s(&data),
            "--eval",
            &s(&data),
            "--remove",
            &s(remove),
            "--out",
            &s(&dir.path("patched.safetensors")),
        ]
        .map(String::from)
        .to_vec()
    };
    let empty = dir.file("empty.txt", "\n");
    fails_naming(&patch(&empty), &[&s(&empty), "no row"]);
    let all = dir.file("all.txt", "0\n1\n2\n3\n4\n5\n");
    fails_naming(&patch(&all), &[&s(&all), "all 6"]);
    let past = dir.file("past.txt", "2\n6\n");
    fails_naming(&patch(&past), &[&format!("{}:2:", s(&past)), "row index 6"]);
    let mut onto_model = patch(&past);
    let last = onto_model.len() - 1;
    onto_model[last] = s(&model);
    fails_naming(&onto_model, &[&s(&model), "is an input"]);
    assert!(!dir.path("patched.safetensors").exists());
}
