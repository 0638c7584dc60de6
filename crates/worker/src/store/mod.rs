//! The worker's sealed store: one redb file holding every contract's state, the receipts and the
//! synced height, everything sealed (AES-256-GCM-SIV) under the worker's sealing key.
//!
//! Storage keys are not stored in clear either: an entry lives under
//! `contract | HMAC-SHA256(tag key, storage key)`, so the file reveals only how many entries a
//! contract has and when they change. A block's changes, its receipts and the new synced height
//! are committed in one redb write transaction, so a crash leaves either the block entirely
//! applied or not at all.
//!
//! Contract values are sealed twice, under the contract's state key of an epoch inside and the
//! enclave's key outside (see [`crate::state_keys`]); the worker installs the state keys it
//! derives ([`WorkerStore::install_state_keys`]) and re-encrypts a contract's entries when a
//! rotation brings a newer epoch ([`WorkerStore::reencrypt`]).
//!
//! Tables: `state` (contract ++ tag -> sealed value), `receipts` (tx hash -> sealed SCALE
//! Receipt), `digests` (contract ++ height as u64 big-endian -> sealed [`StateDigest`] after that
//! block, one entry per block that wrote the contract), `outbox` (contract ++ output number as
//! u64 big-endian -> sealed SCALE [`Output`] not yet accepted by the chain), `outbox_heads`
//! (contract -> sealed SCALE [`OutboxHead`]), `meta` (`synced` -> sealed SCALE BlockHeader of
//! the last applied block, `executor` -> the sealed executor snapshot: cluster keys, codes,
//! contracts, `chain` -> the pinned chain id, `view` -> the chain view's facts, see
//! [`ChainView`]).

mod meta;

use hmac::{Hmac, Mac};
pub use meta::{HeaderStore, PinnedStore};
use meta::{Meta, META, SYNCED, VIEW};
use parity_scale_codec::{Decode, Encode};
use phalanx_crypto::sealing::SealingKey;
use phalanx_executor::ChainView;
use phalanx_executor::StateDigest;
use phalanx_executor::StateKeys;
use phalanx_executor::{BlockEffects, OutboxHead, Output, PendingOutputs};
use phalanx_executor::{ContractStates, Receipt};
use phalanx_primitives::query::Notification;
use phalanx_primitives::{AccountId, BlockHeader, Hash};
use phalanx_vm::{ContractStorage, StorageFailure, StorageSnapshot};
use rand_core::CryptoRngCore;
use redb::{Database, ReadOnlyTable, ReadableTable, TableDefinition};
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, RwLock};

/// The committed contract state, as of the start of a block.
type StateTable = ReadOnlyTable<&'static [u8], &'static [u8]>;

const STATE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("state");
const RECEIPTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("receipts");
const DIGESTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("digests");
/// Events addressed to one account: contract ++ recipient ++ number (u64 big-endian) -> sealed
/// SCALE `Notification`.
const NOTIFICATIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("notifications");
const OUTBOX: TableDefinition<&[u8], &[u8]> = TableDefinition::new("outbox");
const OUTBOX_HEADS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("outbox_heads");
const EXECUTOR: &str = "executor";
const CATCH_UP: &str = "catch-up";

/// One caught-up block's bookkeeping.
pub struct CaughtUp<'a> {
    pub height: u64,
    /// The catch-up's progress after this block; None once it is finished.
    pub progress: Option<CatchUp>,
    /// The executor snapshot, if this block changed it.
    pub executor_snapshot: Option<&'a [u8]>,
}

/// A cluster this worker joined late, being replayed from the start of the chain up to (not
/// including) the block that brought its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CatchUp {
    pub cluster: Hash,
    /// The block that brought the key; the catch-up replays the blocks before it.
    pub until: u64,
    /// The last block replayed so far (0: none).
    pub done: u64,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Boxed: redb's error is large and this one travels through every store call.
    #[error("worker store: {0}")]
    Database(#[source] Box<redb::Error>),
    #[error("worker store file {path}: {source}")]
    File {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} exists; refusing to overwrite it")]
    Exists(std::path::PathBuf),
    #[error("worker store is corrupt or sealed by another enclave: {0}")]
    Corrupt(String),
    #[error(
        "this store belongs to chain {stored}, not to chain {expected}: use another data directory"
    )]
    OtherChain { stored: Hash, expected: Hash },
    #[error("this store predates chain pinning (it has synced blocks but no chain view): delete it and let the worker replay")]
    Unpinned,
}

/// What a live block's commit records beside its writes, in the same transaction.
pub struct Synced<'a> {
    pub header: &'a BlockHeader,
    /// The executor snapshot, if the block changed it.
    pub executor_snapshot: Option<&'a [u8]>,
    /// The chain view after the block, if the block changed more than its head.
    pub view: Option<&'a ChainView>,
}

pub(crate) fn storage_err(e: impl Into<redb::Error>) -> StoreError {
    StoreError::Database(Box::new(e.into()))
}

/// Entries of a store, in table order, a bounded number of bytes at a time: `(table, key,
/// value)` exactly as stored (values sealed, state keys tagged). A checkpoint is a sequence of
/// them, written and read one at a time, so that neither holds the store in memory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct ImageChunk(pub Vec<(u8, Vec<u8>, Vec<u8>)>);

/// Bytes of keys and values one [`ImageChunk`] carries at most (one entry may pass it alone).
pub const IMAGE_CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// The tables an image holds, by the number it names them with; `meta` (string keys) is 5.
type BytesTable = TableDefinition<'static, &'static [u8], &'static [u8]>;
const IMAGE_TABLES: [(u8, BytesTable); 6] = [
    (0, STATE),
    (1, RECEIPTS),
    (2, DIGESTS),
    (3, OUTBOX),
    (4, OUTBOX_HEADS),
    (6, NOTIFICATIONS),
];
const IMAGE_META: u8 = 5;

/// Collects entries into chunks of at most [`IMAGE_CHUNK_BYTES`] and hands each to `sink`.
struct Chunker<'s, E> {
    chunk: ImageChunk,
    bytes: usize,
    sink: &'s mut dyn FnMut(ImageChunk) -> Result<(), E>,
}

