//! The node's database: one redb file holding blocks, the transaction index, events and the
//! ledger state. Each block is committed in exactly one redb write transaction (fsync'd), so after
//! a crash the file holds every block that was reported final and nothing half-written.
//!
//! Tables (all values SCALE unless noted):
//! - `meta`: `chain_id` (32 bytes), `genesis` (GenesisConfig), `head` (u64 LE height)
//! - `blocks`: height -> Block
//! - `block_heights`: block hash -> height
//! - `tx_index`: transaction hash -> (height u64, index u32, block hash)
//! - `events`: height -> Vec<EventRecord>
//! - `state`: ledger key -> value (the runtime's key space)

use parity_scale_codec::{Decode, Encode};
use phalanx_primitives::{Block, BlockHeader, EventRecord, GenesisConfig, Hash};
use phalanx_runtime::{genesis, StateError, StateReader, WriteSet};
use redb::{Database, ReadOnlyTable, ReadableTable, ReadableTableMetadata, TableDefinition};
use std::path::Path;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
const BLOCK_HEIGHTS: TableDefinition<&[u8], u64> = TableDefinition::new("block_heights");
const TX_INDEX: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tx_index");
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
const STATE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("state");

const META_CHAIN_ID: &str = "chain_id";
const META_GENESIS: &str = "genesis";
const META_HEAD: &str = "head";

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "chain.redb";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// Boxed: redb's error is large and this one travels through every storage call.
    #[error("database: {0}")]
    Database(#[source] Box<redb::Error>),
    #[error("database is corrupt: {0}")]
    Corrupt(String),
    #[error("this data directory belongs to chain {found}, but the node was started for chain {expected}; use another --data-dir")]
    GenesisMismatch { expected: Hash, found: Hash },
    #[error("invalid genesis: {0}")]
    Genesis(#[from] phalanx_primitives::GenesisError),
}

macro_rules! impl_from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StorageError {
            fn from(e: $t) -> Self { StorageError::Database(Box::new(e.into())) }
        }
    )*};
}
impl_from_redb!(
    redb::Error,
    std::io::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// A ledger state key and its value.
pub type StateEntry = (Vec<u8>, Vec<u8>);

/// Where a transaction landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct TxLocation {
    pub height: u64,
    pub index: u32,
    pub block_hash: Hash,
}

pub struct Store {
    db: Database,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(format!("{what}: {e}"))
}

impl Store {
    /// Opens (or creates, writing block 0) the database in `data_dir` for the chain `genesis`
    /// describes; refuses a database made for another chain.
    pub fn open(data_dir: &Path, genesis_config: &GenesisConfig) -> Result<Store, StorageError> {
        std::fs::create_dir_all(data_dir)?;
        let db = Database::create(data_dir.join(DATABASE_FILE))?;
        let store = Store { db };
        let expected = genesis_config.hash();
        match store.stored_chain_id()? {
            Some(found) if found != expected => {
                return Err(StorageError::GenesisMismatch { expected, found })
            }
            Some(_) => {}
            None => store.write_genesis(genesis_config)?,
        }
        Ok(store)
    }

    /// Opens an existing database without knowing its genesis (for offline checks).
    pub fn open_existing(data_dir: &Path) -> Result<(Store, GenesisConfig), StorageError> {
        let path = data_dir.join(DATABASE_FILE);
        if !path.exists() {
            return Err(StorageError::Corrupt(format!(
                "no database at {}",
                path.display()
            )));
        }
        let store = Store {
            db: Database::open(path)?,
        };
        let txn = store.db.begin_read()?;
        let meta = txn.open_table(META)?;
        let bytes = meta
            .get(META_GENESIS)?
            .ok_or_else(|| corrupt("meta", "no genesis"))?;
        let genesis =
            GenesisConfig::decode(&mut bytes.value()).map_err(|e| corrupt("genesis", e))?;
        drop(bytes);
        Ok((store, genesis))
    }

