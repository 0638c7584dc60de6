//! A full node that does not vote: it follows the finalized chain from an upstream node's RPC
//! (any validator, or another full node) and serves the same RPC as a validator.
//!
//! It believes nothing the upstream says. Each block must link to this node's head, carry a
//! certificate of a quorum of the genesis validators, and, executed here on this node's own
//! state, give exactly the events and state root its header claims; only then is it committed.
//! An upstream that lies or serves garbage stops this node's progress (it waits and asks
//! again), never its correctness. Transactions submitted to this node's RPC are admitted as
//! anywhere and forwarded to the upstream, which relays them to the validators.

use crate::consensus::relay::{Outbox, Queue};
use crate::producer;
use crate::running::{NodeError, Shared};
use crate::storage::StorageError;
use crate::verify::{execute_block, BlockProblem};
use futures::StreamExt;
use phalanx_client::{ClientError, NodeClient};
use phalanx_crypto::{verify_next_block, BlockError};
use phalanx_primitives::{Block, Hash};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// How often the upstream is asked for the next block when it had none.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How long to wait before asking again after the upstream failed or served a bad block.
pub const RETRY_AFTER: Duration = Duration::from_secs(2);

/// Why a fetched block was not committed.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("the upstream: {0}")]
    Upstream(#[from] ClientError),
    #[error("block {height} does not verify: {source}")]
    Unverified { height: u64, source: BlockError },
    #[error("block {height} does not execute to its header: {source}")]
    Execution { height: u64, source: BlockProblem },
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// Checks `block` against this node's head and the validators of its height (from the
/// genesis and the history in the committed state, which only verified blocks built),
/// executes it on that state, and commits it. Pure of any network: the follower's whole trust
/// decision.
pub(crate) fn apply(shared: &Shared, block: &Block) -> Result<(), FollowError> {
    let height = block.header.height;
    let parent = shared
        .head
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let state = shared.store.state_snapshot().map_err(NodeError::from)?;
    let validators = phalanx_runtime::validators::history(&state, &shared.params)
        .map_err(|e| NodeError::Storage(StorageError::Corrupt(e.to_string())))?
        .at(height)
        .accounts();
    verify_next_block(&parent, block, &validators)
        .map_err(|source| FollowError::Unverified { height, source })?;
    let checked_before =
        (shared.pool.lock().unwrap_or_else(|p| p.into_inner())).holds_each(&block.transactions);
    let outcome = execute_block(
        state,
        &shared.params,
        &parent,
        &block.header,
        &block.transactions,
        &checked_before,
    )
    .map_err(|source| FollowError::Execution { height, source })?;
    let settled: HashSet<Hash> = block.transactions.iter().map(|tx| tx.hash()).collect();
    let mut pool = shared.pool.lock().unwrap_or_else(|p| p.into_inner());
    producer::commit(
        shared,
        &mut pool,
        block,
        &outcome.events,
        &outcome.write_set,
        &settled,
    )?;
    Ok(())
}

/// Fetches, checks and commits the upstream's next block if it has one; `Ok(false)` if not.
async fn follow_one(shared: &Arc<Shared>, upstream: &NodeClient) -> Result<bool, FollowError> {
    let next = shared.head.read().unwrap_or_else(|p| p.into_inner()).height + 1;
    let Some(block) = upstream.unverified_block(next).await? else {
        return Ok(false);
    };
    let shared = Arc::clone(shared);
    // Verifying and executing a block is CPU work: off the async threads.
    tokio::task::spawn_blocking(move || apply(&shared, &block))
        .await
        .map_err(|e| NodeError::Producer(format!("block work stopped: {e}")))??;
    Ok(true)
}

/// Sends what this node admitted to the upstream, batch by batch; what it refuses stays here.
async fn forward(upstream: String, mut queue: Queue) {
    while let Some(batch) = queue.next().await {
        let sent = match NodeClient::connect(&upstream).await {
            Ok(client) => client.submit_batch(&batch).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(error) = sent {
            tracing::warn!(%error, count = batch.len(), "could not forward transactions upstream");
        }
    }
}

/// Follows `upstream` until `stop` fires; the node's `Shared.relay` must be unset (this sets it).
pub(crate) async fn run(
    shared: Arc<Shared>,
    upstream: String,
    mut stop: oneshot::Receiver<()>,
) -> Result<(), NodeError> {
    let (outbox, queue) = Outbox::new();
    let _ = shared.relay.set(outbox);
    let forwarder = tokio::spawn(forward(upstream.clone(), queue));
    let mut client: Option<NodeClient> = None;
    loop {
        let wait = match &client {
            None => match NodeClient::connect(&upstream).await {
                Ok(c) if c.info().chain_id == shared.info.chain_id => {
                    client = Some(c);
                    Duration::ZERO
                }
                Ok(c) => {
                    tracing::error!(upstream, theirs = %c.info().chain_id, "the upstream serves another chain");
                    RETRY_AFTER
                }
                Err(error) => {
                    tracing::warn!(%error, "upstream unreachable");
                    RETRY_AFTER
                }
            },
            Some(c) => match follow_one(&shared, c).await {
                Ok(true) => Duration::ZERO,
                Ok(false) => POLL_INTERVAL,
                Err(FollowError::Node(error)) => {
                    forwarder.abort();
                    return Err(error);
                }
                Err(error) => {
                    tracing::warn!(%error, "not following the upstream's block");
                    client = None;
                    RETRY_AFTER
                }
            },
        };
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(wait) => {}
        }
    }
    forwarder.abort();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::admit_batch;
    use parity_scale_codec::Encode;
    use phalanx_crypto::{sign_finality, sign_transaction, Keypair};
    use phalanx_primitives::{sha256, AccountId, Call, Transaction};
    use phalanx_runtime::genesis;

    fn open(dir: &tempfile::TempDir) -> Arc<Shared> {
        let (shared, _) =
            Shared::open(&genesis::dev_config(), dir.path(), 1_000).expect("the database opens");
        Arc::new(shared)
    }

    /// `count` blocks of the dev validator, each with one transfer from alice.
    fn dev_chain(count: u64) -> (tempfile::TempDir, Arc<Shared>, Vec<Block>) {
        let dir = tempfile::tempdir().unwrap();
        let source = open(&dir);
        let alice = Keypair::dev("alice");
        let validator = Keypair::dev(genesis::DEV_VALIDATOR);
        let mut blocks = Vec::new();
        for nonce in 0..count {
            let transfer = Transaction {
                chain_id: source.info.chain_id,
                signer: alice.account_id(),
                nonce,
                fee: 100_000_000_000,
                call: Call::Transfer {
                    to: AccountId::from_bytes([9; 32]),
                    amount: 1 + nonce as u128,
                },
            };
            let hex = format!(
                "0x{}",
                hex::encode(sign_transaction(&alice, transfer).encode())
            );
            let admitted = admit_batch(&source, &[hex]);
            assert!(admitted.results[0].is_ok(), "{:?}", admitted.results[0]);
            let header = producer::produce(&source, &validator).unwrap();
            assert_eq!(header.height, nonce + 1);
            blocks.push(source.store.block(header.height).unwrap().unwrap());
        }
        (dir, source, blocks)
    }

    /// A dev chain with epochs of 4 blocks whose block 1 makes `validator-2` the only
    /// validator; the blocks up to the change, by the dev validator.
    fn chain_changing_validators() -> (tempfile::TempDir, Arc<Shared>, Vec<Block>) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = genesis::dev_config();
        config.blocks_per_epoch = Some(4);
        let (source, _) = Shared::open(&config, dir.path(), 1_000).unwrap();
        let source = Arc::new(source);
        let alice = Keypair::dev("alice");
        let change = Transaction {
            chain_id: source.info.chain_id,
            signer: alice.account_id(),
            nonce: 0,
            fee: 100_000_000_000,
            call: Call::Sudo(phalanx_primitives::SudoCall::SetValidators {
                validators: vec![phalanx_primitives::Validator {
                    account: Keypair::dev("validator-2").account_id(),
                    p2p_address: "127.0.0.1:7000".into(),
                }],
            }),
        };
        let hex = format!(
            "0x{}",
            hex::encode(sign_transaction(&alice, change).encode())
        );
        assert!(admit_batch(&source, &[hex]).results[0].is_ok());
        let validator = Keypair::dev(genesis::DEV_VALIDATOR);
        let mut blocks = Vec::new();
        loop {
            match producer::produce(&source, &validator) {
                Ok(header) => blocks.push(source.store.block(header.height).unwrap().unwrap()),
                Err(NodeError::Producer(refused)) => {
                    assert!(
                        refused.contains("is not a validator of block 20"),
                        "{refused}"
                    );
                    break;
                }
                Err(other) => panic!("{other}"),
            }
        }
        (dir, source, blocks)
    }

    #[test]
    fn a_follower_switches_validators_where_the_verified_chain_says() {
        let (_source_dir, source, blocks) = chain_changing_validators();
        // 1 + VALIDATOR_SET_DELAY = 17 rounds up to epoch 5, height 20.
        assert_eq!(blocks.len(), 19);
        let dir = tempfile::tempdir().unwrap();
        let mut config = genesis::dev_config();
        config.blocks_per_epoch = Some(4);
        let (follower, _) = Shared::open(&config, dir.path(), 1_000).unwrap();
        for block in &blocks {
            apply(&follower, block).unwrap();
        }
        let new = Keypair::dev("validator-2");
        let header = producer::produce(&source, &new).unwrap();
        let next = source.store.block(header.height).unwrap().unwrap();
        // Block 20 under the old validator's signature: not final any more.
        let mut old_signed = next.clone();
        old_signed.certificate = sign_finality(&Keypair::dev(genesis::DEV_VALIDATOR), &next.header);
        match apply(&follower, &old_signed) {
            Err(FollowError::Unverified { height: 20, .. }) => {}
            other => panic!("{other:?}"),
        }
        apply(&follower, &next).unwrap();
        assert_eq!(head(&follower), next.header);
    }

    fn head(shared: &Shared) -> phalanx_primitives::BlockHeader {
        shared.head.read().unwrap().clone()
    }

    #[test]
    fn a_follower_commits_what_verifies_and_reaches_the_producers_state() {
        let (_source_dir, source, blocks) = dev_chain(3);
        let dir = tempfile::tempdir().unwrap();
        let follower = open(&dir);
        for block in &blocks {
            apply(&follower, block).unwrap();
        }
        assert_eq!(head(&follower), head(&source));
        assert_eq!(follower.store.block(2).unwrap().unwrap(), blocks[1]);
    }

    #[test]
    fn a_follower_refuses_what_does_not_verify_and_keeps_its_head() {
        let (_source_dir, _source, blocks) = dev_chain(2);
        let dir = tempfile::tempdir().unwrap();
        let follower = open(&dir);
        let genesis_head = head(&follower);
        let refused = |block: &Block| {
            let error = apply(&follower, block)
                .err()
                .unwrap_or_else(|| panic!("block {} went in: {block:?}", block.header.height));
            assert_eq!(head(&follower), genesis_head, "{error}");
            error
        };
        // Not the next height.
        assert!(matches!(
            refused(&blocks[1]),
            FollowError::Unverified { .. }
        ));
        // No certificate, or one over another header.
        let mut unsigned = blocks[0].clone();
        unsigned.certificate.signatures.clear();
        assert!(matches!(refused(&unsigned), FollowError::Unverified { .. }));
        let mut moved = blocks[0].clone();
        moved.header.state_root = sha256(b"another state");
        assert!(matches!(refused(&moved), FollowError::Unverified { .. }));
        // A transaction swapped under the header's root.
        let mut swapped = blocks[0].clone();
        swapped.transactions = blocks[1].transactions.clone();
        assert!(matches!(refused(&swapped), FollowError::Unverified { .. }));
        // Even a block the validators did sign is refused if it does not execute to its header:
        // a full node checks the state, not only the signatures.
        let validator = Keypair::dev(genesis::DEV_VALIDATOR);
        let mut lying = blocks[0].clone();
        lying.header.state_root = sha256(b"a state nobody computed");
        lying.certificate = sign_finality(&validator, &lying.header);
        assert!(matches!(
            refused(&lying),
            FollowError::Execution {
                source: BlockProblem::StateRoot,
                ..
            }
        ));
        // And the honest block still goes in.
        apply(&follower, &blocks[0]).unwrap();
        assert_eq!(head(&follower).height, 1);
    }
}
