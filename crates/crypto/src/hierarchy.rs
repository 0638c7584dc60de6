//! The key hierarchy (DESIGN.md "Cryptography"): master key (gatekeepers only) -> cluster key ->
//! contract key -> the contract's x25519 key pair, its state key and its random-seed key. Every
//! key carries the epoch of the master key it came from; a rotation starts a new epoch and keys of
//! old epochs stay derivable for replaying history.
//!
//! Derivation is HKDF-SHA256 with the parent key as input keying material and a labelled info
//! string: `cluster = HKDF(master, "PHALANX_CLUSTER_KEY_V1" | cluster id)`,
//! `contract = HKDF(cluster, "PHALANX_CONTRACT_KEY_V1" | contract id)`, and from the contract key
//! `"PHALANX_CONTRACT_ECDH_V1"`, `"PHALANX_CONTRACT_STATE_V1"`, `"PHALANX_CONTRACT_SEED_V1"`; the
//! cluster's own x25519 key (for instantiation arguments) from `"PHALANX_CLUSTER_ECDH_V1"`; the
//! master key's public key (declared on chain) from `"PHALANX_MASTER_PUBLIC_V1"`.
//!
//! Rotation derives each epoch's master key from the one before:
//! `master(e + 1) = HKDF(master(e), "PHALANX_MASTER_ROTATE_V1" | e + 1 as u32le)`. Every gatekeeper
//! holding the first key reaches the same new keys without a message, and a worker that held only
//! cluster keys of old epochs learns nothing of the new ones. (It does not help against a leaked
//! master key: that needs a freshly generated one, a ceremony for later.)

use hkdf::Hkdf;
use phalanx_primitives::{AccountId, Hash};
use rand_core::CryptoRngCore;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

fn derive(parent: &[u8; 32], label: &[u8], id: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    let info = [label, id].concat();
    Hkdf::<Sha256>::new(None, parent)
        .expand(&info, out.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    out
}

/// The root secret, held by gatekeepers only. Never printed.
pub struct MasterKey {
    epoch: u32,
    secret: Zeroizing<[u8; 32]>,
}

impl MasterKey {
    pub fn generate(epoch: u32, rng: &mut impl CryptoRngCore) -> Self {
        let mut secret = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(secret.as_mut());
        MasterKey { epoch, secret }
    }

    /// Rebuilds a master key from its bytes (e.g. unsealed from a gatekeeper's store).
    pub fn from_bytes(epoch: u32, secret: [u8; 32]) -> Self {
        MasterKey {
            epoch,
            secret: Zeroizing::new(secret),
        }
    }

    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The secret bytes, to seal or to send encrypted to another attested gatekeeper.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.secret
    }

    /// Declared on chain by the gatekeeper that generated the key, so a gatekeeper that later
    /// receives the secret can check it is the chain's: x25519 public key of
    /// `HKDF(master, "PHALANX_MASTER_PUBLIC_V1")`.
    pub fn public_key(&self) -> [u8; 32] {
        let secret = StaticSecret::from(*derive(&self.secret, b"PHALANX_MASTER_PUBLIC_V1", &[]));
        PublicKey::from(&secret).to_bytes()
    }

    /// The sealing root gatekeepers release to an attested enclave that has no hardware sealing
    /// key (TDX): bound to its measurement and to the salt naming its data,
    /// `HKDF(master, "PHALANX_ENCLAVE_SEALING_V1" | measurement | salt)`.
    pub fn sealing_root(&self, measurement: &[u8], salt: &[u8; 32]) -> Zeroizing<[u8; 32]> {
        derive(
            &self.secret,
            b"PHALANX_ENCLAVE_SEALING_V1",
            &[measurement, salt].concat(),
        )
    }

    /// Fresh randomness for the chain's heartbeat challenges at `height`: no worker can predict it,
    /// and every gatekeeper holding the key derives the same,
    /// `HKDF(master, "PHALANX_CHALLENGE_RANDOMNESS_V1" | chain id | height)`.
    pub fn challenge_randomness(&self, chain_id: &Hash, height: u64) -> [u8; 32] {
        *derive(
            &self.secret,
            b"PHALANX_CHALLENGE_RANDOMNESS_V1",
            &[chain_id.0.as_slice(), &height.to_be_bytes()].concat(),
        )
    }

    /// The master key of `epoch`, derived forward from this one; None for an earlier epoch (a key
    /// cannot be derived backwards).
    pub fn at_epoch(&self, epoch: u32) -> Option<MasterKey> {
        if epoch < self.epoch {
            return None;
        }
        let mut secret = self.secret.clone();
        for next in self.epoch + 1..=epoch {
            secret = derive(&secret, b"PHALANX_MASTER_ROTATE_V1", &next.to_le_bytes());
        }
        Some(MasterKey { epoch, secret })
    }

    pub fn cluster_key(&self, cluster: &Hash) -> ClusterKey {
        ClusterKey {
            epoch: self.epoch,
            secret: derive(&self.secret, b"PHALANX_CLUSTER_KEY_V1", &cluster.0),
        }
    }
}