impl<E> Chunker<'_, E> {
    fn push(&mut self, table: u8, key: &[u8], value: &[u8]) -> Result<(), E> {
        if self.bytes + key.len() + value.len() > IMAGE_CHUNK_BYTES && !self.chunk.0.is_empty() {
            self.flush()?;
        }
        self.bytes += key.len() + value.len();
        self.chunk.0.push((table, key.to_vec(), value.to_vec()));
        Ok(())
    }

    fn flush(&mut self) -> Result<(), E> {
        self.bytes = 0;
        (self.sink)(std::mem::take(&mut self.chunk))
    }
}

pub struct WorkerStore {
    db: Database,
    sealing: SealingKey,
    tag_key: [u8; 32],
    state_keys: RwLock<StateKeys>,
    /// Contracts a newer key epoch reached since the last commit: that commit re-encrypts their
    /// entries in its own transaction, the one that also records the executor snapshot holding
    /// the new keys, so the store is never left half rotated.
    rotated: std::sync::Mutex<Vec<AccountId>>,
}

impl WorkerStore {
    /// Opens (or creates) the store; `sealing` must be the key it was created with.
    pub fn open(path: &Path, sealing: SealingKey, tag_key: [u8; 32]) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(storage_err)?;
        Self::with_tables(db, sealing, tag_key)
    }

    fn with_tables(
        db: Database,
        sealing: SealingKey,
        tag_key: [u8; 32],
    ) -> Result<Self, StoreError> {
        let txn = db.begin_write().map_err(storage_err)?;
        {
            txn.open_table(STATE).map_err(storage_err)?;
            txn.open_table(RECEIPTS).map_err(storage_err)?;
            txn.open_table(DIGESTS).map_err(storage_err)?;
            txn.open_table(OUTBOX).map_err(storage_err)?;
            txn.open_table(OUTBOX_HEADS).map_err(storage_err)?;
            txn.open_table(NOTIFICATIONS).map_err(storage_err)?;
            txn.open_table(META).map_err(storage_err)?;
        }
        txn.commit().map_err(storage_err)?;
        Ok(WorkerStore {
            db,
            sealing,
            tag_key,
            state_keys: RwLock::default(),
            rotated: std::sync::Mutex::default(),
        })
    }

    fn state_keys(&self) -> std::sync::RwLockReadGuard<'_, StateKeys> {
        self.state_keys.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds contracts' state keys (contract, epoch, key); returns the contracts whose newest
    /// epoch rose. The next commit re-encrypts their entries under it, in its own transaction:
    /// install the keys a snapshot holds before committing that snapshot.
    pub fn install_state_keys(
        &self,
        keys: impl IntoIterator<Item = (AccountId, u32, [u8; 32])>,
    ) -> Vec<AccountId> {
        let risen = self
            .state_keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .install(keys);
        let mut rotated = self.rotated.lock().unwrap_or_else(|p| p.into_inner());
        for contract in &risen {
            if !rotated.contains(contract) {
                rotated.push(*contract);
            }
        }
        risen
    }

    /// Re-encrypts, in one transaction, every state entry of `contracts` (None: of all
    /// contracts) not yet under its contract's newest state key; returns how many it rewrote.
    /// Commits do this on their own for the contracts a rotation reached; this is for checking
    /// or repairing a whole store.
    pub fn reencrypt(
        &self,
        contracts: Option<&[AccountId]>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<usize, StoreError> {
        let txn = self.db.begin_write().map_err(storage_err)?;
        let rewritten = self.reencrypt_in(&txn, contracts, rng)?;
        txn.commit().map_err(storage_err)?;
        Ok(rewritten)
    }

    fn reencrypt_in(
        &self,
        txn: &redb::WriteTransaction,
        contracts: Option<&[AccountId]>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<usize, StoreError> {
        let keys = self.state_keys();
        let mut table = txn.open_table(STATE).map_err(storage_err)?;
        let mut stale = Vec::new();
        {
            // A contract's entries are the keys that start with its id.
            let entries: Box<dyn Iterator<Item = _>> = match contracts {
                None => Box::new(table.iter().map_err(storage_err)?),
                Some(only) => {
                    let mut ranges = Vec::new();
                    for contract in only {
                        let from = contract.as_bytes().to_vec();
                        let to = [from.as_slice(), &[0xff; 33]].concat();
                        ranges.push(
                            table
                                .range(from.as_slice()..to.as_slice())
                                .map_err(storage_err)?,
                        );
                    }
                    Box::new(ranges.into_iter().flatten())
                }
            };
            for entry in entries {
                let (tag, sealed) = entry.map_err(storage_err)?;
                let tag = tag.value().to_vec();
                let contract = <[u8; 32]>::try_from(&tag[..32.min(tag.len())])
                    .map(AccountId::from_bytes)
                    .map_err(|_| StoreError::Corrupt("a state key without its contract".into()))?;
                let (value, epoch) = keys
                    .open(&self.sealing, &contract, &tag, sealed.value())
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                if keys.newest(&contract).is_some_and(|newest| newest > epoch) {
                    stale.push((contract, tag, value));
                }
            }
        }
        let rewritten = stale.len();
        for (contract, tag, value) in stale {
            let sealed = keys
                .seal(&self.sealing, &contract, &tag, &value, rng)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            table
                .insert(tag.as_slice(), sealed.as_slice())
                .map_err(storage_err)?;
        }
        Ok(rewritten)
    }

    /// Hands a consistent copy of every table (one read transaction: the committed store at one
    /// synced height) to `sink`, one [`ImageChunk`] at a time; sync and queries go on meanwhile.
    pub fn stream_image<E: From<StoreError>>(
        &self,
        mut sink: impl FnMut(ImageChunk) -> Result<(), E>,
    ) -> Result<(), E> {
        let txn = self.db.begin_read().map_err(storage_err)?;
        let mut chunker = Chunker {
            chunk: ImageChunk::default(),
            bytes: 0,
            sink: &mut sink,
        };
        for (id, definition) in IMAGE_TABLES {
            let table = txn.open_table(definition).map_err(storage_err)?;
            for entry in table.iter().map_err(storage_err)? {
                let (k, v) = entry.map_err(storage_err)?;
                chunker.push(id, k.value(), v.value())?;
            }
        }
        let meta = txn.open_table(META).map_err(storage_err)?;
        for entry in meta.iter().map_err(storage_err)? {
            let (k, v) = entry.map_err(storage_err)?;
            chunker.push(IMAGE_META, k.value().as_bytes(), v.value())?;
        }
        chunker.flush()
    }

    /// Adds the entries of `chunk` (from [`WorkerStore::stream_image`]), in one transaction.
    pub fn load_chunk(&self, chunk: &ImageChunk) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(storage_err)?;
        {
            let mut tables = Vec::with_capacity(IMAGE_TABLES.len());
            for (id, definition) in IMAGE_TABLES {
                tables.push((id, txn.open_table(definition).map_err(storage_err)?));
            }
            let mut meta = txn.open_table(META).map_err(storage_err)?;
            for (table, key, value) in &chunk.0 {
                match *table {
                    IMAGE_META => {
                        let key = std::str::from_utf8(key).map_err(|_| {
                            StoreError::Corrupt("an image's meta key is not UTF-8".into())
                        })?;
                        meta.insert(key, value.as_slice()).map_err(storage_err)?;
                    }
                    id => {
                        let (_, table) = tables
                            .iter_mut()
                            .find(|(table, _)| *table == id)
                            .ok_or_else(|| {
                                StoreError::Corrupt(format!("an image names table {id}"))
                            })?;
                        table
                            .insert(key.as_slice(), value.as_slice())
                            .map_err(storage_err)?;
                    }
                }
            }
        }
        txn.commit().map_err(storage_err)
    }

    /// Creates an empty store at `path`, which must not exist (a restore fills it chunk by
    /// chunk).
    pub fn create_new(
        path: &Path,
        sealing: SealingKey,
        tag_key: [u8; 32],
    ) -> Result<Self, StoreError> {
        if path.exists() {
            return Err(StoreError::Exists(path.to_path_buf()));
        }
        Self::open(path, sealing, tag_key)
    }

    /// An empty store at `path` (a scratch file) under this store's keys: room to rebuild an
    /// earlier state in (history queries), on disk so that a large store is never held in
    /// memory. The caller removes the file.
    pub fn scratch_at(&self, path: &Path) -> Result<Self, StoreError> {
        let store = Self::create_new(path, self.sealing.clone(), self.tag_key)?;
        *store.state_keys.write().unwrap_or_else(|p| p.into_inner()) = self.state_keys().clone();
        Ok(store)
    }

    /// Checks what a restart relies on: the synced header and the executor snapshot unseal.
    pub fn check(&self) -> Result<Option<BlockHeader>, StoreError> {
        self.executor_snapshot()?;
        self.synced()
    }

    fn tag(&self, contract: &AccountId, key: &[u8]) -> Vec<u8> {
        state_tag(&self.tag_key, contract, key)
    }

    /// A sealed `meta` entry, unsealed.
    fn meta(&self) -> Meta<'_> {
        Meta {
            db: &self.db,
            sealing: &self.sealing,
        }
    }

    fn read_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.meta().read(key)
    }

    /// The header of the last block whose effects are committed.
    pub fn synced(&self) -> Result<Option<BlockHeader>, StoreError> {
        self.meta().synced()
    }

    /// The executor snapshot committed with the last block that changed it.
    pub fn executor_snapshot(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.read_meta(EXECUTOR)
    }

    /// The chain id this store was pinned to at its first start, if it was.
    pub fn pinned_chain(&self) -> Result<Option<Hash>, StoreError> {
        self.meta().pinned_chain()
    }

    /// The chain view as of the synced block (see [`PinnedStore::chain_view`]).
    pub fn chain_view(&self) -> Result<Option<ChainView>, StoreError> {
        self.meta().chain_view()
    }

    /// Pins a new store to `view`'s chain (see [`PinnedStore::pin`]).
    pub fn pin(&self, view: &ChainView, rng: &mut impl CryptoRngCore) -> Result<(), StoreError> {
        self.meta().pin(view, rng)
    }

    pub fn receipt(&self, tx_hash: &Hash) -> Result<Option<Receipt>, StoreError> {
        let txn = self.db.begin_read().map_err(storage_err)?;
        let table = txn.open_table(RECEIPTS).map_err(storage_err)?;
        let Some(sealed) = table.get(tx_hash.0.as_slice()).map_err(storage_err)? else {
            return Ok(None);
        };
        let bytes = self
            .sealing
            .unseal(sealed.value(), &tx_hash.0)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Receipt::decode(&mut &bytes[..])
            .map(Some)
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// The digest of `contract`'s state as of block `height`: the newest digest logged at or
    /// before it. None if the contract had no state then.
    pub fn digest_at(
        &self,
        contract: &AccountId,
        height: u64,
    ) -> Result<Option<StateDigest>, StoreError> {
        let txn = self.db.begin_read().map_err(storage_err)?;
        let table = txn.open_table(DIGESTS).map_err(storage_err)?;
        Self::logged_digest(&self.sealing, &table, contract, height)
    }

    fn logged_digest(
        sealing: &SealingKey,
        table: &impl ReadableTable<&'static [u8], &'static [u8]>,
        contract: &AccountId,
        height: u64,
    ) -> Result<Option<StateDigest>, StoreError> {
        let from = digest_key_bytes(contract, 0);
        let to = digest_key_bytes(contract, height);
        let Some(entry) = table
            .range(from.as_slice()..=to.as_slice())
            .map_err(storage_err)?
            .next_back()
        else {
            return Ok(None);
        };
        let (key, sealed) = entry.map_err(storage_err)?;
        let bytes = sealing
            .unseal(sealed.value(), key.value())
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let digest: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::Corrupt("digest entry is not 32 bytes".into()))?;
        Ok(Some(StateDigest::from_bytes(digest)))
    }

    /// The synced header and a view of the state committed with it, from one read transaction
    /// (what a query reads: a commit meanwhile changes neither); None before the first block.
    pub fn committed(&self) -> Result<Option<(BlockHeader, BlockWrites<'_>)>, StoreError> {
        let txn = self.db.begin_read().map_err(storage_err)?;
        let Some(synced) = self.meta().synced_in(&txn)? else {
            return Ok(None);
        };
        Ok(Some((synced, self.writes_over(&txn)?)))
    }

    /// A view of the committed state that buffers one block's writes.
    pub fn begin_block(&self) -> Result<BlockWrites<'_>, StoreError> {
        self.writes_over(&self.db.begin_read().map_err(storage_err)?)
    }

    /// Writes buffered over the state as of the read transaction `txn`.
    fn writes_over(&self, txn: &redb::ReadTransaction) -> Result<BlockWrites<'_>, StoreError> {
        let table = Arc::new(txn.open_table(STATE).map_err(storage_err)?);
        Ok(BlockWrites {
            store: self,
            table,
            contracts: HashMap::new(),
        })
    }

    /// Commits a block's writes, the contracts' new state digests (keyed with `digest_key` of
    /// each contract written), its effects (receipts, new and accepted outputs), the new synced
    /// header and, when they changed, the executor snapshot and the chain view, in one
    /// transaction. The view's head is the synced header from then on.
    pub fn commit_block(
        &self,
        writes: BlockWrites<'_>,
        digest_key: impl Fn(&AccountId) -> Option<[u8; 32]>,
        effects: &BlockEffects,
        synced: Synced<'_>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), StoreError> {
        let height = synced.header.height;
        self.commit(
            writes,
            digest_key,
            effects,
            height,
            MetaUpdate::Synced(synced),
            rng,
        )
    }

    /// Commits the writes, digests and effects of an earlier block replayed to catch up a
    /// cluster, at that block's `height`, with the catch-up's progress (None once finished) and
    /// the executor snapshot, leaving the synced header alone.
    pub fn commit_caught_up(
        &self,
        writes: BlockWrites<'_>,
        digest_key: impl Fn(&AccountId) -> Option<[u8; 32]>,
        effects: &BlockEffects,
        caught_up: CaughtUp<'_>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), StoreError> {
        let meta = MetaUpdate::CatchUp {
            progress: caught_up.progress,
            executor_snapshot: caught_up.executor_snapshot,
        };
        self.commit(writes, digest_key, effects, caught_up.height, meta, rng)
    }

    /// Records that a catch-up starts (with the executor snapshot holding the new key).
    pub fn begin_catch_up(
        &self,
        progress: CatchUp,
        executor_snapshot: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), StoreError> {
        let writes = self.begin_block()?;
        let meta = MetaUpdate::CatchUp {
            progress: Some(progress),
            executor_snapshot: Some(executor_snapshot),
        };
        let nothing = BlockEffects::default();
        self.commit(writes, |_| None, &nothing, progress.done, meta, rng)
    }

    /// The catch-up in progress, if any.
    pub fn catch_up(&self) -> Result<Option<CatchUp>, StoreError> {
        match self.read_meta(CATCH_UP)? {
            None => Ok(None),
            Some(bytes) => Option::<CatchUp>::decode(&mut &bytes[..])
                .map_err(|e| StoreError::Corrupt(e.to_string())),
        }
    }

    fn commit(
        &self,
        writes: BlockWrites<'_>,
        digest_key: impl Fn(&AccountId) -> Option<[u8; 32]>,
        effects: &BlockEffects,
        height: u64,
        meta: MetaUpdate<'_>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), StoreError> {
        // Old values, for the digests, come from the state the block started from.
        let mut digests = Vec::new();
        for (contract, view) in &writes.contracts {
            let key = digest_key(contract).ok_or_else(|| {
                StoreError::Corrupt(format!("no digest key for contract {contract} it wrote"))
            })?;
            let mut digest = self.digest_at(contract, height)?.unwrap_or_default();
            for (entry, new) in &view.pending {
                let old = view
                    .committed_value(entry)
                    .map_err(|e| StoreError::Corrupt(e.0))?;
                digest.update(&key, entry, old.as_deref(), new.as_deref());
            }
            digests.push((*contract, digest));
        }
        let txn = self.db.begin_write().map_err(storage_err)?;
        let rotated = std::mem::take(&mut *self.rotated.lock().unwrap_or_else(|p| p.into_inner()));
        if !rotated.is_empty() {
            // Before this block's writes, which go under the new keys anyway.
            let rewritten = self.reencrypt_in(&txn, Some(&rotated), rng)?;
            tracing::info!(
                contracts = rotated.len(),
                rewritten,
                "state re-encrypted under a new key epoch"
            );
        }
        {
            let mut table = txn.open_table(DIGESTS).map_err(storage_err)?;
            for (contract, digest) in digests {
                let key = digest_key_bytes(&contract, height);
                let sealed = self.sealing.seal(&digest.as_hash().0, &key, rng);
                table
                    .insert(key.as_slice(), sealed.as_slice())
                    .map_err(storage_err)?;
            }
            let mut state = txn.open_table(STATE).map_err(storage_err)?;
            let keys = self.state_keys();
            for (contract, view) in writes.contracts {
                for (key, value) in view.pending {
                    let tag = self.tag(&contract, &key);
                    match value {
                        Some(value) => {
                            let sealed = keys
                                .seal(&self.sealing, &contract, &tag, &value, rng)
                                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                            state
                                .insert(tag.as_slice(), sealed.as_slice())
                                .map_err(storage_err)?;
                        }
                        None => {
                            state.remove(tag.as_slice()).map_err(storage_err)?;
                        }
                    }
                }
            }
            let mut table = txn.open_table(RECEIPTS).map_err(storage_err)?;
            for receipt in &effects.receipts {
                let sealed = self
                    .sealing
                    .seal(&receipt.encode(), &receipt.tx_hash.0, rng);
                table
                    .insert(receipt.tx_hash.0.as_slice(), sealed.as_slice())
                    .map_err(storage_err)?;
            }
            self.commit_outputs(&txn, effects, rng)?;
            self.commit_notifications(&txn, effects, rng)?;
            let meta_table = self.meta();
            let mut put = |key: &str, value: &[u8]| meta_table.put(&txn, key, value, rng);
            let (key, record, executor_snapshot) = match meta {
                MetaUpdate::Synced(synced) => {
                    if let Some(view) = synced.view {
                        put(VIEW, &view.sealed_facts())?;
                    }
                    (SYNCED, synced.header.encode(), synced.executor_snapshot)
                }
                MetaUpdate::CatchUp {
                    progress,
                    executor_snapshot,
                } => (CATCH_UP, progress.encode(), executor_snapshot),
            };
            put(key, &record)?;
            if let Some(snapshot) = executor_snapshot {
                put(EXECUTOR, snapshot)?;
            }
        }
        txn.commit().map_err(storage_err)
    }
}

