//! CSV reader: a header line, a `label` column anywhere, every other column a feature.
//!
//! Tokenising (quotes, CRLF, blank lines) is the `csv` crate's; this module checks what the
//! fields mean. Features keep file order; the header's names become
//! [`Dataset::feature_names`]. Leading and trailing spaces around fields are ignored. Every
//! malformed input is an [`Error::Data`] naming the 1-based line (the header is line 1) and
//! the 1-based column (0 when the whole line is at fault):
//!
//! ```text
//! data.csv:7:3: expected a number for feature `x1`, found `abc`
//! data.csv:9:0: row has 2 fields, but the header has 3
//! data.csv:4:4: label `-1` is negative; labels must be integers 0, 1, 2, ...
//! ```
//!
//! Cost: one pass over the file, O(n·d) memory for the result.

use std::io::Read;
use std::path::Path;

use super::{Dataset, MAX_LABEL};
use crate::error::{Error, Result};

/// Reads a CSV data set from `path`.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Data`] (line, column, reason) for a
/// missing `label` column, an empty file or a header without rows, a non-numeric, NaN or
/// infinite feature, a row whose field count differs from the header's, and a negative,
/// non-integer or too large label.
///
/// # Examples
/// ```
/// let ds = puma::data::csv::read_csv("fixtures/reference/moons_mlp/train.csv")?;
/// assert_eq!((ds.n(), ds.d(), ds.k()), (1000, 2, 2));
/// assert_eq!(ds.feature_names().unwrap(), &["x0", "x1"]);
/// # Ok::<(), puma::Error>(())
/// ```
pub fn read_csv(path: impl AsRef<Path>) -> Result<Dataset> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
    parse_csv(std::io::BufReader::new(file), path)
}

/// Parses CSV text from `reader`; `file` is the name that errors report.
///
/// # Errors
/// As [`read_csv`].
///
/// # Examples
/// ```
/// use std::path::Path;
/// use puma::data::csv::parse_csv;
///
/// let ds = parse_csv("label,a,b\n1,0.5,2\n0,1.5,-3\n".as_bytes(), Path::new("inline.csv"))?;
/// assert_eq!(ds.x(), &[0.5, 2.0, 1.5, -3.0]);
/// assert_eq!(ds.labels(), &[1, 0]);
///
/// let err = parse_csv("a,label\n1,x\n".as_bytes(), Path::new("bad.csv")).unwrap_err();
/// assert_eq!(err.to_string(), "bad.csv:2:2: label `x` is not an integer");
/// # Ok::<(), puma::Error>(())
/// ```
pub fn parse_csv<R: Read>(mut reader: R, file: &Path) -> Result<Dataset> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(file, &e))?;
    let mut lines = LineCounter::new(&bytes);
    let at = |line: usize, column: usize, reason: String| Error::Data {
        file: file.to_path_buf(),
        line,
        column,
        reason,
    };
    let mut rdr = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true) // ragged rows are reported here, with their line
        .trim(::csv::Trim::All)
        .from_reader(bytes.as_slice());
    let mut records = rdr.byte_records();

    let header = match records.next() {
        None => {
            return Err(at(
                1,
                0,
                "empty file; expected a header line naming the columns, one of them `label`".into(),
            ));
        }
        Some(rec) => rec.map_err(|e| csv_error(file, &e))?,
    };
    let header_line = lines.line_of(&header);
    let mut names = Vec::with_capacity(header.len());
    for (j, field) in header.iter().enumerate() {
        let field = if j == 0 {
            field.strip_prefix("\u{feff}".as_bytes()).unwrap_or(field)
        } else {
            field
        };
        let name = std::str::from_utf8(field)
            .map_err(|_| at(header_line, j + 1, "column name is not valid UTF-8".into()))?;
        names.push(name.to_string());
    }
    let label_col =
        find_label_column(&names).map_err(|(col, reason)| at(header_line, col, reason))?;
    let width = names.len();
    let d = width - 1;
    if d == 0 {
        return Err(at(
            header_line,
            0,
            "the header names only `label`; expected at least one feature column".into(),
        ));
    }
    let feature_names: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != label_col)
        .map(|(_, s)| s.clone())
        .collect();

    let mut x = Vec::new();
    let mut labels = Vec::new();
    for rec in records {
        let rec = rec.map_err(|e| csv_error(file, &e))?;
        if rec.len() == 1 && rec[0].is_empty() {
            continue; // a line of spaces
        }
        let line = lines.line_of(&rec);
        if rec.len() != width {
            let column = rec.len().min(width) + 1; // first missing or first extra field
            return Err(at(
                line,
                column,
                format!("row has {} fields, but the header has {width}", rec.len()),
            ));
        }
        for (j, field) in rec.iter().enumerate() {
            let text = String::from_utf8_lossy(field);
            if j == label_col {
                labels.push(parse_label(&text).map_err(|r| at(line, j + 1, r))?);
            } else {
                x.push(parse_feature(&text, &names[j]).map_err(|r| at(line, j + 1, r))?);
            }
        }
    }
    if labels.is_empty() {
        return Err(at(
            header_line + 1,
            0,
            "no data rows after the header".into(),
        ));
    }
    Ok(Dataset::new(x, d, labels)?
        .with_feature_names(feature_names)?
        .with_source(file))
}

