//! `inference`: the ONNX runtime contracts reach through the VM's host API (issue 20), inside
//! the worker: tract, pure Rust, no Python, no network.
//!
//! It owns four steps, in this order, for every model a contract asks to run:
//! 1. **check** the model's bytes before any runtime parses them deeply (`check.rs`): a size
//!    bound, an allow-list of standard operators, no subgraphs, no external data (an ONNX
//!    tensor may name a file to read: a model is hostile input like any other);
//! 2. **prepare** it for one concrete input shape (`prepare.rs`): type every intermediate
//!    tensor, refuse what is not finite and bounded, and decide whether it is *deterministic*
//!    (integer tensors only: the only models a command may run, since workers on different
//!    CPUs must reach the same state; float models run in queries);
//! 3. **price** it (`price.rs`): gas from the model's size, its multiply-adds and the elements
//!    it computes, decided before the run;
//! 4. **run** it, with panics inside the runtime caught and turned into errors.
//!
//! Prepared models are cached by (model hash, input shape) in [`Models`], since preparing costs
//! milliseconds and a query costs microseconds; the gas is the same whether the cache held the
//! model or not.
//!
//! It must never read a file or the network, run a model it has not checked and priced, or let
//! a model's failure take the worker down. The wire format of tensors is the SDK's
//! ([`phalanx_sdk::inference::Tensor`]), so contracts and the host share one definition.

mod check;
mod error;
mod models;
mod prepare;
mod price;
mod tensor;

pub use check::{check_model, ALLOWED_OPERATORS, DETERMINISTIC_OPERATORS};
pub use error::InferenceError;
pub use models::{ModelHash, Models, MODEL_CACHE_CAPACITY};
pub use prepare::Prepared;
pub use price::*;

/// The runtime and its exact version, part of what a command's result depends on.
pub const RUNTIME: &str = "tract-onnx 0.23.10";
