//! Model files in the safetensors format (DESIGN.md §4).
//!
//! A file is an 8-byte little-endian header length N, a JSON header of N bytes, then the
//! tensor bytes. An MLP with layer sizes `[d_0, …, d_L]` is stored as PyTorch's
//! `nn.Sequential` of `Linear` and activation layers writes it: tensors `{k}.weight`
//! (`[out, in]`) and `{k}.bias` (`[out]`) for increasing k, which need not be consecutive
//! (0, 2, 4, … when activations sit between the layers), in F64 or F32 (F32 is widened on
//! load and kept on save), and string metadata `activation` (tanh, relu, sigmoid, softplus,
//! gelu) and `l2` (μ). θ is assembled layer by layer, weight row-major then bias
//! ([`crate::model::params`]). Other metadata entries are kept and written back.
//!
//! Malformed files give [`Error::DataAt`] with the byte offset of the fault where it is
//! known (0 for the length prefix, 8 for the JSON header, the tensor's first data byte for a
//! tensor) and a reason that names the tensor. Saving writes a temporary file beside the
//! target and renames it, so a crash never leaves a half-written model.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensorError, SafeTensors};

use crate::autodiff::Activation;
use crate::error::{Error, Result};
use crate::model::Mlp;

/// The floating-point type of a model file's tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// 32-bit floats: widened to f64 on load, rounded back on save.
    F32,
    /// 64-bit floats (the default; what training writes).
    F64,
}

/// A trained model as stored in a file: the architecture with μ, θ, and how it was stored.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelFile {
    /// Layer sizes, activation and weight decay μ.
    pub mlp: Mlp,
    /// The flat parameters θ (length `mlp.n_params()`).
    pub theta: Vec<f64>,
    /// The tensors' element type, kept on save.
    pub precision: Precision,
    /// The index k of `{k}.weight` / `{k}.bias` for each layer, increasing.
    pub keys: Vec<usize>,
    /// Every metadata entry of the file; `activation` and `l2` are rewritten from `mlp` on save.
    pub metadata: BTreeMap<String, String>,
}

impl ModelFile {
    /// A model to be saved in F64 with PyTorch's `nn.Sequential` keys 0, 2, 4, ….
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `theta.len() != mlp.n_params()`.
    pub fn new(mlp: Mlp, theta: Vec<f64>) -> Result<Self> {
        if theta.len() != mlp.n_params() {
            return Err(Error::ShapeMismatch {
                what: "theta length vs model parameters",
                expected: mlp.n_params(),
                found: theta.len(),
            });
        }
        let keys = (0..mlp.layout().layers.len()).map(|l| 2 * l).collect();
        Ok(ModelFile {
            mlp,
            theta,
            precision: Precision::F64,
            keys,
            metadata: BTreeMap::new(),
        })
    }
}

/// Reads a model file.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::DataAt`] if it is not a valid
/// safetensors file, holds a tensor other than `{k}.weight`/`{k}.bias`, a dtype other than
/// F32/F64, shapes that do not chain (naming the tensor), or lacks the `activation` (with
/// hidden layers) or `l2` metadata.
pub fn load(path: impl AsRef<Path>) -> Result<ModelFile> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    from_bytes(&bytes, path)
}

/// Writes a model file (temporary file, then rename).
///
/// # Errors
/// [`Error::ShapeMismatch`] if θ does not fit the model or the keys are not one increasing
/// index per layer; [`Error::Io`] if writing fails.
pub fn save(path: impl AsRef<Path>, model: &ModelFile) -> Result<()> {
    let path = path.as_ref();
    let bytes = to_bytes(model)?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, &e)
    })
}

