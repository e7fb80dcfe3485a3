//! The portable variants: plain Rust that runs everywhere.