/// The 0-based index of the `label` column, or (1-based column, reason) if it is missing
/// or repeated.
fn find_label_column(names: &[String]) -> std::result::Result<usize, (usize, String)> {
    let mut found = names
        .iter()
        .enumerate()
        .filter(|(_, s)| s.as_str() == "label");
    let Some((col, _)) = found.next() else {
        let mut shown: Vec<&str> = names.iter().take(8).map(String::as_str).collect();
        if names.len() > 8 {
            shown.push("...");
        }
        let looks_like_data = names.iter().all(|s| s.parse::<f64>().is_ok());
        let hint = if looks_like_data {
            "; the first line looks like data, but a header naming the columns is required"
        } else {
            ""
        };
        return Err((
            0,
            format!(
                "no `label` column in the header (columns: {}){hint}",
                shown.join(", ")
            ),
        ));
    };
    if let Some((again, _)) = found.next() {
        return Err((
            again + 1,
            format!("a second `label` column (the first is column {})", col + 1),
        ));
    }
    Ok(col)
}

/// A finite `f64`, or why the field is not one.
fn parse_feature(text: &str, name: &str) -> std::result::Result<f64, String> {
    if text.is_empty() {
        return Err(format!(
            "expected a number for feature `{name}`, found an empty field"
        ));
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) => Err(format!(
            "feature `{name}` is {v} (`{text}`); features must be finite"
        )),
        Err(_) => Err(format!(
            "expected a number for feature `{name}`, found `{text}`"
        )),
    }
}

/// A class label: a non-negative integer (`3` or `3.0`) at most [`MAX_LABEL`].
pub(crate) fn parse_label(text: &str) -> std::result::Result<usize, String> {
    if let Ok(v) = text.parse::<i64>() {
        return label_from_i128(v as i128, text);
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 => {
            label_from_i128(v as i128, text)
        }
        Ok(v) if v < 0.0 => Err(format!(
            "label `{text}` is negative; labels must be integers 0, 1, 2, ..."
        )),
        _ => Err(format!("label `{text}` is not an integer")),
    }
}

fn label_from_i128(v: i128, text: &str) -> std::result::Result<usize, String> {
    if v < 0 {
        Err(format!(
            "label `{text}` is negative; labels must be integers 0, 1, 2, ..."
        ))
    } else if v > MAX_LABEL as i128 {
        Err(format!(
            "label `{text}` is larger than the largest supported label {MAX_LABEL}"
        ))
    } else {
        Ok(v as usize)
    }
}