impl WorkerStore {
    /// Numbers and keeps a block's new outputs and drops those the chain accepted.
    fn commit_outputs(
        &self,
        txn: &redb::WriteTransaction,
        effects: &BlockEffects,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), StoreError> {
        let mut heads_table = txn.open_table(OUTBOX_HEADS).map_err(storage_err)?;
        let mut outbox = txn.open_table(OUTBOX).map_err(storage_err)?;
        let mut heads: BTreeMap<AccountId, OutboxHead> = BTreeMap::new();
        let contracts = effects
            .outputs
            .iter()
            .map(|(contract, _)| contract)
            .chain(effects.accepted.iter().map(|(contract, _)| contract));
        for contract in contracts {
            if !heads.contains_key(contract) {
                let head = self.read_head(&heads_table, contract)?;
                heads.insert(*contract, head);
            }
        }
        for (contract, output) in &effects.outputs {
            let head = heads.get_mut(contract).expect("read above");
            let key = outbox_key(contract, head.next);
            let sealed = self.sealing.seal(&output.encode(), &key, rng);
            outbox
                .insert(key.as_slice(), sealed.as_slice())
                .map_err(storage_err)?;
            head.next += 1;
        }
        for (contract, accepted) in &effects.accepted {
            let head = heads.get_mut(contract).expect("read above");
            for seq in head.accepted..(*accepted).min(head.next) {
                outbox
                    .remove(outbox_key(contract, seq).as_slice())
                    .map_err(storage_err)?;
            }
            head.accepted = head.accepted.max(*accepted);
        }
        for (contract, head) in heads {
            let key = contract.as_bytes().to_vec();
            let sealed = self.sealing.seal(&head.encode(), &key, rng);
            heads_table
                .insert(key.as_slice(), sealed.as_slice())
                .map_err(storage_err)?;
        }
        Ok(())
    }

