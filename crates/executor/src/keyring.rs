//! The keys a worker holds: its own ECDH secret (key messages are encrypted to it) and the
//! cluster keys it received, by cluster and epoch. Contract keys are derived on demand.

use phalanx_crypto::hierarchy::{ClusterKey, ContractKeys};
use phalanx_primitives::{AccountId, Hash};
use std::collections::BTreeMap;
use x25519_dalek::StaticSecret;

pub struct KeyRing {
    identity: AccountId,
    ecdh: StaticSecret,
    clusters: BTreeMap<(Hash, u32), ClusterKey>,
}

impl KeyRing {
    pub fn new(identity: AccountId, ecdh: StaticSecret) -> Self {
        KeyRing {
            identity,
            ecdh,
            clusters: BTreeMap::new(),
        }
    }

    pub fn identity(&self) -> AccountId {
        self.identity
    }

    pub fn ecdh_secret(&self) -> &StaticSecret {
        &self.ecdh
    }

    pub fn insert_cluster_key(&mut self, cluster: Hash, key: ClusterKey) {
        self.clusters.insert((cluster, key.epoch()), key);
    }

    pub fn cluster_key(&self, cluster: &Hash, epoch: u32) -> Option<&ClusterKey> {
        self.clusters.get(&(*cluster, epoch))
    }

    /// Whether this worker holds any key of `cluster`, i.e. runs its contracts.
    pub fn serves(&self, cluster: &Hash) -> bool {
        self.clusters.keys().any(|(c, _)| c == cluster)
    }

    /// The clusters this worker holds a key of.
    pub fn served_clusters(&self) -> Vec<Hash> {
        let mut clusters: Vec<Hash> = self.clusters.keys().map(|(cluster, _)| *cluster).collect();
        clusters.dedup();
        clusters
    }

    /// The epochs of `cluster` this worker holds keys of, oldest first.
    pub fn epochs(&self, cluster: &Hash) -> Vec<u32> {
        self.clusters
            .keys()
            .filter(|(c, _)| c == cluster)
            .map(|(_, epoch)| *epoch)
            .collect()
    }

    /// Every cluster key held, for the sealed snapshot.
    pub(crate) fn cluster_keys(&self) -> impl Iterator<Item = (&Hash, &ClusterKey)> {
        self.clusters
            .iter()
            .map(|((cluster, _), key)| (cluster, key))
    }

    pub fn contract_keys(
        &self,
        cluster: &Hash,
        epoch: u32,
        contract: &AccountId,
    ) -> Option<ContractKeys> {
        self.cluster_key(cluster, epoch)
            .map(|key| key.contract_keys(contract))
    }
}
