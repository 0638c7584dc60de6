//! Enclaves, clusters, keys, code and contracts as the chain records them.

use crate::wire;
use phalanx_primitives::attestation::{ConfidenceLevel, Measurement, Role, TeeKind};
use phalanx_primitives::{AccountId, Hash};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct WorkerView {
    pub identity: AccountId,
    pub operator: AccountId,
    /// `worker` or `gatekeeper`.
    pub role: String,
    /// Hex of the x25519 key that key messages are encrypted to.
    pub ecdh_public: String,
    /// `dev`, `sgx` or `tdx`.
    pub tee: String,
    pub measurement: Measurement,
    pub confidence: ConfidenceLevel,
    pub endpoint: String,
    pub registered_at: u64,
}

impl WorkerView {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        identity: AccountId,
        operator: AccountId,
        role: Role,
        ecdh_public: &[u8; 32],
        tee: TeeKind,
        measurement: Measurement,
        confidence: ConfidenceLevel,
        endpoint: String,
        registered_at: u64,
    ) -> Self {
        WorkerView {
            identity,
            operator,
            role: wire::role(role).into(),
            ecdh_public: hex::encode(ecdh_public),
            tee: wire::tee(tee).into(),
            measurement,
            confidence,
            endpoint,
            registered_at,
        }
    }
}

/// A published x25519 key and the key epoch it belongs to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PublishedKey {
    /// Hex of the 32-byte x25519 public key.
    pub public_key: String,
    pub epoch: u32,
}

impl PublishedKey {
    pub fn new(key: &Option<([u8; 32], u32)>) -> Option<Self> {
        key.map(|(public_key, epoch)| PublishedKey {
            public_key: hex::encode(public_key),
            epoch,
        })
    }

    /// The key's bytes (None if the hex is malformed).
    pub fn bytes(&self) -> Option<[u8; 32]> {
        hex::decode(&self.public_key).ok()?.try_into().ok()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClusterView {
    pub cluster: Hash,
    pub workers: Vec<AccountId>,
    pub key: Option<PublishedKey>,
}

/// The master key as the chain knows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct MasterKeyView {
    /// The epoch of the declared key (gatekeepers derive later epochs' keys from it).
    pub epoch: u32,
    /// The chain's key epoch now (one more per rotation).
    pub current_epoch: u32,
    /// Hex of the declared 32-byte public key.
    pub public_key: String,
    pub holders: Vec<AccountId>,
}

impl MasterKeyView {
    /// The declared public key's bytes (None if the hex is malformed).
    pub fn public_key_bytes(&self) -> Option<[u8; 32]> {
        hex::decode(&self.public_key).ok()?.try_into().ok()
    }
}

/// Code on chain.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CodeView {
    pub code_hash: Hash,
    pub size: u32,
    /// Who uploaded it (absent for code uploaded before uploaders were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploader: Option<AccountId>,
    /// The SHA-256 of its metadata file, once its uploader recorded one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_hash: Option<Hash>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContractView {
    pub contract: AccountId,
    pub code_hash: Hash,
    pub cluster: Hash,
    pub deployer: AccountId,
    pub created_at: u64,
    pub key: Option<PublishedKey>,
    pub commands: u64,
}

/// What a worker's `worker_stateDigest` answers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DigestView {
    pub contract: AccountId,
    pub height: u64,
    /// The keyed digest of the contract's state after block `height`; null if it had none.
    pub digest: Option<Hash>,
}
