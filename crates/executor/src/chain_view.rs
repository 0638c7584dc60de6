//! The enclave's own view of the chain: every fact a worker or gatekeeper acts on, built only from
//! the genesis it pinned and the blocks it verified.
//!
//! The host runs the node the enclave talks to, so nothing the node's JSON-RPC says is believed:
//! the validator set comes from the pinned genesis; registered enclaves and their ECDH keys from
//! `RegisterWorker` transactions whose quote this view verified itself (and the chain accepted);
//! clusters, elected gatekeepers, the master key's holders, the key epoch, published contract
//! keys and the attestation policy from the events of verified blocks. The process seals the view
//! in the same store transaction as the block it advanced to, so it never runs ahead of or behind
//! the state it describes.
//!
//! The view is pure: [`ChainView::apply`] is a function of the view and a verified block.

use parity_scale_codec::{Decode, Encode};
use phalanx_attestation::{verify, Enrollment};
use phalanx_crypto::verify_signature;
use phalanx_primitives::attestation::{AttestationPolicy, Measurement, Role};
use phalanx_primitives::{
    AccountId, Block, BlockHeader, Call, Event, EventRecord, GenesisConfig, Hash, Phase,
    ValidatorHistory,
};
use std::collections::{BTreeMap, BTreeSet};

/// Why a genesis description is not the chain this enclave is pinned to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinError {
    #[error("the node's genesis hashes to {found}, but this enclave belongs to chain {expected}")]
    OtherChain { expected: Hash, found: Hash },
    #[error("the genesis description is unusable: {0}")]
    BadGenesis(String),
}

/// An enclave whose registration this view verified: its quote checked against the policy of the
/// view at the block's time, and its report data against the keys registered. Only
/// [`ChainView::apply`] makes one, so a key to encrypt secrets to can only come from here.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct AttestedEnclave {
    pub identity: AccountId,
    pub operator: AccountId,
    pub role: Role,
    ecdh_public: [u8; 32],
    pub measurement: Measurement,
    pub endpoint: String,
    pub registered_at: u64,
}

impl AttestedEnclave {
    /// The ECDH key the enclave proved it holds (secrets for it are encrypted to this key).
    pub fn ecdh_public(&self) -> [u8; 32] {
        self.ecdh_public
    }
}

/// The chain's master key as the verified events declared it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct DeclaredMasterKey {
    pub public_key: [u8; 32],
    pub epoch: u32,
    /// Gatekeepers that hold it, the declaring one first.
    pub holders: Vec<AccountId>,
}

/// What the view knows, and the newest block it applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainView {
    facts: Facts,
    /// The newest block applied. Not sealed with the facts: the store's synced header is the
    /// head (both are written in one transaction; the facts only when they change).
    head: BlockHeader,
}

/// The facts the view keeps: SCALE-encoded, what the store seals.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Facts {
    chain_id: Hash,
    genesis: BlockHeader,
    /// Every validator set, from the genesis and the `ValidatorSetScheduled` events since.
    validators: ValidatorHistory,
    policy: AttestationPolicy,
    epoch: u32,
    enclaves: BTreeMap<AccountId, AttestedEnclave>,
    gatekeepers: BTreeSet<AccountId>,
    clusters: BTreeMap<Hash, BTreeSet<AccountId>>,
    master_key: Option<DeclaredMasterKey>,
    /// Published cluster public keys, per cluster and epoch.
    cluster_keys: BTreeMap<(Hash, u32), [u8; 32]>,
    /// Each contract's newest published public key and its epoch.
    contract_keys: BTreeMap<AccountId, (u32, [u8; 32])>,
}

