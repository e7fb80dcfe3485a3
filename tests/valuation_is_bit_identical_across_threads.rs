//! Claim: criteria, ψ, values, baselines, the Newton leave-one-out estimate and the hard ECE
//! give identical bits with 1 and 2 rayon threads (fixed chunks and fixed-order reductions),
//! on the moons MLP (matrix-free Hessian assembled for the exact solver) and digits
//! logistic regression (closed-form Hessian).

mod common;

use common::{fixture, read_csv};
use puma::criteria::{ClassLoss, Criterion, LossKind, PerSampleLoss, SoftEce, hard_ece};
use puma::influence::hessian_operator;
use puma::model::Samples;
use puma::solvers::{Exact, ExactParams};
use puma::valuation::{Baselines, NewtonLoo, psi, top_k_for_test_point};

fn with_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn everything(problem: &str) -> Vec<Vec<u64>> {
    let model = puma::io::load(fixture(&format!("reference/{problem}/model.safetensors"))).unwrap();
    let (mlp, theta) = (model.mlp, model.theta);
    let tr = read_csv(&format!("reference/{problem}/train.csv"));
    let te = read_csv(&format!("reference/{problem}/test.csv"));
    let train = Samples::new(&tr.x, tr.d, &tr.y).unwrap();
    let test = Samples::new(&te.x, te.d, &te.y).unwrap();
    let op = hessian_operator(&mlp, &theta, train).unwrap();
    let mut solver = Exact::new(ExactParams::default()).unwrap();
    let mut out = Vec::new();
    let per = PerSampleLoss::new(test.rows(0..40), LossKind::Brier).unwrap();
    let class = ClassLoss::new(test, LossKind::CrossEntropy).unwrap();
    let ece = SoftEce::new(test, &mlp, &theta).unwrap();
    for c in [&per as &dyn Criterion, &class, &ece] {
        out.push(bits(&c.values(&mlp, &theta).unwrap()));
        let ps = psi(c, &mlp, &theta, &train, &mut solver, op.as_ref()).unwrap();
        out.push(bits(&ps.psi));
        out.push(bits(&ps.directions));
        out.push(bits(&ps.values()));
    }
    let base = Baselines::compute(&mlp, &theta, &train, &mut solver, op.as_ref(), 1).unwrap();
    out.push(bits(&base.self_influence));
    out.push(bits(&base.training_loss));
    out.push(bits(&base.grad_norm_sq));
    let (v, _) =
        top_k_for_test_point(&mlp, &theta, &train, &test, 3, 5, &mut solver, op.as_ref()).unwrap();
    out.push(bits(&v));
    let mut newton = NewtonLoo::new(&mlp, &theta, train, test).unwrap();
    for i in [0, 17] {
        if let Ok(step) = newton.step(i) {
            out.push(bits(&step));
        }
    }
    out.push(bits(&[hard_ece(&mlp, &theta, &test).unwrap().ece]));
    out
}

#[test]
fn valuation_is_identical_with_one_and_two_threads() {
    for problem in ["moons_mlp", "digits_logreg"] {
        let one = with_threads(1, || everything(problem));
        let two = with_threads(2, || everything(problem));
        assert_eq!(
            one.len(),
            two.len(),
            "{problem}: a step failed on one pool only"
        );
        for (k, (a, b)) in one.iter().zip(&two).enumerate() {
            assert!(
                a == b,
                "{problem}: output {k} differs between 1 and 2 threads"
            );
        }
    }
}
