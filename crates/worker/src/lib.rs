//! `worker`: the confidential runtime (Phala's pRuntime). It follows finalized blocks, takes the
//! cluster keys gatekeepers send it, decrypts the commands of its clusters' contracts, runs them
//! in the VM and keeps their state; the command's sender reads the receipt through a query.
//!
//! [`follower::Follower`] fetches and verifies finalized blocks and their events from a node;
//! [`store::WorkerStore`] keeps contract state, receipts and the synced height sealed in redb,
//! one transaction per block. A gatekeeper is a worker elected to hold the master key: [`Gatekeeper`] decides which keys
//! it publishes and to whom it sends cluster keys; `phalanx_crypto::verify_next_block` is how a
//! worker accepts a block from the node.
//!
//! This crate's core, [`Executor`], is pure: given its keys, the contracts' state and a block (with
//! its events), it computes the new state and the receipts — the same on every worker holding the
//! same keys. It never reads a clock, draws randomness or touches the network; the worker process
//! (sync, sealed storage, query server) wires it to the world in later work.
#![forbid(unsafe_code)]

pub mod benchmark;
pub mod chain_view;
pub mod checkpoint;
pub mod digest;
mod durable;
pub mod egress;
mod egress_sender;
pub mod enclave;
mod executor;
pub mod follower;
pub mod gatekeeper;
pub mod gatekeeper_process;
pub mod history;
mod keyring;
mod metrics;
pub mod node_link;
pub mod process;
pub mod query;
pub mod query_limits;
mod state;
pub mod state_keys;
pub mod store;
pub mod tdx;
pub mod trust;

pub use digest::StateDigest;
pub use egress::{BlockEffects, Output};
pub use executor::{ExecError, Executor, QUERY_GAS_LIMIT};
pub use gatekeeper::Gatekeeper;
pub use keyring::KeyRing;
pub use phalanx_primitives::query::{Receipt, ReceiptOutcome};
pub use state::{ContractStates, MemoryContractStates};
