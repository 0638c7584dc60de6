//! Block production. A block is built from the oldest pending transactions on top of a parent
//! state ([`build`]), and committed once final ([`commit`]): the database, the pool rebased on
//! it, the head, the subscribers.
//!
//! With one validator ([`run`]) the two are a pipeline: every block time, build on the state the
//! last block leaves (committed, or being committed on another thread), sign the header as the
//! only validator and hand it to the committer; the commit is the moment of finality. With
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
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Produces a block every `block_time` until told to stop; an error is fatal to the node.
///
/// A pipeline of two threads: this one builds and signs each block on the state its parent
/// leaves, and hands it to a committer thread, which writes it to the database, rebases the
/// pool and announces it. So the next block can be built while the last one is being
/// committed, on the committed state with the last block's writes over it. A block is final
/// when it is committed, as before; at most one block waits for its commit, and blocks are
/// committed in height order.
pub(crate) fn run(
    shared: &Shared,
    validator: &Keypair,
    block_time: Duration,
    stop: Receiver<()>,
) -> Result<(), NodeError> {
    // A rendezvous: handing block N+1 over waits until block N is committed.
    let (to_committer, signed) = std::sync::mpsc::sync_channel::<Signed>(0);
    std::thread::scope(|scope| {
        let committer = std::thread::Builder::new()
            .name("block-committer".into())
            .spawn_scoped(scope, || commit_in_order(shared, signed))
            .map_err(|e| NodeError::Producer(e.to_string()))?;
        let produced = produce_until_stopped(shared, validator, block_time, stop, to_committer);
        let committed = committer
            .join()
            .unwrap_or_else(|_| Err(NodeError::Producer("the committer panicked".into())));
        // The committer's own failure explains the producer's (which only saw it leave).
        committed.and(produced)
    })
}

/// A block signed as final by the only validator, on its way to the database.
struct Signed {
    block: Block,
    events: Vec<EventRecord>,
    writes: Arc<WriteSet>,
    settled: Arc<HashSet<Hash>>,
    cluster_gas: Vec<(Hash, u64)>,
    started: Instant,
}

/// The last block handed to the committer, while it may not be committed yet: what the next
/// block is built over.
struct Handed {
    header: BlockHeader,
    writes: Arc<WriteSet>,
    settled: Arc<HashSet<Hash>>,
}

fn produce_until_stopped(
    shared: &Shared,
    validator: &Keypair,
    block_time: Duration,
    stop: Receiver<()>,
    to_committer: std::sync::mpsc::SyncSender<Signed>,
) -> Result<(), NodeError> {
    let mut next = Instant::now() + block_time;
    // The last block handed over: committed by now, or being committed.
    let mut last: Option<Handed> = None;
    loop {
        match stop.recv_timeout(next.saturating_duration_since(Instant::now())) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
        let signed = next_block(shared, validator, last.take())?;
        last = Some(Handed {
            header: signed.block.header.clone(),
            writes: signed.writes.clone(),
            settled: signed.settled.clone(),
        });
        if to_committer.send(signed).is_err() {
            return Err(NodeError::Producer("the committer stopped".into()));
        }
        // Keep the cadence, but never try to catch up with a burst of blocks.
        next = (next + block_time).max(Instant::now());
    }
}