    fn stored_chain_id(&self) -> Result<Option<Hash>, StorageError> {
        let txn = self.db.begin_read()?;
        let meta = match txn.open_table(META) {
            Ok(meta) => meta,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Some(bytes) = meta.get(META_CHAIN_ID)? else {
            return Ok(None);
        };
        let array: [u8; 32] = bytes
            .value()
            .try_into()
            .map_err(|e| corrupt("chain id", e))?;
        Ok(Some(Hash(array)))
    }

    fn write_genesis(&self, config: &GenesisConfig) -> Result<(), StorageError> {
        let built = genesis::build(config)?;
        let block = Block {
            header: built.header,
            transactions: vec![],
            certificate: Default::default(),
        };
        let txn = self.db.begin_write()?;
        {
            // Create every table so readers never meet a missing one.
            txn.open_table(BLOCKS)?;
            txn.open_table(BLOCK_HEIGHTS)?;
            txn.open_table(TX_INDEX)?;
            txn.open_table(EVENTS)?;
            txn.open_table(STATE)?;
            let mut meta = txn.open_table(META)?;
            meta.insert(META_CHAIN_ID, config.hash().0.as_slice())?;
            meta.insert(META_GENESIS, config.encode().as_slice())?;
        }
        write_block(&txn, &block, &built.events, &built.write_set)?;
        txn.commit()?;
        Ok(())
    }

    /// Commits one block with its events and state changes atomically and durably.
    pub fn commit_block(
        &self,
        block: &Block,
        events: &[EventRecord],
        writes: &WriteSet,
    ) -> Result<(), StorageError> {
        let txn = self.db.begin_write()?;
        write_block(&txn, block, events, writes)?;
        txn.commit()?;
        Ok(())
    }

    pub fn head_height(&self) -> Result<u64, StorageError> {
        let txn = self.db.begin_read()?;
        let meta = txn.open_table(META)?;
        let bytes = meta
            .get(META_HEAD)?
            .ok_or_else(|| corrupt("meta", "no head"))?;
        let array: [u8; 8] = bytes.value().try_into().map_err(|e| corrupt("head", e))?;
        Ok(u64::from_le_bytes(array))
    }

    pub fn head(&self) -> Result<Block, StorageError> {
        let height = self.head_height()?;
        self.block(height)?
            .ok_or_else(|| corrupt("blocks", format!("head block {height} missing")))
    }

    pub fn block(&self, height: u64) -> Result<Option<Block>, StorageError> {
        let Some(bytes) = self.block_bytes(height)? else {
            return Ok(None);
        };
        Block::decode_trusted(&bytes)
            .map(Some)
            .map_err(|e| corrupt("block", e))
    }

    /// A block exactly as stored (its SCALE encoding).
    pub fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, StorageError> {
        let txn = self.db.begin_read()?;
        let blocks = txn.open_table(BLOCKS)?;
        Ok(blocks.get(height)?.map(|bytes| bytes.value().to_vec()))
    }

    pub fn header(&self, height: u64) -> Result<Option<BlockHeader>, StorageError> {
        // The header is the block's encoding prefix: decoded in place, neither the block's
        // transactions (20,000 in a full one) nor its bytes are copied.
        let txn = self.db.begin_read()?;
        let blocks = txn.open_table(BLOCKS)?;
        let Some(bytes) = blocks.get(height)? else {
            return Ok(None);
        };
        BlockHeader::decode(&mut bytes.value())
            .map(Some)
            .map_err(|e| corrupt("block header", e))
    }

    pub fn height_of(&self, hash: &Hash) -> Result<Option<u64>, StorageError> {
        let txn = self.db.begin_read()?;
        let heights = txn.open_table(BLOCK_HEIGHTS)?;
        Ok(heights.get(hash.0.as_slice())?.map(|h| h.value()))
    }

    pub fn events(&self, height: u64) -> Result<Option<Vec<EventRecord>>, StorageError> {
        let txn = self.db.begin_read()?;
        let events = txn.open_table(EVENTS)?;
        let Some(bytes) = events.get(height)? else {
            return Ok(None);
        };
        Vec::<EventRecord>::decode(&mut bytes.value())
            .map(Some)
            .map_err(|e| corrupt("events", e))
    }

    pub fn tx_location(&self, hash: &Hash) -> Result<Option<TxLocation>, StorageError> {
        Ok(self
            .locate_transactions(std::slice::from_ref(hash))?
            .remove(0))
    }

    /// Where each of `hashes` landed, if it is final; one read transaction for all.
    pub fn locate_transactions(
        &self,
        hashes: &[Hash],
    ) -> Result<Vec<Option<TxLocation>>, StorageError> {
        let txn = self.db.begin_read()?;
        let index = txn.open_table(TX_INDEX)?;
        hashes
            .iter()
            .map(|hash| match index.get(hash.0.as_slice())? {
                Some(bytes) => TxLocation::decode(&mut bytes.value())
                    .map(Some)
                    .map_err(|e| corrupt("tx index", e)),
                None => Ok(None),
            })
            .collect()
    }

    /// A consistent read-only view of the ledger state as of the newest committed block.
    pub fn state_snapshot(&self) -> Result<StateSnapshot, StorageError> {
        let txn = self.db.begin_read()?;
        Ok(StateSnapshot {
            table: txn.open_table(STATE)?,
        })
    }

    /// Every state entry, in key order.
    pub fn state_entries(&self) -> Result<Vec<StateEntry>, StorageError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(STATE)?;
        let mut entries = Vec::with_capacity(table.len()? as usize);
        for entry in table.iter()? {
            let (key, value) = entry?;
            entries.push((key.value().to_vec(), value.value().to_vec()));
        }
        Ok(entries)
    }
}

