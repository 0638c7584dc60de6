//! A checked model typed for one input shape, priced, optimised and ready to run.

use crate::check::Checked;
use crate::price::*;
use crate::tensor::{datum_type, shape_of};
use crate::InferenceError;
use phalanx_sdk::inference::Tensor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use tract_onnx::prelude::*;

/// A model ready to run on inputs of the shapes it was prepared for.
pub struct Prepared {
    pub(crate) plan: Arc<TypedRunnableModel>,
    /// Integer tensors and [`crate::DETERMINISTIC_OPERATORS`] only: every worker computes the
    /// same output, so a command may run it.
    pub deterministic: bool,
    /// What one run costs (the tensor bytes of the inputs it was prepared with; the output's are
    /// the same for every run of these shapes).
    pub price: Price,
}

fn untyped(e: impl std::fmt::Display) -> InferenceError {
    InferenceError::Untyped(format!("{e:#}"))
}

/// Runs `f`, turning a panic inside the runtime into an error: a hostile model must not take
/// the worker down.
pub(crate) fn guarded<T>(
    f: impl FnOnce() -> Result<T, InferenceError>,
) -> Result<T, InferenceError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let said = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        Err(InferenceError::Runtime(said))
    })
}

pub(crate) fn prepare(
    checked: &Checked,
    model_bytes: usize,
    inputs: &[Tensor],
) -> Result<Prepared, InferenceError> {
    if inputs.len() != checked.inputs {
        return Err(InferenceError::InputCount {
            expected: checked.inputs,
            given: inputs.len(),
        });
    }
    guarded(|| {
        let mut model = tract_onnx::onnx()
            .model_for_proto_model(&checked.proto)
            .map_err(untyped)?;
        for (index, input) in inputs.iter().enumerate() {
            let shape = shape_of(index, input)?;
            let fact = InferenceFact::dt_shape(datum_type(input.element), shape);
            model = model.with_input_fact(index, fact).map_err(untyped)?;
        }
        let typed = model.into_typed().map_err(untyped)?;
        let mut elements = 0u64;
        let mut fma = 0u64;
        let mut integers_only = true;
        for node in typed.nodes() {
            for output in &node.outputs {
                let shape =
                    output
                        .fact
                        .shape
                        .as_concrete()
                        .ok_or_else(|| InferenceError::NotFinite {
                            node: node.name.clone(),
                        })?;
                let count = shape.iter().fold(1u64, |n, d| n.saturating_mul(*d as u64));
                elements = elements.saturating_add(count);
                integers_only &= output.fact.datum_type.is_integer()
                    || output.fact.datum_type == DatumType::Bool;
            }
            let facts = typed.node_input_facts(node.id).map_err(untyped)?;
            for (cost, count) in node.op.cost(&facts).map_err(untyped)? {
                if matches!(
                    cost,
                    tract_onnx::tract_core::ops::Cost::FMA(_)
                        | tract_onnx::tract_core::ops::Cost::Div(_)
                ) {
                    let count = count.to_i64().map_err(untyped)?.max(0) as u64;
                    fma = fma.saturating_add(count);
                }
            }
            if elements > MAX_INFERENCE_ELEMENTS {
                return Err(InferenceError::TooManyElements {
                    elements,
                    limit: MAX_INFERENCE_ELEMENTS,
                });
            }
            if fma > MAX_INFERENCE_FMA {
                return Err(InferenceError::TooManyOperations {
                    fma,
                    limit: MAX_INFERENCE_FMA,
                });
            }
        }
        let mut output_bytes = 0u64;
        for outlet in typed.output_outlets().map_err(untyped)? {
            let fact = typed.outlet_fact(*outlet).map_err(untyped)?;
            let count = fact
                .shape
                .as_concrete()
                .map_or(0, |s| s.iter().product::<usize>());
            output_bytes += (count * fact.datum_type.size_of()) as u64;
        }
        if output_bytes > MAX_INFERENCE_OUTPUT_BYTES as u64 {
            return Err(InferenceError::OutputTooLarge {
                size: output_bytes as usize,
                limit: MAX_INFERENCE_OUTPUT_BYTES,
            });
        }
        let input_bytes: u64 = inputs.iter().map(|t| t.data.len() as u64).sum();
        let plan = typed
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(untyped)?;
        Ok(Prepared {
            plan,
            deterministic: checked.deterministic_operators && integers_only,
            price: Price {
                model_bytes: model_bytes as u64,
                fma,
                elements,
                tensor_bytes: input_bytes + output_bytes,
            },
        })
    })
}