impl ChainView {
    /// The view at genesis, from a genesis description that must hash to `chain_id`, and the
    /// genesis block's header (computed here, not fetched).
    pub fn from_genesis(chain_id: Hash, config: &GenesisConfig) -> Result<Self, PinError> {
        let found = config.hash();
        if found != chain_id {
            return Err(PinError::OtherChain {
                expected: chain_id,
                found,
            });
        }
        let genesis = phalanx_runtime::genesis::build(config)
            .map_err(|e| PinError::BadGenesis(e.to_string()))?;
        let facts = Facts {
            chain_id,
            genesis: genesis.header.clone(),
            validators: ValidatorHistory::genesis(&config.validators),
            policy: config.attestation.clone(),
            epoch: 0,
            enclaves: BTreeMap::new(),
            gatekeepers: BTreeSet::new(),
            clusters: BTreeMap::new(),
            master_key: None,
            cluster_keys: BTreeMap::new(),
            contract_keys: BTreeMap::new(),
        };
        Ok(ChainView {
            facts,
            head: genesis.header,
        })
    }

    /// The view from its sealed facts, at `synced` (the store's synced header; None: genesis).
    pub fn resume(
        sealed_facts: &[u8],
        synced: Option<BlockHeader>,
    ) -> Result<Self, parity_scale_codec::Error> {
        use parity_scale_codec::DecodeAll;
        let facts = Facts::decode_all(&mut &sealed_facts[..])?;
        let head = synced.unwrap_or_else(|| facts.genesis.clone());
        if head.height == 0 && head != facts.genesis {
            return Err("the synced genesis header is not the pinned genesis".into());
        }
        Ok(ChainView { facts, head })
    }

    /// The facts to seal.
    pub fn sealed_facts(&self) -> Vec<u8> {
        self.facts.encode()
    }

    pub fn chain_id(&self) -> Hash {
        self.facts.chain_id
    }
    pub fn genesis_hash(&self) -> Hash {
        self.facts.genesis.hash()
    }
    /// The validators whose certificates make each block final.
    pub fn validators(&self) -> &ValidatorHistory {
        &self.facts.validators
    }
    pub fn policy(&self) -> &AttestationPolicy {
        &self.facts.policy
    }
    /// The newest block the view has applied.
    pub fn head(&self) -> &BlockHeader {
        &self.head
    }
    /// The key epoch now.
    pub fn epoch(&self) -> u32 {
        self.facts.epoch
    }
    pub fn enclave(&self, identity: &AccountId) -> Option<&AttestedEnclave> {
        self.facts.enclaves.get(identity)
    }
    pub fn is_gatekeeper(&self, identity: &AccountId) -> bool {
        self.facts.gatekeepers.contains(identity)
    }
    pub fn master_key(&self) -> Option<&DeclaredMasterKey> {
        self.facts.master_key.as_ref()
    }
    /// Whether `identity` is an elected gatekeeper holding the master key: the only senders of
    /// cluster keys and master-key shares an enclave accepts.
    pub fn is_holder(&self, identity: &AccountId) -> bool {
        self.is_gatekeeper(identity)
            && self
                .facts
                .master_key
                .as_ref()
                .is_some_and(|m| m.holders.contains(identity))
    }
    pub fn cluster_members(&self, cluster: &Hash) -> Option<&BTreeSet<AccountId>> {
        self.facts.clusters.get(cluster)
    }
    pub fn cluster_public_key(&self, cluster: &Hash, epoch: u32) -> Option<[u8; 32]> {
        self.facts.cluster_keys.get(&(*cluster, epoch)).copied()
    }
    /// A contract's newest published public key, with its epoch.
    pub fn contract_key(&self, contract: &AccountId) -> Option<(u32, [u8; 32])> {
        self.facts.contract_keys.get(contract).copied()
    }

    /// Advances the view over `block`, which the caller verified as the successor of
    /// [`ChainView::head`] under [`ChainView::validators`], with its verified `events`. Returns
    /// whether anything but the head changed (so the process re-seals the view only then).
    pub fn apply(&mut self, block: &Block, events: &[EventRecord]) -> bool {
        let mut changed = false;
        for record in events {
            changed |= self.apply_event(block, record);
        }
        self.head = block.header.clone();
        changed
    }

