//! Gatekeeper logic: what the holder of the master key must send to the chain after each block.
//!
//! When a cluster is created it publishes the cluster's public key and sends the cluster key to
//! each member, encrypted to the member's registered ECDH key (a key message); a worker added
//! later gets its key message then; a new contract gets its public key published. Nothing else
//! ever carries a key: a worker that is not a member never receives one.
//!
//! The decisions are a pure function of the block's events and the registry; encryption takes the
//! caller's RNG (ephemeral keys), so the process at the edge supplies `OsRng`.

use phalanx_crypto::envelope::{EnvelopeContext, Sealer};
use phalanx_crypto::hierarchy::MasterKey;
use phalanx_primitives::{AccountId, Call, Event, EventRecord, Hash};
use rand_core::CryptoRngCore;

pub struct Gatekeeper {
    identity: AccountId,
    chain_id: Hash,
    master: MasterKey,
}

impl Gatekeeper {
    pub fn new(identity: AccountId, chain_id: Hash, master: MasterKey) -> Self {
        Gatekeeper {
            identity,
            chain_id,
            master,
        }
    }

    pub fn identity(&self) -> AccountId {
        self.identity
    }

    /// The transactions (calls, signed by this gatekeeper's identity) a block's events call for.
    /// `ecdh_of` looks up a registered worker's ECDH public key; a member without one is skipped.
    pub fn respond(
        &self,
        events: &[EventRecord],
        ecdh_of: impl Fn(&AccountId) -> Option<[u8; 32]>,
        rng: &mut impl CryptoRngCore,
    ) -> Vec<Call> {
        let epoch = self.master.epoch();
        let mut calls = Vec::new();
        for record in events {
            match &record.event {
                Event::ClusterCreated { cluster, workers } => {
                    let public_key = self.master.cluster_key(cluster).public_key();
                    calls.push(Call::PublishClusterKey {
                        cluster: *cluster,
                        epoch,
                        public_key,
                    });
                    for worker in workers {
                        calls.extend(self.key_message(cluster, worker, &ecdh_of, rng));
                    }
                }
                Event::AddedToCluster { cluster, worker } => {
                    calls.extend(self.key_message(cluster, worker, &ecdh_of, rng))
                }
                Event::ContractInstantiated {
                    contract, cluster, ..
                } => {
                    let public_key = self
                        .master
                        .cluster_key(cluster)
                        .contract_keys(contract)
                        .public_key();
                    calls.push(Call::PublishContractKey {
                        contract: *contract,
                        epoch,
                        public_key,
                    });
                }
                _ => {}
            }
        }
        calls
    }

    fn key_message(
        &self,
        cluster: &Hash,
        worker: &AccountId,
        ecdh_of: &impl Fn(&AccountId) -> Option<[u8; 32]>,
        rng: &mut impl CryptoRngCore,
    ) -> Option<Call> {
        let recipient_key = ecdh_of(worker)?;
        let cluster_key = self.master.cluster_key(cluster);
        let context = EnvelopeContext {
            chain_id: self.chain_id,
            contract: *worker,
            sender: self.identity,
        };
        let envelope = Sealer::new(rng)
            .seal(
                &recipient_key,
                cluster_key.epoch(),
                &context,
                cluster_key.expose_secret(),
                rng,
            )
            .expect("a 32-byte key is far below the envelope limit");
        Some(Call::KeyMessage {
            recipient: *worker,
            cluster: *cluster,
            envelope,
        })
    }
}
