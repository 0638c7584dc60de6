//! Gatekeeper logic: what the holder of the master key must send to the chain after each block.
//!
//! When a cluster is created it publishes the cluster's public key and sends the cluster key to
//! each member, encrypted to the member's registered ECDH key (a key message); a worker added
//! later gets its key message then (one per epoch so far, so it can replay the history); a new
//! contract gets its public key published; a gatekeeper that registers gets the master key
//! itself, encrypted to its registered (attested) ECDH key. After a rotation it publishes every
//! cluster's and contract's key of the new epoch and sends the new cluster keys to the members.
//!
//! A gatekeeper holds the master key of the epoch it was declared in and derives later epochs'
//! (see `MasterKey::at_epoch`); that first key is also what it shares with new gatekeepers.
//! Nothing else ever carries a key: a worker that is not a member never receives one.
//!
//! The decisions are a pure function of the block's events and the registry; encryption takes the
//! caller's RNG (ephemeral keys), so the process at the edge supplies `OsRng`.

use parity_scale_codec::Encode;
use phalanx_attestation::{verify, SealingRequest};
use phalanx_crypto::envelope::{EnvelopeContext, Opener, Sealer};
use phalanx_crypto::hierarchy::MasterKey;
use phalanx_primitives::attestation::{AttestationPolicy, SealingRootRequest};
use phalanx_primitives::{AccountId, Call, Envelope, Event, EventRecord, Hash};
use rand_core::CryptoRngCore;
use x25519_dalek::StaticSecret;

/// Why a gatekeeper refuses to release a sealing root.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealingRootError {
    #[error("attestation refused: {0}")]
    Attestation(#[from] phalanx_attestation::AttestationError),
    #[error("the sealing root does not open with this enclave's reply key")]
    Undecryptable,
}

/// Opens the sealing root a gatekeeper released, with the one-time reply secret.
pub fn open_sealing_root(
    chain_id: Hash,
    gatekeeper: AccountId,
    reply_secret: &StaticSecret,
    envelope: &Envelope,
) -> Result<[u8; 32], SealingRootError> {
    let reply_key = x25519_dalek::PublicKey::from(reply_secret).to_bytes();
    let context = sealing_context(chain_id, &reply_key, gatekeeper);
    let bytes = Opener::new(reply_secret.clone(), envelope.epoch)
        .open(&context, envelope)
        .map_err(|_| SealingRootError::Undecryptable)?;
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| SealingRootError::Undecryptable)
}

