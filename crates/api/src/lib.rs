//! `api`: the node's JSON-RPC API as one definition: the method names and parameters
//! ([`rpc::NodeApi`]), the JSON shapes of everything it returns ([`views`], [`economy`]) and the
//! error codes of its refusals ([`error_codes`]).
//!
//! `phalanx-node` implements the generated server trait; `phalanx-client` (and through it the
//! CLI, tests and benchmarks) calls the generated client. Every view's wire name is written out
//! here, never derived from a Rust identifier, and `tests/golden.rs` pins the JSON of every call
//! and event, so that an API change is always a visible diff.
//!
//! The views are types of their own, filled from the primitives by exhaustive `From` impls,
//! rather than serde derives on the primitives: they show envelopes as sizes and amounts as
//! decimal strings, and a view never turns back into a call. A variant added to the primitives
//! fails to compile here (and in the golden test) until it has a view.
//!
//! This crate owns no I/O, no keys and no policy: it converts the primitives' types into their
//! JSON views and describes them in words ([`std::fmt::Display`]), and nothing else.
#![forbid(unsafe_code)]

pub mod economy;
pub mod error_codes;
pub mod rpc;
pub mod views;
mod wire;

pub use rpc::{NodeApiClient, NodeApiServer, MAX_SUBMIT_BATCH};
