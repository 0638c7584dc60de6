//! ed25519 key pairs for accounts and validators.

use ed25519_dalek::{Signer, SigningKey};
use phalanx_primitives::{sha256_parts, AccountId, Signature};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

/// Domain under which dev keys are derived from their names.
const DEV_KEY_DOMAIN: &[u8] = b"PHALANX_DEV_KEY_V1";

/// The dev accounts every dev chain funds and the CLI knows without a key file.
pub const DEV_ACCOUNT_NAMES: [&str; 3] = ["alice", "bob", "charlie"];

/// An ed25519 signing key. The secret never appears in `Debug` output.
#[derive(Clone)]
pub struct Keypair {
    signing: SigningKey,
}

impl Keypair {
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        Keypair {
            signing: SigningKey::generate(rng),
        }
    }

    pub fn from_seed(seed: [u8; 32]) -> Self {
        Keypair {
            signing: SigningKey::from_bytes(&seed),
        }
    }

    /// The well-known, publicly derivable key of a dev name (like Substrate's `//Alice`).
    /// Anyone can compute it: it must only ever hold value on dev chains.
    pub fn dev(name: &str) -> Self {
        Self::from_seed(sha256_parts(&[DEV_KEY_DOMAIN, name.as_bytes()]).0)
    }

    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    pub fn account_id(&self) -> AccountId {
        AccountId::from_bytes(self.signing.verifying_key().to_bytes())
    }

    /// Signs `message` as is; callers pass a domain-separated message.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.signing.sign(message).to_bytes())
    }
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keypair({})", self.account_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_keys_are_stable_and_distinct() {
        assert_eq!(
            Keypair::dev("alice").account_id(),
            Keypair::dev("alice").account_id()
        );
        assert_ne!(
            Keypair::dev("alice").account_id(),
            Keypair::dev("bob").account_id()
        );
        let seed = *Keypair::dev("alice").seed();
        assert_eq!(
            Keypair::from_seed(seed).account_id(),
            Keypair::dev("alice").account_id()
        );
    }
}