/// Builds and signs the block after the head, or after `last` if it is not committed yet: then
/// on its writes over the committed state, leaving its transactions (still pooled) out.
fn next_block(
    shared: &Shared,
    validator: &Keypair,
    last: Option<Handed>,
) -> Result<Signed, NodeError> {
    let started = Instant::now();
    // The head first, then the state: the committer moves the head only after the database, so
    // a block the head shows is in the snapshot. (One committed but not shown yet is layered
    // over itself, which changes nothing.)
    let head = shared
        .head
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let committed = shared.store.state_snapshot()?;
    let (parent, layers, exclude, on_failure) = match last.filter(|l| l.header.height > head.height)
    {
        Some(l) => (l.header, vec![l.writes], l.settled, OnFailure::Keep),
        None => (head, Vec::new(), Arc::default(), OnFailure::Evict),
    };
    let state = phalanx_runtime::LayeredState::new(committed, layers);
    let candidates = shared
        .pool
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .oldest(MAX_BLOCK_TRANSACTIONS, MAX_BLOCK_BYTES, &exclude);
    let signed = build_signed(
        shared, validator, state, &parent, candidates, on_failure, started,
    )?;
    tracing::debug!(height = signed.block.header.height, elapsed = ?started.elapsed(), "block built");
    Ok(signed)
}

/// Commits the blocks it is handed, in order, until the producer stops.
fn commit_in_order(
    shared: &Shared,
    signed: std::sync::mpsc::Receiver<Signed>,
) -> Result<(), NodeError> {
    for block in signed {
        commit_signed(shared, block)?;
    }
    Ok(())
}

