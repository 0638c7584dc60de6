//! `executor`: the pure confidential core of a worker (Phala's pRuntime logic), and the
//! decisions of a gatekeeper.
//!
//! Given its keys, the contracts' state and a verified block with its events, [`Executor`]
//! routes each command of its clusters' contracts, takes in the keys gatekeepers sent it, opens
//! the envelopes, runs the VM, settles gas ([`MAX_REFUNDS_PER_SETTLE`]), writes receipts and the
//! contracts' outputs ([`BlockEffects`]) and keyed state digests ([`StateDigest`]): the same on
//! every worker holding the same keys. [`ChainView`] is what an enclave knows of the chain from
//! verified blocks alone (policy, attested enclaves, clusters, the master key's holders).
//! [`open_query`] and [`seal_answer`] are the read side; [`Gatekeeper`] decides which keys a
//! gatekeeper publishes and to whom it sends them, and [`open_sealing_root`] /
//! [`open_master_share`] open what gatekeepers send each other.
//!
//! It never reads a clock, a file or a socket, and never draws randomness of its own: callers
//! pass time in blocks and an RNG where a seal needs one. A block's contracts run on several
//! threads (`Executor::set_threads`, all cores by default), and nothing it produces depends on
//! how many. The worker and gatekeeper processes
//! (`phalanx-worker`, `phalanx-gatekeeper`) wire it to the world.
#![forbid(unsafe_code)]

mod balance;
mod chain_view;
mod digest;
mod egress;
mod executor;
mod gas_ledger;
mod gatekeeper;
mod jobs;
mod keyring;
mod permits;
mod query;
mod state;
mod state_keys;

pub use chain_view::{AttestedEnclave, ChainView, DeclaredMasterKey, Facts, PinError};
pub use digest::StateDigest;
pub use egress::{message_id, Addressed, BlockEffects, OutboxHead, Output, PendingOutputs};
pub use executor::{ExecError, Executor, QUERY_GAS_LIMIT};
pub use gas_ledger::MAX_REFUNDS_PER_SETTLE;
pub use gatekeeper::{
    open_master_share, open_sealing_root, Gatekeeper, SealingRootError, ShareError,
};
pub use keyring::KeyRing;
pub use permits::{check_permit, revocation_of, revoked_key, PermitError, REVOKE_PERMIT_GAS};
pub use phalanx_primitives::query::{Receipt, ReceiptOutcome};
pub use query::{open_query, query_context, seal_answer, NonceGuard, QueryError};
pub use state::{ContractStates, MemoryContractStates};
pub use state_keys::{StateKeyError, StateKeys};
