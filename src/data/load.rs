//! One entry point for every data format: tell the format from the file name, then call the
//! matching reader. Subcommands that read a data set (`info`, `train`, ...) go through here.

use std::path::Path;

use super::{Dataset, csv, idx, npy};
use crate::error::{Error, Result};

/// A data file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV with a header and a `label` column ([`csv::read_csv`]).
    Csv,
    /// IDX images with a separate IDX labels file, gzipped or not ([`idx::read_idx`]).
    Idx,
    /// NPY features with a separate NPY labels file ([`npy::read_npy_dataset`]).
    Npy,
}

impl Format {
    /// The format told by a file name: `*.csv`, `*.npy`, or an IDX name containing `idx` or
    /// `ubyte` (`train-images-idx3-ubyte.gz`, `t10k-labels.idx1-ubyte`); case is ignored.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] if the name fits none of these.
    ///
    /// # Examples
    /// ```
    /// use puma::data::Format;
    /// assert_eq!(Format::from_path("a/b.CSV")?, Format::Csv);
    /// assert_eq!(Format::from_path("train-images-idx3-ubyte.gz")?, Format::Idx);
    /// assert!(Format::from_path("notes.txt").is_err());
    /// # Ok::<(), puma::Error>(())
    /// ```
    pub fn from_path(path: impl AsRef<Path>) -> Result<Format> {
        let path = path.as_ref();
        let name = path
            .file_name()
            .map(|s| s.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase());
        match ext.as_deref() {
            Some("csv") => Ok(Format::Csv),
            Some("npy") => Ok(Format::Npy),
            _ if name.contains("idx") || name.contains("ubyte") => Ok(Format::Idx),
            _ => Err(Error::InvalidParam {
                name: "format",
                reason: format!(
                    "cannot tell the format of {} from its name (expected *.csv, *.npy, or an \
                     IDX name such as *-idx3-ubyte[.gz])",
                    path.display()
                ),
            }),
        }
    }

    /// Upper-case name for reports: `CSV`, `IDX`, `NPY`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::Idx => "IDX",
            Format::Npy => "NPY",
        }
    }
}

/// Reads a labelled data set in `format` (told from the name when `None`). CSV holds its own
/// labels; IDX and NPY take them from `labels`.
///
/// # Errors
/// [`Error::InvalidParam`] if the format cannot be told, or `labels` is given for CSV or
/// missing for IDX/NPY; otherwise whatever the reader returns ([`Error::Io`],
/// [`Error::Data`], [`Error::DataAt`]).
///
/// # Examples
/// ```
/// let ds = puma::data::read_dataset("fixtures/breast_cancer/breast_cancer.csv", None, None)?;
/// assert_eq!(ds.label_counts(), vec![212, 357]);
/// # Ok::<(), puma::Error>(())
/// ```
pub fn read_dataset(
    path: impl AsRef<Path>,
    labels: Option<&Path>,
    format: Option<Format>,
) -> Result<Dataset> {
    let path = path.as_ref();
    let format = match format {
        Some(f) => f,
        None => Format::from_path(path)?,
    };
    match (format, labels) {
        (Format::Csv, None) => csv::read_csv(path),
        (Format::Idx, Some(labels)) => idx::read_idx(path, labels),
        (Format::Npy, Some(labels)) => npy::read_npy_dataset(path, labels),
        (Format::Csv, Some(_)) => Err(Error::InvalidParam {
            name: "labels",
            reason: "a CSV file holds its own `label` column; a labels file is for IDX and NPY"
                .into(),
        }),
        (f, None) => Err(Error::InvalidParam {
            name: "labels",
            reason: format!(
                "{} file {} needs a separate labels file",
                f.name(),
                path.display()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_name() {
        let g = |s: &str| Format::from_path(s).ok();
        assert_eq!(g("x.npy"), Some(Format::Npy));
        assert_eq!(g("t10k-labels.idx1-ubyte"), Some(Format::Idx));
        assert_eq!(g("data.txt"), None);
    }

    #[test]
    fn labels_are_required_exactly_where_they_are_separate() {
        let csv = "fixtures/digits/digits.csv";
        assert!(matches!(
            read_dataset(csv, Some(Path::new(csv)), None),
            Err(Error::InvalidParam { name: "labels", .. })
        ));
        let err = read_dataset("images-idx3-ubyte.gz", None, None).unwrap_err();
        assert!(err.to_string().contains("IDX file"), "{err}");
    }
}