    fn apply_event(&mut self, block: &Block, record: &EventRecord) -> bool {
        match &record.event {
            Event::ValidatorSetScheduled { set } => {
                self.facts
                    .validators
                    .schedule(block.header.height, set.clone());
                true
            }
            Event::WorkerRegistered { identity, .. } => {
                let Phase::Transaction(index) = record.phase else {
                    return false;
                };
                self.register(block, index, identity)
            }
            Event::WorkerRemoved { worker, .. } => {
                self.facts.enclaves.remove(worker);
                for members in self.facts.clusters.values_mut() {
                    members.remove(worker);
                }
                true
            }
            Event::MeasurementAdded(measurement) => {
                if !self.facts.policy.measurements.contains(measurement) {
                    self.facts.policy.measurements.push(*measurement);
                }
                true
            }
            Event::MeasurementRemoved(measurement) => {
                self.facts.policy.measurements.retain(|m| m != measurement);
                true
            }
            Event::ClusterCreated { cluster, workers }
            | Event::ClusterRekeyed {
                cluster, workers, ..
            } => {
                self.facts
                    .clusters
                    .insert(*cluster, workers.iter().copied().collect());
                true
            }
            Event::AddedToCluster { cluster, worker } => {
                self.facts
                    .clusters
                    .entry(*cluster)
                    .or_default()
                    .insert(*worker);
                true
            }
            Event::GatekeeperElected { identity } => {
                self.facts.gatekeepers.insert(*identity);
                true
            }
            Event::GatekeeperRemoved { identity } => {
                self.facts.gatekeepers.remove(identity);
                if let Some(master) = &mut self.facts.master_key {
                    master.holders.retain(|h| h != identity);
                }
                true
            }
            Event::MasterKeyPublished {
                gatekeeper,
                epoch,
                public_key,
            } => {
                self.facts.master_key = Some(DeclaredMasterKey {
                    public_key: *public_key,
                    epoch: *epoch,
                    holders: vec![*gatekeeper],
                });
                true
            }
            Event::MasterKeyShared { to, .. } => match &mut self.facts.master_key {
                Some(master) if !master.holders.contains(to) => {
                    master.holders.push(*to);
                    true
                }
                _ => false,
            },
            Event::MasterKeyRotated { epoch } => {
                self.facts.epoch = *epoch;
                true
            }
            Event::ClusterKeyPublished {
                cluster,
                epoch,
                public_key,
            } => {
                self.facts
                    .cluster_keys
                    .insert((*cluster, *epoch), *public_key);
                true
            }
            Event::ContractKeyPublished {
                contract,
                epoch,
                public_key,
            } => {
                let newer = self
                    .facts
                    .contract_keys
                    .get(contract)
                    .is_none_or(|(known, _)| *epoch >= *known);
                if newer {
                    self.facts
                        .contract_keys
                        .insert(*contract, (*epoch, *public_key));
                }
                newer
            }
            _ => false,
        }
    }