/// What a worker of a cluster receives (in an on-chain key message) and derives contracts from.
pub struct ClusterKey {
    epoch: u32,
    secret: Zeroizing<[u8; 32]>,
}

impl ClusterKey {
    pub fn from_bytes(epoch: u32, secret: [u8; 32]) -> Self {
        ClusterKey {
            epoch,
            secret: Zeroizing::new(secret),
        }
    }

    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.secret
    }

    /// The cluster's own x25519 secret: instantiation arguments are encrypted to its public key
    /// (published on chain by a gatekeeper) before the contract's key exists.
    pub fn ecdh_secret(&self) -> StaticSecret {
        StaticSecret::from(*derive(&self.secret, b"PHALANX_CLUSTER_ECDH_V1", &[]))
    }

    pub fn public_key(&self) -> [u8; 32] {
        PublicKey::from(&self.ecdh_secret()).to_bytes()
    }

    pub fn contract_keys(&self, contract: &AccountId) -> ContractKeys {
        let root = derive(
            &self.secret,
            b"PHALANX_CONTRACT_KEY_V1",
            contract.as_bytes(),
        );
        ContractKeys {
            epoch: self.epoch,
            ecdh: StaticSecret::from(*derive(&root, b"PHALANX_CONTRACT_ECDH_V1", &[])),
            state: derive(&root, b"PHALANX_CONTRACT_STATE_V1", &[]),
            seed: derive(&root, b"PHALANX_CONTRACT_SEED_V1", &[]),
            digest: derive(&root, b"PHALANX_CONTRACT_DIGEST_V1", &[]),
        }
    }
}

/// A contract's keys in one epoch.
pub struct ContractKeys {
    epoch: u32,
    ecdh: StaticSecret,
    state: Zeroizing<[u8; 32]>,
    seed: Zeroizing<[u8; 32]>,
    digest: Zeroizing<[u8; 32]>,
}

impl ContractKeys {
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// Published on chain at instantiation: clients encrypt commands and queries to it.
    pub fn public_key(&self) -> [u8; 32] {
        PublicKey::from(&self.ecdh).to_bytes()
    }

    pub fn ecdh_secret(&self) -> &StaticSecret {
        &self.ecdh
    }

    /// Encrypts the contract's state at rest.
    pub fn state_key(&self) -> &[u8; 32] {
        &self.state
    }

    /// Keys the digest of the contract's state: workers of its cluster compare digests, and a
    /// digest tells nobody else anything about the state.
    pub fn digest_key(&self) -> &[u8; 32] {
        &self.digest
    }

    /// The contract's random seed for a block: the same in every worker, unknown outside.
    pub fn random_seed(&self, block_hash: &Hash) -> [u8; 32] {
        *derive(&self.seed, b"PHALANX_BLOCK_SEED_V1", &block_hash.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_moves_forward_only_and_changes_every_key() {
        let master = MasterKey::from_bytes(0, [1; 32]);
        let cluster = Hash([2; 32]);
        let (one, two) = (master.at_epoch(1).unwrap(), master.at_epoch(2).unwrap());
        assert_eq!(one.epoch(), 1);
        assert_eq!(
            one.at_epoch(2).unwrap().expose_secret(),
            two.expose_secret()
        );
        assert!(one.at_epoch(0).is_none());
        assert_eq!(
            master.at_epoch(0).unwrap().expose_secret(),
            master.expose_secret()
        );
        let keys = [&master, &one, &two].map(|m| m.cluster_key(&cluster).public_key());
        assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2]);
        assert_eq!(one.cluster_key(&cluster).epoch(), 1);
    }

    #[test]
    fn derivation_is_deterministic_and_separated() {
        let master = MasterKey::from_bytes(0, [1; 32]);
        let (a, b) = (Hash([1; 32]), Hash([2; 32]));
        assert_eq!(
            master.cluster_key(&a).expose_secret(),
            master.cluster_key(&a).expose_secret()
        );
        assert_ne!(
            master.cluster_key(&a).expose_secret(),
            master.cluster_key(&b).expose_secret()
        );
        let cluster = master.cluster_key(&a);
        let (x, y) = (
            AccountId::from_bytes([3; 32]),
            AccountId::from_bytes([4; 32]),
        );
        assert_eq!(
            cluster.contract_keys(&x).public_key(),
            cluster.contract_keys(&x).public_key()
        );
        assert_ne!(
            cluster.contract_keys(&x).public_key(),
            cluster.contract_keys(&y).public_key()
        );
        let keys = cluster.contract_keys(&x);
        assert_ne!(keys.state_key(), &keys.random_seed(&Hash::ZERO));
        assert_ne!(
            keys.random_seed(&Hash::ZERO),
            keys.random_seed(&Hash([1; 32]))
        );
        // A new epoch's master gives unrelated keys.
        let next = MasterKey::from_bytes(1, [2; 32]);
        assert_ne!(
            next.cluster_key(&a).contract_keys(&x).public_key(),
            keys.public_key()
        );
        assert_eq!(next.cluster_key(&a).contract_keys(&x).epoch(), 1);
    }
}
