//! History queries: a contract's answer as of an earlier block.
//!
//! The worker does not keep old versions of state. It rebuilds the state of block `h` in memory:
//! the newest checkpoint at or below `h` (or the empty state of genesis), then the finalized
//! blocks after it up to `h`, replayed for the contract's cluster only, exactly as they were run
//! then. The rebuilt state must have the digest the worker logged for that block, or the answer
//! is withheld. The live store is never touched, and the sync loop goes on meanwhile.
//!
//! Who may ask is the contract's own rule: the query runs through its ordinary `query` entry
//! point, as the signed origin, with the block height and time of `h` (a `private_token` balance
//! is answered only to its owner, today or as of any block).

use crate::checkpoint::{CheckpointError, Checkpoints};
use crate::follower::{fetch_checked, FollowError};
use crate::store::{CaughtUp, StoreError, WorkerStore};
use phalanx_client::{ClientError, NodeClient};
use phalanx_executor::{ExecError, Executor};
use phalanx_primitives::{AccountId, Hash, ValidatorHistory};
use phalanx_vm::CallError;
use std::sync::Arc;

/// Most blocks one history query may replay: beyond that, ask a worker that keeps more
/// checkpoints (`--keep-checkpoints`).
pub const MAX_HISTORY_REPLAY: u64 = 2_000;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    #[error("this worker has synced to block {synced}; ask for {height} later")]
    NotYet { height: u64, synced: u64 },
    #[error("block {height} is {distance} blocks past the nearest state this worker keeps (block {from}); it replays at most {MAX_HISTORY_REPLAY}")]
    TooFar {
        height: u64,
        from: u64,
        distance: u64,
    },
    #[error("the state rebuilt for block {0} does not match the digest this worker logged then")]
    Diverged(u64),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Node(#[from] ClientError),
    #[error(transparent)]
    Follow(#[from] FollowError),
    #[error(transparent)]
    Exec(#[from] ExecError),
}

/// One history query, already opened and checked.
pub struct HistoryQuery<'a> {
    pub contract: AccountId,
    pub cluster: Hash,
    pub height: u64,
    pub origin: AccountId,
    pub message: &'a [u8],
}

/// Rebuilds the state as of `query.height` and runs the query on it; returns the answer with the
/// hash of the block it is as of. `executor` is a copy of the
/// worker's (its keys, code and contracts), used up by the replay; `live` is the worker's store,
/// read for its synced height and logged digests only.
///
/// `node` is the node to fetch blocks from with the pinned validators to check them against.
pub async fn answer_at(
    (node, validators): (&NodeClient, &Arc<ValidatorHistory>),
    checkpoints: &Checkpoints,
    live: &WorkerStore,
    mut executor: Executor,
    query: HistoryQuery<'_>,
) -> Result<(Result<Vec<u8>, CallError>, Hash), HistoryError> {
    let synced = live.synced()?.map_or(0, |h| h.height);
    if query.height > synced {
        return Err(HistoryError::NotYet {
            height: query.height,
            synced,
        });
    }
    // On disk, not in memory: a store can be far larger than what a query may hold.
    let (from, scratch) = checkpoints.scratch_at(live, query.height)?;
    let distance = query.height - from;
    if distance > MAX_HISTORY_REPLAY {
        return Err(HistoryError::TooFar {
            height: query.height,
            from,
            distance,
        });
    }
    let scratch = &scratch.store;
    let mut last = None;
    for height in from + 1..=query.height {
        let (block, events) = fetch_checked(node, validators, height)
            .await?
            .ok_or_else(|| ClientError::InvalidBlock(format!("the node has no block {height}")))?;
        let mut writes = scratch.begin_block()?;
        let effects = executor.catch_up_block(&block, &events, query.cluster, &mut writes)?;
        let done = CaughtUp {
            height,
            progress: None,
            executor_snapshot: None,
        };
        scratch.commit_caught_up(
            writes,
            |c| executor.digest_key(c),
            &effects,
            done,
            &mut rand_core::OsRng,
        )?;
        last = Some(block.header);
    }
    let at = match last {
        Some(header) => header,
        None => {
            fetch_checked(node, validators, query.height)
                .await?
                .ok_or_else(|| {
                    ClientError::InvalidBlock(format!("the node has no block {}", query.height))
                })?
                .0
                .header
        }
    };
    if scratch.digest_at(&query.contract, query.height)?
        != live.digest_at(&query.contract, query.height)?
    {
        return Err(HistoryError::Diverged(query.height));
    }
    let mut view = scratch.begin_block()?;
    let answer = executor.query(
        &query.contract,
        query.origin,
        query.message,
        query.height,
        at.timestamp_ms,
        &mut view,
    );
    Ok((answer, at.hash()))
}
