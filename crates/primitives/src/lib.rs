//! `primitives`: the vocabulary every Phalanx process shares — hashes, accounts and their
//! checksummed addresses, PHA amounts, transactions, blocks, events and the genesis description,
//! with the one canonical codec (SCALE) used for everything that is hashed or signed.
//!
//! This crate never performs I/O, reads a clock, draws randomness or touches private keys: it only
//! defines types, their encodings and the pure functions that hash them. Signing and verification
//! live in `phalanx-crypto`; the rules that change state live in `phalanx-runtime`.
//!
//! ```
//! use phalanx_primitives::{AccountId, amount};
//! let alice = AccountId::from_bytes([7; 32]);
//! let text = alice.to_string();
//! assert!(text.starts_with("phx1"));
//! assert_eq!(text.parse::<AccountId>().unwrap(), alice);
//! assert_eq!(amount::parse_pha("12.5").unwrap(), 12_500_000_000_000);
//! assert_eq!(amount::format_pha(12_500_000_000_000), "12.5");
//! ```
#![forbid(unsafe_code)]

mod account;
pub mod amount;
pub mod attestation;
mod block;
pub mod economy;
mod envelope;
mod event;
pub mod genesis;
mod hash;
pub mod query;
mod transaction;
pub mod validators;

pub use account::{contract_id, gas_escrow, AccountId, AddressError, ADDRESS_HRP};
pub use amount::Balance;
pub use block::{
    quorum, vote_message, write_varint, Block, BlockHeader, ConsensusRound, FinalityCertificate,
    ValidatorSignature, CONSENSUS_NAMESPACE, MAX_CERTIFICATE_DESCENDANTS,
};
pub use envelope::Envelope;
pub use event::{events_root, Event, EventRecord, Phase};
pub use genesis::{Allocation, FeeSchedule, GenesisConfig, GenesisError};
pub use hash::{merkle_root, sha256, sha256_parts, Hash};
pub use transaction::{
    Call, ContractOutput, Signature, SignedTransaction, StateReport, SudoCall, Transaction,
    TxDecodeError, MAX_EGRESS_OUTPUTS, MAX_STATE_REPORTS, MAX_TRANSACTION_SIZE, TX_SIGNING_DOMAIN,
};
pub use validators::{Validator, ValidatorHistory, ValidatorSet};

/// Re-exported so downstream crates encode with exactly the codec version these types derive.
pub use parity_scale_codec as codec;

/// Milliseconds since the Unix epoch, as the block producer's clock read it.
pub type TimestampMs = u64;
/// Height of a block; genesis is height 0.
pub type BlockHeight = u64;
