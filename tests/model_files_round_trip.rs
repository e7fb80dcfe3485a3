//! Claim: model files round-trip exactly (F64 bit for bit, F32 kept as F32, non-consecutive
//! `nn.Sequential` keys and extra metadata preserved), and malformed files are errors that
//! name the offending tensor.

mod common;

use std::collections::HashMap;
use std::path::Path;

use puma::Error;
use puma::autodiff::Activation;
use puma::io::{ModelFile, Precision};
use puma::model::Mlp;
use safetensors::tensor::{Dtype, TensorView};

/// `name` in a fresh directory of its own (tests run in parallel).
fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("puma-io-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn the_reference_model_round_trips_bit_for_bit() {
    let file = puma::io::load(common::fixture("reference/moons_mlp/model.safetensors")).unwrap();
    assert_eq!(file.keys, vec![0, 2, 4]);
    let path = temp_path("moons.safetensors");
    puma::io::save(&path, &file).unwrap();
    let back = puma::io::load(&path).unwrap();
    assert_eq!(back, file); // θ compared with ==: every bit (no NaN in θ)
    assert!(
        back.theta
            .iter()
            .zip(&file.theta)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
    // Written through a temporary file that was renamed: nothing else is left beside it.
    let dir: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(dir, vec!["moons.safetensors".to_string()]);
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[test]
fn f32_files_stay_f32_and_keys_and_metadata_are_kept() {
    let mlp = Mlp::new(&[3, 5, 2], Activation::Gelu, 0.25).unwrap();
    let theta = mlp.init(1);
    let mut file = ModelFile::new(mlp, theta.clone()).unwrap();
    file.precision = Precision::F32;
    file.keys = vec![1, 7];
    file.metadata
        .insert("standardise_mean".into(), "[0.5, 1, 2]".into());
    let path = temp_path("small-f32.safetensors");
    puma::io::save(&path, &file).unwrap();
    let back = puma::io::load(&path).unwrap();
    assert_eq!(back.precision, Precision::F32);
    assert_eq!(back.keys, vec![1, 7]);
    assert_eq!(back.mlp, file.mlp);
    assert_eq!(back.metadata["standardise_mean"], "[0.5, 1, 2]");
    assert_eq!(back.metadata["activation"], "gelu");
    let rounded: Vec<f64> = theta.iter().map(|&t| f64::from(t as f32)).collect();
    assert_eq!(back.theta, rounded); // widened exactly, rounded once
    // Saving what was loaded writes the same bytes again.
    assert_eq!(
        puma::io::safetensors::to_bytes(&back).unwrap(),
        std::fs::read(&path).unwrap()
    );
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

/// A safetensors file from raw (name, shape, f64 values) and metadata.
fn raw_file(tensors: &[(&str, Vec<usize>, Vec<f64>)], meta: &[(&str, &str)]) -> Vec<u8> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, s, v)| {
            (
                n.to_string(),
                s.clone(),
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views = bytes.iter().map(|(n, s, b)| {
        (
            n.clone(),
            TensorView::new(Dtype::F64, s.clone(), b).unwrap(),
        )
    });
    let meta: HashMap<String, String> = meta
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    safetensors::serialize(views, Some(meta)).unwrap()
}

fn load_err(bytes: &[u8]) -> (u64, String) {
    match puma::io::safetensors::from_bytes(bytes, Path::new("m.safetensors")) {
        Err(Error::DataAt { offset, reason, .. }) => (offset, reason),
        other => panic!("expected DataAt, got {other:?}"),
    }
}

const META: [(&str, &str); 2] = [("activation", "relu"), ("l2", "0.001")];

#[test]
fn shapes_that_do_not_chain_are_an_error_naming_the_tensor() {
    let bytes = raw_file(
        &[
            ("0.weight", vec![4, 2], vec![0.0; 8]),
            ("0.bias", vec![4], vec![0.0; 4]),
            ("2.weight", vec![3, 5], vec![0.0; 15]),
            ("2.bias", vec![3], vec![0.0; 3]),
        ],
        &META,
    );
    let (offset, reason) = load_err(&bytes);
    assert!(reason.contains("`2.weight`"), "{reason}");
    assert!(offset > 8, "the offset points at the tensor's data");
    let bytes = raw_file(
        &[
            ("0.weight", vec![4, 2], vec![0.0; 8]),
            ("0.bias", vec![3], vec![0.0; 3]),
        ],
        &META,
    );
    assert!(load_err(&bytes).1.contains("`0.bias`"));
}

#[test]
fn missing_tensors_unknown_names_and_metadata_are_errors() {
    let w = ("0.weight", vec![2, 2], vec![1.0; 4]);
    let b = ("0.bias", vec![2], vec![0.0; 2]);
    assert!(
        load_err(&raw_file(std::slice::from_ref(&w), &META))
            .1
            .contains("`0.weight` has no matching `0.bias`")
    );
    let extra = ("0.running_mean", vec![2], vec![0.0; 2]);
    assert!(
        load_err(&raw_file(&[w.clone(), b.clone(), extra], &META))
            .1
            .contains("`0.running_mean`")
    );
    let hidden = [
        w.clone(),
        b.clone(),
        ("2.weight", vec![1, 2], vec![1.0; 2]),
        ("2.bias", vec![1], vec![0.0]),
    ];
    assert!(
        load_err(&raw_file(&hidden, &[("l2", "0")]))
            .1
            .contains("`activation`")
    );
    assert!(
        load_err(&raw_file(&hidden, &[("activation", "tanh")]))
            .1
            .contains("`l2`")
    );
    assert!(
        load_err(&raw_file(&hidden, &[("activation", "swish"), ("l2", "0")]))
            .1
            .contains("swish")
    );
    assert!(
        load_err(&raw_file(&hidden, &[("activation", "tanh"), ("l2", "-1")]))
            .1
            .contains("`l2`")
    );
    // A well-formed file loads, and logistic regression needs no activation.
    let ok = puma::io::safetensors::from_bytes(&raw_file(&[w, b], &[("l2", "0")]), Path::new("m"))
        .unwrap();
    assert_eq!(ok.mlp.sizes(), &[2, 2]);
}

#[test]
fn garbage_and_truncated_files_are_errors_at_a_byte_offset() {
    assert_eq!(load_err(b"abc").0, 0);
    let good = raw_file(
        &[
            ("0.weight", vec![1, 1], vec![1.0]),
            ("0.bias", vec![1], vec![0.0]),
        ],
        &META,
    );
    let truncated = &good[..good.len() - 3];
    let (_, reason) = load_err(truncated);
    assert!(reason.contains("safetensors"), "{reason}");
    let mut bad_json = good.clone();
    bad_json[8] = b'#';
    assert_eq!(load_err(&bad_json).0, 8);
    match puma::io::load("/nonexistent/model.safetensors") {
        Err(Error::Io { .. }) => {}
        other => panic!("{other:?}"),
    }
}