fn write_block(
    txn: &redb::WriteTransaction,
    block: &Block,
    events: &[EventRecord],
    writes: &WriteSet,
) -> Result<(), StorageError> {
    let height = block.header.height;
    let block_hash = block.hash();
    txn.open_table(BLOCKS)?
        .insert(height, block.encode().as_slice())?;
    txn.open_table(BLOCK_HEIGHTS)?
        .insert(block_hash.0.as_slice(), height)?;
    txn.open_table(EVENTS)?
        .insert(height, events.encode().as_slice())?;
    {
        let mut index = txn.open_table(TX_INDEX)?;
        for (i, tx) in block.transactions.iter().enumerate() {
            let location = TxLocation {
                height,
                index: i as u32,
                block_hash,
            };
            index.insert(tx.hash().0.as_slice(), location.encode().as_slice())?;
        }
    }
    {
        let mut state = txn.open_table(STATE)?;
        for (key, value) in writes.iter() {
            match value {
                Some(value) => state.insert(key.as_slice(), value.as_slice())?,
                None => state.remove(key.as_slice())?,
            };
        }
    }
    txn.open_table(META)?
        .insert(META_HEAD, height.to_le_bytes().as_slice())?;
    Ok(())
}

/// The ledger state at one committed block, for the runtime to read.
pub struct StateSnapshot {
    table: ReadOnlyTable<&'static [u8], &'static [u8]>,
}

impl StateReader for StateSnapshot {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.table
            .get(key)
            .map(|value| value.map(|v| v.value().to_vec()))
            .map_err(|e| StateError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phalanx_runtime::genesis::dev_config;

    #[test]
    fn refuses_another_genesis_and_reopens_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let config = dev_config();
        let store = Store::open(dir.path(), &config).unwrap();
        let genesis_block = store.head().unwrap();
        assert_eq!(genesis_block.header.height, 0);
        drop(store);
        let store = Store::open(dir.path(), &config).unwrap();
        assert_eq!(store.head().unwrap(), genesis_block);
        drop(store);
        let mut other = config.clone();
        other.chain_name = "another".into();
        assert!(matches!(
            Store::open(dir.path(), &other),
            Err(StorageError::GenesisMismatch { .. })
        ));
    }
}
