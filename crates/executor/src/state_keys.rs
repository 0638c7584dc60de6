//! Contract state at rest is sealed twice: inside, under the contract's state key of an epoch
//! (from the key hierarchy, the same in every worker of its cluster); outside, under the enclave's
//! sealing key. A stored value is `seal(enclave, epoch u32le | seal(state key of epoch, value))`,
//! both with the entry's tag as associated data.
//!
//! New values go under the contract's newest epoch. When a rotation brings a newer epoch, the
//! worker re-encrypts every entry of the contract under it (`WorkerStore::reencrypt`), so its
//! disk holds nothing that the old epoch's keys alone would open. Old epochs' keys stay in the
//! keyring: old commands must still decrypt when history is replayed.

use phalanx_crypto::sealing::SealingKey;
use phalanx_primitives::AccountId;
use rand_core::CryptoRngCore;
use std::collections::HashMap;

/// Why a stored value does not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateKeyError {
    #[error("no state key of contract {0} (epoch {1}) is known to this worker")]
    Missing(AccountId, u32),
    #[error("a state entry of contract {0} does not open (altered, moved, or another enclave's)")]
    Unsealable(AccountId),
}

/// The contracts' state keys, by contract and epoch.
#[derive(Clone, Default)]
pub struct StateKeys {
    keys: HashMap<(AccountId, u32), SealingKey>,
    newest: HashMap<AccountId, u32>,
}

impl StateKeys {
    /// Adds keys; returns the contracts whose newest epoch rose (their older entries are now
    /// stale and should be re-encrypted).
    pub fn install(
        &mut self,
        keys: impl IntoIterator<Item = (AccountId, u32, [u8; 32])>,
    ) -> Vec<AccountId> {
        let mut risen = Vec::new();
        for (contract, epoch, key) in keys {
            self.keys
                .entry((contract, epoch))
                .or_insert_with(|| SealingKey::from_bytes(key));
            match self.newest.get(&contract).copied() {
                Some(newest) if newest >= epoch => {}
                previous => {
                    self.newest.insert(contract, epoch);
                    if previous.is_some() && !risen.contains(&contract) {
                        risen.push(contract);
                    }
                }
            }
        }
        risen
    }

    /// Only `contract`'s keys: what reading its state needs.
    pub fn of(&self, contract: &AccountId) -> StateKeys {
        StateKeys {
            keys: self
                .keys
                .iter()
                .filter(|((owner, _), _)| owner == contract)
                .map(|(id, key)| (*id, key.clone()))
                .collect(),
            newest: self
                .newest
                .get(contract)
                .map(|epoch| (*contract, *epoch))
                .into_iter()
                .collect(),
        }
    }

    /// The epoch new values of `contract` are encrypted under.
    pub fn newest(&self, contract: &AccountId) -> Option<u32> {
        self.newest.get(contract).copied()
    }

    fn key(&self, contract: &AccountId, epoch: u32) -> Result<&SealingKey, StateKeyError> {
        self.keys
            .get(&(*contract, epoch))
            .ok_or(StateKeyError::Missing(*contract, epoch))
    }

    /// Seals a value of `contract` stored under `tag`: state key of the newest epoch inside,
    /// `enclave` outside.
    pub fn seal(
        &self,
        enclave: &SealingKey,
        contract: &AccountId,
        tag: &[u8],
        value: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<u8>, StateKeyError> {
        let epoch = self
            .newest(contract)
            .ok_or(StateKeyError::Missing(*contract, 0))?;
        let inner = self.key(contract, epoch)?.seal(value, tag, rng);
        let framed = [epoch.to_le_bytes().as_slice(), &inner].concat();
        Ok(enclave.seal(&framed, tag, rng))
    }

    /// Opens a stored value; also says the epoch it was sealed under.
    pub fn open(
        &self,
        enclave: &SealingKey,
        contract: &AccountId,
        tag: &[u8],
        sealed: &[u8],
    ) -> Result<(Vec<u8>, u32), StateKeyError> {
        let unsealable = || StateKeyError::Unsealable(*contract);
        let framed = enclave.unseal(sealed, tag).map_err(|_| unsealable())?;
        if framed.len() < 4 {
            return Err(unsealable());
        }
        let epoch = u32::from_le_bytes(framed[..4].try_into().expect("4 bytes"));
        let value = self
            .key(contract, epoch)?
            .unseal(&framed[4..], tag)
            .map_err(|_| unsealable())?;
        Ok((value.to_vec(), epoch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn values_go_under_the_newest_epoch_and_need_their_own_epochs_key() {
        let enclave = SealingKey::from_bytes([1; 32]);
        let contract = AccountId::from_bytes([2; 32]);
        let mut keys = StateKeys::default();
        assert!(keys
            .seal(&enclave, &contract, b"t", b"v", &mut OsRng)
            .is_err());
        assert_eq!(keys.install([(contract, 0, [3; 32])]), vec![]);
        let old = keys
            .seal(&enclave, &contract, b"t", b"v", &mut OsRng)
            .unwrap();
        assert_eq!(
            keys.install([(contract, 1, [4; 32]), (contract, 0, [3; 32])]),
            vec![contract]
        );
        let new = keys
            .seal(&enclave, &contract, b"t", b"v", &mut OsRng)
            .unwrap();
        assert_eq!(
            keys.open(&enclave, &contract, b"t", &old).unwrap(),
            (b"v".to_vec(), 0)
        );
        assert_eq!(
            keys.open(&enclave, &contract, b"t", &new).unwrap(),
            (b"v".to_vec(), 1)
        );
        // Moved to another tag, or without the epoch's key: nothing opens.
        assert!(keys.open(&enclave, &contract, b"u", &new).is_err());
        let mut only_new = StateKeys::default();
        only_new.install([(contract, 1, [4; 32])]);
        assert_eq!(
            only_new.open(&enclave, &contract, b"t", &old),
            Err(StateKeyError::Missing(contract, 0))
        );
        assert!(only_new.open(&enclave, &contract, b"t", &new).is_ok());
    }
}
