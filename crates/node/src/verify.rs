//! Offline verification of a data directory by full replay from genesis.
//!
//! Rebuilds the state in memory block by block, checking every link a node relies on — parent
//! hashes, transaction roots, signatures, finality certificates, events and state roots — then
//! compares the replayed state with the stored one entry by entry. Run it on a stopped node (the
//! database is opened exclusively).

use crate::storage::{StateEntry, StorageError, Store};
use phalanx_crypto::{verify_next_block, verify_transactions_checked_before};
use phalanx_primitives::{Block, BlockHeader, Hash, SignedTransaction};
use phalanx_runtime::{
    genesis, BlockContext, BlockExecutor, BlockOutcome, ChainParams, MemoryState, StateReader,
};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    pub head_height: u64,
    pub head_hash: Hash,
    pub state_root: Hash,
    pub transactions: u64,
    pub state_entries: usize,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("block {height}: {problem}")]
    Invalid { height: u64, problem: String },
}

/// Why a block built elsewhere does not follow from its parent state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockProblem {
    #[error("transaction {index} is not validly signed: {reason}")]
    Unsigned { index: usize, reason: String },
    #[error("transaction {index} does not apply: {reason}")]
    DoesNotApply { index: usize, reason: String },
    #[error("the end of the block fails: {0}")]
    Finish(String),
    #[error("events root mismatch")]
    EventsRoot,
    #[error("state root mismatch")]
    StateRoot,
}

/// Applies a block someone else built (`header`, `transactions`) on `state`, the state after
/// `parent`, and checks it against its header: every transaction signed and applying, the
/// events and state roots equal. Links, body and certificate are the block verifier's.
///
/// `checked_before[i]` says that transaction `i`, with this very signature, is one this process
/// verified itself (its pool holds it): its signature is not checked again. Pass `&[]` to check
/// every one.
pub fn execute_block<R: StateReader>(
    state: R,
    params: &ChainParams,
    parent: &BlockHeader,
    header: &BlockHeader,
    transactions: &[SignedTransaction],
    checked_before: &[bool],
) -> Result<BlockOutcome, BlockProblem> {
    let context = BlockContext {
        height: header.height,
        timestamp_ms: header.timestamp_ms,
    };
    let mut executor = BlockExecutor::new(state, params, context);
    for (index, verified) in
        verify_transactions_checked_before(transactions.to_vec(), checked_before)
            .into_iter()
            .enumerate()
    {
        let tx = verified.map_err(|e| BlockProblem::Unsigned {
            index,
            reason: e.to_string(),
        })?;
        executor
            .apply(&tx)
            .map_err(|e| BlockProblem::DoesNotApply {
                index,
                reason: e.to_string(),
            })?;
    }
    let outcome = executor
        .finish()
        .map_err(|e| BlockProblem::Finish(e.to_string()))?;
    if outcome.events_root() != header.events_root {
        return Err(BlockProblem::EventsRoot);
    }
    if outcome.state_root(&parent.state_root) != header.state_root {
        return Err(BlockProblem::StateRoot);
    }
    Ok(outcome)
}

fn invalid(height: u64, problem: impl Into<String>) -> ReplayError {
    ReplayError::Invalid {
        height,
        problem: problem.into(),
    }
}

pub fn replay_data_dir(data_dir: &Path) -> Result<ReplayReport, ReplayError> {
    let (store, config) = Store::open_existing(data_dir)?;
    let params = ChainParams::from_genesis(&config);
    let built = genesis::build(&config).map_err(|e| invalid(0, e.to_string()))?;
    let stored_genesis = store.block(0)?.ok_or_else(|| invalid(0, "missing"))?;
    if stored_genesis.header != built.header {
        return Err(invalid(
            0,
            "stored genesis block differs from the genesis description",
        ));
    }
    let mut state = MemoryState::default();
    state.apply(&built.write_set);
    let mut parent = built.header;
    let mut transactions = 0u64;
    let head_height = store.head_height()?;
    for height in 1..=head_height {
        let block: Block = store
            .block(height)?
            .ok_or_else(|| invalid(height, "missing"))?;
        if block.header.height != height {
            return Err(invalid(
                height,
                format!("holds block {}", block.header.height),
            ));
        }
        let validators = phalanx_runtime::validators::history(&state, &params)
            .map_err(|e| invalid(height, e.to_string()))?
            .at(height)
            .accounts();
        verify_next_block(&parent, &block, &validators)
            .map_err(|e| invalid(height, e.to_string()))?;
        let outcome = execute_block(
            &state,
            &params,
            &parent,
            &block.header,
            &block.transactions,
            &[],
        )
        .map_err(|e| invalid(height, e.to_string()))?;
        transactions += block.transactions.len() as u64;
        let stored_events = store
            .events(height)?
            .ok_or_else(|| invalid(height, "events missing"))?;
        if stored_events != outcome.events {
            return Err(invalid(height, "stored events differ from replayed events"));
        }
        state.apply(&outcome.write_set);
        parent = block.header;
    }
    let stored = store.state_entries()?;
    let replayed: Vec<StateEntry> = state.0.into_iter().collect();
    if stored != replayed {
        return Err(invalid(
            head_height,
            "stored state differs from the replayed state",
        ));
    }
    Ok(ReplayReport {
        head_height,
        head_hash: parent.hash(),
        state_root: parent.state_root,
        transactions,
        state_entries: replayed.len(),
    })
}
