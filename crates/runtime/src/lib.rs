//! `runtime`: the deterministic ledger state machine. Given the state after a block and the next
//! block's verified transactions, it computes the new state (as a write set), the events and the
//! roots the header must carry: `(state, block) -> (state', events)`.
//!
//! Modules: `balances`; `registry` (attested enclaves, elected gatekeepers); `master_key`,
//! `clusters`, `contracts`, `heartbeats`, `egress` (the confidential layer's public side); and the
//! economy — `tokenomics` (parameters, emission, V/P formulas), `staking` (pools), `mining`
//! (challenges and rewards at each block's end), `governance` and `privileged` (what sudo and
//! passed proposals may do). [`BlockExecutor::finish`] runs each block's end.
//!
//! It never performs I/O, reads a clock or draws randomness: state comes in through the
//! [`StateReader`] trait, time through the block, and every honest node computes the same bytes.
//! Storage, mempools and networking belong to `phalanx-node`.
//!
//! ```
//! use phalanx_runtime::{genesis, BlockContext, BlockExecutor, ChainParams, MemoryState};
//! use phalanx_crypto::{sign_transaction, verify_transactions, Keypair};
//! use phalanx_primitives::{amount::UNIT, Call, Transaction};
//!
//! let config = genesis::dev_config();
//! let params = ChainParams::from_genesis(&config);
//! let built = genesis::build(&config).unwrap();
//! let mut state = MemoryState::default();
//! state.apply(&built.write_set);
//!
//! let alice = Keypair::dev("alice");
//! let tx = Transaction { chain_id: params.chain_id, signer: alice.account_id(), nonce: 0,
//!     fee: UNIT / 100, call: Call::Transfer { to: Keypair::dev("bob").account_id(), amount: 5 * UNIT } };
//! let verified = verify_transactions(vec![sign_transaction(&alice, tx)]).remove(0).unwrap();
//!
//! let context = BlockContext { height: 1, timestamp_ms: config.timestamp_ms + 1_000 };
//! let mut block = BlockExecutor::new(&state, &params, context);
//! block.apply(&verified).unwrap();
//! let outcome = block.finish().unwrap();
//! assert_eq!(outcome.events.len(), 2); // the fee and the transfer
//! ```
#![forbid(unsafe_code)]

pub mod balances;
pub mod block_gas;
pub mod clusters;
pub mod contracts;
pub mod egress;
mod error;
mod executor;
pub mod genesis;
pub mod governance;
pub mod heartbeats;
pub mod master_key;
pub mod mining;
mod params;
mod privileged;
pub mod registry;
pub mod staking;
mod state;
pub mod tokenomics;
pub mod validators;

pub use error::{Cause, Refusal, StateError, TxError};
pub use executor::{events_root, BlockExecutor, BlockOutcome};
pub use params::{BlockContext, ChainParams};
pub use state::{state_root, LayeredState, MemoryState, StateOverlay, StateReader, WriteSet};
