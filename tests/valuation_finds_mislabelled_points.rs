//! Claim: on both reference problems (10% of training labels flipped, flipped.txt), ranking
//! by self-influence [self] finds ≥ 90% of the flipped rows in the top 20%, and ranking by the
//! ψ value for the mean-test-loss criterion ([ψ], [remove], ascending: harmful first) finds
//! ≥ 60% (blog post, Figure 5). Every baseline's detection curve (training loss, ‖g_i‖²,
//! seeded random) is printed next to them (`--nocapture`). Exact solver, ρ = 0.

mod common;

use common::{fixture, read_csv};
use puma::criteria::{LossKind, MeanLoss};
use puma::influence::hessian_operator;
use puma::model::Samples;
use puma::solvers::{Exact, ExactParams};
use puma::valuation::{Baselines, DetectionCurve, psi};

fn flipped(problem: &str) -> Vec<usize> {
    std::fs::read_to_string(fixture(&format!("reference/{problem}/flipped.txt")))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

fn curves(problem: &str) -> Vec<DetectionCurve> {
    let model = puma::io::load(fixture(&format!("reference/{problem}/model.safetensors"))).unwrap();
    let (mlp, theta) = (model.mlp, model.theta);
    let tr = read_csv(&format!("reference/{problem}/train.csv"));
    let te = read_csv(&format!("reference/{problem}/test.csv"));
    let train = Samples::new(&tr.x, tr.d, &tr.y).unwrap();
    let test = Samples::new(&te.x, te.d, &te.y).unwrap();
    let op = hessian_operator(&mlp, &theta, train).unwrap();
    let mut solver = Exact::new(ExactParams::default()).unwrap();
    let c = MeanLoss::new(test, LossKind::CrossEntropy).unwrap();
    let values = psi(&c, &mlp, &theta, &train, &mut solver, op.as_ref())
        .unwrap()
        .values();
    let base = Baselines::compute(&mlp, &theta, &train, &mut solver, op.as_ref(), 3).unwrap();
    let bad = flipped(problem);
    let curves = base.curves(Some(&values), &bad).unwrap();
    println!(
        "{problem}: {} flipped of {} rows; found at 10% / 20% / 30% inspected, area",
        bad.len(),
        train.n()
    );
    for c in &curves {
        println!(
            "  {:<15} {:.3} / {:.3} / {:.3}   {:.3}",
            c.name,
            c.found_at(0.1),
            c.found_at(0.2),
            c.found_at(0.3),
            c.area()
        );
    }
    curves
}

fn found_at_20(curves: &[DetectionCurve], name: &str) -> f64 {
    curves
        .iter()
        .find(|c| c.name == name)
        .unwrap()
        .found_at(0.2)
}

#[test]
fn self_influence_and_psi_value_find_flipped_labels_on_the_moons_mlp() {
    let c = curves("moons_mlp");
    assert!(
        found_at_20(&c, "self-influence") >= 0.9,
        "moons self-influence"
    );
    assert!(found_at_20(&c, "psi-value") >= 0.6, "moons ψ value");
}

#[test]
fn self_influence_and_psi_value_find_flipped_labels_on_digits() {
    let c = curves("digits_logreg");
    assert!(
        found_at_20(&c, "self-influence") >= 0.9,
        "digits self-influence"
    );
    assert!(found_at_20(&c, "psi-value") >= 0.6, "digits ψ value");
}
