//! Files: trained models in safetensors (DESIGN.md §4), JSON reports and the atomic,
//! never-overwrite-an-input rule of every output ([`report`]), and SVG plots ([`plots`]).

pub mod plots;
pub mod report;
pub mod safetensors;

pub use self::safetensors::{ModelFile, Precision, load, save};
