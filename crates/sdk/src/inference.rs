//! The tensors a contract hands to the worker's model runtime and gets back (the host function
//! `model_run`; docs/contract-abi.md). One definition for both sides: the host decodes these
//! very types. Elements are little-endian; a contract never computes with floats (Wasm floats
//! are refused at upload), it only passes their bytes through.

use alloc::vec::Vec;
use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;

/// The element types a model's inputs and outputs may have.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Encode, Decode, TypeInfo)]
pub enum ElementType {
    #[codec(index = 0)]
    F32,
    #[codec(index = 1)]
    I8,
    #[codec(index = 2)]
    U8,
    #[codec(index = 3)]
    I32,
    #[codec(index = 4)]
    I64,
    #[codec(index = 5)]
    Bool,
}

impl ElementType {
    /// Bytes of one element.
    pub const fn size(self) -> usize {
        match self {
            ElementType::I8 | ElementType::U8 | ElementType::Bool => 1,
            ElementType::F32 | ElementType::I32 => 4,
            ElementType::I64 => 8,
        }
    }
}

/// A dense tensor: `shape` dimensions, `data` the elements in row-major order, little-endian.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub struct Tensor {
    pub element: ElementType,
    pub shape: Vec<u32>,
    pub data: Vec<u8>,
}

impl Tensor {
    /// Elements the shape holds (saturating: an absurd shape is refused by its length check).
    pub fn elements(&self) -> u64 {
        self.shape
            .iter()
            .fold(1u64, |n, d| n.saturating_mul(u64::from(*d)))
    }

    /// Whether `data` holds exactly the elements `shape` says.
    pub fn is_well_formed(&self) -> bool {
        self.elements()
            .checked_mul(self.element.size() as u64)
            .is_some_and(|bytes| bytes == self.data.len() as u64)
    }

    /// An i64 tensor (e.g. fixed-point features).
    pub fn from_i64(shape: Vec<u32>, values: &[i64]) -> Tensor {
        Tensor {
            element: ElementType::I64,
            shape,
            data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    /// The elements of an i64 tensor, if it is one.
    pub fn to_i64(&self) -> Option<Vec<i64>> {
        (self.element == ElementType::I64 && self.is_well_formed()).then(|| {
            self.data
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect()
        })
    }
}