    fn read_head(
        &self,
        table: &impl ReadableTable<&'static [u8], &'static [u8]>,
        contract: &AccountId,
    ) -> Result<OutboxHead, StoreError> {
        let key = contract.as_bytes();
        let Some(sealed) = table.get(key.as_slice()).map_err(storage_err)? else {
            return Ok(OutboxHead::default());
        };
        let bytes = self
            .sealing
            .unseal(sealed.value(), key)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        OutboxHead::decode(&mut &bytes[..]).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// Numbers and keeps a block's notifications, each after the last one its recipient has of
    /// that contract.
    fn commit_notifications(
        &self,
        txn: &redb::WriteTransaction,
        effects: &BlockEffects,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), StoreError> {
        if effects.notifications.is_empty() {
            return Ok(());
        }
        let mut table = txn.open_table(NOTIFICATIONS).map_err(storage_err)?;
        let mut next: HashMap<(AccountId, AccountId), u64> = HashMap::new();
        for addressed in &effects.notifications {
            let owner = (addressed.contract, addressed.recipient);
            let prefix = notification_prefix(&addressed.contract, &addressed.recipient);
            let seq = match next.get(&owner) {
                Some(seq) => *seq,
                None => {
                    let last = table
                        .range(
                            notification_key(&prefix, 0).as_slice()
                                ..=notification_key(&prefix, u64::MAX).as_slice(),
                        )
                        .map_err(storage_err)?
                        .next_back()
                        .transpose()
                        .map_err(storage_err)?;
                    match last {
                        Some((key, _)) => notification_seq(key.value())? + 1,
                        None => 0,
                    }
                }
            };
            next.insert(owner, seq + 1);
            let notification = Notification {
                seq,
                block: addressed.block,
                tx_hash: addressed.tx_hash,
                data: addressed.data.clone(),
            };
            let key = notification_key(&prefix, seq);
            let sealed = self.sealing.seal(&notification.encode(), &key, rng);
            table
                .insert(key.as_slice(), sealed.as_slice())
                .map_err(storage_err)?;
        }
        Ok(())
    }

    /// The notifications `contract` addressed to `recipient`, numbered from `since` on: at most
    /// `max_count`, and no more than `max_bytes` of data once there is one.
    pub fn notifications(
        &self,
        contract: &AccountId,
        recipient: &AccountId,
        since: u64,
        max_count: usize,
        max_bytes: usize,
    ) -> Result<Vec<Notification>, StoreError> {
        let txn = self.db.begin_read().map_err(storage_err)?;
        let table = txn.open_table(NOTIFICATIONS).map_err(storage_err)?;
        let prefix = notification_prefix(contract, recipient);
        let (from, to) = (
            notification_key(&prefix, since),
            notification_key(&prefix, u64::MAX),
        );
        let mut found = Vec::new();
        let mut bytes = 0;
        for entry in table
            .range(from.as_slice()..=to.as_slice())
            .map_err(storage_err)?
        {
            let (key, sealed) = entry.map_err(storage_err)?;
            let plain = self
                .sealing
                .unseal(sealed.value(), key.value())
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let notification = Notification::decode(&mut &plain[..])
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            bytes += notification.data.len();
            if found.len() >= max_count || (!found.is_empty() && bytes > max_bytes) {
                break;
            }
            found.push(notification);
        }
        Ok(found)
    }

    /// Per contract, up to `max` outputs the chain has not accepted yet, oldest first.
    pub fn pending_outputs(&self, max: usize) -> Result<Vec<PendingOutputs>, StoreError> {
        let txn = self.db.begin_read().map_err(storage_err)?;
        let heads = txn.open_table(OUTBOX_HEADS).map_err(storage_err)?;
        let outbox = txn.open_table(OUTBOX).map_err(storage_err)?;
        let mut pending = Vec::new();
        for entry in heads.iter().map_err(storage_err)? {
            let (key, _) = entry.map_err(storage_err)?;
            let contract = <[u8; 32]>::try_from(key.value())
                .map(AccountId::from_bytes)
                .map_err(|_| StoreError::Corrupt("outbox head key is not an account".into()))?;
            let head = self.read_head(&heads, &contract)?;
            if head.accepted >= head.next {
                continue;
            }
            let mut outputs = Vec::new();
            for seq in head.accepted..head.next.min(head.accepted + max as u64) {
                let key = outbox_key(&contract, seq);
                let sealed = outbox
                    .get(key.as_slice())
                    .map_err(storage_err)?
                    .ok_or_else(|| StoreError::Corrupt(format!("output {seq} is missing")))?;
                let bytes = self
                    .sealing
                    .unseal(sealed.value(), &key)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                outputs.push(
                    Output::decode(&mut &bytes[..])
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                );
            }
            pending.push(PendingOutputs {
                contract,
                first_seq: head.accepted,
                outputs,
            });
        }
        Ok(pending)
    }
}

fn outbox_key(contract: &AccountId, seq: u64) -> Vec<u8> {
    [contract.as_bytes().as_slice(), &seq.to_be_bytes()].concat()
}

/// What a commit records besides a block's writes, in the same transaction.
enum MetaUpdate<'a> {
    /// A live block: the new synced header (and the executor snapshot and view if they changed).
    Synced(Synced<'a>),
    /// A caught-up earlier block: the catch-up's progress (and the executor snapshot if it
    /// changed).
    CatchUp {
        progress: Option<CatchUp>,
        executor_snapshot: Option<&'a [u8]>,
    },
}

fn digest_key_bytes(contract: &AccountId, height: u64) -> Vec<u8> {
    [contract.as_bytes().as_slice(), &height.to_be_bytes()].concat()
}

/// One block's pending contract writes over the committed state.
pub struct BlockWrites<'s> {
    store: &'s WorkerStore,
    table: Arc<StateTable>,
    contracts: HashMap<AccountId, ContractView<'s>>,
}

