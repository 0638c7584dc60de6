//! SHA-256 hashes and the binary Merkle root used for transaction and event roots.

use parity_scale_codec::{Decode, Encode, MaxEncodedLen};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// A SHA-256 digest. Printed as `0x` followed by 64 lowercase hex digits.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Encode, Decode, MaxEncodedLen,
)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    pub const ZERO: Hash = Hash([0; 32]);

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a text could not be read as a [`Hash`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a 32-byte hash as 0x followed by 64 hex digits")]
pub struct HashParseError;

impl FromStr for Hash {
    type Err = HashParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix("0x").unwrap_or(s);
        let bytes = hex::decode(digits).map_err(|_| HashParseError)?;
        let array: [u8; 32] = bytes.try_into().map_err(|_| HashParseError)?;
        Ok(Hash(array))
    }
}

impl serde::Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// SHA-256 of one byte string.
pub fn sha256(bytes: &[u8]) -> Hash {
    Hash(Sha256::digest(bytes).into())
}

/// SHA-256 of the concatenation of several byte strings, without building it.
pub fn sha256_parts(parts: &[&[u8]]) -> Hash {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    Hash(hasher.finalize().into())
}

/// Binary Merkle root over `leaves`.
///
/// Leaves and inner nodes are hashed under distinct one-byte prefixes (0 and 1) so that an inner
/// node can never be passed off as a leaf. An odd node at the end of a level is carried up as is.
/// The root of no leaves is [`Hash::ZERO`].
pub fn merkle_root<I, T>(leaves: I) -> Hash
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    let mut level: Vec<Hash> = leaves
        .into_iter()
        .map(|leaf| sha256_parts(&[&[0u8], leaf.as_ref()]))
        .collect();
    if level.is_empty() {
        return Hash::ZERO;
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => sha256_parts(&[&[1u8], &left.0, &right.0]),
                [single] => *single,
                _ => unreachable!("chunks(2) yields one or two items"),
            })
            .collect();
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_text_round_trips() {
        let h = sha256(b"phalanx");
        assert_eq!(h.to_string().parse::<Hash>().unwrap(), h);
        assert!("0x1234".parse::<Hash>().is_err());
    }

    #[test]
    fn merkle_root_depends_on_order_and_count() {
        let a = merkle_root([b"a", b"b", b"c"]);
        let b = merkle_root([b"b", b"a", b"c"]);
        let c = merkle_root([b"a", b"b"]);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(merkle_root(Vec::<Vec<u8>>::new()), Hash::ZERO);
        // A single leaf is not its own root: leaves are domain-separated.
        assert_ne!(merkle_root([b"a"]), sha256(b"a"));
    }
}
