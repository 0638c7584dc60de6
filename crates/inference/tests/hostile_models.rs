//! A model is input from a contract, so from anyone who deploys one: damaged or hostile bytes
//! end in an error, never in a panic that would reach the worker, and never in unbounded work.

use phalanx_inference::{InferenceError, Models};
use phalanx_sdk::inference::{ElementType, Tensor};
use proptest::prelude::*;

const MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../models/breast_cancer/classifier.onnx"
);

fn input() -> Tensor {
    Tensor {
        element: ElementType::F32,
        shape: vec![1, 30],
        data: vec![0; 30 * 4],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The example model with bytes changed at random places: refused or run, never a panic.
    #[test]
    fn damaged_models_fail_cleanly(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut model = std::fs::read(MODEL).unwrap();
        for (at, byte) in edits {
            let i = at.index(model.len());
            model[i] = byte;
        }
        let models = Models::new();
        if let Ok(prepared) = models.prepare(&model, &[input()]) {
            let _ = models.run(&prepared, &[input()]);
        }
    }

    /// Input tensors whose data and shape disagree are refused before the runtime sees them.
    #[test]
    fn malformed_tensors_are_refused(shape in proptest::collection::vec(0u32..64, 0..4), len in 0usize..512) {
        let tensor = Tensor { element: ElementType::F32, shape, data: vec![1; len] };
        let model = std::fs::read(MODEL).unwrap();
        let well_formed = tensor.is_well_formed();
        let said = Models::new().prepare(&model, &[tensor]);
        if !well_formed {
            prop_assert!(matches!(said, Err(InferenceError::BadInput { index: 0, .. })), "{:?}", said.err());
        }
    }
}

#[test]
fn a_huge_input_shape_is_priced_out_before_it_runs() {
    let model = std::fs::read(MODEL).unwrap();
    // 2^20 rows of 30 features: 126 MB of input, refused on its element count; the data is
    // not even there (the tensor is malformed), so first the shape check answers.
    let rows = 1u32 << 20;
    let tensor = Tensor {
        element: ElementType::F32,
        shape: vec![rows, 30],
        data: vec![0; 4],
    };
    assert!(matches!(
        Models::new().prepare(&model, &[tensor]),
        Err(InferenceError::BadInput { .. })
    ));
    // A well-formed batch over the element bound: 600,000 rows of 30 floats (72 MB).
    let rows = 600_000u32;
    let tensor = Tensor {
        element: ElementType::F32,
        shape: vec![rows, 30],
        data: vec![0; rows as usize * 30 * 4],
    };
    assert!(matches!(
        Models::new().prepare(&model, &[tensor]),
        Err(InferenceError::TooManyElements { .. })
    ));
}
