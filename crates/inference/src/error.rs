use thiserror::Error;

/// Why a model was refused or failed. Every variant is a clear answer to the contract that asked:
/// none of them stops the worker.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum InferenceError {
    #[error("the model is {size} bytes, over the limit of {limit}")]
    ModelTooLarge { size: usize, limit: usize },
    #[error("the model is not a valid ONNX protobuf: {0}")]
    NotOnnx(String),
    #[error("the model has no graph")]
    NoGraph,
    #[error("operator `{domain}{op}` is not allowed (allowed: standard ONNX operators listed in phalanx_inference::ALLOWED_OPERATORS)")]
    OperatorNotAllowed { domain: String, op: String },
    #[error("the model has {count} nodes, over the limit of {limit}")]
    TooManyNodes { count: usize, limit: usize },
    #[error("tensor `{0}` refers to external data; a model must carry all its weights")]
    ExternalData(String),
    #[error("the model has a subgraph or model-local function, which is not allowed")]
    Subgraph,
    #[error("the model expects {expected} inputs, {given} were given")]
    InputCount { expected: usize, given: usize },
    #[error("input {index}: {reason}")]
    BadInput { index: usize, reason: String },
    #[error("the model does not type for this input: {0}")]
    Untyped(String),
    #[error("tensor of node `{node}` has no fixed shape for this input")]
    NotFinite { node: String },
    #[error("the model computes {elements} tensor elements, over the limit of {limit}")]
    TooManyElements { elements: u64, limit: u64 },
    #[error("the model needs {fma} multiply-adds, over the limit of {limit}")]
    TooManyOperations { fma: u64, limit: u64 },
    #[error("the model's output is {size} bytes, over the limit of {limit}")]
    OutputTooLarge { size: usize, limit: usize },
    #[error("the model computes with floats, which a command may not run (its result could differ between workers); run it in a query, or use an integer model")]
    NotDeterministic,
    #[error("the runtime failed: {0}")]
    Runtime(String),
}
