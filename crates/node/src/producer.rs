//! Block production. A block is built from the oldest pending transactions on top of a parent
//! state ([`build`]), and committed once final ([`commit`]): the database, the pool rebased on
//! it, the head, the subscribers.
//!
//! With one validator ([`run`]) the two follow each other: every block time, build on the head,
//! sign the header as the only validator and commit; the commit is the moment of finality. With
//! many, consensus (`crate::consensus`) builds proposals on notarized parents and commits what
//! simplex finalized.

use crate::config::{MAX_BLOCK_BYTES, MAX_BLOCK_TRANSACTIONS};
use crate::running::{NodeError, Shared};
use phalanx_api::views::HeaderView;
use phalanx_crypto::{sign_finality, Keypair};
use phalanx_primitives::{AccountId, Block, BlockHeader, EventRecord, Hash, SignedTransaction};
use phalanx_runtime::{BlockContext, BlockExecutor, BlockOutcome, StateReader, TxError, WriteSet};
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

/// A block built on a parent state, not yet final.
pub(crate) struct Built {
    pub header: BlockHeader,
    pub transactions: Vec<SignedTransaction>,
    pub outcome: BlockOutcome,
    /// Pooled transactions this block settles: included, or found unusable.
    pub settled: HashSet<Hash>,
    pub cluster_gas: Vec<(Hash, u64)>,
}

/// Whether a pooled transaction that fails on the parent state leaves the pool.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnFailure {
    /// The parent is the committed head, the state the pool admitted it against: a failure
    /// means a bug, and the transaction is dropped.
    Evict,
    /// The parent is a block not final yet (a notarized one): the transaction may be valid on
    /// the chain that is finalized, so it stays pooled.
    Keep,
}

/// Builds the block after `parent` on `parent_state` from `candidates` (oldest first), leaving
/// out those in `exclude` (already in the unfinalized ancestors).
#[allow(clippy::too_many_arguments)]
pub(crate) fn build<R: StateReader>(
    shared: &Shared,
    parent_state: R,
    parent: &BlockHeader,
    timestamp_ms: u64,
    proposer: AccountId,
    candidates: Vec<phalanx_crypto::VerifiedTransaction>,
    exclude: &HashSet<Hash>,
    on_failure: OnFailure,
) -> Result<Built, NodeError> {
    let context = BlockContext {
        height: parent.height + 1,
        timestamp_ms,
    };
    let mut executor = BlockExecutor::new(parent_state, &shared.params, context);
    let mut settled = HashSet::with_capacity(candidates.len());
    let mut included = Vec::with_capacity(candidates.len());
    // Senders with a transaction left for a later block: their next ones wait behind it.
    let mut deferred = HashSet::new();
    for tx in candidates {
        let sender = tx.transaction().signer;
        if deferred.contains(&sender) || exclude.contains(&tx.hash()) {
            continue;
        }
        match executor.apply(&tx) {
            Ok(()) => {
                settled.insert(tx.hash());
                included.push(tx.into_signed());
            }
            Err(e @ TxError::Storage(_)) => return Err(NodeError::Producer(e.to_string())),
            // Its cluster's gas budget for this block is used up: it stays pooled for the next.
            Err(TxError::BlockGasFull { .. }) => {
                deferred.insert(sender);
            }
            Err(e) if on_failure == OnFailure::Evict => {
                settled.insert(tx.hash());
                tracing::warn!(tx = %tx.hash(), error = %e, "dropping pooled transaction");
            }
            Err(_) => {
                deferred.insert(sender);
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
        proposer,
    };
    Ok(Built {
        header,
        transactions: included,
        outcome,
        settled,
        cluster_gas,
    })
}

/// Commits a final block: the database first, then the pool rebased on it, the head and the
/// subscribers. The caller holds the pool lock (`pool`), so that admission never sees a
/// committed state the pool was not rebased on.
pub(crate) fn commit(
    shared: &Shared,
    pool: &mut crate::pool::Pool,
    block: &Block,
    events: &[EventRecord],
    writes: &WriteSet,
    settled: &HashSet<Hash>,
) -> Result<(), NodeError> {
    shared.store.commit_block(block, events, writes)?;
    let next = next_block_context(&block.header);
    for (hash, error) in pool.rebase(shared.store.state_snapshot()?, next, settled) {
        tracing::warn!(tx = %hash, %error, "evicted from the pool");
    }
    tracing::info!(
        height = block.header.height,
        transactions = block.transactions.len(),
        pending = pool.len(),
        "block final"
    );
    *shared.head.write().unwrap_or_else(|p| p.into_inner()) = block.header.clone();
    let _ = shared.heads.send(HeaderView::from(&block.header));
    Ok(())
}

/// Builds, signs and commits one block as the only validator; returns its header.
pub(crate) fn produce(shared: &Shared, validator: &Keypair) -> Result<BlockHeader, NodeError> {
    let started = Instant::now();
    // Held from choosing the transactions to rebasing the pool on the committed block.
    let mut pool = shared
        .pool
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let parent = shared
        .head
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let state = shared.store.state_snapshot()?;
    let height = parent.height + 1;
    let set = phalanx_runtime::validators::history(&state, &shared.params)
        .map_err(|e| NodeError::Producer(e.to_string()))?
        .at(height)
        .clone();
    if !set.contains(&validator.account_id()) {
        return Err(NodeError::Producer(format!(
            "this node's key {} is not a validator of block {height}: the validators of epoch {} on are {:?}",
            validator.account_id(),
            set.epoch,
            set.accounts().iter().map(ToString::to_string).collect::<Vec<_>>(),
        )));
    }
    let candidates = pool.oldest(MAX_BLOCK_TRANSACTIONS, MAX_BLOCK_BYTES);
    let built = build(
        shared,
        state,
        &parent,
        now_ms().max(parent.timestamp_ms + 1),
        validator.account_id(),
        candidates,
        &HashSet::new(),
        OnFailure::Evict,
    )?;
    let certificate = sign_finality(validator, &built.header);
    let block = Block {
        header: built.header,
        transactions: built.transactions,
        certificate,
    };
    commit(
        shared,
        &mut pool,
        &block,
        &built.outcome.events,
        &built.outcome.write_set,
        &built.settled,
    )?;
    drop(pool);
    shared.metrics.block(
        block.transactions.len(),
        started.elapsed().as_secs_f64(),
        &built.cluster_gas,
    );
    Ok(block.header)
}
