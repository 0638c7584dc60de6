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
    /// The storage as it is now, for reading while calls run: the engine's store owns what its
    /// host functions reach (it cannot hold a borrow), so a run of calls reads from this.
    /// Nothing writes the storage while the snapshot is in use (the run holds a borrow of it).
    fn snapshot(&self) -> Box<dyn StorageSnapshot>;
}

/// A read-only view of a contract's storage that owns (or shares) what it reads, so that it can
/// live in the engine's store. Its answers are those of the storage it was taken from.
pub trait StorageSnapshot: Send + Sync {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageFailure>;
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
    fn snapshot(&self) -> Box<dyn StorageSnapshot> {
        (**self).snapshot()
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
    fn snapshot(&self) -> Box<dyn StorageSnapshot> {
        Box::new(self.clone())
    }
}

impl StorageSnapshot for MemoryStorage {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageFailure> {
        Ok(self.0.get(key).cloned())
    }
}

/// The writes of a run of successful calls to one contract (a [`crate::ContractSession`]) over
/// the storage the run started from: later calls read what earlier ones wrote; nothing reaches
/// the storage below until the run's writes are applied, in order.
pub(crate) struct RunStorage {
    below: Box<dyn StorageSnapshot>,
    latest: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    log: Vec<StorageWrite>,
}

impl RunStorage {
    pub fn over(below: Box<dyn StorageSnapshot>) -> Self {
        RunStorage {
            below,
            latest: BTreeMap::new(),
            log: Vec::new(),
        }
    }

    /// Over nothing: what a store being replaced holds for the moment.
    pub fn empty() -> Self {
        Self::over(Box::new(MemoryStorage::default()))
    }

    /// The run's writes, in the order the calls made them.
    pub fn into_writes(self) -> Vec<StorageWrite> {
        self.log
    }
}

impl RunStorage {
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageFailure> {
        match self.latest.get(key) {
            Some(value) => Ok(value.clone()),
            None => self.below.get(key),
        }
    }
    pub fn set(&mut self, key: &[u8], value: &[u8]) -> Result<(), StorageFailure> {
        self.latest.insert(key.to_vec(), Some(value.to_vec()));
        self.log.push(StorageWrite::Set {
            key: key.to_vec(),
            value: value.to_vec(),
        });
        Ok(())
    }
    pub fn remove(&mut self, key: &[u8]) -> Result<(), StorageFailure> {
        self.latest.insert(key.to_vec(), None);
        self.log.push(StorageWrite::Remove { key: key.to_vec() });
        Ok(())
    }
}

/// Applies `writes` to `storage`, in order.
pub(crate) fn apply_writes(
    storage: &mut dyn ContractStorage,
    writes: &[StorageWrite],
) -> Result<(), StorageFailure> {
    for write in writes {
        match write {
            StorageWrite::Set { key, value } => storage.set(key, value)?,
            StorageWrite::Remove { key } => storage.remove(key)?,
        }
    }
    Ok(())
}

/// Keys starting with this are the VM's, never a contract's.
pub const RESERVED_KEY_PREFIX: &[u8] = b"\xffphalanx";
/// Where the VM keeps a contract's storage size (keys plus values, in bytes, LE u64), inside
/// the contract's own storage: sealed, digested and replayed with it, equal on every worker.
pub(crate) const STORAGE_SIZE_KEY: &[u8] = b"\xffphalanx/size";

/// Where the host keeps the PHA the contract's own account holds (LE u128; absent: none), for
/// the contract to read with `balance`: written by the worker from the chain's
/// `ContractBalance` events, read by the VM only when the contract asks.
pub const BALANCE_KEY: &[u8] = b"\xffphalanx/balance";

/// A stored entry's size, as the VM counts it.
fn entry_bytes(key: &[u8], value: &[u8]) -> u64 {
    (key.len() + value.len()) as u64
}

/// The writes of the call in progress, over the backend: reads see them, nothing reaches the
/// backend until [`PendingWrites::apply`].
#[derive(Default)]
pub(crate) struct PendingWrites {
    latest: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    log: Vec<StorageWrite>,
    /// Sizes of backend entries this call read, so that counting its growth reads only the
    /// keys it wrote blind.
    seen: std::cell::RefCell<BTreeMap<Vec<u8>, u64>>,
}

impl PendingWrites {
    pub fn get(&self, backend: &RunStorage, key: &[u8]) -> Result<Option<Vec<u8>>, StorageFailure> {
        match self.latest.get(key) {
            Some(value) => Ok(value.clone()),
            None => {
                let value = backend.get(key)?;
                let size = value.as_ref().map_or(0, |v| entry_bytes(key, v));
                self.seen.borrow_mut().insert(key.to_vec(), size);
                Ok(value)
            }
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

    /// The contract's storage size before this call and after it, were it applied.
    pub fn sizes(&self, backend: &RunStorage) -> Result<(u64, u64), StorageFailure> {
        let before = match backend.get(STORAGE_SIZE_KEY)? {
            Some(bytes) => u64::from_le_bytes(bytes.as_slice().try_into().map_err(|_| {
                StorageFailure("the contract's storage size entry is corrupt".into())
            })?),
            None => 0,
        };
        let (mut added, mut freed) = (0u64, 0u64);
        let seen = self.seen.borrow();
        for (key, new) in &self.latest {
            let old = match seen.get(key) {
                Some(size) => *size,
                None => backend.get(key)?.map_or(0, |v| entry_bytes(key, &v)),
            };
            let new = new.as_ref().map_or(0, |v| entry_bytes(key, v));
            added += new.saturating_sub(old);
            freed += old.saturating_sub(new);
        }
        Ok((before, (before + added).saturating_sub(freed)))
    }

    /// Records the contract's new storage size with the call's writes.
    pub fn record_size(&mut self, size: u64) {
        self.set(STORAGE_SIZE_KEY.to_vec(), size.to_le_bytes().to_vec());
    }

    pub fn apply(self, backend: &mut RunStorage) -> Result<Vec<StorageWrite>, StorageFailure> {
        for write in &self.log {
            match write {
                StorageWrite::Set { key, value } => backend.set(key, value)?,
                StorageWrite::Remove { key } => backend.remove(key)?,
            }
        }
        Ok(self.log)
    }
}
