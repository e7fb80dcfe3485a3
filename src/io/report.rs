//! Output files: the JSON report every subcommand can write, and the two rules every output
//! follows (issue #10): it is written to a temporary file beside its target and renamed over
//! it, so a crash or a full disk never leaves a half-written file under the real name, and it
//! is never one of the command's inputs.
//!
//! ```no_run
//! use std::path::Path;
//! use puma::io::report::{check_outputs, write_json};
//!
//! let data = Path::new("train.csv");
//! let report = Path::new("report.json");
//! check_outputs(&[("report", report)], &[data])?; // before any work
//! let json = serde_json::json!({ "n": 1797, "grad_inf": 3.1e-13 });
//! write_json(report, &json)?;
//! # Ok::<(), puma::Error>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Writes `bytes` to a temporary file in `path`'s directory, then renames it over `path`.
///
/// The temporary name is `.{file name}.tmp{pid}.{k}` (unique within the process), so it is on
/// the same file system and the rename is atomic on POSIX. On failure the temporary file is
/// removed and `path` is untouched.
///
/// # Errors
/// [`Error::Io`] naming `path` if the directory does not exist or is not writable, or if the
/// write or the rename fails; [`Error::InvalidParam`] if `path` has no file name (`..`, `/`).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let Some(name) = path.file_name() else {
        return Err(Error::InvalidParam {
            name: "output path",
            reason: format!("{} does not name a file", path.display()),
        });
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(
        ".tmp{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(path, &e)
        })
}

/// Writes `value` as pretty-printed JSON with a final newline, atomically
/// ([`write_atomically`]).
///
/// # Errors
/// As [`write_atomically`].
pub fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| Error::InvalidParam {
        name: "report",
        reason: format!("cannot serialise the report: {e}"),
    })?;
    text.push('\n');
    write_atomically(path, text.as_bytes())
}

/// Whether `a` and `b` name the same existing file: equal canonical paths (symbolic links
/// and `..` resolved), or on Unix the same device and inode (hard links). Paths of which
/// either does not exist are compared as written, after dropping a leading `./`.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(ca), Ok(cb)) => ca == cb || same_inode(&ca, &cb),
        _ => a.strip_prefix("./").unwrap_or(a) == b.strip_prefix("./").unwrap_or(b),
    }
}

#[cfg(unix)]
fn same_inode(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (a.metadata(), b.metadata()) {
        (Ok(ma), Ok(mb)) => ma.dev() == mb.dev() && ma.ino() == mb.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_inode(_: &Path, _: &Path) -> bool {
    false
}

/// Refuses outputs that would overwrite an input or each other, before any work is done.
///
/// `outputs` pairs each output path with the flag that named it (`"out"`, `"report"`, ...);
/// `inputs` are every file the command reads.
///
/// # Errors
/// [`Error::InvalidParam`] named after the output's flag, whose message names the file;
/// [`Error::Io`] naming an output whose directory does not exist.
///
/// # Examples
/// ```
/// use std::path::Path;
/// use puma::io::report::check_outputs;
///
/// let data = Path::new("train.csv");
/// let err = check_outputs(&[("out", data)], &[data]).unwrap_err();
/// assert!(err.to_string().contains("train.csv is an input"));
/// assert!(check_outputs(&[("out", Path::new("m.safetensors"))], &[data]).is_ok());
/// ```
pub fn check_outputs(outputs: &[(&'static str, &Path)], inputs: &[&Path]) -> Result<()> {
    for (k, &(flag, out)) in outputs.iter().enumerate() {
        if let Some(input) = inputs.iter().find(|input| same_file(input, out)) {
            let alias = if *input == out {
                String::new()
            } else {
                format!(" (the same file as {})", input.display())
            };
            return Err(Error::InvalidParam {
                name: flag,
                reason: format!("{} is an input{alias}; write to a new file", out.display()),
            });
        }
        let dir = match out.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            return Err(Error::Io {
                file: out.to_path_buf(),
                reason: format!("cannot write here: {} is not a directory", dir.display()),
            });
        }
        if let Some(&(other, _)) = outputs[..k].iter().find(|(_, o)| same_file(o, out)) {
            return Err(Error::InvalidParam {
                name: flag,
                reason: format!(
                    "--{flag} and --{other} both name {}; give each output its own file",
                    out.display()
                ),
            });
        }
    }
    Ok(())
}

/// A path as a JSON string (lossy for non-UTF-8 names), for reports.
pub fn path_json(path: &Path) -> serde_json::Value {
    serde_json::Value::String(path.display().to_string())
}

/// A fresh directory `base`, or `base-2`, `base-3`, ... if that exists: for commands whose
/// default output is "a new folder, never overwriting". Returns the directory created.
///
/// # Errors
/// [`Error::Io`] if a directory cannot be created (parent missing or not writable);
/// [`Error::InvalidParam`] after 10,000 existing names.
pub fn create_fresh_dir(base: &Path) -> Result<PathBuf> {
    for k in 1..=10_000usize {
        let dir = if k == 1 {
            base.to_path_buf()
        } else {
            let mut name = base.as_os_str().to_os_string();
            name.push(format!("-{k}"));
            PathBuf::from(name)
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(&dir, &e)),
        }
    }
    Err(Error::InvalidParam {
        name: "out",
        reason: format!("{}-2 ... {0}-10000 all exist", base.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("puma-report-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn json_is_written_whole_and_leaves_no_temporary_file() {
        let dir = scratch("json");
        let path = dir.join("r.json");
        write_json(&path, &serde_json::json!({"a": 1.5})).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\n  \"a\": 1.5\n}\n");
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(names.len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unwritable_path_is_an_io_error_naming_it() {
        let path = Path::new("/nonexistent-puma-dir/r.json");
        let err = write_json(path, &serde_json::json!(1)).unwrap_err();
        assert!(
            matches!(&err, Error::Io { file, .. } if file == path),
            "{err}"
        );
        assert!(
            err.to_string()
                .starts_with("/nonexistent-puma-dir/r.json: ")
        );
    }

    #[test]
    fn outputs_equal_to_inputs_or_each_other_are_refused() {
        let dir = scratch("same");
        let input = dir.join("in.csv");
        std::fs::write(&input, "label\n0\n").unwrap();
        let via_dots = dir.join("sub").join("..").join("in.csv");
        std::fs::create_dir(dir.join("sub")).unwrap();
        let err = check_outputs(&[("out", &via_dots)], &[&input]).unwrap_err();
        assert!(
            matches!(err, Error::InvalidParam { name: "out", .. }),
            "{err}"
        );
        let a = dir.join("a.json");
        let err = check_outputs(&[("out", &a), ("report", &a)], &[&input]).unwrap_err();
        assert!(
            matches!(err, Error::InvalidParam { name: "report", .. }),
            "{err}"
        );
        assert!(check_outputs(&[("out", &a)], &[&input]).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn fresh_dirs_never_reuse_a_name() {
        let dir = scratch("fresh");
        let base = dir.join("demo");
        assert_eq!(create_fresh_dir(&base).unwrap(), base);
        assert_eq!(create_fresh_dir(&base).unwrap(), dir.join("demo-2"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
