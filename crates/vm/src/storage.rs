//! The storage a contract sees: a key-value map private to the contract, provided by the caller
//! (the worker's encrypted store; [`MemoryStorage`] in tests).

use std::collections::BTreeMap;

/// The backend failed (I/O, corruption). Never shown to the contract as data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StorageFailure(pub String);

/// A contract's key-value storage.
///
/// Implementations must be deterministic: the same sequence of calls on the same state returns
/// the same values on every honest worker. The VM never calls `set` or `remove` for a call that
/// fails; it applies a successful call's writes in the order the contract made them.
pub trait ContractStorage {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageFailure>;
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<(), StorageFailure>;
    fn remove(&mut self, key: &[u8]) -> Result<(), StorageFailure>;
}

impl<S: ContractStorage + ?Sized> ContractStorage for &mut S {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageFailure> {
        (**self).get(key)
    }
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<(), StorageFailure> {
        (**self).set(key, value)
    }
    fn remove(&mut self, key: &[u8]) -> Result<(), StorageFailure> {
        (**self).remove(key)
    }
}

/// One change a successful call made, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageWrite {
    Set { key: Vec<u8>, value: Vec<u8> },
    Remove { key: Vec<u8> },
}

/// Storage held in memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryStorage(pub BTreeMap<Vec<u8>, Vec<u8>>);

impl ContractStorage for MemoryStorage {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageFailure> {
        Ok(self.0.get(key).cloned())
    }
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<(), StorageFailure> {
        self.0.insert(key.to_vec(), value.to_vec());
        Ok(())
    }
    fn remove(&mut self, key: &[u8]) -> Result<(), StorageFailure> {
        self.0.remove(key);
        Ok(())
    }
}

/// The writes of the call in progress, over the backend: reads see them, nothing reaches the
/// backend until [`PendingWrites::apply`].
#[derive(Default)]
pub(crate) struct PendingWrites {
    latest: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    log: Vec<StorageWrite>,
}

impl PendingWrites {
    pub fn get(
        &self,
        backend: &dyn ContractStorage,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StorageFailure> {
        match self.latest.get(key) {
            Some(value) => Ok(value.clone()),
            None => backend.get(key),
        }
    }

    pub fn set(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.latest.insert(key.clone(), Some(value.clone()));
        self.log.push(StorageWrite::Set { key, value });
    }

    pub fn remove(&mut self, key: Vec<u8>) {
        self.latest.insert(key.clone(), None);
        self.log.push(StorageWrite::Remove { key });
    }

    pub fn apply(
        self,
        backend: &mut dyn ContractStorage,
    ) -> Result<Vec<StorageWrite>, StorageFailure> {
        for write in &self.log {
            match write {
                StorageWrite::Set { key, value } => backend.set(key, value)?,
                StorageWrite::Remove { key } => backend.remove(key)?,
            }
        }
        Ok(self.log)
    }
}
