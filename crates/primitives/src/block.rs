//! Blocks: a header, the ordered transactions, and the finality certificate.
//!
//! The block hash is SHA-256 of the SCALE-encoded header. The header commits to the body through
//! `transactions_root` (Merkle root of the transaction hashes, in order) and to the outcome
//! through `state_root` and `events_root`. The certificate is the consensus engine's (commonware
//! simplex, scheme ed25519): validator votes over the block hash in one consensus round, in the
//! exact bytes the engine signs ([`vote_message`]), so anyone holding the validator set checks it
//! without running consensus. The single-validator dev node signs the same votes.

use crate::{merkle_root, AccountId, BlockHeight, Hash, Signature, SignedTransaction, TimestampMs};
use parity_scale_codec::{Decode, DecodeAll, DecodeLimit, Encode};

/// The consensus engine's signing namespace; its vote kinds append `_NOTARIZE` / `_FINALIZE`.
pub const CONSENSUS_NAMESPACE: &[u8] = b"PHALANX_CONSENSUS_V1";

/// Nesting limit when decoding a block received from elsewhere.
const DECODE_DEPTH_LIMIT: u32 = 16;

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct BlockHeader {
    pub height: BlockHeight,
    pub parent_hash: Hash,
    /// Commitment to the ledger state after this block (see `phalanx_runtime::state_root`).
    pub state_root: Hash,
    pub transactions_root: Hash,
    pub events_root: Hash,
    pub timestamp_ms: TimestampMs,
    pub proposer: AccountId,
}

impl BlockHeader {
    pub fn hash(&self) -> Hash {
        crate::sha256(&self.encode())
    }
}

/// One validator's vote that a block is final.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ValidatorSignature {
    pub validator: AccountId,
    pub signature: Signature,
}

/// The consensus round a block was voted in: simplex's epoch and view, and the view of the
/// block's parent (the engine signs all three with the block hash).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct ConsensusRound {
    pub epoch: u64,
    pub view: u64,
    pub parent_view: u64,
}

/// The votes that make a block final: a quorum of the validators (see [`quorum`]), each signing
/// [`vote_message`] for one block and round.
///
/// Usually the votes are for this block itself. When its round ended before a finalization
/// formed (simplex then finalizes it with a descendant), they are for the last of `descendants`:
/// the headers after this block up to the finalized one, each linking to the one before. Either
/// way the block alone proves its finality.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct FinalityCertificate {
    pub descendants: Vec<BlockHeader>,
    pub round: ConsensusRound,
    pub signatures: Vec<ValidatorSignature>,
}

/// Most descendant headers a certificate may carry (a longer run of rounds without a
/// finalization is refused rather than checked: see `FinalityCertificate`).
pub const MAX_CERTIFICATE_DESCENDANTS: usize = 256;

/// How many of `validators` votes make a certificate: all but the `f = (n - 1) / 3` faults the
/// chain tolerates (simplex's `N3f1` quorum, `2f + 1` of `3f + 1`).
pub fn quorum(validators: usize) -> usize {
    validators - validators.saturating_sub(1) / 3
}

/// The bytes a validator signs to finalize `block_hash` in `round`, exactly as the engine builds
/// them: `varint(len ns) | ns | varint(epoch) | varint(view) | varint(parent_view) | block hash`,
/// with `ns = CONSENSUS_NAMESPACE | "_FINALIZE"` and unsigned LEB128 varints.
pub fn vote_message(round: &ConsensusRound, block_hash: &Hash) -> Vec<u8> {
    const SUFFIX: &[u8] = b"_FINALIZE";
    let mut message = Vec::with_capacity(1 + CONSENSUS_NAMESPACE.len() + SUFFIX.len() + 30 + 32);
    write_varint(
        &mut message,
        (CONSENSUS_NAMESPACE.len() + SUFFIX.len()) as u64,
    );
    message.extend_from_slice(CONSENSUS_NAMESPACE);
    message.extend_from_slice(SUFFIX);
    write_varint(&mut message, round.epoch);
    write_varint(&mut message, round.view);
    write_varint(&mut message, round.parent_view);
    message.extend_from_slice(&block_hash.0);
    message
}

/// Unsigned LEB128: the consensus engine's integer encoding, and Wasm's.
pub fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Block {
    pub header: BlockHeader,
    pub transactions: Vec<SignedTransaction>,
    pub certificate: FinalityCertificate,
}

impl Block {
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// Merkle root over the hashes of `transactions`, as the header must carry it.
    pub fn transactions_root(transactions: &[SignedTransaction]) -> Hash {
        merkle_root(transactions.iter().map(|tx| tx.hash().0))
    }

    /// Decodes a block received from another process (depth-limited, no trailing bytes).
    pub fn decode_untrusted(bytes: &[u8]) -> Result<Self, parity_scale_codec::Error> {
        let mut input = bytes;
        let block = Block::decode_with_depth_limit(DECODE_DEPTH_LIMIT, &mut input)?;
        if !input.is_empty() {
            return Err("trailing bytes after block".into());
        }
        Ok(block)
    }

    /// Decodes a block this process stored itself.
    pub fn decode_trusted(bytes: &[u8]) -> Result<Self, parity_scale_codec::Error> {
        Block::decode_all(&mut &bytes[..])
    }
}