impl<'s> BlockWrites<'s> {
    fn view(&mut self, contract: &AccountId) -> &mut ContractView<'s> {
        let store = self.store;
        let table = &self.table;
        self.contracts
            .entry(*contract)
            .or_insert_with(|| ContractView {
                store,
                contract: *contract,
                committed: Arc::clone(table),
                pending: BTreeMap::new(),
            })
    }
}

impl<'s> ContractStates for BlockWrites<'s> {
    fn storage(&mut self, contract: &AccountId) -> &mut dyn ContractStorage {
        self.view(contract)
    }

    fn storages(&mut self, contracts: &[AccountId]) -> Vec<&mut (dyn ContractStorage + Send)> {
        for contract in contracts {
            self.view(contract);
        }
        let mut views: Vec<(&AccountId, &mut ContractView<'s>)> = self
            .contracts
            .iter_mut()
            .filter(|(contract, _)| contracts.binary_search(contract).is_ok())
            .collect();
        views.sort_by_key(|(contract, _)| **contract);
        views
            .into_iter()
            .map(|(_, view)| view as &mut (dyn ContractStorage + Send))
            .collect()
    }
}

/// One contract's storage during a block.
pub struct ContractView<'s> {
    store: &'s WorkerStore,
    contract: AccountId,
    committed: Arc<StateTable>,
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

/// Where a contract's entry is stored: the contract, then a keyed hash of the key, so that the
/// disk shows which contract an entry is of but not which key.
fn state_tag(tag_key: &[u8; 32], contract: &AccountId, key: &[u8]) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(tag_key).expect("HMAC takes any key length");
    mac.update(contract.as_bytes());
    mac.update(key);
    [contract.as_bytes().as_slice(), &mac.finalize().into_bytes()].concat()
}

