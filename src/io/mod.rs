//! Files: trained models in safetensors (DESIGN.md §4).

pub mod safetensors;

pub use self::safetensors::{ModelFile, Precision, load, save};
