//! A contract's own PHA: the chain announces it (`Event::ContractBalance`, at the end of every
//! block that changed it) and the executor records it in the contract's state under the VM's
//! [`BALANCE_KEY`], where the contract reads it (`env::balance`) and no contract can write.
//!
//! Recorded before the block's calls run, so a command sees what its block left the account
//! holding; sealed, digested and replayed with the rest of the state, hence equal on every
//! worker of the contract, late joiners included.

use crate::ExecError;
use phalanx_primitives::{AccountId, Balance, Event, EventRecord, Phase};
use phalanx_vm::{ContractStorage, BALANCE_KEY};
use std::collections::BTreeMap;

/// What a block's end says each contract whose PHA changed holds now.
pub(crate) fn announced(events: &[EventRecord]) -> BTreeMap<AccountId, Balance> {
    events
        .iter()
        .filter(|record| record.phase == Phase::Finalization)
        .filter_map(|record| match record.event {
            Event::ContractBalance { contract, balance } => Some((contract, balance)),
            _ => None,
        })
        .collect()
}

pub(crate) fn record(storage: &mut dyn ContractStorage, units: Balance) -> Result<(), ExecError> {
    storage
        .set(BALANCE_KEY, &units.to_le_bytes())
        .map_err(|e| ExecError::Storage(e.0))
}
