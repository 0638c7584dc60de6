//! The `meta` table every enclave store has: which chain it is pinned to, its chain view and the
//! header of the last block it committed, each sealed under the enclave's key with its name as
//! the AAD. A worker's store keeps more beside it (committed in the same transaction); a
//! gatekeeper's [`HeaderStore`] keeps only this.

use super::{storage_err, StoreError};
use parity_scale_codec::{Decode, Encode};
use phalanx_crypto::sealing::SealingKey;
use phalanx_executor::ChainView;
use phalanx_primitives::{BlockHeader, Hash};
use rand_core::CryptoRngCore;
use redb::{Database, TableDefinition};
use std::path::Path;

pub(super) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// The header of the last block whose effects are committed.
pub(super) const SYNCED: &str = "synced";
/// The chain id the store is pinned to (written once, at the first start).
const CHAIN: &str = "chain";
/// The sealed [`ChainView`] facts as of the synced block.
pub(super) const VIEW: &str = "view";

/// Reads and writes of the sealed `meta` table of one database.
pub(super) struct Meta<'a> {
    pub(super) db: &'a Database,
    pub(super) sealing: &'a SealingKey,
}

impl Meta<'_> {
    pub(super) fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read().map_err(storage_err)?;
        self.read_in(&txn, key)
    }

    /// `key` as of the read transaction `txn`.
    pub(super) fn read_in(
        &self,
        txn: &redb::ReadTransaction,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let meta = txn.open_table(META).map_err(storage_err)?;
        let Some(sealed) = meta.get(key).map_err(storage_err)? else {
            return Ok(None);
        };
        let bytes = self
            .sealing
            .unseal(sealed.value(), key.as_bytes())
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Some(bytes.to_vec()))
    }

    /// Seals `value` under `key` in a write transaction's `meta` table.
    pub(super) fn put(
        &self,
        txn: &redb::WriteTransaction,
        key: &str,
        value: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), StoreError> {
        let mut table = txn.open_table(META).map_err(storage_err)?;
        let sealed = self.sealing.seal(value, key.as_bytes(), rng);
        table
            .insert(key, sealed.as_slice())
            .map(drop)
            .map_err(storage_err)
    }

    pub(super) fn synced(&self) -> Result<Option<BlockHeader>, StoreError> {
        decode_header(self.read(SYNCED)?)
    }

    /// The synced header as of the read transaction `txn`.
    pub(super) fn synced_in(
        &self,
        txn: &redb::ReadTransaction,
    ) -> Result<Option<BlockHeader>, StoreError> {
        decode_header(self.read_in(txn, SYNCED)?)
    }

    pub(super) fn pinned_chain(&self) -> Result<Option<Hash>, StoreError> {
        self.read(CHAIN)?
            .map(|bytes| {
                Hash::decode(&mut &bytes[..]).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .transpose()
    }

    pub(super) fn chain_view(&self) -> Result<Option<ChainView>, StoreError> {
        let synced = self.synced()?;
        let Some(bytes) = self.read(VIEW)? else {
            if synced.is_some() {
                return Err(StoreError::Unpinned);
            }
            return Ok(None);
        };
        ChainView::resume(&bytes, synced)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("chain view: {e}")))
    }

    pub(super) fn pin(
        &self,
        view: &ChainView,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), StoreError> {
        if let Some(stored) = self.pinned_chain()? {
            if stored != view.chain_id() {
                return Err(StoreError::OtherChain {
                    stored,
                    expected: view.chain_id(),
                });
            }
            return Ok(());
        }
        let txn = self.db.begin_write().map_err(storage_err)?;
        self.put(&txn, CHAIN, &view.chain_id().encode(), rng)?;
        self.put(&txn, VIEW, &view.sealed_facts(), rng)?;
        txn.commit().map_err(storage_err)
    }
}

fn decode_header(bytes: Option<Vec<u8>>) -> Result<Option<BlockHeader>, StoreError> {
    bytes
        .map(|bytes| {
            BlockHeader::decode(&mut &bytes[..]).map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .transpose()
}

/// What an enclave's trust root is read from and written to at start (see
/// [`crate::trust::pinned_view`]): the pinned chain and the view as of the synced block.
pub trait PinnedStore {
    /// The chain id the store was pinned to at its first start, if it was.
    fn pinned_chain(&self) -> Result<Option<Hash>, StoreError>;
    /// The chain view as of the synced block: its sealed facts, at the synced header (both are
    /// written in one transaction).
    fn chain_view(&self) -> Result<Option<ChainView>, StoreError>;
    /// Pins a new store to `view`'s chain, with `view` (at genesis) as its first view. A store
    /// pinned before keeps its pin: pinning it to another chain is refused.
    fn pin(
        &self,
        view: &ChainView,
        rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<(), StoreError>;
}

/// A store of the pin, the chain view and the synced header, and nothing else: what a
/// gatekeeper keeps (it runs no contracts).
pub struct HeaderStore {
    db: Database,
    sealing: SealingKey,
}

impl HeaderStore {
    /// Opens (or creates) the store; `sealing` must be the key it was created with.
    pub fn open(path: &Path, sealing: SealingKey) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(storage_err)?;
        let txn = db.begin_write().map_err(storage_err)?;
        txn.open_table(META).map_err(storage_err)?;
        txn.commit().map_err(storage_err)?;
        Ok(HeaderStore { db, sealing })
    }

    fn meta(&self) -> Meta<'_> {
        Meta {
            db: &self.db,
            sealing: &self.sealing,
        }
    }

    /// The header of the last block committed.
    pub fn synced(&self) -> Result<Option<BlockHeader>, StoreError> {
        self.meta().synced()
    }

    /// Records `header` as synced and, if the block changed more than its head, the view after
    /// it, in one transaction.
    pub fn commit(
        &self,
        header: &BlockHeader,
        view: Option<&ChainView>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), StoreError> {
        let meta = self.meta();
        let txn = self.db.begin_write().map_err(storage_err)?;
        if let Some(view) = view {
            meta.put(&txn, VIEW, &view.sealed_facts(), rng)?;
        }
        meta.put(&txn, SYNCED, &header.encode(), rng)?;
        txn.commit().map_err(storage_err)
    }
}

impl PinnedStore for HeaderStore {
    fn pinned_chain(&self) -> Result<Option<Hash>, StoreError> {
        self.meta().pinned_chain()
    }

    fn chain_view(&self) -> Result<Option<ChainView>, StoreError> {
        self.meta().chain_view()
    }

    fn pin(
        &self,
        view: &ChainView,
        mut rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<(), StoreError> {
        self.meta().pin(view, &mut rng)
    }
}
