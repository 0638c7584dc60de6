//! Consensus among many validators: commonware's simplex (BFT, a block final once a quorum of
//! more than two thirds of the validators voted to finalize it), with marshal carrying blocks
//! between validators and backfilling those a validator missed.
//!
//! The engine orders block digests; the ledger (`ledger.rs`) decides what a valid block is and
//! builds this validator's; the finalizer commits what was finalized, with the engine's
//! certificate turned into the chain's (`phalanx_primitives::FinalityCertificate`), which
//! anyone holding the validator set verifies from the block alone.
//!
//! It must never commit a block the engine did not finalize, nor vote for one it did not
//! execute on its parent's state.

pub mod block;
pub mod engine;
mod epochs;
mod finalizer;
mod ledger;
pub mod network;
pub(crate) mod relay;
#[cfg(test)]
mod simulation;

pub use block::Proposal;
pub use engine::{Channels, EngineConfig};
