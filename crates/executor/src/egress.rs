//! A contract's outputs on their way out: what a command produced for the chain (public events,
//! PHA payments, messages to other contracts), numbered per contract in the order every worker of
//! the cluster produces them, kept sealed in the store until the chain says it took them.
//!
//! The executor (pure) turns a block into [`BlockEffects`]: the receipts, the new outputs and the
//! numbers the chain accepted in that block. The store numbers and keeps the outputs; the worker
//! process sends the pending ones as `Call::Egress`, sealing messages to their receiver on the way.

use crate::Receipt;
use parity_scale_codec::{Decode, Encode};
use phalanx_primitives::{AccountId, Balance, Hash};

/// One output as the contract produced it (a message is still plaintext: the worker seals it to
/// the receiving contract when it sends it).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Output {
    #[codec(index = 0)]
    Event(Vec<u8>),
    #[codec(index = 1)]
    Transfer { to: AccountId, amount: Balance },
    #[codec(index = 2)]
    Message {
        to: AccountId,
        payload: Vec<u8>,
        gas_limit: u64,
    },
    /// The block's gas of this contract's commands: unused prepaid gas back to each payer, and
    /// the fees of what was used.
    #[codec(index = 3)]
    Settle {
        refunds: Vec<(AccountId, Balance)>,
        fees: Balance,
    },
}

/// What applying one block produced, beyond contract state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockEffects {
    /// One per instantiation, command and delivered message run.
    pub receipts: Vec<Receipt>,
    /// New outputs, in order, each with the contract that produced it.
    pub outputs: Vec<(AccountId, Output)>,
    /// Per contract, the number of the first output the chain has not taken yet, as of this block.
    pub accepted: Vec<(AccountId, u64)>,
    /// Events addressed to one account, in order: kept for that account alone.
    pub notifications: Vec<Addressed>,
}

/// An event a contract addressed to one account, before the store numbers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addressed {
    pub contract: AccountId,
    pub recipient: AccountId,
    pub block: u64,
    pub tx_hash: Hash,
    pub data: Vec<u8>,
}

/// Outputs of one contract not yet taken by the chain, starting at number `first_seq`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingOutputs {
    pub contract: AccountId,
    pub first_seq: u64,
    pub outputs: Vec<Output>,
}

/// Where a contract's outputs stand in the store: the next number to give and the first the
/// chain has not accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct OutboxHead {
    pub next: u64,
    pub accepted: u64,
}

/// The receipt id of a message delivered to a contract: messages share their egress
/// transaction, so the id names the sender and the output number instead.
pub fn message_id(from: &AccountId, seq: u64) -> Hash {
    phalanx_primitives::sha256_parts(&[b"phalanx-message", from.as_bytes(), &seq.to_le_bytes()])
}
