//! The one block verifier. Every side that accepts a block from elsewhere — the worker and the
//! gatekeeper following a node, the client reading one, the node replaying its own data
//! directory — calls these functions, so that what "final" means is written once.
//!
//! The validator set is always the caller's: an enclave takes it from the genesis it pinned (and,
//! once validator sets change, from blocks it verified), never from the node it talks to.

use crate::verify::{verify_certificate, CertificateError};
use phalanx_primitives::{events_root, AccountId, Block, BlockHeader, EventRecord};

/// Why a block is refused. Each names the height and what failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    #[error("expected block {expected}, got block {found}")]
    WrongHeight { expected: u64, found: u64 },
    #[error("block {0} does not link to the previous block (wrong parent hash)")]
    BrokenLink(u64),
    #[error("block {0}'s transactions do not match its header's transactions root")]
    BodyMismatch(u64),
    #[error("block {0}'s timestamp does not increase")]
    TimeWentBack(u64),
    #[error("block {height} is not final: {reason}")]
    NotFinal {
        height: u64,
        reason: CertificateError,
    },
    #[error("the events of block {0} do not match its header's events root")]
    EventsMismatch(u64),
}

/// Checks what a block says of itself: its body matches its header, and more than two thirds of
/// `validators` signed the header. Block 0 (genesis) carries no certificate; its header must be
/// checked against the genesis description instead.
pub fn verify_finalized(block: &Block, validators: &[AccountId]) -> Result<(), BlockError> {
    let header = &block.header;
    if Block::transactions_root(&block.transactions) != header.transactions_root {
        return Err(BlockError::BodyMismatch(header.height));
    }
    if header.height == 0 {
        return Ok(());
    }
    verify_certificate(header, &block.certificate, validators).map_err(|reason| {
        BlockError::NotFinal {
            height: header.height,
            reason,
        }
    })
}

/// Accepts `block` as the successor of `parent` only if it links to it (height and parent hash),
/// time moves forward, its body matches its header and `validators` finalised it.
pub fn verify_next_block(
    parent: &BlockHeader,
    block: &Block,
    validators: &[AccountId],
) -> Result<(), BlockError> {
    verify_link(parent, &block.header)?;
    verify_finalized(block, validators)
}

/// The part of [`verify_next_block`] that needs the parent: height, parent hash and time. For a
/// block already checked with [`verify_finalized`] (a follower checks fetched blocks ahead, then
/// links them in order).
pub fn verify_link(parent: &BlockHeader, header: &BlockHeader) -> Result<(), BlockError> {
    if header.height != parent.height + 1 {
        return Err(BlockError::WrongHeight {
            expected: parent.height + 1,
            found: header.height,
        });
    }
    if header.parent_hash != parent.hash() {
        return Err(BlockError::BrokenLink(header.height));
    }
    if header.timestamp_ms <= parent.timestamp_ms {
        return Err(BlockError::TimeWentBack(header.height));
    }
    Ok(())
}

/// Checks a block's events against its (already verified) header, so that whoever served them
/// cannot add, drop, reorder or alter one.
pub fn verify_events(header: &BlockHeader, events: &[EventRecord]) -> Result<(), BlockError> {
    if events_root(events) != header.events_root {
        return Err(BlockError::EventsMismatch(header.height));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{sign_finality, Keypair};
    use phalanx_primitives::{Event, Hash, Phase};

    fn child(parent: &BlockHeader, validator: &Keypair, events: &[EventRecord]) -> Block {
        let header = BlockHeader {
            height: parent.height + 1,
            parent_hash: parent.hash(),
            state_root: Hash([1; 32]),
            transactions_root: Block::transactions_root(&[]),
            events_root: events_root(events),
            timestamp_ms: parent.timestamp_ms + 1,
            proposer: validator.account_id(),
        };
        let certificate = sign_finality(validator, &header);
        Block {
            header,
            transactions: vec![],
            certificate,
        }
    }

    fn genesis(validator: &Keypair) -> BlockHeader {
        BlockHeader {
            height: 0,
            parent_hash: Hash::ZERO,
            state_root: Hash::ZERO,
            transactions_root: Block::transactions_root(&[]),
            events_root: Hash::ZERO,
            timestamp_ms: 10,
            proposer: validator.account_id(),
        }
    }

    #[test]
    fn accepts_only_linked_final_blocks() {
        let validator = Keypair::dev("validator");
        let validators = [validator.account_id()];
        let genesis = genesis(&validator);
        let good = child(&genesis, &validator, &[]);
        assert_eq!(verify_next_block(&genesis, &good, &validators), Ok(()));

        let mut unlinked = good.clone();
        unlinked.header.parent_hash = Hash([9; 32]);
        assert_eq!(
            verify_next_block(&genesis, &unlinked, &validators),
            Err(BlockError::BrokenLink(1))
        );
        let skipped = child(&good.header, &validator, &[]);
        assert!(matches!(
            verify_next_block(&genesis, &skipped, &validators),
            Err(BlockError::WrongHeight {
                expected: 1,
                found: 2
            })
        ));
        // A replayed block: the same block again after itself.
        assert!(matches!(
            verify_next_block(&good.header, &good, &validators),
            Err(BlockError::WrongHeight { .. })
        ));
        let mut tampered = good.clone();
        tampered.header.state_root = Hash([2; 32]);
        assert!(matches!(
            verify_next_block(&genesis, &tampered, &validators),
            Err(BlockError::NotFinal { height: 1, .. })
        ));
        // A block signed by a key the caller does not know as a validator.
        let forged = child(&genesis, &Keypair::dev("mallory"), &[]);
        assert!(matches!(
            verify_next_block(&genesis, &forged, &validators),
            Err(BlockError::NotFinal {
                reason: CertificateError::UnknownValidator(_),
                ..
            })
        ));
        let mut stale = child(&genesis, &validator, &[]);
        stale.header.timestamp_ms = genesis.timestamp_ms;
        assert_eq!(
            verify_next_block(&genesis, &stale, &validators),
            Err(BlockError::TimeWentBack(1))
        );
    }

    #[test]
    fn events_must_match_the_header() {
        let validator = Keypair::dev("validator");
        let events = vec![EventRecord {
            phase: Phase::Transaction(0),
            event: Event::Endowed {
                account: validator.account_id(),
                amount: 5,
            },
        }];
        let block = child(&genesis(&validator), &validator, &events);
        assert_eq!(verify_events(&block.header, &events), Ok(()));
        let mut rewritten = events.clone();
        rewritten[0].event = Event::Endowed {
            account: validator.account_id(),
            amount: 6,
        };
        assert_eq!(
            verify_events(&block.header, &rewritten),
            Err(BlockError::EventsMismatch(1))
        );
        assert_eq!(
            verify_events(&block.header, &[]),
            Err(BlockError::EventsMismatch(1))
        );
    }
}
