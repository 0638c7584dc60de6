//! Blocks: a header, the ordered transactions, and the finality certificate.
//!
//! The block hash is SHA-256 of the SCALE-encoded header. The header commits to the body through
//! `transactions_root` (Merkle root of the transaction hashes, in order) and to the outcome
//! through `state_root` and `events_root`. The certificate holds validator signatures over
//! [`finality_message`]; with one validator a block is final as soon as its certificate exists.

use crate::{merkle_root, AccountId, BlockHeight, Hash, Signature, SignedTransaction, TimestampMs};
use parity_scale_codec::{Decode, DecodeAll, DecodeLimit, Encode};

/// Signing domain of finality votes.
pub const FINALITY_DOMAIN: &[u8] = b"PHALANX_FINALITY_V1";

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

/// The signatures that make a block final.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct FinalityCertificate {
    pub signatures: Vec<ValidatorSignature>,
}

/// The message a validator signs to finalise the block with hash `block_hash`.
pub fn finality_message(block_hash: &Hash) -> Vec<u8> {
    let mut message = FINALITY_DOMAIN.to_vec();
    message.extend_from_slice(&block_hash.0);
    message
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
