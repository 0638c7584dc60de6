//! Contract state as the executor sees it: one key-value store per contract. The worker process
//! backs it with its sealed redb store; tests use [`MemoryContractStates`].

use crate::StateDigest;
use phalanx_primitives::AccountId;
use phalanx_vm::{ContractStorage, MemoryStorage};
use std::collections::BTreeMap;

/// Every contract's storage. Implementations must be deterministic (see [`ContractStorage`]).
pub trait ContractStates {
    fn storage(&mut self, contract: &AccountId) -> &mut dyn ContractStorage;
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryContractStates(pub BTreeMap<AccountId, MemoryStorage>);

impl ContractStates for MemoryContractStates {
    fn storage(&mut self, contract: &AccountId) -> &mut dyn ContractStorage {
        self.0.entry(*contract).or_default()
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
