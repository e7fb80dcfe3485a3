//! The PUMA options beyond the single step, on the digits logistic regression: η is halved
//! while a guard group moves more than its δ ([eq5]) and the report says so; U can be the
//! first k points along the Lasso path of [eq9], and then λ* lives on those k points only;
//! bad inputs are refused before any work.

mod common;

use common::fixture;
use puma::Error;
use puma::criteria::{LossKind, MeanLoss, PerSampleLoss};
use puma::data::csv::read_csv;
use puma::io::load;
use puma::model::Samples;
use puma::puma::{Guard, PatchInput, PatchParams, UpWeight, patch};
use puma::solvers::{Exact, ExactParams};

#[test]
fn eta_is_halved_until_the_guard_is_within_delta() {
    let model = load(fixture("reference/digits_logreg/model.safetensors")).unwrap();
    let train_ds = read_csv(fixture("reference/digits_logreg/train.csv")).unwrap();
    let test_ds = read_csv(fixture("reference/digits_logreg/test.csv")).unwrap();
    let train = Samples::of(&train_ds);
    let flipped = puma::data::indices::read_indices(
        fixture("reference/digits_logreg/flipped.txt"),
        train.n(),
    )
    .unwrap();
    let guard = MeanLoss::new(Samples::of(&test_ds), LossKind::CrossEntropy).unwrap();
    let mut solver = Exact::new(ExactParams::default()).unwrap();
    let run = |delta: f64, shrink: bool, solver: &mut Exact| {
        let mut input = PatchInput::new(&model.mlp, &model.theta, train, &flipped);
        input.guards.push(Guard {
            criterion: &guard,
            delta,
        });
        // λ = 0 (α = α_max): the naive step, whose guard move is sizeable.
        let params = PatchParams {
            alpha_rel: 1.0,
            shrink,
            ..PatchParams::default()
        };
        patch(&input, &params, solver).unwrap()
    };
    let free = run(1e-4, false, &mut solver);
    let moved = free.report.groups[0].moved;
    println!("η = 1/n moves the mean test loss by {moved:.3e}");
    assert!(moved > 4e-4, "the test needs a step that moves the guard");
    assert_eq!(free.report.halvings, 0);
    assert!(!free.report.groups[0].within);

    let shrunk = run(moved / 3.0, true, &mut solver);
    let r = &shrunk.report;
    println!(
        "δ = {:.3e}: {} halvings, η = {:.3e}, moved {:.3e}",
        moved / 3.0,
        r.halvings,
        r.eta,
        r.groups[0].moved
    );
    assert!(r.halvings >= 2, "{} halvings", r.halvings);
    assert_eq!(r.eta, r.eta_initial / f64::from(1 << r.halvings));
    assert!(r.groups[0].within && r.groups[0].moved <= moved / 3.0);
    let json = r.to_json();
    assert_eq!(json["eta_halvings"], r.halvings);
    assert_eq!(json["guard_groups"][0]["within"], true);
}

#[test]
fn upweight_set_is_the_first_k_on_the_lasso_path() {
    let model = load(fixture("reference/digits_logreg/model.safetensors")).unwrap();
    let train_ds = read_csv(fixture("reference/digits_logreg/train.csv")).unwrap();
    let test_ds = read_csv(fixture("reference/digits_logreg/test.csv")).unwrap();
    let train = Samples::of(&train_ds);
    let guard =
        PerSampleLoss::new(Samples::of(&test_ds).rows(0..80), LossKind::CrossEntropy).unwrap();
    let marked: Vec<usize> = (0..40).collect();
    let mut input = PatchInput::new(&model.mlp, &model.theta, train, &marked);
    input.guards.push(Guard {
        criterion: &guard,
        delta: 1.0,
    });
    input.upweight = UpWeight::LassoPath {
        k: 25,
        path_steps: 50,
    };
    let mut solver = Exact::new(ExactParams::default()).unwrap();
    let params = PatchParams {
        alpha_rel: 1e-3,
        shrink: false,
        ..PatchParams::default()
    };
    let out = patch(&input, &params, &mut solver).unwrap();
    assert_eq!(out.upweighted.len(), 25);
    assert!(out.upweighted.iter().all(|j| !marked.contains(j)));
    assert_eq!(out.lambda.len(), 25);
    assert!(out.report.lambda_nnz > 0);
    // Weights: 0 on M, 1 + λ on U, 1 elsewhere.
    for (i, w) in out.weights.iter().enumerate() {
        if marked.contains(&i) {
            assert_eq!(*w, 0.0);
        } else if let Some(k) = out.upweighted.iter().position(|&j| j == i) {
            assert_eq!(*w, 1.0 + out.lambda[k]);
        } else {
            assert_eq!(*w, 1.0);
        }
    }
    // With every unmarked point available the fit can only be as good or better.
    input.upweight = UpWeight::Unmarked;
    let all = patch(&input, &params, &mut solver).unwrap();
    println!(
        "compensation residual: k = 25 along the path {:.3}, all unmarked {:.3}",
        out.report.compensation_residual, all.report.compensation_residual
    );
    assert!(
        out.report.compensation_residual < 0.9,
        "25 points must compensate something"
    );
    assert!(all.report.compensation_residual <= out.report.compensation_residual + 1e-6);
}

#[test]
fn bad_inputs_are_refused_before_any_work() {
    let model = load(fixture("reference/digits_logreg/model.safetensors")).unwrap();
    let train_ds = read_csv(fixture("reference/digits_logreg/train.csv")).unwrap();
    let train = Samples::of(&train_ds);
    let guard = MeanLoss::new(train.rows(0..10), LossKind::CrossEntropy).unwrap();
    let mut solver = Exact::new(ExactParams::default()).unwrap();
    let all: Vec<usize> = (0..train.n()).collect();
    let n = train.n();
    let cases: Vec<(Vec<usize>, PatchParams, bool)> = vec![
        (vec![], PatchParams::default(), true),
        (all, PatchParams::default(), true),
        (vec![3, n], PatchParams::default(), true),
        (vec![3, 3], PatchParams::default(), true),
        (
            vec![3],
            PatchParams {
                bounds: (-2.0, 1.0),
                ..PatchParams::default()
            },
            true,
        ),
        (
            vec![3],
            PatchParams {
                eta: Some(0.0),
                ..PatchParams::default()
            },
            true,
        ),
        (vec![3], PatchParams::default(), false), // no guard
    ];
    for (marked, params, with_guard) in cases {
        let mut input = PatchInput::new(&model.mlp, &model.theta, train, &marked);
        if with_guard {
            input.guards.push(Guard {
                criterion: &guard,
                delta: 0.1,
            });
        }
        let err = patch(&input, &params, &mut solver).unwrap_err();
        println!("{err}");
        assert!(
            matches!(
                err,
                Error::InvalidParam { .. } | Error::IndexOutOfRange { index: _, .. }
            ),
            "{err:?}"
        );
    }
    let past = [n + 5];
    let mut input = PatchInput::new(&model.mlp, &model.theta, train, &past);
    input.guards.push(Guard {
        criterion: &guard,
        delta: 0.1,
    });
    let err = patch(&input, &PatchParams::default(), &mut solver).unwrap_err();
    assert_eq!(
        err,
        Error::IndexOutOfRange {
            what: "marked training row",
            index: n + 5,
            len: n
        }
    );
}
