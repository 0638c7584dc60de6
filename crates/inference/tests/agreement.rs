//! Issue 20, item 7: on the whole held-out set, the worker's runtime gives onnxruntime's
//! predictions (models/breast_cancer/reference.csv): labels exactly, probabilities within 1e-5.

use phalanx_inference::{InferenceError, Models};
use phalanx_sdk::inference::{ElementType, Tensor};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/breast_cancer");
const FEATURES: usize = 30;

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{DIR}/{name}")).unwrap()
}

fn rows(name: &str) -> Vec<Vec<f64>> {
    read(name)
        .lines()
        .map(|line| line.split(',').map(|v| v.parse().unwrap()).collect())
        .collect()
}

fn features(row: &[f64]) -> Tensor {
    Tensor {
        element: ElementType::F32,
        shape: vec![1, FEATURES as u32],
        data: row[..FEATURES]
            .iter()
            .flat_map(|v| (*v as f32).to_le_bytes())
            .collect(),
    }
}

#[test]
fn the_worker_agrees_with_onnxruntime_on_the_whole_held_out_set() {
    let model = std::fs::read(format!("{DIR}/classifier.onnx")).unwrap();
    let models = Models::new();
    let test = rows("test.csv");
    let reference = rows("reference.csv");
    assert_eq!(test.len(), reference.len());
    let mut worst = 0f64;
    for (row, expected) in test.iter().zip(&reference) {
        let input = [features(row)];
        let prepared = models.prepare(&model, &input).unwrap();
        assert!(!prepared.deterministic, "a float model is for queries");
        let out = models.run(&prepared, &input).unwrap();
        let label = out[0].to_i64().unwrap();
        assert_eq!(label, vec![expected[0] as i64], "row {row:?}");
        assert_eq!(out[1].element, ElementType::F32);
        for (k, chunk) in out[1].data.chunks_exact(4).enumerate() {
            let p = f32::from_le_bytes(chunk.try_into().unwrap()) as f64;
            worst = worst.max((p - expected[1 + k]).abs());
        }
    }
    assert!(worst <= 1e-5, "largest probability difference {worst:e}");
    assert_eq!(models.len(), 1, "one shape, one prepared model");
}

#[test]
fn a_batch_gives_the_rows_answers_and_is_priced_by_its_size() {
    let model = std::fs::read(format!("{DIR}/classifier.onnx")).unwrap();
    let models = Models::new();
    let test = rows("test.csv");
    let one = models.prepare(&model, &[features(&test[0])]).unwrap();
    let batch = Tensor {
        element: ElementType::F32,
        shape: vec![test.len() as u32, FEATURES as u32],
        data: test
            .iter()
            .flat_map(|r| r[..FEATURES].iter().flat_map(|v| (*v as f32).to_le_bytes()))
            .collect(),
    };
    let many = models
        .prepare(&model, std::slice::from_ref(&batch))
        .unwrap();
    assert!(many.price.fma > 100 * one.price.fma);
    assert!(many.price.gas() > one.price.gas());
    let out = models.run(&many, &[batch]).unwrap();
    let labels = out[0].to_i64().unwrap();
    let expected: Vec<i64> = rows("reference.csv").iter().map(|r| r[0] as i64).collect();
    assert_eq!(labels, expected);
}

#[test]
fn a_wrong_input_is_a_clear_error() {
    let model = std::fs::read(format!("{DIR}/classifier.onnx")).unwrap();
    let models = Models::new();
    let short = Tensor {
        element: ElementType::F32,
        shape: vec![1, 30],
        data: vec![0; 7],
    };
    assert!(matches!(
        models.prepare(&model, &[short]),
        Err(InferenceError::BadInput { index: 0, .. })
    ));
    let wrong_width = Tensor {
        element: ElementType::F32,
        shape: vec![1, 29],
        data: vec![0; 29 * 4],
    };
    let said = models.prepare(&model, &[wrong_width]).err().unwrap();
    assert!(
        matches!(
            said,
            InferenceError::Untyped(_)
                | InferenceError::NotFinite { .. }
                | InferenceError::Runtime(_)
        ),
        "{said}"
    );
    assert!(matches!(
        models.prepare(&model, &[]),
        Err(InferenceError::InputCount {
            expected: 1,
            given: 0
        })
    ));
}

#[test]
fn the_integer_model_is_deterministic_and_exact() {
    let model = std::fs::read(format!("{DIR}/integer.onnx")).unwrap();
    let models = Models::new();
    let test = rows("test.csv");
    let reference = rows("integer_reference.csv");
    for (row, expected) in test.iter().zip(&reference) {
        let fixed: Vec<u8> = row[..FEATURES]
            .iter()
            .flat_map(|v| (((*v as f32) as f64 * 256.0).round() as i32).to_le_bytes())
            .collect();
        let input = [Tensor {
            element: ElementType::I32,
            shape: vec![1, FEATURES as u32],
            data: fixed,
        }];
        let prepared = models.prepare(&model, &input).unwrap();
        assert!(
            prepared.deterministic,
            "int32 MatMul, Add, Mul, Concat, ArgMax"
        );
        let out = models.run(&prepared, &input).unwrap();
        assert_eq!(out[0].to_i64().unwrap(), vec![expected[0] as i64]);
        let score: Vec<i32> = out[1]
            .data
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(score, vec![0, expected[1] as i32]);
    }
}