fn commit_signed(shared: &Shared, signed: Signed) -> Result<(), NodeError> {
    let mut pool = shared
        .pool
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    commit(
        shared,
        &mut pool,
        &signed.block,
        &signed.events,
        &signed.writes,
        &signed.settled,
    )?;
    drop(pool);
    shared.metrics.block(
        signed.block.transactions.len(),
        signed.started.elapsed().as_secs_f64(),
        &signed.cluster_gas,
    );
    tracing::debug!(height = signed.block.header.height, elapsed = ?signed.started.elapsed(), "block produced");
    Ok(())
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

/// Builds the block after `parent` on `parent_state` from `candidates` (oldest first; the pool
/// leaves out what the unfinalized ancestors hold, see [`crate::pool::Pool::oldest`]).
pub(crate) fn build<R: StateReader>(
    shared: &Shared,
    parent_state: R,
    parent: &BlockHeader,
    timestamp_ms: u64,
    proposer: AccountId,
    candidates: Vec<phalanx_crypto::VerifiedTransaction>,
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
        if deferred.contains(&sender) {
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

/// Builds the block after `parent` on `state` and signs it as the only validator of its height.
#[allow(clippy::too_many_arguments)]
fn build_signed<R: StateReader>(
    shared: &Shared,
    validator: &Keypair,
    state: R,
    parent: &BlockHeader,
    candidates: Vec<phalanx_crypto::VerifiedTransaction>,
    on_failure: OnFailure,
    started: Instant,
) -> Result<Signed, NodeError> {
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
    let built = build(
        shared,
        state,
        parent,
        now_ms().max(parent.timestamp_ms + 1),
        validator.account_id(),
        candidates,
        on_failure,
    )?;
    let certificate = sign_finality(validator, &built.header);
    Ok(Signed {
        block: Block {
            header: built.header,
            transactions: built.transactions,
            certificate,
        },
        events: built.outcome.events,
        writes: Arc::new(built.outcome.write_set),
        settled: Arc::new(built.settled),
        cluster_gas: built.cluster_gas,
        started,
    })
}

/// Builds, signs and commits one block on the committed head as the only validator, in one go
/// (what [`run`] does in two threads); returns its header. Tests drive a chain with it.
#[cfg(test)]
pub(crate) fn produce(shared: &Shared, validator: &Keypair) -> Result<BlockHeader, NodeError> {
    let signed = next_block(shared, validator, None)?;
    let header = signed.block.header.clone();
    commit_signed(shared, signed)?;
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::admit_batch;
    use parity_scale_codec::Encode;
    use phalanx_crypto::sign_transaction;
    use phalanx_primitives::Transaction;
    use phalanx_runtime::genesis;

    /// Alice's transfers with nonces `nonces`, admitted to the pool.
    fn admit_transfers(shared: &Shared, nonces: std::ops::Range<u64>) {
        let alice = Keypair::dev("alice");
        let texts: Vec<String> = nonces
            .map(|nonce| {
                let transfer = Transaction {
                    chain_id: shared.info.chain_id,
                    signer: alice.account_id(),
                    nonce,
                    fee: 100_000_000_000,
                    call: phalanx_primitives::Call::Transfer {
                        to: AccountId::from_bytes([9; 32]),
                        amount: 1 + nonce as u128,
                    },
                };
                format!(
                    "0x{}",
                    hex::encode(sign_transaction(&alice, transfer).encode())
                )
            })
            .collect();
        for result in admit_batch(shared, &texts).results {
            assert!(result.is_ok(), "{result:?}");
        }
    }

    fn alice_nonce(shared: &Shared) -> u64 {
        let state = shared.store.state_snapshot().unwrap();
        phalanx_runtime::balances::account(&state, &Keypair::dev("alice").account_id())
            .unwrap()
            .nonce
    }

    #[test]
    fn a_block_built_on_one_not_committed_yet_follows_it_and_replays() {
        let dir = tempfile::tempdir().unwrap();
        let (shared, _) = Shared::open(&genesis::dev_config(), dir.path(), 1_000).unwrap();
        let validator = Keypair::dev(genesis::DEV_VALIDATOR);

        admit_transfers(&shared, 0..4);
        let first = next_block(&shared, &validator, None).unwrap();
        assert_eq!(first.block.transactions.len(), 4);
        // More arrive while the first block waits for its commit; the second block is built on
        // the first's writes and leaves the first's transactions (still pooled) out.
        admit_transfers(&shared, 4..7);
        let candidates = shared
            .pool
            .lock()
            .unwrap()
            .oldest(100, 1 << 20, &first.settled);
        assert_eq!(
            candidates.len(),
            3,
            "only what the first block does not hold"
        );
        let handed = Handed {
            header: first.block.header.clone(),
            writes: first.writes.clone(),
            settled: first.settled.clone(),
        };
        let second = next_block(&shared, &validator, Some(handed)).unwrap();
        assert_eq!(second.block.header.parent_hash, first.block.header.hash());
        assert_eq!(second.block.transactions.len(), 3);
        assert_eq!(
            alice_nonce(&shared),
            0,
            "nothing is final before its commit"
        );
        commit_signed(&shared, first).unwrap();
        assert_eq!(alice_nonce(&shared), 4);
        commit_signed(&shared, second).unwrap();
        assert_eq!(alice_nonce(&shared), 7);
        assert_eq!(shared.pool.lock().unwrap().len(), 0);
        drop(shared);
        let report = crate::verify::replay_data_dir(dir.path()).unwrap();
        assert_eq!((report.head_height, report.transactions), (2, 7));
    }

    #[test]
    fn the_pipelined_producer_makes_a_chain_that_replays() {
        let dir = tempfile::tempdir().unwrap();
        let (shared, _) = Shared::open(&genesis::dev_config(), dir.path(), 10_000).unwrap();
        let validator = Keypair::dev(genesis::DEV_VALIDATOR);
        let (stop, stopped) = std::sync::mpsc::channel();
        let total = std::thread::scope(|scope| {
            let producer =
                scope.spawn(|| run(&shared, &validator, Duration::from_millis(2), stopped));
            let mut nonce = 0;
            for size in [50, 1, 200, 7, 120, 3] {
                admit_transfers(&shared, nonce..nonce + size);
                nonce += size;
                std::thread::sleep(Duration::from_millis(3));
            }
            while alice_nonce(&shared) < nonce {
                std::thread::sleep(Duration::from_millis(2));
            }
            stop.send(()).unwrap();
            producer.join().unwrap().unwrap();
            nonce
        });
        let height = shared.head.read().unwrap().height;
        drop(shared);
        let report = crate::verify::replay_data_dir(dir.path()).unwrap();
        assert_eq!((report.head_height, report.transactions), (height, total));
    }
}
