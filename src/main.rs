//! The `puma` command.
fn main() {
    println!("puma {}", env!("CARGO_PKG_VERSION"));
}