fn sealing_context(chain_id: Hash, reply_key: &[u8; 32], gatekeeper: AccountId) -> EnvelopeContext {
    EnvelopeContext {
        chain_id,
        contract: AccountId::from_bytes(*reply_key),
        sender: gatekeeper,
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    #[error("the master key share does not decrypt with this gatekeeper's key")]
    Undecryptable,
    #[error("the master key share does not hold a 32-byte key")]
    Malformed,
    #[error("the master key received does not match the public key declared on chain")]
    NotTheChainsKey,
}

/// Opens a master key share sent to this gatekeeper (`identity`, `ecdh`) by `sender`, and checks
/// it against the public key the chain declared: a holder cannot hand over some other key.
pub fn open_master_share(
    chain_id: Hash,
    identity: AccountId,
    ecdh: &StaticSecret,
    sender: AccountId,
    envelope: &Envelope,
    declared_public_key: &[u8; 32],
) -> Result<MasterKey, ShareError> {
    let context = EnvelopeContext {
        chain_id,
        contract: identity,
        sender,
    };
    let bytes = Opener::new(ecdh.clone(), envelope.epoch)
        .open(&context, envelope)
        .map_err(|_| ShareError::Undecryptable)?;
    let secret: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| ShareError::Malformed)?;
    let master = MasterKey::from_bytes(envelope.epoch, secret);
    if master.public_key() != *declared_public_key {
        return Err(ShareError::NotTheChainsKey);
    }
    Ok(master)
}

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

    pub fn master_public_key(&self) -> [u8; 32] {
        self.master.public_key()
    }

    /// Releases the sealing root of an enclave without hardware sealing (TDX), sealed to the
    /// request's reply key, if its quote passes the chain's `policy` at `now_secs` and commits to
    /// this request. The root is bound to the enclave's measurement and salt: another build, or
    /// another salt, gets another root.
    pub fn release_sealing_root(
        &self,
        request: &SealingRootRequest,
        policy: &AttestationPolicy,
        now_secs: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Envelope, SealingRootError> {
        let expected = SealingRequest {
            chain_id: &self.chain_id,
            reply_key: &request.reply_key,
            salt: &request.salt,
        }
        .report_data();
        let verified = verify(&request.quote, &expected, now_secs, policy)?;
        let root = self
            .master
            .sealing_root(&verified.measurement().encode(), &request.salt);
        let context = sealing_context(self.chain_id, &request.reply_key, self.identity);
        Ok(Sealer::new(rng)
            .seal(
                &request.reply_key,
                self.master.epoch(),
                &context,
                root.as_slice(),
                rng,
            )
            .expect("a 32-byte key is far below the envelope limit"))
    }

    /// The call that declares this gatekeeper's master key on a chain that has none.
    pub fn declaration(&self) -> Call {
        Call::PublishMasterKey {
            epoch: self.master.epoch(),
            public_key: self.master.public_key(),
        }
    }

    /// The randomness this gatekeeper mixes into the chain's challenge seed after block `height`.
    pub fn randomness(&self, height: u64) -> Call {
        Call::Randomness {
            value: Hash(self.master.challenge_randomness(&self.chain_id, height)),
        }
    }

    /// The master key of `epoch` (None before the epoch this gatekeeper's key was declared in).
    fn master_at(&self, epoch: u32) -> Option<MasterKey> {
        self.master.at_epoch(epoch)
    }

    /// The transactions (calls, signed by this gatekeeper's identity) a block's events call for,
    /// with the chain's key epoch now being `current_epoch`. `ecdh_of` looks up a registered
    /// worker's ECDH public key; a member without one is skipped.
    pub fn respond(
        &self,
        events: &[EventRecord],
        current_epoch: u32,
        ecdh_of: impl Fn(&AccountId) -> Option<[u8; 32]>,
        rng: &mut impl CryptoRngCore,
    ) -> Vec<Call> {
        let Some(current) = self.master_at(current_epoch) else {
            return Vec::new();
        };
        let mut calls = Vec::new();
        for record in events {
            match &record.event {
                Event::ClusterCreated { cluster, workers } => {
                    calls.extend(self.cluster_keys(&current, cluster, workers, &ecdh_of, rng));
                }
                Event::ClusterRekeyed {
                    cluster,
                    epoch,
                    workers,
                } if *epoch == current_epoch => {
                    calls.extend(self.cluster_keys(&current, cluster, workers, &ecdh_of, rng));
                }
                Event::AddedToCluster { cluster, worker } => {
                    for epoch in self.master.epoch()..=current_epoch {
                        let master = self.master_at(epoch).expect("not before our own epoch");
                        calls.extend(self.key_message(&master, cluster, worker, &ecdh_of, rng));
                    }
                }
                // Only an elected gatekeeper may receive the key (the chain's first is elected
                // by registering, and declares the key itself).
                Event::GatekeeperElected { identity } if *identity != self.identity => {
                    calls.extend(self.master_share(identity, &ecdh_of, rng))
                }
                Event::ContractInstantiated {
                    contract, cluster, ..
                } => calls.push(contract_key(&current, contract, cluster)),
                Event::ContractRekeyed {
                    contract,
                    cluster,
                    epoch,
                } if *epoch == current_epoch => {
                    calls.push(contract_key(&current, contract, cluster))
                }
                _ => {}
            }
        }
        calls
    }

    /// A cluster's key of `master`'s epoch: published, and sent to each member.
    fn cluster_keys(
        &self,
        master: &MasterKey,
        cluster: &Hash,
        workers: &[AccountId],
        ecdh_of: &impl Fn(&AccountId) -> Option<[u8; 32]>,
        rng: &mut impl CryptoRngCore,
    ) -> Vec<Call> {
        let mut calls = vec![Call::PublishClusterKey {
            cluster: *cluster,
            epoch: master.epoch(),
            public_key: master.cluster_key(cluster).public_key(),
        }];
        for worker in workers {
            calls.extend(self.key_message(master, cluster, worker, ecdh_of, rng));
        }
        calls
    }

    fn master_share(
        &self,
        gatekeeper: &AccountId,
        ecdh_of: &impl Fn(&AccountId) -> Option<[u8; 32]>,
        rng: &mut impl CryptoRngCore,
    ) -> Option<Call> {
        let recipient_key = ecdh_of(gatekeeper)?;
        let context = EnvelopeContext {
            chain_id: self.chain_id,
            contract: *gatekeeper,
            sender: self.identity,
        };
        let envelope = Sealer::new(rng)
            .seal(
                &recipient_key,
                self.master.epoch(),
                &context,
                self.master.expose_secret(),
                rng,
            )
            .expect("a 32-byte key is far below the envelope limit");
        Some(Call::ShareMasterKey {
            recipient: *gatekeeper,
            envelope,
        })
    }

    fn key_message(
        &self,
        master: &MasterKey,
        cluster: &Hash,
        worker: &AccountId,
        ecdh_of: &impl Fn(&AccountId) -> Option<[u8; 32]>,
        rng: &mut impl CryptoRngCore,
    ) -> Option<Call> {
        let recipient_key = ecdh_of(worker)?;
        let cluster_key = master.cluster_key(cluster);
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

/// The call publishing a contract's key of `master`'s epoch.
fn contract_key(master: &MasterKey, contract: &AccountId, cluster: &Hash) -> Call {
    Call::PublishContractKey {
        contract: *contract,
        epoch: master.epoch(),
        public_key: master
            .cluster_key(cluster)
            .contract_keys(contract)
            .public_key(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phalanx_primitives::attestation::{ConfidenceLevel, Measurement, TeeKind};
    use phalanx_primitives::Phase;
    use rand_core::OsRng;
    use x25519_dalek::PublicKey;

    #[test]
    fn a_new_gatekeeper_gets_the_master_key_and_checks_it() {
        let chain_id = Hash([1; 32]);
        let (holder, newcomer) = (
            AccountId::from_bytes([2; 32]),
            AccountId::from_bytes([3; 32]),
        );
        let master = MasterKey::generate(0, &mut OsRng);
        let declared = master.public_key();
        let expected_secret = *master.expose_secret();
        let gatekeeper = Gatekeeper::new(holder, chain_id, master);
        let newcomer_ecdh = StaticSecret::random_from_rng(OsRng);
        let newcomer_public = PublicKey::from(&newcomer_ecdh).to_bytes();
        // Registering is not enough: the key goes to a gatekeeper once it is elected.
        let registered = EventRecord {
            phase: Phase::Transaction(0),
            event: Event::WorkerRegistered {
                identity: newcomer,
                operator: holder,
                role: phalanx_primitives::attestation::Role::Gatekeeper,
                tee: TeeKind::Dev,
                measurement: Measurement::Dev([0; 32]),
                confidence: ConfidenceLevel::UpToDate,
            },
        };
        let elected = EventRecord {
            phase: Phase::Finalization,
            event: Event::GatekeeperElected { identity: newcomer },
        };
        let calls = gatekeeper.respond(
            &[registered, elected],
            0,
            |who| (*who == newcomer).then_some(newcomer_public),
            &mut OsRng,
        );
        let [Call::ShareMasterKey {
            recipient,
            envelope,
        }] = calls.as_slice()
        else {
            panic!("expected one share, got {calls:?}")
        };
        assert_eq!(*recipient, newcomer);
        let received = open_master_share(
            chain_id,
            newcomer,
            &newcomer_ecdh,
            holder,
            envelope,
            &declared,
        )
        .unwrap();
        assert_eq!(received.expose_secret(), &expected_secret);
        // A key other than the declared one, or a share meant for someone else, is refused.
        assert_eq!(
            open_master_share(
                chain_id,
                newcomer,
                &newcomer_ecdh,
                holder,
                envelope,
                &[9; 32]
            )
            .err(),
            Some(ShareError::NotTheChainsKey)
        );
        let stranger = StaticSecret::random_from_rng(OsRng);
        assert_eq!(
            open_master_share(chain_id, newcomer, &stranger, holder, envelope, &declared).err(),
            Some(ShareError::Undecryptable)
        );
        // It shares with elected gatekeepers only, never with itself.
        let itself = EventRecord {
            phase: Phase::Transaction(0),
            event: Event::GatekeeperElected { identity: holder },
        };
        assert!(gatekeeper
            .respond(&[itself], 0, |_| Some(newcomer_public), &mut OsRng)
            .is_empty());
    }

    #[test]
    fn sealing_roots_go_to_attested_enclaves_bound_to_measurement_and_salt() {
        use phalanx_attestation::{DevProvider, QuoteProvider};
        use phalanx_crypto::Keypair;
        let chain_id = Hash([1; 32]);
        let gatekeeper = Gatekeeper::new(
            AccountId::from_bytes([2; 32]),
            chain_id,
            MasterKey::generate(0, &mut OsRng),
        );
        let attestation_key = Keypair::dev("dev-attestation");
        let (allowed, other) = ([5u8; 32], [6u8; 32]);
        let policy = AttestationPolicy::dev(
            attestation_key.account_id(),
            vec![Measurement::Dev(allowed), Measurement::Dev(other)],
        );
        // An enclave of `measurement` asks with `salt`; returns the root it opens.
        let ask = |measurement: [u8; 32], salt: [u8; 32], report_salt: [u8; 32]| {
            let reply = StaticSecret::random_from_rng(OsRng);
            let reply_key = PublicKey::from(&reply).to_bytes();
            let data = SealingRequest {
                chain_id: &chain_id,
                reply_key: &reply_key,
                salt: &report_salt,
            }
            .report_data();
            let quote = DevProvider::new_insecure(Keypair::dev("dev-attestation"), measurement)
                .quote(&data)
                .unwrap();
            let request = SealingRootRequest {
                quote,
                reply_key,
                salt,
            };
            gatekeeper
                .release_sealing_root(&request, &policy, 1_767_225_600, &mut OsRng)
                .map(|envelope| {
                    open_sealing_root(chain_id, gatekeeper.identity(), &reply, &envelope).unwrap()
                })
        };
        let root = ask(allowed, [1; 32], [1; 32]).unwrap();
        assert_eq!(
            ask(allowed, [1; 32], [1; 32]).unwrap(),
            root,
            "stable across boots"
        );
        assert_ne!(
            ask(other, [1; 32], [1; 32]).unwrap(),
            root,
            "bound to the measurement"
        );
        assert_ne!(
            ask(allowed, [2; 32], [2; 32]).unwrap(),
            root,
            "bound to the salt"
        );
        // A quote over another salt (a copied quote) or of a measurement off the list is refused.
        assert!(matches!(
            ask(allowed, [2; 32], [1; 32]),
            Err(SealingRootError::Attestation(
                phalanx_attestation::AttestationError::ReportDataMismatch
            ))
        ));
        assert!(ask([7; 32], [1; 32], [1; 32]).is_err());
    }

    #[test]
    fn after_a_rotation_keys_of_the_new_epoch_go_out_and_late_joiners_get_every_epoch() {
        let chain_id = Hash([1; 32]);
        let me = AccountId::from_bytes([2; 32]);
        let (worker, contract, cluster) = (
            AccountId::from_bytes([4; 32]),
            AccountId::from_bytes([5; 32]),
            Hash([6; 32]),
        );
        let master = MasterKey::generate(0, &mut OsRng);
        let epoch_one = master.at_epoch(1).unwrap();
        let gatekeeper = Gatekeeper::new(me, chain_id, master);
        let worker_ecdh = StaticSecret::random_from_rng(OsRng);
        let worker_public = PublicKey::from(&worker_ecdh).to_bytes();
        let record = |event| EventRecord {
            phase: Phase::Transaction(0),
            event,
        };
        let rotation = [
            record(Event::MasterKeyRotated { epoch: 1 }),
            record(Event::ClusterRekeyed {
                cluster,
                epoch: 1,
                workers: vec![worker],
            }),
            record(Event::ContractRekeyed {
                contract,
                cluster,
                epoch: 1,
            }),
        ];
        let calls = gatekeeper.respond(&rotation, 1, |_| Some(worker_public), &mut OsRng);
        let cluster_one = epoch_one.cluster_key(&cluster);
        assert_eq!(
            calls[0],
            Call::PublishClusterKey {
                cluster,
                epoch: 1,
                public_key: cluster_one.public_key()
            }
        );
        let Call::KeyMessage { envelope, .. } = &calls[1] else {
            panic!("{calls:?}")
        };
        let context = EnvelopeContext {
            chain_id,
            contract: worker,
            sender: me,
        };
        let opened = Opener::new(worker_ecdh.clone(), 1)
            .open(&context, envelope)
            .unwrap();
        assert_eq!(opened.as_slice(), cluster_one.expose_secret());
        assert_eq!(
            calls[2],
            Call::PublishContractKey {
                contract,
                epoch: 1,
                public_key: cluster_one.contract_keys(&contract).public_key()
            }
        );
        // Announcements of an epoch already past are left to the later one's.
        assert!(gatekeeper
            .respond(&rotation[1..], 2, |_| Some(worker_public), &mut OsRng)
            .is_empty());
        // A worker added now receives the cluster's key of every epoch, to replay its history.
        let added = [record(Event::AddedToCluster { cluster, worker })];
        let epochs: Vec<u32> = gatekeeper
            .respond(&added, 1, |_| Some(worker_public), &mut OsRng)
            .iter()
            .map(|call| match call {
                Call::KeyMessage { envelope, .. } => envelope.epoch,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(epochs, vec![0, 1]);
    }
}