/// Opens a contract's value committed under `tag`, if there is one.
fn open_committed(
    committed: &StateTable,
    keys: &StateKeys,
    sealing: &SealingKey,
    contract: &AccountId,
    tag: &[u8],
) -> Result<Option<Vec<u8>>, StorageFailure> {
    let Some(sealed) = committed
        .get(tag)
        .map_err(|e| StorageFailure(e.to_string()))?
    else {
        return Ok(None);
    };
    let (value, _) = keys
        .open(sealing, contract, tag, sealed.value())
        .map_err(|e| StorageFailure(e.to_string()))?;
    Ok(Some(value))
}

impl ContractView<'_> {
    /// The value committed before this block.
    fn committed_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageFailure> {
        let tag = self.store.tag(&self.contract, key);
        let keys = self.store.state_keys();
        open_committed(
            &self.committed,
            &keys,
            &self.store.sealing,
            &self.contract,
            &tag,
        )
    }
}

/// A contract's storage as a [`ContractView`] showed it when it was taken, owning what it reads
/// with: the committed table (a read transaction's, shared), the contract's own state keys, and
/// a copy of the block's pending writes.
struct ViewSnapshot {
    committed: Arc<StateTable>,
    contract: AccountId,
    keys: StateKeys,
    sealing: SealingKey,
    tag_key: [u8; 32],
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl StorageSnapshot for ViewSnapshot {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageFailure> {
        if let Some(value) = self.pending.get(key) {
            return Ok(value.clone());
        }
        let tag = state_tag(&self.tag_key, &self.contract, key);
        open_committed(
            &self.committed,
            &self.keys,
            &self.sealing,
            &self.contract,
            &tag,
        )
    }
}

impl ContractStorage for ContractView<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageFailure> {
        match self.pending.get(key) {
            Some(value) => Ok(value.clone()),
            None => self.committed_value(key),
        }
    }

