//! The seam to the worker's model runtime (`crates/inference`, issue 20). The VM prices and
//! runs a contract's model through [`ModelRuntime`], so that the VM, which every node links to
//! decide uploads, links no ONNX runtime; a VM without one answers [`MODEL_UNAVAILABLE`].

use std::any::Any;

/// `model_run` found no value at the key it was given.
pub const MODEL_NOT_FOUND: i32 = -1;
/// The runtime refused the model or its input, or the run failed; the reason is in scratch.
pub const MODEL_REFUSED: i32 = -2;
/// A command (or instantiation) asked to run a model whose result could differ between workers
/// (floats); queries may. The reason is in scratch.
pub const MODEL_NOT_DETERMINISTIC: i32 = -3;
/// This VM has no model runtime (a node checking uploads, a tool).
pub const MODEL_UNAVAILABLE: i32 = -4;
/// Bytes of one run's inputs as the contract passes them (SCALE `Vec<Tensor>`).
pub const MAX_MODEL_INPUT_LEN: usize = 256 * 1024;

/// A run the runtime checked and priced and has not done yet.
pub struct ModelRun {
    /// Gas the run costs, charged before it starts.
    pub gas: u64,
    /// Whether every worker computes the same output (integer models): only such runs are
    /// allowed in commands.
    pub deterministic: bool,
    /// The runtime's own prepared model and decoded inputs.
    pub job: Box<dyn Any + Send>,
}

/// What the worker plugs into its VM to run models (`phalanx_inference::Models`).
pub trait ModelRuntime: Send + Sync {
    /// Checks and prices a run of `model` on `inputs` (SCALE `Vec<phalanx_sdk::inference::Tensor>`);
    /// an error is a reason for the contract.
    fn price(&self, model: &[u8], inputs: &[u8]) -> Result<ModelRun, String>;
    /// Does a run [`ModelRuntime::price`] returned: the outputs as SCALE `Vec<Tensor>`.
    fn run(&self, run: ModelRun) -> Result<Vec<u8>, String>;
}
