//! Checking a block before replaying it: a worker trusts nothing the node's RPC says until the
//! block links to the last one it accepted and carries a valid finality certificate.

use phalanx_crypto::verify_certificate;
use phalanx_primitives::{AccountId, Block, BlockHeader};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    #[error("expected block {expected}, got {found}")]
    WrongHeight { expected: u64, found: u64 },
    #[error("block {0} does not link to the previous block")]
    BrokenLink(u64),
    #[error("block {0}'s transactions do not match its header")]
    BodyMismatch(u64),
    #[error("block {0}'s timestamp does not increase")]
    TimeWentBack(u64),
    #[error("block {height} is not final: {reason}")]
    NotFinal { height: u64, reason: String },
}

/// Accepts `block` as the successor of `parent` only if it links to it, its body matches its
/// header, time moves forward and the validators finalised it.
pub fn verify_next_block(
    parent: &BlockHeader,
    block: &Block,
    validators: &[AccountId],
) -> Result<(), SyncError> {
    let header = &block.header;
    if header.height != parent.height + 1 {
        return Err(SyncError::WrongHeight {
            expected: parent.height + 1,
            found: header.height,
        });
    }
    if header.parent_hash != parent.hash() {
        return Err(SyncError::BrokenLink(header.height));
    }
    if Block::transactions_root(&block.transactions) != header.transactions_root {
        return Err(SyncError::BodyMismatch(header.height));
    }
    if header.timestamp_ms <= parent.timestamp_ms {
        return Err(SyncError::TimeWentBack(header.height));
    }
    verify_certificate(header, &block.certificate, validators).map_err(|e| SyncError::NotFinal {
        height: header.height,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use phalanx_crypto::{sign_finality, Keypair};
    use phalanx_primitives::{FinalityCertificate, Hash};

    fn child(parent: &BlockHeader, validator: &Keypair) -> Block {
        let header = BlockHeader {
            height: parent.height + 1,
            parent_hash: parent.hash(),
            state_root: Hash([1; 32]),
            transactions_root: Hash::ZERO,
            events_root: Hash::ZERO,
            timestamp_ms: parent.timestamp_ms + 1,
            proposer: validator.account_id(),
        };
        let certificate = FinalityCertificate {
            signatures: vec![sign_finality(validator, &header)],
        };
        Block {
            header,
            transactions: vec![],
            certificate,
        }
    }

    #[test]
    fn accepts_only_linked_final_blocks() {
        let validator = Keypair::dev("validator");
        let validators = [validator.account_id()];
        let genesis = BlockHeader {
            height: 0,
            parent_hash: Hash::ZERO,
            state_root: Hash::ZERO,
            transactions_root: Hash::ZERO,
            events_root: Hash::ZERO,
            timestamp_ms: 10,
            proposer: validator.account_id(),
        };
        let good = child(&genesis, &validator);
        assert_eq!(verify_next_block(&genesis, &good, &validators), Ok(()));

        let mut unlinked = good.clone();
        unlinked.header.parent_hash = Hash([9; 32]);
        assert!(matches!(
            verify_next_block(&genesis, &unlinked, &validators),
            Err(SyncError::BrokenLink(1))
        ));
        let skipped = child(&good.header, &validator);
        assert!(matches!(
            verify_next_block(&genesis, &skipped, &validators),
            Err(SyncError::WrongHeight { .. })
        ));
        let mut tampered = good.clone();
        tampered.header.state_root = Hash([2; 32]);
        assert!(matches!(
            verify_next_block(&genesis, &tampered, &validators),
            Err(SyncError::NotFinal { .. })
        ));
        let forged = child(&genesis, &Keypair::dev("mallory"));
        assert!(matches!(
            verify_next_block(&genesis, &forged, &validators),
            Err(SyncError::NotFinal { .. })
        ));
    }
}
