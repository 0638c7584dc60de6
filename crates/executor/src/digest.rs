//! Keyed digests of contract state, for workers of one cluster to compare without revealing it.
//!
//! A digest is the sum, modulo 2^256, of `HMAC-SHA256(digest key, len(key) | key | value)` over
//! the contract's entries. A sum does not depend on the order entries were written in, and it is
//! updated per write (subtract the old entry, add the new) so a block costs O(its writes), never
//! O(state). Equal states give equal digests; without the contract's digest key (derived from its
//! cluster key, so only the cluster's workers hold it) a digest cannot be checked against a guess
//! of the state. The empty state's digest is zero.

use hmac::{Hmac, Mac};
use phalanx_primitives::Hash;
use sha2::Sha256;

/// A contract state digest under construction or as stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateDigest([u8; 32]);

fn entry_mac(digest_key: &[u8; 32], key: &[u8], value: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(digest_key).expect("HMAC takes any key length");
    mac.update(&(key.len() as u64).to_le_bytes());
    mac.update(key);
    mac.update(value);
    mac.finalize().into_bytes().into()
}

impl StateDigest {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        StateDigest(bytes)
    }

    pub fn as_hash(&self) -> Hash {
        Hash(self.0)
    }

    /// Counts the entry `key = value` in.
    pub fn add(&mut self, digest_key: &[u8; 32], key: &[u8], value: &[u8]) {
        let term = entry_mac(digest_key, key, value);
        let mut carry = 0u16;
        for (limb, t) in self.0.iter_mut().zip(term) {
            let sum = *limb as u16 + t as u16 + carry;
            *limb = sum as u8;
            carry = sum >> 8;
        }
    }

    /// Counts the entry `key = value` out (it must have been counted in).
    pub fn remove(&mut self, digest_key: &[u8; 32], key: &[u8], value: &[u8]) {
        let term = entry_mac(digest_key, key, value);
        let mut borrow = 0i16;
        for (limb, t) in self.0.iter_mut().zip(term) {
            let diff = *limb as i16 - t as i16 - borrow;
            *limb = diff.rem_euclid(256) as u8;
            borrow = i16::from(diff < 0);
        }
    }

    /// Applies one write: `old` is the entry's value before it (None if absent), `new` after it
    /// (None if removed).
    pub fn update(
        &mut self,
        digest_key: &[u8; 32],
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) {
        if let Some(old) = old {
            self.remove(digest_key, key, old);
        }
        if let Some(new) = new {
            self.add(digest_key, key, new);
        }
    }

    /// The digest of a whole state, computed from scratch.
    pub fn of<'a>(
        digest_key: &[u8; 32],
        entries: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    ) -> Self {
        let mut digest = StateDigest::default();
        for (key, value) in entries {
            digest.add(digest_key, key, value);
        }
        digest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const KEY: [u8; 32] = [7; 32];

    fn writes() -> impl Strategy<Value = Vec<(u8, Option<Vec<u8>>)>> {
        proptest::collection::vec(
            (
                0u8..8,
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..4)),
            ),
            0..40,
        )
    }

    proptest! {
        /// Updating per write always equals computing from the final state.
        #[test]
        fn incremental_equals_from_scratch(writes in writes()) {
            let mut state: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            let mut digest = StateDigest::default();
            for (key, new) in writes {
                let key = vec![key];
                let old = state.get(&key).cloned();
                digest.update(&KEY, &key, old.as_deref(), new.as_deref());
                match new {
                    Some(v) => { state.insert(key, v); }
                    None => { state.remove(&key); }
                }
            }
            let scratch = StateDigest::of(&KEY, state.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
            prop_assert_eq!(digest, scratch);
        }
    }

    #[test]
    fn digests_tell_states_and_keys_apart() {
        let a = StateDigest::of(&KEY, [(&b"k"[..], &b"1"[..])]);
        assert_ne!(a, StateDigest::of(&KEY, [(&b"k"[..], &b"2"[..])]));
        assert_ne!(a, StateDigest::of(&[8; 32], [(&b"k"[..], &b"1"[..])]));
        // The length prefix keeps `k|v` splits apart.
        assert_ne!(
            StateDigest::of(&KEY, [(&b"ab"[..], &b"c"[..])]),
            StateDigest::of(&KEY, [(&b"a"[..], &b"bc"[..])])
        );
        let mut back = a;
        back.remove(&KEY, b"k", b"1");
        assert_eq!(back, StateDigest::default());
    }
}
