//! Account identifiers and their checksummed text form.
//!
//! An account id is an ed25519 public key (32 bytes). Its text form is bech32m with the human
//! readable part [`ADDRESS_HRP`], e.g. `phx1…`: the checksum catches every single-character typo
//! and most others, so a mistyped address is refused instead of sending PHA into the void.
//!
//! Module accounts (the mining-reward pool, the community fund, the treasury) have ids derived from
//! their name by hashing; no private key exists for them, so only runtime rules can move their PHA.

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32m, Hrp};
use parity_scale_codec::{Decode, Encode, MaxEncodedLen};
use std::fmt;
use std::str::FromStr;

/// Human readable prefix of every Phalanx address.
pub const ADDRESS_HRP: &str = "phx";

/// Domain under which module-account ids are derived from their names.
const MODULE_ACCOUNT_DOMAIN: &[u8] = b"PHALANX_MODULE_ACCOUNT_V1";

/// An account: the 32 bytes of its ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, MaxEncodedLen)]
pub struct AccountId([u8; 32]);

impl AccountId {
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        AccountId(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The keyless account of a runtime module, e.g. `module("treasury")`.
    pub fn module(name: &str) -> Self {
        AccountId(crate::sha256_parts(&[MODULE_ACCOUNT_DOMAIN, name.as_bytes()]).0)
    }
}

/// Why a text is not a valid address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    #[error("not a valid address (bad characters or checksum; was it mistyped?): {0}")]
    Checksum(String),
    #[error("address has prefix `{found}`, expected `{ADDRESS_HRP}`")]
    WrongPrefix { found: String },
    #[error("address holds {0} bytes, expected 32")]
    WrongLength(usize),
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hrp = Hrp::parse_unchecked(ADDRESS_HRP);
        // Encoding 32 bytes under a short valid prefix cannot exceed bech32's length limit.
        let text = bech32::encode::<Bech32m>(hrp, &self.0).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for AccountId {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let checked = CheckedHrpstring::new::<Bech32m>(s.trim())
            .map_err(|e| AddressError::Checksum(e.to_string()))?;
        let hrp = checked.hrp();
        if hrp.as_str() != ADDRESS_HRP {
            return Err(AddressError::WrongPrefix {
                found: hrp.to_string(),
            });
        }
        let bytes: Vec<u8> = checked.byte_iter().collect();
        let len = bytes.len();
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| AddressError::WrongLength(len))?;
        Ok(AccountId(array))
    }
}

impl serde::Serialize for AccountId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for AccountId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Domain of contract ids.
const CONTRACT_ID_DOMAIN: &[u8] = b"PHALANX_CONTRACT_ID_V1";

/// The account id of the contract `deployer` instantiates from `code_hash` into `cluster` with
/// `salt`: `SHA-256("PHALANX_CONTRACT_ID_V1" | code hash | cluster | deployer | salt)`. Known before
/// the instantiation lands, so its init argument can be sealed to it.
/// The account holding the gas prepaid for a contract's commands until its workers settle it
/// (see `ContractOutput::Settle`). Nobody holds its key: it is a hash, not a public key.
pub fn gas_escrow(contract: &AccountId) -> AccountId {
    AccountId::from_bytes(crate::sha256_parts(&[b"PHALANX_GAS_ESCROW_V1", contract.as_bytes()]).0)
}

pub fn contract_id(
    code_hash: &crate::Hash,
    cluster: &crate::Hash,
    deployer: &AccountId,
    salt: &[u8],
) -> AccountId {
    AccountId::from_bytes(
        crate::sha256_parts(&[
            CONTRACT_ID_DOMAIN,
            &code_hash.0,
            &cluster.0,
            deployer.as_bytes(),
            salt,
        ])
        .0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn address_round_trips(bytes in any::<[u8; 32]>()) {
            let id = AccountId::from_bytes(bytes);
            prop_assert_eq!(id.to_string().parse::<AccountId>().unwrap(), id);
        }

        #[test]
        fn any_single_typo_is_refused(bytes in any::<[u8; 32]>(), pos in 4usize..62, pick in 0usize..31) {
            let text = AccountId::from_bytes(bytes).to_string();
            const CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
            let mut chars: Vec<u8> = text.into_bytes();
            let original = chars[pos];
            let replacement = CHARSET.iter().copied().filter(|c| *c != original).nth(pick).unwrap();
            chars[pos] = replacement;
            let typo = String::from_utf8(chars).unwrap();
            prop_assert!(typo.parse::<AccountId>().is_err());
        }
    }

    #[test]
    fn refuses_other_prefixes_and_lengths() {
        let other = bech32::encode::<Bech32m>(Hrp::parse("btc").unwrap(), &[1u8; 32]).unwrap();
        assert!(matches!(
            other.parse::<AccountId>(),
            Err(AddressError::WrongPrefix { .. })
        ));
        let short = bech32::encode::<Bech32m>(Hrp::parse("phx").unwrap(), &[1u8; 20]).unwrap();
        assert_eq!(
            short.parse::<AccountId>(),
            Err(AddressError::WrongLength(20))
        );
        assert!("hello".parse::<AccountId>().is_err());
    }

    #[test]
    fn module_accounts_are_distinct() {
        assert_ne!(
            AccountId::module("treasury"),
            AccountId::module("community")
        );
    }
}
