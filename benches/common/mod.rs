//! The problems every model benchmark runs on (benches/autodiff.rs, benches/second_order.rs):
//! [2,16,16,2] on the moons training set (n = 1000), [64,32,10] on UCI digits, standardised
//! (n = 1797), and [784,128,10] on 1000 MNIST images (seeded shuffle, pixels/255); tanh,
//! μ = 1e-3. The names are the middle part of the benchmark ids.

use std::path::PathBuf;

use puma::autodiff::Activation;
use puma::data::Dataset;
use puma::model::Mlp;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// The problems: name, model, data.
pub fn problems() -> Vec<(&'static str, Mlp, Dataset)> {
    let moons = puma::data::csv::read_csv(fixture("reference/moons_mlp/train.csv")).unwrap();
    let mut digits = puma::data::csv::read_csv(fixture("digits/digits.csv")).unwrap();
    digits.standardise_in_place();
    let mnist = puma::data::idx::read_idx(
        fixture("mnist10k/images-idx3-ubyte.gz"),
        fixture("mnist10k/labels-idx1-ubyte.gz"),
    )
    .unwrap();
    let (mnist, _) = mnist.shuffled(0); // stored grouped by label
    let first: Vec<usize> = (0..1000).collect();
    let mnist = mnist.subset(&first).unwrap();
    let (x, y) = mnist.into_parts();
    let mnist = Dataset::new(x.iter().map(|v| v / 255.0).collect(), 784, y).unwrap();
    vec![
        (
            "2-16-16-2_n1000",
            Mlp::new(&[2, 16, 16, 2], Activation::Tanh, 1e-3).unwrap(),
            moons,
        ),
        (
            "64-32-10_n1797",
            Mlp::new(&[64, 32, 10], Activation::Tanh, 1e-3).unwrap(),
            digits,
        ),
        (
            "784-128-10_n1000",
            Mlp::new(&[784, 128, 10], Activation::Tanh, 1e-3).unwrap(),
            mnist,
        ),
    ]
}