/// The bytes of a model file (see [`save`]).
///
/// # Errors
/// As [`save`], without the I/O.
pub fn to_bytes(model: &ModelFile) -> Result<Vec<u8>> {
    let layers = &model.mlp.layout().layers;
    if model.theta.len() != model.mlp.n_params() {
        return Err(Error::ShapeMismatch {
            what: "theta length vs model parameters",
            expected: model.mlp.n_params(),
            found: model.theta.len(),
        });
    }
    if model.keys.len() != layers.len() || model.keys.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::ShapeMismatch {
            what: "increasing tensor keys vs layers",
            expected: layers.len(),
            found: model.keys.len(),
        });
    }
    let encode = |v: &[f64]| -> Vec<u8> {
        match model.precision {
            Precision::F64 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Precision::F32 => v.iter().flat_map(|&x| (x as f32).to_le_bytes()).collect(),
        }
    };
    let dtype = match model.precision {
        Precision::F64 => "F64",
        Precision::F32 => "F32",
    };
    // The header is written here rather than by `safetensors::serialize`, whose metadata is
    // a HashMap: serde_json's map is sorted, so the same model always gives the same bytes.
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    let mut tensor = |name: String, shape: Vec<usize>, values: &[f64]| {
        let bytes = encode(values);
        let range = [data.len(), data.len() + bytes.len()];
        data.extend_from_slice(&bytes);
        header.insert(
            name,
            serde_json::json!({ "dtype": dtype, "shape": shape, "data_offsets": range }),
        );
    };
    for (span, k) in layers.iter().zip(&model.keys) {
        tensor(
            format!("{k}.weight"),
            vec![span.fan_out, span.fan_in],
            &model.theta[span.weight_range()],
        );
        tensor(
            format!("{k}.bias"),
            vec![span.fan_out],
            &model.theta[span.bias_range()],
        );
    }
    let mut metadata = model.metadata.clone();
    metadata.insert("activation".into(), model.mlp.activation.name().into());
    metadata.insert("l2".into(), format!("{}", model.mlp.l2)); // shortest round-trip form
    header.insert("__metadata__".into(), serde_json::json!(metadata));
    let mut json = serde_json::Value::Object(header).to_string().into_bytes();
    json.resize(json.len().next_multiple_of(8), b' '); // 8-byte alignment, as the format pads
    let mut out = Vec::with_capacity(8 + json.len() + data.len());
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&data);
    Ok(out)
}

/// One layer's tensors as found in the file.
#[derive(Default)]
struct Found {
    weight: Option<(Vec<usize>, Vec<f64>, u64)>,
    bias: Option<(Vec<usize>, Vec<f64>, u64)>,
}

