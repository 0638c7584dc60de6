//! The ledger state as the runtime sees it: a sorted key-value map read through [`StateReader`],
//! changed only through a [`StateOverlay`] whose result is a [`WriteSet`].
//!
//! Keys are namespaced by module (`balances/…`, later `registry/…`, `contracts/…`), so new modules
//! need no new storage tables.

use crate::StateError;
use phalanx_primitives::{sha256_parts, Hash};
use std::collections::BTreeMap;

/// Decodes a stored entry; a value that does not decode is corrupt state, never the caller's input.
pub(crate) fn decode_entry<T: parity_scale_codec::Decode>(
    bytes: Option<Vec<u8>>,
    what: &str,
) -> Result<Option<T>, StateError> {
    bytes
        .map(|b| T::decode(&mut &b[..]).map_err(|e| StateError(format!("corrupt {what}: {e}"))))
        .transpose()
}

/// Read access to the state as of the end of the parent block.
///
/// Implementations must be snapshots: what `get` returns may not change while the reader is in
/// use, or two nodes could apply the same block to different states.
pub trait StateReader {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;
}

impl<T: StateReader + ?Sized> StateReader for &T {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        (**self).get(key)
    }
}

/// The changes of one block, sorted by key; `None` removes the key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteSet(pub BTreeMap<Vec<u8>, Option<Vec<u8>>>);

impl WriteSet {
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &Option<Vec<u8>>)> {
        self.0.iter()
    }
}

/// The state after blocks that are not committed yet: their write sets (newest first) over the
/// committed state. Consensus builds and checks a block on a notarized parent with this, before
/// the parent is final.
pub struct LayeredState<R> {
    base: R,
    layers: Vec<std::sync::Arc<WriteSet>>,
}

impl<R: StateReader> LayeredState<R> {
    /// `layers[0]` is the newest block's writes, the last one the oldest's.
    pub fn new(base: R, layers: Vec<std::sync::Arc<WriteSet>>) -> Self {
        LayeredState { base, layers }
    }
}

impl<R: StateReader> StateReader for LayeredState<R> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        for layer in &self.layers {
            if let Some(value) = layer.0.get(key) {
                return Ok(value.clone());
            }
        }
        self.base.get(key)
    }
}

/// Domain of the state root.
const STATE_ROOT_DOMAIN: &[u8] = b"PHALANX_STATE_ROOT_V1";

/// The state root after applying `writes` on top of the state whose root is `parent`.
///
/// It is a hash chain over write sets: `H(domain | parent | for each write in key order:
/// len(key) | key | tag | len(value) | value)`. Equal roots mean equal histories of writes and
/// so, since the state is a function of its writes, equal states; it is cheap (proportional to
/// the block's writes, not to the state's size). It does not give per-key inclusion proofs; a
/// Merkle commitment can replace it under a new domain when light clients need them
/// (see docs/protocol.md).
pub fn state_root(parent: &Hash, writes: &WriteSet) -> Hash {
    let mut buffer = Vec::with_capacity(64 + writes.len() * 96);
    for (key, value) in writes.iter() {
        buffer.extend_from_slice(&(key.len() as u32).to_le_bytes());
        buffer.extend_from_slice(key);
        match value {
            Some(value) => {
                buffer.push(1);
                buffer.extend_from_slice(&(value.len() as u32).to_le_bytes());
                buffer.extend_from_slice(value);
            }
            None => buffer.push(0),
        }
    }
    sha256_parts(&[STATE_ROOT_DOMAIN, &parent.0, &buffer])
}

/// A whole state held in memory: for tests, replay checks and genesis.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryState(pub BTreeMap<Vec<u8>, Vec<u8>>);

impl MemoryState {
    pub fn apply(&mut self, writes: &WriteSet) {
        for (key, value) in writes.iter() {
            match value {
                Some(value) => self.0.insert(key.clone(), value.clone()),
                None => self.0.remove(key),
            };
        }
    }
}

impl StateReader for MemoryState {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.0.get(key).cloned())
    }
}

/// A block's state as its transactions have changed it so far: module read helpers written
/// against [`StateReader`] serve committed state (RPC) and the block being built alike.
impl<R: StateReader> StateReader for StateOverlay<R> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        StateOverlay::get(self, key)
    }
}

/// Pending changes over a [`StateReader`], in two layers: the current transaction's, which can be
/// dropped when it fails, and the block's, which the committed transactions built up.
pub struct StateOverlay<R> {
    base: R,
    block: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    transaction: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<R: StateReader> StateOverlay<R> {
    pub fn new(base: R) -> Self {
        StateOverlay {
            base,
            block: BTreeMap::new(),
            transaction: BTreeMap::new(),
        }
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        if let Some(value) = self.transaction.get(key).or_else(|| self.block.get(key)) {
            return Ok(value.clone());
        }
        self.base.get(key)
    }

    pub fn set(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.transaction.insert(key, Some(value));
    }

    pub fn remove(&mut self, key: Vec<u8>) {
        self.transaction.insert(key, None);
    }

    /// Keeps the current transaction's changes.
    pub fn commit_transaction(&mut self) {
        let changes = std::mem::take(&mut self.transaction);
        self.block.extend(changes);
    }

    /// Drops the current transaction's changes.
    pub fn revert_transaction(&mut self) {
        self.transaction.clear();
    }

    /// The keys the block's committed transactions changed so far, in order.
    pub fn changed_keys(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.block.keys()
    }

    /// The block's committed changes; uncommitted transaction changes are dropped.
    pub fn into_write_set(self) -> WriteSet {
        WriteSet(self.block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_layers_and_revert() {
        let mut base = MemoryState::default();
        base.0.insert(b"a".to_vec(), b"1".to_vec());
        let mut overlay = StateOverlay::new(&base);
        overlay.set(b"a".to_vec(), b"2".to_vec());
        assert_eq!(overlay.get(b"a").unwrap(), Some(b"2".to_vec()));
        overlay.revert_transaction();
        assert_eq!(overlay.get(b"a").unwrap(), Some(b"1".to_vec()));
        overlay.remove(b"a".to_vec());
        overlay.commit_transaction();
        assert_eq!(overlay.get(b"a").unwrap(), None);
        let writes = overlay.into_write_set();
        assert_eq!(writes.0.get(b"a".as_slice()), Some(&None));
    }

    #[test]
    fn state_root_separates_keys_values_and_removals() {
        let mut one = WriteSet::default();
        one.0.insert(b"ab".to_vec(), Some(b"c".to_vec()));
        let mut two = WriteSet::default();
        two.0.insert(b"a".to_vec(), Some(b"bc".to_vec()));
        let mut three = WriteSet::default();
        three.0.insert(b"ab".to_vec(), None);
        let roots = [one, two, three].map(|w| state_root(&Hash::ZERO, &w));
        assert_ne!(roots[0], roots[1]);
        assert_ne!(roots[0], roots[2]);
        assert_ne!(roots[1], roots[2]);
    }
}