    fn snapshot(&self) -> Box<dyn StorageSnapshot> {
        Box::new(ViewSnapshot {
            committed: Arc::clone(&self.committed),
            contract: self.contract,
            keys: self.store.state_keys().of(&self.contract),
            sealing: self.store.sealing.clone(),
            tag_key: self.store.tag_key,
            pending: self.pending.clone(),
        })
    }

    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<(), StorageFailure> {
        self.pending.insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    fn remove(&mut self, key: &[u8]) -> Result<(), StorageFailure> {
        self.pending.insert(key.to_vec(), None);
        Ok(())
    }
}

fn notification_prefix(contract: &AccountId, recipient: &AccountId) -> [u8; 64] {
    let mut prefix = [0u8; 64];
    prefix[..32].copy_from_slice(contract.as_bytes());
    prefix[32..].copy_from_slice(recipient.as_bytes());
    prefix
}

fn notification_key(prefix: &[u8; 64], seq: u64) -> Vec<u8> {
    [prefix.as_slice(), &seq.to_be_bytes()].concat()
}

fn notification_seq(key: &[u8]) -> Result<u64, StoreError> {
    key.get(64..72)
        .and_then(|bytes| bytes.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| StoreError::Corrupt("a notification key is not 72 bytes".into()))
}

impl PinnedStore for WorkerStore {
    fn pinned_chain(&self) -> Result<Option<Hash>, StoreError> {
        WorkerStore::pinned_chain(self)
    }

    fn chain_view(&self) -> Result<Option<ChainView>, StoreError> {
        WorkerStore::chain_view(self)
    }

