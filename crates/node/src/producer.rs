//! Block production: every block time, take the oldest pending transactions, apply them, sign
//! the header as the validator and commit. The commit is the moment of finality.

use crate::config::{MAX_BLOCK_BYTES, MAX_BLOCK_TRANSACTIONS};
use crate::running::{NodeError, Shared};
use phalanx_api::views::HeaderView;
use phalanx_crypto::{sign_finality, Keypair};
use phalanx_primitives::{Block, BlockHeader};
use phalanx_runtime::{BlockContext, BlockExecutor, TxError};
use std::collections::HashSet;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Produces a block every `block_time` until told to stop; an error is fatal to the node.
pub(crate) fn run(
    shared: &Shared,
    validator: &Keypair,
    block_time: Duration,
    stop: Receiver<()>,
) -> Result<(), NodeError> {
    let mut next = Instant::now() + block_time;
    loop {
        match stop.recv_timeout(next.saturating_duration_since(Instant::now())) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
        let started = Instant::now();
        let header = produce(shared, validator)?;
        tracing::debug!(height = header.height, elapsed = ?started.elapsed(), "block produced");
        // Keep the cadence, but never try to catch up with a burst of blocks.
        next = (next + block_time).max(Instant::now());
    }
}

/// The block after `head`, as the pool should assume it: the next height, at the clock's time.
pub(crate) fn next_block_context(head: &BlockHeader) -> BlockContext {
    BlockContext {
        height: head.height + 1,
        timestamp_ms: now_ms().max(head.timestamp_ms + 1),
    }
}

/// The producer's clock, in Unix milliseconds.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Builds, signs and commits one block; returns its header.
pub(crate) fn produce(shared: &Shared, validator: &Keypair) -> Result<BlockHeader, NodeError> {
    let started = Instant::now();
    let storage = |e: TxError| NodeError::Producer(e.to_string());
    let mut pool = shared
        .pool
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let parent = shared
        .head
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let candidates = pool.oldest(MAX_BLOCK_TRANSACTIONS, MAX_BLOCK_BYTES);

    let context = BlockContext {
        height: parent.height + 1,
        timestamp_ms: now_ms().max(parent.timestamp_ms + 1),
    };
    let mut executor = BlockExecutor::new(shared.store.state_snapshot()?, &shared.params, context);
    let mut settled = HashSet::with_capacity(candidates.len());
    let mut included = Vec::with_capacity(candidates.len());
    // Senders with a transaction left for a later block: their next ones wait behind it.
    let mut deferred = HashSet::new();
    for tx in candidates {
        let sender = tx.transaction().signer;
        if deferred.contains(&sender) {
            continue;
        }
        match executor.apply(&tx) {
            Ok(()) => {
                settled.insert(tx.hash());
                included.push(tx.into_signed());
            }
            Err(e @ TxError::Storage(_)) => return Err(storage(e)),
            // Its cluster's gas budget for this block is used up: it stays pooled for the next.
            Err(TxError::BlockGasFull { .. }) => {
                deferred.insert(sender);
            }
            // The pool admitted it against the same state, so this means a bug; leave it out.
            Err(e) => {
                settled.insert(tx.hash());
                tracing::warn!(tx = %tx.hash(), error = %e, "dropping pooled transaction");
            }
        }
    }
    let cluster_gas = executor.cluster_gas();
    let outcome = executor
        .finish()
        .map_err(|e| NodeError::Producer(e.to_string()))?;
    let header = BlockHeader {
        height: context.height,
        parent_hash: parent.hash(),
        state_root: outcome.state_root(&parent.state_root),
        transactions_root: Block::transactions_root(&included),
        events_root: outcome.events_root(),
        timestamp_ms: context.timestamp_ms,
        proposer: validator.account_id(),
    };
    let certificate = sign_finality(validator, &header);
    let block = Block {
        header,
        transactions: included,
        certificate,
    };
    shared
        .store
        .commit_block(&block, &outcome.events, &outcome.write_set)?;

    let next = next_block_context(&block.header);
    for (hash, error) in pool.rebase(shared.store.state_snapshot()?, next, &settled) {
        tracing::warn!(tx = %hash, %error, "evicted from the pool");
    }
    tracing::info!(
        height = block.header.height,
        transactions = block.transactions.len(),
        pending = pool.len(),
        "block final"
    );
    *shared.head.write().unwrap_or_else(|p| p.into_inner()) = block.header.clone();
    drop(pool);
    shared.metrics.block(
        block.transactions.len(),
        started.elapsed().as_secs_f64(),
        &cluster_gas,
    );
    let _ = shared.heads.send(HeaderView::from(&block.header));
    Ok(block.header)
}
