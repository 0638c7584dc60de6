//! `gatekeeper`: the gatekeeper process, custodian of the chain's master key.
//!
//! A gatekeeper is an enclave like a worker (it opens, attests and enrolls through
//! `phalanx_worker::host`), elected to hold the master key. It owns:
//! - custody: whether it holds the key, waits for a holder to share it, or declares the one it
//!   generated, decided from its sealed key file and verified blocks only, never the node's word;
//! - the sealed master-key file (written like a checkpoint: a crash leaves the old or the new);
//! - its answers to each verified block (`phalanx_executor::Gatekeeper` decides them): cluster
//!   and contract keys, key messages to attested members, the master key for new gatekeepers,
//!   challenge randomness;
//! - the sealing-root service (`gatekeeper_sealingRoot`) that gives TDX enclaves their sealing
//!   root after checking their quote against its own view's policy;
//! - its own small store: the pin, the chain view and the synced header
//!   (`phalanx_worker::HeaderStore`), no contract state.
//!
//! It must never let the master key leave the enclave except sealed to itself or encrypted to
//! an attested gatekeeper's key its own view verified, and never answer a block it did not
//! verify.
#![forbid(unsafe_code)]

mod custody;
mod master_key_file;
mod process;
mod sealing_service;

pub use custody::RANDOMNESS_EVERY;
pub use master_key_file::MasterKeyFileError;
pub use process::{
    start_gatekeeper, GatekeeperError, RunningGatekeeper, DECLARE_AGAIN_AFTER, GATEKEEPER_FUNDING,
    GATEKEEPER_STORE_FILE,
};
pub use sealing_service::SEALING_REFUSED;
