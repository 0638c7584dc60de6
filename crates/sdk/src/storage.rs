//! Typed storage: a value under a fixed key ([`Item`]) or many under a prefix ([`Map`]). Values
//! are SCALE-encoded; a stored value that does not decode is a bug in the contract, so reading it
//! panics (the call traps and changes nothing).

use crate::codec::{Decode, Encode};
use crate::sys;
use alloc::vec::Vec;
use core::marker::PhantomData;

fn decode<T: Decode>(bytes: Vec<u8>) -> T {
    match T::decode(&mut &bytes[..]) {
        Ok(value) => value,
        Err(_) => sys::panic("stored value does not decode as its declared type"),
    }
}

/// One value under a fixed key.
pub struct Item<T> {
    key: &'static [u8],
    _value: PhantomData<fn() -> T>,
}

impl<T: Encode + Decode> Item<T> {
    pub const fn new(key: &'static [u8]) -> Self {
        Item {
            key,
            _value: PhantomData,
        }
    }

    pub fn get(&self) -> Option<T> {
        sys::storage_get(self.key).map(decode)
    }

    pub fn set(&self, value: &T) {
        sys::storage_set(self.key, &value.encode())
    }

    pub fn remove(&self) {
        sys::storage_remove(self.key)
    }
}

/// Values keyed by `K`, stored under `prefix ++ SCALE(key)`.
pub struct Map<K, V> {
    prefix: &'static [u8],
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K: Encode, V: Encode + Decode> Map<K, V> {
    /// Prefixes of two maps in one contract must not be prefixes of each other.
    pub const fn new(prefix: &'static [u8]) -> Self {
        Map {
            prefix,
            _types: PhantomData,
        }
    }

    fn key(&self, key: &K) -> Vec<u8> {
        let mut full = self.prefix.to_vec();
        key.encode_to(&mut full);
        full
    }

    pub fn get(&self, key: &K) -> Option<V> {
        sys::storage_get(&self.key(key)).map(decode)
    }

    pub fn set(&self, key: &K, value: &V) {
        sys::storage_set(&self.key(key), &value.encode())
    }

    pub fn remove(&self, key: &K) {
        sys::storage_remove(&self.key(key))
    }
}
