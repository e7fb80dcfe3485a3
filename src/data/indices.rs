//! Index files: one 0-based row index per line, naming marked training points (for example
//! the rows whose label was flipped, `fixtures/reference/*/flipped.txt`).
//!
//! Blank lines and spaces around a number are ignored. Each index must be below the data
//! set's n and appear once. Errors are [`Error::Data`] with the 1-based line and column:
//!
//! ```text
//! flipped.txt:3:1: row index 1000 is out of range for 1000 rows (valid: 0..=999)
//! flipped.txt:7:1: row index 5 is listed twice (first on line 2)
//! ```

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};

/// Reads row indices from `path`, in file order, checking each is `< n` and unique.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Data`] naming the line for a field that
/// is not a non-negative integer, an index `≥ n`, or a repeated index.
///
/// # Examples
/// ```
/// let flipped = puma::data::indices::read_indices("fixtures/reference/moons_mlp/flipped.txt", 1000)?;
/// assert_eq!(flipped.len(), 100); // 10% of 1000 training labels
/// # Ok::<(), puma::Error>(())
/// ```
pub fn read_indices(path: impl AsRef<Path>, n: usize) -> Result<Vec<usize>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    parse_indices(&String::from_utf8_lossy(&bytes), path, n)
}

/// Parses index-file text; `file` is the name errors report.
///
/// # Errors
/// As [`read_indices`].
///
/// # Examples
/// ```
/// use std::path::Path;
/// use puma::data::indices::parse_indices;
///
/// assert_eq!(parse_indices("4\n0\n\n2\n", Path::new("m.txt"), 5)?, vec![4, 0, 2]);
/// let err = parse_indices("4\n4\n", Path::new("m.txt"), 5).unwrap_err();
/// assert_eq!(err.to_string(), "m.txt:2:1: row index 4 is listed twice (first on line 1)");
/// # Ok::<(), puma::Error>(())
/// ```
pub fn parse_indices(text: &str, file: &Path, n: usize) -> Result<Vec<usize>> {
    let mut seen: HashMap<usize, usize> = HashMap::new();
    let mut out = Vec::new();
    for (l, raw) in text.lines().enumerate() {
        let line = l + 1;
        let field = raw.trim();
        if field.is_empty() {
            continue;
        }
        let column = raw.len() - raw.trim_start().len() + 1;
        let fail = |reason: String| Error::Data {
            file: file.to_path_buf(),
            line,
            column,
            reason,
        };
        let i: usize = match field.parse::<usize>() {
            Ok(i) => i,
            Err(_) if field.parse::<i64>().is_ok() => {
                return Err(fail(format!(
                    "row index {field} is negative; expected a 0-based row number"
                )));
            }
            Err(_) => {
                return Err(fail(format!(
                    "expected a 0-based row index, found `{field}`"
                )));
            }
        };
        if i >= n {
            let valid = if n == 0 {
                "none".to_string()
            } else {
                format!("0..={}", n - 1)
            };
            return Err(fail(format!(
                "row index {i} is out of range for {n} rows (valid: {valid})"
            )));
        }
        if let Some(first) = seen.insert(i, line) {
            return Err(fail(format!(
                "row index {i} is listed twice (first on line {first})"
            )));
        }
        out.push(i);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(r: Result<Vec<usize>>) -> (usize, usize, String) {
        match r.unwrap_err() {
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
    fn errors_name_line_and_column() {
        let p = Path::new("m.txt");
        let (l, c, r) = place(parse_indices("1\n  x\n", p, 3));
        assert_eq!((l, c), (2, 3));
        assert!(r.contains("`x`"), "{r}");
        let (l, _, r) = place(parse_indices("0\n\n-1\n", p, 3));
        assert_eq!(l, 3);
        assert!(r.contains("negative"), "{r}");
        let (l, _, r) = place(parse_indices("2\n3\n", p, 3));
        assert_eq!(l, 2);
        assert!(r.contains("out of range for 3 rows"), "{r}");
        let (_, _, r) = place(parse_indices("1.5\n", p, 3));
        assert!(r.contains("`1.5`"), "{r}");
    }

    #[test]
    fn an_empty_file_marks_nothing() {
        assert_eq!(
            parse_indices("", Path::new("m"), 0).unwrap(),
            Vec::<usize>::new()
        );
    }
}