/// Parses the bytes of a model file; `path` only labels errors.
///
/// # Errors
/// As [`load`], without the I/O.
pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<ModelFile> {
    let bad = |offset: u64, reason: String| Error::DataAt {
        file: PathBuf::from(path),
        offset,
        reason,
    };
    let (n_header, header) =
        SafeTensors::read_metadata(bytes).map_err(|e| header_error(e, bytes, path))?;
    let st = SafeTensors::deserialize(bytes).map_err(|e| header_error(e, bytes, path))?;
    let data_start = (8 + n_header) as u64;

    let mut layers: BTreeMap<usize, Found> = BTreeMap::new();
    let mut precision = None;
    for (name, view) in st.tensors() {
        let info = header.info(&name).expect("listed tensor has info");
        let offset = data_start + info.data_offsets.0 as u64;
        let (k, is_weight) = parse_name(&name).ok_or_else(|| {
            bad(
                8,
                format!("tensor `{name}` is not named `{{k}}.weight` or `{{k}}.bias`"),
            )
        })?;
        let (values, p) = match view.dtype() {
            Dtype::F64 => (decode::<8>(view.data(), f64::from_le_bytes), Precision::F64),
            Dtype::F32 => (
                decode::<4>(view.data(), |b| f64::from(f32::from_le_bytes(b))),
                Precision::F32,
            ),
            other => {
                return Err(bad(
                    offset,
                    format!("tensor `{name}` has dtype {other:?}; expected F64 or F32"),
                ));
            }
        };
        if precision.is_some_and(|q| q != p) {
            return Err(bad(
                offset,
                format!("tensor `{name}` mixes F32 and F64 in one model"),
            ));
        }
        precision = Some(p);
        let shape = view.shape().to_vec();
        let want_dims = if is_weight { 2 } else { 1 };
        if shape.len() != want_dims {
            return Err(bad(
                offset,
                format!("tensor `{name}` has shape {shape:?}; expected {want_dims} dimensions"),
            ));
        }
        let slot = layers.entry(k).or_default();
        let entry = Some((shape, values, offset));
        if is_weight {
            slot.weight = entry
        } else {
            slot.bias = entry
        }
    }
    if layers.is_empty() {
        return Err(bad(8, "the file holds no `{k}.weight` tensor".into()));
    }

    // Chain the layers: W_l is [d_{l+1}, d_l], b_l is [d_{l+1}].
    let mut sizes = Vec::new();
    let mut keys = Vec::new();
    let mut theta = Vec::new();
    for (k, found) in &layers {
        let (w_shape, w, w_off) = found
            .weight
            .as_ref()
            .ok_or_else(|| bad(8, format!("tensor `{k}.bias` has no matching `{k}.weight`")))?;
        let (b_shape, b, b_off) = found
            .bias
            .as_ref()
            .ok_or_else(|| bad(8, format!("tensor `{k}.weight` has no matching `{k}.bias`")))?;
        let (out, inp) = (w_shape[0], w_shape[1]);
        match sizes.last() {
            None => sizes.push(inp),
            Some(&prev) if prev != inp => {
                return Err(bad(
                    *w_off,
                    format!(
                        "tensor `{k}.weight` has shape {w_shape:?}: its {inp} inputs do not chain with the previous layer's {prev} outputs"
                    ),
                ));
            }
            Some(_) => {}
        }
        if b_shape[0] != out {
            return Err(bad(
                *b_off,
                format!("tensor `{k}.bias` has shape {b_shape:?}; `{k}.weight` has {out} outputs"),
            ));
        }
        sizes.push(out);
        keys.push(*k);
        theta.extend_from_slice(w);
        theta.extend_from_slice(b);
    }

    let metadata: BTreeMap<String, String> = header
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let activation = match metadata.get("activation") {
        Some(name) => Activation::from_name(name)
            .ok_or_else(|| bad(8, format!("metadata `activation` is `{name}`; expected tanh, relu, sigmoid, softplus or gelu")))?,
        None if sizes.len() == 2 => Activation::Tanh, // logistic regression: never applied
        None => return Err(bad(8, "metadata `activation` is missing".into())),
    };
    let l2 = match metadata.get("l2") {
        Some(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| *v >= 0.0 && v.is_finite())
            .ok_or_else(|| {
                bad(
                    8,
                    format!("metadata `l2` is `{s}`; expected a finite number ≥ 0"),
                )
            })?,
        None => {
            return Err(bad(
                8,
                "metadata `l2` (the weight decay μ) is missing".into(),
            ));
        }
    };
    let mlp = Mlp::new(&sizes, activation, l2)?;
    Ok(ModelFile {
        mlp,
        theta,
        precision: precision.unwrap_or(Precision::F64),
        keys,
        metadata,
    })
}

/// `("{k}.weight" | "{k}.bias")` → (k, is_weight).
fn parse_name(name: &str) -> Option<(usize, bool)> {
    let (k, kind) = name.split_once('.')?;
    let k = k.parse().ok()?;
    match kind {
        "weight" => Some((k, true)),
        "bias" => Some((k, false)),
        _ => None,
    }
}

/// Little-endian values of `N` bytes each, converted to f64.
fn decode<const N: usize>(data: &[u8], f: impl Fn([u8; N]) -> f64) -> Vec<f64> {
    data.chunks_exact(N)
        .map(|c| f(c.try_into().expect("exact chunk")))
        .collect()
}

/// A [`Error::DataAt`] for a header the safetensors parser rejected, at the best offset known.
fn header_error(e: SafeTensorError, bytes: &[u8], path: &Path) -> Error {
    let offset = match &e {
        SafeTensorError::HeaderTooSmall
        | SafeTensorError::HeaderTooLarge
        | SafeTensorError::InvalidHeaderLength => 0,
        // The JSON header usually is one line; serde_json counts columns from 1.
        SafeTensorError::InvalidHeaderDeserialization(j) if j.line() == 1 => {
            8 + j.column().saturating_sub(1) as u64
        }
        SafeTensorError::MetadataIncompleteBuffer => bytes.len() as u64,
        _ => 8,
    };
    Error::DataAt {
        file: PathBuf::from(path),
        offset,
        reason: format!("not a valid safetensors model: {e}"),
    }
}
