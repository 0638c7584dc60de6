//! `worker`: the confidential runtime (Phala's pRuntime). It follows finalized blocks, takes the
//! cluster keys gatekeepers send it, decrypts the commands of its clusters' contracts, runs them
//! in the VM and keeps their state; the command's sender reads the receipt through a query.
//!
//! This crate's core, [`Executor`], is pure: given its keys, the contracts' state and a block (with
//! its events), it computes the new state and the receipts — the same on every worker holding the
//! same keys. It never reads a clock, draws randomness or touches the network; the worker process
//! (sync, sealed storage, query server) wires it to the world in later work.
#![forbid(unsafe_code)]

mod executor;
mod keyring;
mod state;

pub use executor::{ExecError, Executor, Receipt, ReceiptOutcome, QUERY_GAS_LIMIT};
pub use keyring::KeyRing;
pub use state::{ContractStates, MemoryContractStates};
