//! The block as the consensus engine carries it: header and transactions, without the finality
//! certificate (which only exists once the engine has finalized the block). The engine's codec
//! wraps the block's SCALE bytes, so what validators gossip is exactly what the chain stores.

use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};
use commonware_consensus::types::Height;
use commonware_cryptography::{sha256::Digest, Digestible};
use parity_scale_codec::{DecodeLimit, Encode};
use phalanx_primitives::{Block, BlockHeader, Hash, SignedTransaction};

use crate::config::MAX_BLOCK_BYTES;

/// Most bytes of one proposed block on the wire: its transactions plus room for the header and
/// the length prefixes. A peer's bigger message is refused before it is decoded.
pub const MAX_PROPOSAL_BYTES: usize = MAX_BLOCK_BYTES + 64 * 1024;

/// Nesting limit when decoding a proposal from a peer.
const DECODE_DEPTH_LIMIT: u32 = 16;

/// A proposed block: what validators vote on (its digest is the header's hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub header: BlockHeader,
    pub transactions: Vec<SignedTransaction>,
}

impl Proposal {
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// The chain's block, with the certificate that finalized it.
    pub fn into_block(self, certificate: phalanx_primitives::FinalityCertificate) -> Block {
        Block {
            header: self.header,
            transactions: self.transactions,
            certificate,
        }
    }

    fn scale(&self) -> Vec<u8> {
        (&self.header, &self.transactions).encode()
    }
}

/// The engine's digest of a block hash, and back.
pub fn digest_of(hash: &Hash) -> Digest {
    Digest(hash.0)
}

pub fn hash_of(digest: &Digest) -> Hash {
    Hash(digest.0)
}

impl Write for Proposal {
    fn write(&self, buf: &mut impl BufMut) {
        let bytes = self.scale();
        (bytes.len() as u32).write(buf);
        buf.put_slice(&bytes);
    }
}

impl EncodeSize for Proposal {
    fn encode_size(&self) -> usize {
        4 + (&self.header, &self.transactions).encoded_size()
    }
}

impl Read for Proposal {
    type Cfg = ();

    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let len = u32::read(buf)? as usize;
        if len > MAX_PROPOSAL_BYTES {
            return Err(CodecError::Invalid(
                "Proposal",
                "larger than a block may be",
            ));
        }
        if buf.remaining() < len {
            return Err(CodecError::EndOfBuffer);
        }
        let mut bytes = vec![0; len];
        buf.copy_to_slice(&mut bytes);
        let mut input = &bytes[..];
        let (header, transactions) =
            <(BlockHeader, Vec<SignedTransaction>)>::decode_with_depth_limit(
                DECODE_DEPTH_LIMIT,
                &mut input,
            )
            .map_err(|_| CodecError::Invalid("Proposal", "not a SCALE block"))?;
        if !input.is_empty() {
            return Err(CodecError::Invalid("Proposal", "trailing bytes"));
        }
        Ok(Proposal {
            header,
            transactions,
        })
    }
}

impl Digestible for Proposal {
    type Digest = Digest;

    fn digest(&self) -> Digest {
        digest_of(&self.hash())
    }
}

impl commonware_consensus::Heightable for Proposal {
    fn height(&self) -> Height {
        Height::new(self.header.height)
    }
}

impl commonware_consensus::Block for Proposal {
    fn parent(&self) -> Digest {
        digest_of(&self.header.parent_hash)
    }
}

impl commonware_consensus::BoundedBlock for Proposal {
    fn max_encode_size(_: &()) -> usize {
        4 + MAX_PROPOSAL_BYTES
    }
}

impl From<Block> for Proposal {
    fn from(block: Block) -> Self {
        Proposal {
            header: block.header,
            transactions: block.transactions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{DecodeExt, Encode as _};
    use phalanx_primitives::AccountId;

    fn proposal() -> Proposal {
        Proposal {
            header: BlockHeader {
                height: 3,
                parent_hash: Hash([1; 32]),
                state_root: Hash([2; 32]),
                transactions_root: Hash::ZERO,
                events_root: Hash::ZERO,
                timestamp_ms: 77,
                proposer: AccountId::from_bytes([4; 32]),
            },
            transactions: vec![],
        }
    }

    #[test]
    fn round_trips_and_refuses_garbage() {
        let proposal = proposal();
        let bytes = proposal.encode();
        assert_eq!(Proposal::decode(bytes.clone()).unwrap(), proposal);
        let mut truncated = bytes.to_vec();
        truncated.pop();
        assert!(Proposal::decode(bytes::Bytes::from(truncated)).is_err());
        let mut huge = ((MAX_PROPOSAL_BYTES + 1) as u32).to_be_bytes().to_vec();
        huge.extend_from_slice(&[0; 16]);
        assert!(Proposal::decode(bytes::Bytes::from(huge)).is_err());
    }
}