    fn pin(
        &self,
        view: &ChainView,
        mut rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<(), StoreError> {
        WorkerStore::pin(self, view, &mut rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phalanx_executor::{Addressed, ReceiptOutcome};
    use rand_core::OsRng;

    fn synced<'a>(header: &'a BlockHeader, snapshot: Option<&'a [u8]>) -> Synced<'a> {
        Synced {
            header,
            executor_snapshot: snapshot,
            view: None,
        }
    }

    fn header(height: u64) -> BlockHeader {
        BlockHeader {
            height,
            parent_hash: Hash::ZERO,
            state_root: Hash::ZERO,
            transactions_root: Hash::ZERO,
            events_root: Hash::ZERO,
            timestamp_ms: height,
            proposer: AccountId::from_bytes([0; 32]),
        }
    }

    #[test]
    fn notifications_are_numbered_per_contract_and_recipient_and_travel_in_images() {
        let dir = tempfile::tempdir().unwrap();
        let key = SealingKey::from_bytes([3; 32]);
        let store =
            WorkerStore::open(&dir.path().join("worker.redb"), key.clone(), [4; 32]).unwrap();
        let (contract, other_contract) = (
            AccountId::from_bytes([1; 32]),
            AccountId::from_bytes([2; 32]),
        );
        let (alice, bob) = (
            AccountId::from_bytes([10; 32]),
            AccountId::from_bytes([11; 32]),
        );
        let addressed = |contract, recipient, block, data: &[u8]| Addressed {
            contract,
            recipient,
            block,
            tx_hash: Hash([block as u8; 32]),
            data: data.to_vec(),
        };
        for (height, notifications) in [
            (
                1,
                vec![
                    addressed(contract, alice, 1, b"a0"),
                    addressed(contract, bob, 1, b"b0"),
                ],
            ),
            (
                2,
                vec![
                    addressed(contract, alice, 2, b"a1"),
                    addressed(contract, alice, 2, b"a2-SECRET-MARKER"),
                    addressed(other_contract, alice, 2, b"x0"),
                ],
            ),
        ] {
            let effects = BlockEffects {
                notifications,
                ..Default::default()
            };
            let header = header(height);
            store
                .commit_block(
                    store.begin_block().unwrap(),
                    |_| None,
                    &effects,
                    synced(&header, None),
                    &mut OsRng,
                )
                .unwrap();
        }
        let read = |store: &WorkerStore, contract, who, since, count, bytes| {
            store
                .notifications(&contract, &who, since, count, bytes)
                .unwrap()
                .into_iter()
                .map(|n| (n.seq, n.data))
                .collect::<Vec<_>>()
        };
        let all = vec![
            (0, b"a0".to_vec()),
            (1, b"a1".to_vec()),
            (2, b"a2-SECRET-MARKER".to_vec()),
        ];
        assert_eq!(read(&store, contract, alice, 0, 10, 1 << 20), all);
        assert_eq!(read(&store, contract, alice, 2, 10, 1 << 20), all[2..]);
        assert_eq!(read(&store, contract, alice, 0, 2, 1 << 20), all[..2]);
        // A byte bound below one notification still answers one, so paging always advances.
        assert_eq!(read(&store, contract, alice, 1, 10, 1), all[1..2]);
        assert_eq!(
            read(&store, contract, bob, 0, 10, 1 << 20),
            vec![(0, b"b0".to_vec())]
        );
        assert_eq!(
            read(&store, other_contract, alice, 0, 10, 1 << 20),
            vec![(0, b"x0".to_vec())]
        );
        assert!(read(&store, other_contract, bob, 0, 10, 1 << 20).is_empty());
        // Sealed on disk, and carried by a store image (what checkpoints hold).
        let copy = WorkerStore::create_new(&dir.path().join("copy.redb"), key, [4; 32]).unwrap();
        store.stream_image(|chunk| copy.load_chunk(&chunk)).unwrap();
        assert_eq!(read(&copy, contract, alice, 0, 10, 1 << 20), all);
        drop(store);
        let raw = std::fs::read(dir.path().join("worker.redb")).unwrap();
        assert!(
            !raw.windows(2).any(|w| w == b"a2"),
            "a notification in clear on disk"
        );
    }

    #[test]
    fn block_writes_commit_together_and_reopen_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("worker.redb");
        let contract = AccountId::from_bytes([1; 32]);
        let receipt = Receipt {
            tx_hash: Hash([2; 32]),
            contract,
            sender: contract,
            block: 1,
            outcome: ReceiptOutcome::Ok(b"ok".to_vec()),
            gas_used: 5,
            events: vec![],
            debug: vec!["checked".into()],
        };
        {
            let store = WorkerStore::open(&path, SealingKey::from_bytes([7; 32]), [8; 32]).unwrap();
            store.install_state_keys([(contract, 0, [5; 32])]);
            let mut writes = store.begin_block().unwrap();
            writes
                .storage(&contract)
                .set(b"balance/alice", b"MARKER-SECRET-VALUE")
                .unwrap();
            assert_eq!(
                writes.storage(&contract).get(b"balance/alice").unwrap(),
                Some(b"MARKER-SECRET-VALUE".to_vec())
            );
            // Nothing is visible before the commit.
            assert_eq!(
                store
                    .begin_block()
                    .unwrap()
                    .storage(&contract)
                    .get(b"balance/alice")
                    .unwrap(),
                None
            );
            store
                .commit_block(
                    writes,
                    |_| Some([3; 32]),
                    &BlockEffects {
                        receipts: vec![receipt.clone()],
                        ..Default::default()
                    },
                    synced(&header(1), Some(b"snapshot")),
                    &mut OsRng,
                )
                .unwrap();
        }
        // Neither the value nor the key's name is in the file.
        let file = std::fs::read(&path).unwrap();
        for marker in [&b"MARKER-SECRET-VALUE"[..], b"balance/alice"] {
            assert!(!file.windows(marker.len()).any(|w| w == marker));
        }
        let store = WorkerStore::open(&path, SealingKey::from_bytes([7; 32]), [8; 32]).unwrap();
        store.install_state_keys([(contract, 0, [5; 32])]);
        assert_eq!(store.synced().unwrap(), Some(header(1)));
        assert_eq!(
            store.executor_snapshot().unwrap(),
            Some(b"snapshot".to_vec())
        );
        assert_eq!(store.receipt(&Hash([2; 32])).unwrap(), Some(receipt));
        assert_eq!(
            store
                .begin_block()
                .unwrap()
                .storage(&contract)
                .get(b"balance/alice")
                .unwrap(),
            Some(b"MARKER-SECRET-VALUE".to_vec())
        );
        let read = |store: &WorkerStore| {
            store
                .begin_block()
                .unwrap()
                .storage(&contract)
                .get(b"balance/alice")
        };
        // A rotation: the entry moves to the epoch-1 state key, and needs no other.
        assert_eq!(
            store.install_state_keys([(contract, 1, [6; 32])]),
            vec![contract]
        );
        assert_eq!(store.reencrypt(None, &mut OsRng).unwrap(), 1);
        assert_eq!(store.reencrypt(None, &mut OsRng).unwrap(), 0);
        drop(store);
        let store = WorkerStore::open(&path, SealingKey::from_bytes([7; 32]), [8; 32]).unwrap();
        store.install_state_keys([(contract, 0, [5; 32])]);
        assert!(
            read(&store).is_err(),
            "the old epoch's key alone opens nothing"
        );
        store.install_state_keys([(contract, 1, [6; 32])]);
        assert_eq!(read(&store).unwrap(), Some(b"MARKER-SECRET-VALUE".to_vec()));
        drop(store);
        // Another enclave's key opens nothing, even with the contract's state keys.
        let stranger = WorkerStore::open(&path, SealingKey::from_bytes([9; 32]), [8; 32]).unwrap();
        stranger.install_state_keys([(contract, 0, [5; 32]), (contract, 1, [6; 32])]);
        assert!(matches!(stranger.synced(), Err(StoreError::Corrupt(_))));
        assert!(stranger
            .begin_block()
            .unwrap()
            .storage(&contract)
            .get(b"balance/alice")
            .is_err());
    }

    #[test]
    fn outputs_are_numbered_kept_until_accepted_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("worker.redb");
        let open = || WorkerStore::open(&path, SealingKey::from_bytes([7; 32]), [8; 32]).unwrap();
        let (a, b) = (
            AccountId::from_bytes([1; 32]),
            AccountId::from_bytes([2; 32]),
        );
        let pay = |n: u8| Output::Transfer {
            to: AccountId::from_bytes([n; 32]),
            amount: n as u128,
        };
        let commit = |store: &WorkerStore, height: u64, effects: BlockEffects| {
            let writes = store.begin_block().unwrap();
            store
                .commit_block(
                    writes,
                    |_| None,
                    &effects,
                    synced(&header(height), None),
                    &mut OsRng,
                )
                .unwrap();
        };
        {
            let store = open();
            let outputs = vec![(a, pay(10)), (b, pay(20)), (a, pay(11)), (a, pay(12))];
            let effects = BlockEffects {
                outputs,
                ..Default::default()
            };
            commit(&store, 1, effects);
            let pending = store.pending_outputs(2).unwrap();
            assert_eq!(pending.len(), 2);
            let of_a = pending.iter().find(|p| p.contract == a).unwrap();
            assert_eq!(
                (of_a.first_seq, of_a.outputs.clone()),
                (0, vec![pay(10), pay(11)])
            );
        }
        let store = open();
        // The chain took a's first two and all of b's; a new output of a is numbered 3.
        let effects = BlockEffects {
            outputs: vec![(a, pay(13))],
            accepted: vec![(a, 2), (b, 1)],
            ..Default::default()
        };
        commit(&store, 2, effects);
        let pending = store.pending_outputs(64).unwrap();
        assert_eq!(
            pending,
            vec![PendingOutputs {
                contract: a,
                first_seq: 2,
                outputs: vec![pay(12), pay(13)],
            }]
        );
        // An image carries the outbox to a rebuilt store.
        let copy = dir.path().join("copy.redb");
        let rebuilt =
            WorkerStore::create_new(&copy, SealingKey::from_bytes([7; 32]), [8; 32]).unwrap();
        store
            .stream_image(|chunk| rebuilt.load_chunk(&chunk))
            .unwrap();
        assert_eq!(rebuilt.pending_outputs(64).unwrap(), pending);
    }
}