/// Turns a record's byte position into the 1-based line of its first field.
///
/// The csv crate skips blank lines without counting them, and a record's byte position is
/// where the skipped lines began, so lines are counted here: newlines up to the record's
/// first byte that is not a line break. Records come in file order, so one forward scan
/// serves all of them.
struct LineCounter<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            pos: 0,
            line: 1,
        }
    }

    fn line_of(&mut self, rec: &::csv::ByteRecord) -> usize {
        let Some(p) = rec.position() else {
            return self.line;
        };
        let mut start = (p.byte() as usize).min(self.bytes.len());
        while start < self.bytes.len() && matches!(self.bytes[start], b'\n' | b'\r') {
            start += 1;
        }
        if start >= self.pos {
            self.line += self.bytes[self.pos..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.pos = start;
        }
        self.line
    }
}

fn csv_error(file: &Path, e: &::csv::Error) -> Error {
    Error::Data {
        file: file.to_path_buf(),
        line: e.position().map_or(0, |p| p.line() as usize),
        column: 0,
        reason: format!("cannot tokenise CSV: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Dataset> {
        parse_csv(text.as_bytes(), Path::new("t.csv"))
    }

    fn place(err: Error) -> (usize, usize, String) {
        match err {
            Error::Data {
                line,
                column,
                reason,
                ..
            } => (line, column, reason),
            other => panic!("expected Error::Data, got {other:?}"),
        }
    }

    #[test]
    fn label_may_be_any_column_and_features_keep_file_order() {
        let ds = parse("a,label,b\n1,2,3\n4,0,6\n").unwrap();
        assert_eq!(ds.x(), &[1.0, 3.0, 4.0, 6.0]);
        assert_eq!(ds.labels(), &[2, 0]);
        assert_eq!(ds.k(), 3);
        assert_eq!(ds.feature_names().unwrap(), &["a", "b"]);
    }

    #[test]
    fn crlf_quotes_spaces_bom_and_blank_lines_are_tokenised() {
        let ds = parse("\u{feff}\"a\", label\r\n 1.5 ,\"1\"\r\n\r\n-2e3,0\r\n").unwrap();
        assert_eq!(ds.x(), &[1.5, -2000.0]);
        assert_eq!(ds.labels(), &[1, 0]);
    }

    #[test]
    fn line_numbers_count_skipped_blank_lines() {
        let (line, col, _) = place(parse("a,label\n1,0\n\n\nx,1\n").unwrap_err());
        assert_eq!((line, col), (5, 1));
        let text = "a,label\r\n1,0\r\n\r\n   \r\n\"1\",\"0\"\r\nx,1\r\n";
        let (line, col, _) = place(parse(text).unwrap_err());
        assert_eq!((line, col), (6, 1));
    }

    #[test]
    fn integral_float_labels_are_accepted() {
        assert_eq!(parse_label("3.0"), Ok(3));
        assert_eq!(parse_label("0"), Ok(0));
        assert!(parse_label("1e30").is_err());
        assert!(parse_label("nan").is_err());
        assert!(parse_label("-0.5").unwrap_err().contains("negative"));
    }

    #[test]
    fn a_repeated_label_column_is_rejected_at_the_second() {
        let (line, col, reason) = place(parse("label,a,label\n0,1,0\n").unwrap_err());
        assert_eq!((line, col), (1, 3));
        assert!(reason.contains("second `label`"), "{reason}");
    }

    #[test]
    fn a_missing_header_gets_a_hint() {
        let (line, col, reason) = place(parse("0.5,1,0\n1.5,2,1\n").unwrap_err());
        assert_eq!((line, col), (1, 0));
        assert!(reason.contains("looks like data"), "{reason}");
    }

    #[test]
    fn a_header_with_only_label_is_rejected() {
        let (line, _, reason) = place(parse("label\n0\n").unwrap_err());
        assert_eq!(line, 1);
        assert!(reason.contains("at least one feature"), "{reason}");
    }
}