    /// Records the enclave registered by transaction `index` of `block`, if its quote verifies
    /// here too. A registration the chain accepted but this view cannot verify is not recorded:
    /// that enclave gets no secret from this one (fail closed).
    fn register(&mut self, block: &Block, index: u32, identity: &AccountId) -> bool {
        let Some(signed) = block.transactions.get(index as usize) else {
            return false;
        };
        let Call::RegisterWorker {
            identity: registered,
            ecdh_public,
            role,
            attestation,
            endpoint,
            identity_proof,
        } = &signed.transaction.call
        else {
            return false;
        };
        if registered != identity {
            return false;
        }
        let operator = signed.transaction.signer;
        let enrollment = Enrollment {
            identity,
            ecdh_public,
            chain_id: &self.facts.chain_id,
            role: *role,
            operator: &operator,
            endpoint,
        };
        if verify_signature(identity, &enrollment.identity_message(), identity_proof).is_err() {
            tracing::error!(%identity, height = block.header.height,
                "the chain accepted a registration its identity key did not sign");
            return false;
        }
        let expected = enrollment.report_data();
        let now_secs = block.header.timestamp_ms / 1000;
        let verified = match verify(attestation, &expected, now_secs, &self.facts.policy) {
            Ok(verified) => verified,
            Err(error) => {
                tracing::error!(%identity, height = block.header.height,
                    "the chain accepted a registration whose quote this enclave refuses: {error}");
                return false;
            }
        };
        let enclave = AttestedEnclave {
            identity: *identity,
            operator,
            role: *role,
            ecdh_public: *ecdh_public,
            measurement: verified.measurement(),
            endpoint: String::from_utf8_lossy(endpoint).into_owned(),
            registered_at: block.header.height,
        };
        self.facts.enclaves.insert(*identity, enclave);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phalanx_attestation::{dev_measurement, DevProvider, QuoteProvider};
    use phalanx_crypto::{sign_transaction, Keypair};
    use phalanx_primitives::{FinalityCertificate, Transaction};
    use phalanx_runtime::genesis::{dev_config, DEV_ATTESTATION_KEY};

    fn view() -> ChainView {
        let config = dev_config();
        ChainView::from_genesis(config.hash(), &config).unwrap()
    }

    /// A block holding a gatekeeper's registration of `ecdh_public`, quoted over `quoted_ecdh`.
    fn registration(view: &ChainView, ecdh_public: [u8; 32], quoted_ecdh: [u8; 32]) -> Block {
        let enclave = Keypair::dev("gatekeeper-enclave");
        let operator = Keypair::dev("charlie");
        let identity = enclave.account_id();
        let data = Enrollment {
            identity: &identity,
            ecdh_public: &quoted_ecdh,
            chain_id: &view.chain_id(),
            role: Role::Gatekeeper,
            operator: &operator.account_id(),
            endpoint: b"http://gk",
        }
        .report_data();
        let quote = DevProvider::new_insecure(Keypair::dev(DEV_ATTESTATION_KEY), dev_measurement())
            .quote(&data)
            .unwrap();
        let identity_proof = enclave.sign(
            &Enrollment {
                identity: &identity,
                ecdh_public: &ecdh_public,
                chain_id: &view.chain_id(),
                role: Role::Gatekeeper,
                operator: &operator.account_id(),
                endpoint: b"http://gk",
            }
            .identity_message(),
        );
        let tx = Transaction {
            chain_id: view.chain_id(),
            signer: operator.account_id(),
            nonce: 0,
            fee: 1,
            call: Call::RegisterWorker {
                identity,
                ecdh_public,
                role: Role::Gatekeeper,
                attestation: Box::new(quote),
                endpoint: b"http://gk".to_vec(),
                identity_proof,
            },
        };
        let mut header = view.head().clone();
        header.parent_hash = header.hash();
        header.height += 1;
        header.timestamp_ms += 1_000;
        Block {
            header,
            transactions: vec![sign_transaction(&operator, tx)],
            certificate: FinalityCertificate::default(),
        }
    }

    fn registered_events(identity: AccountId) -> Vec<EventRecord> {
        let record = |event| EventRecord {
            phase: Phase::Transaction(0),
            event,
        };
        vec![
            record(Event::WorkerRegistered {
                identity,
                operator: Keypair::dev("charlie").account_id(),
                role: Role::Gatekeeper,
                tee: phalanx_primitives::attestation::TeeKind::Dev,
                measurement: phalanx_runtime::genesis::dev_measurement(),
                confidence: phalanx_primitives::attestation::ConfidenceLevel::UpToDate,
            }),
            record(Event::GatekeeperElected { identity }),
        ]
    }

    #[test]
    fn a_genesis_of_another_chain_is_refused() {
        let mut config = dev_config();
        let id = config.hash();
        config.chain_name = "forged".into();
        assert!(matches!(
            ChainView::from_genesis(id, &config),
            Err(PinError::OtherChain { .. })
        ));
    }

    #[test]
    fn keys_come_only_from_registrations_whose_quote_verifies_here() {
        let mut view = view();
        let identity = Keypair::dev("gatekeeper-enclave").account_id();
        // The chain's event says registered, but the quote covers another ECDH key than the
        // transaction's: this view does not record the key (fail closed).
        let forged = registration(&view, [7; 32], [8; 32]);
        view.apply(&forged, &registered_events(identity));
        assert!(view.enclave(&identity).is_none());
        assert!(view.is_gatekeeper(&identity));

        // A good quote, but the identity key did not sign the registration: not recorded.
        let mut unsigned = registration(&view, [7; 32], [7; 32]);
        let mut tx = unsigned.transactions[0].transaction.clone();
        if let Call::RegisterWorker { identity_proof, .. } = &mut tx.call {
            *identity_proof = Keypair::dev("mallory").sign(b"anything");
        }
        unsigned.transactions[0] = sign_transaction(&Keypair::dev("charlie"), tx);
        view.apply(&unsigned, &registered_events(identity));
        assert!(view.enclave(&identity).is_none());

        let good = registration(&view, [7; 32], [7; 32]);
        assert!(view.apply(&good, &registered_events(identity)));
        assert_eq!(view.enclave(&identity).unwrap().ecdh_public(), [7; 32]);
        assert_eq!(view.head(), &good.header);
    }

    #[test]
    fn holders_follow_declaration_shares_and_removals() {
        let mut view = view();
        let (first, second) = (
            AccountId::from_bytes([1; 32]),
            AccountId::from_bytes([2; 32]),
        );
        let block = registration(&view, [0; 32], [0; 32]);
        let at_end = |event| EventRecord {
            phase: Phase::Finalization,
            event,
        };
        view.apply(
            &block,
            &[
                at_end(Event::GatekeeperElected { identity: first }),
                at_end(Event::GatekeeperElected { identity: second }),
                at_end(Event::MasterKeyPublished {
                    gatekeeper: first,
                    epoch: 0,
                    public_key: [9; 32],
                }),
            ],
        );
        assert!(view.is_holder(&first) && !view.is_holder(&second));
        view.apply(
            &block,
            &[at_end(Event::MasterKeyShared {
                from: first,
                to: second,
                epoch: 0,
            })],
        );
        assert!(view.is_holder(&second));
        view.apply(
            &block,
            &[at_end(Event::GatekeeperRemoved { identity: first })],
        );
        assert!(!view.is_holder(&first) && view.is_holder(&second));
        // A contract's key of an older epoch never replaces a newer one.
        let contract = AccountId::from_bytes([3; 32]);
        let published = |epoch, key| {
            at_end(Event::ContractKeyPublished {
                contract,
                epoch,
                public_key: [key; 32],
            })
        };
        view.apply(&block, &[published(1, 11), published(0, 10)]);
        assert_eq!(view.contract_key(&contract), Some((1, [11; 32])));
    }

    #[test]
    fn the_sealed_facts_resume_at_the_synced_header() {
        let mut view = view();
        let block = registration(&view, [7; 32], [7; 32]);
        view.apply(
            &block,
            &registered_events(Keypair::dev("gatekeeper-enclave").account_id()),
        );
        let resumed = ChainView::resume(&view.sealed_facts(), Some(block.header.clone())).unwrap();
        assert_eq!(resumed, view);
        let at_genesis = ChainView::resume(&view.sealed_facts(), None).unwrap();
        assert_eq!(at_genesis.head().height, 0);
        assert!(ChainView::resume(&[1, 2, 3], None).is_err());
    }
}
