//! Heartbeats: workers report the keyed digests of their contracts' state after given blocks,
//! and the chain compares the reports of one cluster's workers. Equal states give equal digests
//! and the digest key is the cluster's, so the chain learns only whether they agree; when two
//! workers disagree on a contract at the same height, a `StateDivergence` event says who.
//! A heartbeat is also the worker's answer to a challenge (see `mining`).
//!
//! State layout: `heartbeats/` ++ contract ++ height (u64 big-endian) -> SCALE(Vec<(worker,
//! digest)>), one entry per worker that reported.

use crate::clusters::read_cluster;
use crate::contracts;
use crate::state::decode_entry;
use crate::{StateOverlay, StateReader, TxError};
use parity_scale_codec::Encode;
use phalanx_primitives::{AccountId, BlockHeight, Event, Hash, StateReport};

const PREFIX: &[u8] = b"heartbeats/";
pub use phalanx_primitives::MAX_STATE_REPORTS as MAX_REPORTS;

fn key(contract: &AccountId, height: u64) -> Vec<u8> {
    [
        PREFIX,
        contract.as_bytes().as_slice(),
        &height.to_be_bytes(),
    ]
    .concat()
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
        return Err(TxError::InvalidCall(format!(
            "a heartbeat carries at most {MAX_REPORTS} reports"
        )));
    }
    let mut events = vec![Event::Heartbeat {
        worker,
        reports: digests.len() as u32,
    }];
    for report in digests {
        if report.height >= current_height {
            return Err(TxError::InvalidCall(format!(
                "a report for block {} must come after that block (this is {current_height})",
                report.height
            )));
        }
        let info = contracts::read_contract(overlay, &report.contract)?;
        let cluster = read_cluster(overlay, &info.cluster)?;
        if !cluster.workers.contains(&worker) {
            return Err(TxError::NotAuthorized(format!(
                "{worker} is not a worker of contract {}'s cluster",
                report.contract
            )));
        }
        let entry = key(&report.contract, report.height);
        let mut reported: Vec<(AccountId, Hash)> =
            decode_entry(overlay.get(&entry)?, "heartbeat entry")?.unwrap_or_default();
        if reported.iter().any(|(w, _)| *w == worker) {
            return Err(TxError::InvalidCall(format!(
                "{worker} already reported contract {} at block {}",
                report.contract, report.height
            )));
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
