//! Heartbeats: workers report the keyed digests of their contracts' state after given blocks,
//! and the chain compares the reports of one cluster's workers. Equal states give equal digests
//! and the digest key is the cluster's, so the chain learns only whether they agree; when two
//! workers disagree on a contract at the same height, a `StateDivergence` event says who.
//! A heartbeat is also the worker's answer to a challenge (see `mining`).
//!
//! State layout: `heartbeats/` ++ contract ++ height (u64 big-endian) -> `SCALE(Vec<(worker,
//! digest)>)`, one entry per worker that reported; `heartbeats/heights/` ++ contract ->
//! `SCALE(Vec<u64>)`, the reported heights kept, ascending. Only the newest [`KEPT_HEIGHTS`]
//! heights of a contract are kept: a newer one drops the oldest entry, and a report older than
//! all kept heights (when they are full) is refused, so the state stays bounded.

use crate::clusters::read_cluster;
use crate::contracts;
use crate::error::{Cause, Refusal};
use crate::state::decode_entry;
use crate::{StateOverlay, StateReader, TxError};
use parity_scale_codec::Encode;
use phalanx_primitives::{AccountId, BlockHeight, Event, Hash, StateReport};

/// Why a heartbeat's digest reports are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeartbeatError {
    #[error("block {0} is older than the {KEPT_HEIGHTS} heights the chain keeps reports of")]
    TooOld(BlockHeight),
    #[error("a heartbeat carries at most {MAX_REPORTS} reports, not {0}")]
    TooManyReports(usize),
    #[error("a report for block {reported} must come after that block (this is {current})")]
    TooEarly {
        reported: BlockHeight,
        current: BlockHeight,
    },
    #[error("{worker} is not a worker of contract {contract}'s cluster")]
    NotClusterWorker {
        worker: AccountId,
        contract: AccountId,
    },
    #[error("{worker} already reported contract {contract} at block {height}")]
    AlreadyReported {
        worker: AccountId,
        contract: AccountId,
        height: BlockHeight,
    },
}

impl Cause for HeartbeatError {
    fn cause(&self) -> &'static str {
        match self {
            HeartbeatError::TooOld(_) => "report_too_old",
            HeartbeatError::TooManyReports(_) => "too_many_reports",
            HeartbeatError::TooEarly { .. } => "report_too_early",
            HeartbeatError::NotClusterWorker { .. } => "not_a_cluster_worker",
            HeartbeatError::AlreadyReported { .. } => "already_reported",
        }
    }

    fn refusal(&self) -> Refusal {
        match self {
            HeartbeatError::NotClusterWorker { .. } => Refusal::NotAuthorized,
            _ => Refusal::InvalidCall,
        }
    }
}

const PREFIX: &[u8] = b"heartbeats/";
const HEIGHTS_PREFIX: &[u8] = b"heartbeats/heights/";
/// Reported heights kept per contract.
pub const KEPT_HEIGHTS: usize = 64;
pub use phalanx_primitives::MAX_STATE_REPORTS as MAX_REPORTS;

fn key(contract: &AccountId, height: u64) -> Vec<u8> {
    [
        PREFIX,
        contract.as_bytes().as_slice(),
        &height.to_be_bytes(),
    ]
    .concat()
}

fn heights_key(contract: &AccountId) -> Vec<u8> {
    [HEIGHTS_PREFIX, contract.as_bytes().as_slice()].concat()
}

/// Notes that `contract` has reports at `height` (new to it), dropping the oldest kept height's
/// entry beyond [`KEPT_HEIGHTS`]; refuses a height older than every kept one when they are full.
fn keep_height(
    overlay: &mut StateOverlay<impl StateReader>,
    contract: &AccountId,
    height: u64,
) -> Result<(), TxError> {
    let mut heights: Vec<u64> =
        decode_entry(overlay.get(&heights_key(contract))?, "heartbeat heights")?
            .unwrap_or_default();
    if heights.len() >= KEPT_HEIGHTS && heights.first().is_some_and(|oldest| height < *oldest) {
        return Err(HeartbeatError::TooOld(height).into());
    }
    let at = heights.partition_point(|h| *h < height);
    heights.insert(at, height);
    if heights.len() > KEPT_HEIGHTS {
        let oldest = heights.remove(0);
        overlay.remove(key(contract, oldest));
    }
    overlay.set(heights_key(contract), heights.encode());
    Ok(())
}

/// The digests reported for `contract` at `height`, from committed state.
pub fn reports(
    state: &impl StateReader,
    contract: &AccountId,
    height: u64,
) -> Result<Vec<(AccountId, Hash)>, crate::StateError> {
    Ok(decode_entry(state.get(&key(contract, height))?, "heartbeat entry")?.unwrap_or_default())
}

pub(crate) fn record(
    overlay: &mut StateOverlay<impl StateReader>,
    worker: AccountId,
    digests: &[StateReport],
    current_height: BlockHeight,
) -> Result<Vec<Event>, TxError> {
    // No reports is fine: the heartbeat is then only a sign of life, answering a challenge.
    if digests.len() > MAX_REPORTS {
        return Err(HeartbeatError::TooManyReports(digests.len()).into());
    }
    let mut events = vec![Event::Heartbeat {
        worker,
        reports: digests.len() as u32,
    }];
    for report in digests {
        if report.height >= current_height {
            return Err(HeartbeatError::TooEarly {
                reported: report.height,
                current: current_height,
            }
            .into());
        }
        let info = contracts::read_contract(overlay, &report.contract)?;
        let cluster = read_cluster(overlay, &info.cluster)?;
        if !cluster.workers.contains(&worker) {
            return Err(HeartbeatError::NotClusterWorker {
                worker,
                contract: report.contract,
            }
            .into());
        }
        let entry = key(&report.contract, report.height);
        let mut reported: Vec<(AccountId, Hash)> =
            decode_entry(overlay.get(&entry)?, "heartbeat entry")?.unwrap_or_default();
        if reported.is_empty() {
            keep_height(overlay, &report.contract, report.height)?;
        }
        if reported.iter().any(|(w, _)| *w == worker) {
            return Err(HeartbeatError::AlreadyReported {
                worker,
                contract: report.contract,
                height: report.height,
            }
            .into());
        }
        if let Some((other_worker, other_digest)) =
            reported.iter().find(|(_, d)| *d != report.digest)
        {
            events.push(Event::StateDivergence {
                contract: report.contract,
                height: report.height,
                worker,
                digest: report.digest,
                other_worker: *other_worker,
                other_digest: *other_digest,
            });
        }
        reported.push((worker, report.digest));
        overlay.set(entry, reported.encode());
    }
    Ok(events)
}
