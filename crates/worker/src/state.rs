//! Contract state as the executor sees it: one key-value store per contract. The worker process
//! backs it with its sealed redb store; tests use [`MemoryContractStates`].

use phalanx_primitives::{sha256, AccountId, Hash};
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
    /// A digest of one contract's whole state: equal states give equal digests.
    pub fn digest(&self, contract: &AccountId) -> Hash {
        let mut buffer = contract.as_bytes().to_vec();
        for (key, value) in self.0.get(contract).map(|s| &s.0).into_iter().flatten() {
            buffer.extend_from_slice(&(key.len() as u32).to_le_bytes());
            buffer.extend_from_slice(key);
            buffer.extend_from_slice(&(value.len() as u32).to_le_bytes());
            buffer.extend_from_slice(value);
        }
        sha256(&buffer)
    }
}
