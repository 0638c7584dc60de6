//! Between the SDK's wire tensors and tract's.

use crate::InferenceError;
use phalanx_sdk::inference::{ElementType, Tensor};
use tract_onnx::prelude::{DatumType, Tensor as TractTensor};

/// Dimensions of one tensor.
pub const MAX_TENSOR_RANK: usize = 8;

pub(crate) fn datum_type(element: ElementType) -> DatumType {
    match element {
        ElementType::F32 => DatumType::F32,
        ElementType::I8 => DatumType::I8,
        ElementType::U8 => DatumType::U8,
        ElementType::I32 => DatumType::I32,
        ElementType::I64 => DatumType::I64,
        ElementType::Bool => DatumType::Bool,
    }
}

pub(crate) fn element_type(datum: DatumType) -> Option<ElementType> {
    Some(match datum {
        DatumType::F32 => ElementType::F32,
        DatumType::I8 => ElementType::I8,
        DatumType::U8 => ElementType::U8,
        DatumType::I32 => ElementType::I32,
        DatumType::I64 => ElementType::I64,
        DatumType::Bool => ElementType::Bool,
        _ => return None,
    })
}

pub(crate) fn shape_of(index: usize, tensor: &Tensor) -> Result<Vec<usize>, InferenceError> {
    let bad = |reason: String| InferenceError::BadInput { index, reason };
    if tensor.shape.len() > MAX_TENSOR_RANK {
        return Err(bad(format!(
            "rank {} over {MAX_TENSOR_RANK}",
            tensor.shape.len()
        )));
    }
    if !tensor.is_well_formed() {
        return Err(bad(format!(
            "{} bytes of data for shape {:?} of {:?}",
            tensor.data.len(),
            tensor.shape,
            tensor.element
        )));
    }
    Ok(tensor.shape.iter().map(|d| *d as usize).collect())
}

fn le<const N: usize>(chunk: &[u8]) -> [u8; N] {
    chunk.try_into().expect("chunks_exact gives N bytes")
}

/// A wire tensor as tract's, elements read little-endian (checked well-formed first).
pub(crate) fn to_tract(index: usize, tensor: &Tensor) -> Result<TractTensor, InferenceError> {
    let shape = shape_of(index, tensor)?;
    let data = &tensor.data;
    let made = match tensor.element {
        ElementType::F32 => {
            let v: Vec<f32> = data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(le(c)))
                .collect();
            TractTensor::from_shape(&shape, &v)
        }
        ElementType::I8 => {
            let v: Vec<i8> = data.iter().map(|b| *b as i8).collect();
            TractTensor::from_shape(&shape, &v)
        }
        ElementType::U8 => TractTensor::from_shape(&shape, data),
        ElementType::I32 => {
            let v: Vec<i32> = data
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes(le(c)))
                .collect();
            TractTensor::from_shape(&shape, &v)
        }
        ElementType::I64 => {
            let v: Vec<i64> = data
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(le(c)))
                .collect();
            TractTensor::from_shape(&shape, &v)
        }
        ElementType::Bool => {
            let v: Vec<bool> = data.iter().map(|b| *b != 0).collect();
            TractTensor::from_shape(&shape, &v)
        }
    };
    made.map_err(|e| InferenceError::BadInput {
        index,
        reason: e.to_string(),
    })
}

/// tract's tensor on the wire.
pub(crate) fn from_tract(tensor: &TractTensor) -> Result<Tensor, InferenceError> {
    let runtime = |e: tract_onnx::prelude::TractError| InferenceError::Runtime(e.to_string());
    let element = element_type(tensor.datum_type()).ok_or_else(|| {
        InferenceError::Runtime(format!("an output of type {:?}", tensor.datum_type()))
    })?;
    let plain = tensor.try_as_plain_ram().map_err(runtime)?;
    let data: Vec<u8> = match element {
        ElementType::F32 => plain
            .as_slice::<f32>()
            .map_err(runtime)?
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        ElementType::I8 => plain
            .as_slice::<i8>()
            .map_err(runtime)?
            .iter()
            .map(|v| *v as u8)
            .collect(),
        ElementType::U8 => plain.as_slice::<u8>().map_err(runtime)?.to_vec(),
        ElementType::I32 => plain
            .as_slice::<i32>()
            .map_err(runtime)?
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        ElementType::I64 => plain
            .as_slice::<i64>()
            .map_err(runtime)?
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        ElementType::Bool => plain
            .as_slice::<bool>()
            .map_err(runtime)?
            .iter()
            .map(|v| u8::from(*v))
            .collect(),
    };
    Ok(Tensor {
        element,
        shape: tensor.shape().iter().map(|d| *d as u32).collect(),
        data,
    })
}
