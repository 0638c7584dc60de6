//! What running a model costs, decided from the typed model before it runs. One gas is about
//! what a Wasm operator costs (README, "gas_rate"); the figures here were set from
//! `cargo bench --bench inference` so that a prepared model's run costs no more time per gas
//! than contract code does.

/// Every run: decoding the tensors, looking the prepared model up, the runtime's own overhead.
pub const INFERENCE_BASE_GAS: u64 = 20_000;
/// Per byte of the model: preparing a model the cache does not hold parses and optimises it.
/// Charged whether or not the cache held it, so the gas does not depend on a worker's history.
pub const GAS_PER_MODEL_BYTE: u64 = 4;
/// Per multiply-add or division the model's operators declare.
pub const GAS_PER_FMA: u64 = 1;
/// Per element of every tensor the model computes (element-wise work, memory).
pub const GAS_PER_ELEMENT: u64 = 4;
/// Per byte of input and output crossing between the contract and the runtime.
pub const GAS_PER_TENSOR_BYTE: u64 = 1;

/// Elements of all the tensors one run computes: bounds its memory.
pub const MAX_INFERENCE_ELEMENTS: u64 = 1 << 24;
/// Multiply-adds of one run: bounds its time (a few hundred ms at most on this machine's core).
pub const MAX_INFERENCE_FMA: u64 = 1 << 30;
/// Bytes of one run's outputs, as the contract receives them.
pub const MAX_INFERENCE_OUTPUT_BYTES: usize = 64 * 1024;

/// What a run will cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Price {
    pub model_bytes: u64,
    pub fma: u64,
    pub elements: u64,
    pub tensor_bytes: u64,
}

impl Price {
    pub fn gas(&self) -> u64 {
        INFERENCE_BASE_GAS
            .saturating_add(self.model_bytes.saturating_mul(GAS_PER_MODEL_BYTE))
            .saturating_add(self.fma.saturating_mul(GAS_PER_FMA))
            .saturating_add(self.elements.saturating_mul(GAS_PER_ELEMENT))
            .saturating_add(self.tensor_bytes.saturating_mul(GAS_PER_TENSOR_BYTE))
    }
}
