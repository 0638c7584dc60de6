//! Contract state as the executor sees it: one key-value store per contract. The worker process
//! backs it with its sealed redb store; tests use [`MemoryContractStates`].

use crate::StateDigest;
use phalanx_primitives::AccountId;
use phalanx_vm::{ContractStorage, MemoryStorage};
use std::collections::BTreeMap;

/// Every contract's storage. Implementations must be deterministic (see [`ContractStorage`]).
pub trait ContractStates {
    fn storage(&mut self, contract: &AccountId) -> &mut dyn ContractStorage;

    /// The storages of `contracts` (sorted, without duplicates) at once, in that order, so that
    /// contracts can run on different threads.
    fn storages(&mut self, contracts: &[AccountId]) -> Vec<&mut (dyn ContractStorage + Send)>;
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryContractStates(pub BTreeMap<AccountId, MemoryStorage>);

impl ContractStates for MemoryContractStates {
    fn storage(&mut self, contract: &AccountId) -> &mut dyn ContractStorage {
        self.0.entry(*contract).or_default()
    }

    fn storages(&mut self, contracts: &[AccountId]) -> Vec<&mut (dyn ContractStorage + Send)> {
        for contract in contracts {
            self.0.entry(*contract).or_default();
        }
        // The map iterates in key order, the order `contracts` is given in.
        self.0
            .iter_mut()
            .filter(|(contract, _)| contracts.binary_search(contract).is_ok())
            .map(|(_, storage)| storage as &mut (dyn ContractStorage + Send))
            .collect()
    }
}

impl MemoryContractStates {
    /// The keyed digest of one contract's whole state (see [`StateDigest`]).
    pub fn digest(&self, contract: &AccountId, digest_key: &[u8; 32]) -> StateDigest {
        let entries = self.0.get(contract).map(|s| &s.0).into_iter().flatten();
        StateDigest::of(
            digest_key,
            entries.map(|(k, v)| (k.as_slice(), v.as_slice())),
        )
    }
}
