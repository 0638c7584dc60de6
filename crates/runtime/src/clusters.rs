//! Clusters and their keys: which registered workers run which contracts, the cluster public
//! keys gatekeepers publish, and the key messages that carry cluster keys to workers.
//!
//! State layout: `clusters/info/` ++ cluster id -> SCALE(ClusterInfo); `clusters/all` ->
//! `SCALE(Vec<cluster id>)` in creation order; `clusters/delivered/` ++ cluster id ++ worker ++
//! epoch (u32le) -> [] once a key message went to that worker; `keys/epoch` -> u32le, the
//! current key epoch (0 from genesis, one more at each rotation).
//!
//! Rotation (sudo today, governance later) only moves the epoch on and announces, per cluster
//! and contract, that keys of the new epoch are due: gatekeepers derive them and publish them,
//! and send the new cluster keys to the clusters' members at that moment. A worker removed
//! before the rotation is no member, so it receives nothing of the new epoch.

use crate::error::{Cause, Refusal};
use crate::master_key::require_holder;
use crate::registry;
use crate::state::decode_entry;
use crate::{StateError, StateOverlay, StateReader, TxError};
use parity_scale_codec::{Decode, Encode};
use phalanx_primitives::attestation::Role;
use phalanx_primitives::{AccountId, Envelope, Event, Hash};

const CLUSTER_PREFIX: &[u8] = b"clusters/info/";
const EPOCH_KEY: &[u8] = b"keys/epoch";
const ALL_CLUSTERS: &[u8] = b"clusters/all";
const DELIVERED_PREFIX: &[u8] = b"clusters/delivered/";
/// Most workers one cluster may have.
pub const MAX_CLUSTER_WORKERS: usize = 64;

/// Why a cluster or key call is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    #[error("no cluster {0}")]
    NoCluster(Hash),
    #[error("cluster {0} exists")]
    Exists(Hash),
    #[error("a cluster has at most {MAX_CLUSTER_WORKERS} workers")]
    TooManyWorkers,
    #[error("a worker is listed twice")]
    ListedTwice,
    #[error("{worker} is already in cluster {cluster}")]
    AlreadyMember { worker: AccountId, cluster: Hash },
    #[error("{account} is not a registered {}", role_name(*role))]
    NotInRole { account: AccountId, role: Role },
    #[error("{0} is a gatekeeper enclave not (or no longer) elected")]
    NotElected(AccountId),
    #[error("no master key is declared yet: there is nothing to rotate")]
    NothingToRotate,
    #[error("key epoch {epoch} is not the current epoch {current}")]
    NotCurrentEpoch { epoch: u32, current: u32 },
    #[error("key epoch {epoch} is after the current epoch {current}")]
    FutureEpoch { epoch: u32, current: u32 },
    #[error("{owner} already has a key for epoch {epoch}")]
    KeyPublished { owner: String, epoch: u32 },
    #[error("{recipient} is not a worker of cluster {cluster}; it gets no key")]
    NotMember { recipient: AccountId, cluster: Hash },
    #[error("{recipient} already received the key of cluster {cluster} for epoch {epoch}")]
    KeyDelivered {
        recipient: AccountId,
        cluster: Hash,
        epoch: u32,
    },
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Worker => "worker",
        Role::Gatekeeper => "gatekeeper",
    }
}

impl Cause for ClusterError {
    fn cause(&self) -> &'static str {
        match self {
            ClusterError::NoCluster(_) => "no_cluster",
            ClusterError::Exists(_) => "cluster_exists",
            ClusterError::TooManyWorkers => "too_many_cluster_workers",
            ClusterError::ListedTwice => "worker_listed_twice",
            ClusterError::AlreadyMember { .. } => "already_in_cluster",
            ClusterError::NotInRole { .. } => "not_in_role",
            ClusterError::NotElected(_) => "gatekeeper_not_elected",
            ClusterError::NothingToRotate => "nothing_to_rotate",
            ClusterError::NotCurrentEpoch { .. } => "not_current_epoch",
            ClusterError::FutureEpoch { .. } => "future_epoch",
            ClusterError::KeyPublished { .. } => "key_already_published",
            ClusterError::NotMember { .. } => "not_a_cluster_member",
            ClusterError::KeyDelivered { .. } => "key_already_delivered",
        }
    }

    fn refusal(&self) -> Refusal {
        match self {
            ClusterError::NotInRole { .. }
            | ClusterError::NotElected(_)
            | ClusterError::NotMember { .. } => Refusal::NotAuthorized,
            _ => Refusal::InvalidCall,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ClusterInfo {
    pub workers: Vec<AccountId>,
    /// The cluster's x25519 public key and its epoch, once a gatekeeper published it.
    pub public_key: Option<([u8; 32], u32)>,
}

pub fn cluster_key(cluster: &Hash) -> Vec<u8> {
    [CLUSTER_PREFIX, cluster.0.as_slice()].concat()
}

/// A cluster from committed state.
pub fn cluster(state: &impl StateReader, id: &Hash) -> Result<Option<ClusterInfo>, StateError> {
    decode_entry(state.get(&cluster_key(id))?, "cluster")
}

pub(crate) fn read_cluster(
    overlay: &StateOverlay<impl StateReader>,
    id: &Hash,
) -> Result<ClusterInfo, TxError> {
    decode_entry(overlay.get(&cluster_key(id))?, "cluster")?
        .ok_or(ClusterError::NoCluster(*id).into())
}

fn decode_epoch(bytes: Option<Vec<u8>>) -> Result<u32, StateError> {
    match bytes {
        None => Ok(0),
        Some(bytes) => Ok(u32::from_le_bytes(
            bytes
                .try_into()
                .map_err(|_| StateError("corrupt key epoch".into()))?,
        )),
    }
}

/// The current key epoch, from committed state.
pub fn key_epoch(state: &impl StateReader) -> Result<u32, StateError> {
    decode_epoch(state.get(EPOCH_KEY)?)
}

/// The current key epoch.
pub(crate) fn current_epoch(overlay: &StateOverlay<impl StateReader>) -> Result<u32, TxError> {
    Ok(decode_epoch(overlay.get(EPOCH_KEY)?)?)
}

fn all_clusters(overlay: &StateOverlay<impl StateReader>) -> Result<Vec<Hash>, TxError> {
    Ok(decode_entry(overlay.get(ALL_CLUSTERS)?, "cluster list")?.unwrap_or_default())
}

/// Starts the next key epoch and announces the keys it needs: per cluster (with its members)
/// and per contract.
pub(crate) fn rotate(overlay: &mut StateOverlay<impl StateReader>) -> Result<Vec<Event>, TxError> {
    if crate::master_key::read_info(overlay)?.is_none() {
        return Err(ClusterError::NothingToRotate.into());
    }
    let epoch = current_epoch(overlay)?
        .checked_add(1)
        .ok_or_else(|| StateError("key epoch overflows".into()))?;
    overlay.set(EPOCH_KEY.to_vec(), epoch.to_le_bytes().to_vec());
    let mut events = vec![Event::MasterKeyRotated { epoch }];
    for cluster in all_clusters(overlay)? {
        let info = read_cluster(overlay, &cluster)?;
        events.push(Event::ClusterRekeyed {
            cluster,
            epoch,
            workers: info.workers,
        });
        for contract in crate::contracts::contracts_of(overlay, &cluster)? {
            events.push(Event::ContractRekeyed {
                contract,
                cluster,
                epoch,
            });
        }
    }
    Ok(events)
}

/// Deregisters a worker and takes it out of every cluster.
pub(crate) fn remove_worker(
    overlay: &mut StateOverlay<impl StateReader>,
    worker: AccountId,
) -> Result<Event, TxError> {
    require_role(overlay, &worker, Role::Worker)?;
    registry::remove(overlay, &worker)?;
    let mut left = Vec::new();
    for cluster in all_clusters(overlay)? {
        let mut info = read_cluster(overlay, &cluster)?;
        if let Some(at) = info.workers.iter().position(|w| *w == worker) {
            info.workers.remove(at);
            overlay.set(cluster_key(&cluster), info.encode());
            left.push(cluster);
        }
    }
    Ok(Event::WorkerRemoved {
        worker,
        clusters: left,
    })
}

fn require_role(
    overlay: &StateOverlay<impl StateReader>,
    account: &AccountId,
    role: Role,
) -> Result<(), TxError> {
    match registry::enclave_in_role(overlay, account, role)? {
        Some(_) => Ok(()),
        None => Err(ClusterError::NotInRole {
            account: *account,
            role,
        }
        .into()),
    }
}

pub(crate) fn require_worker(
    overlay: &StateOverlay<impl StateReader>,
    account: &AccountId,
) -> Result<(), TxError> {
    require_role(overlay, account, Role::Worker)
}

/// Fails unless `account` is a registered gatekeeper enclave that was elected.
pub(crate) fn require_gatekeeper(
    overlay: &StateOverlay<impl StateReader>,
    account: &AccountId,
) -> Result<(), TxError> {
    require_role(overlay, account, Role::Gatekeeper)?;
    if !registry::gatekeepers(overlay)?.contains(account) {
        return Err(ClusterError::NotElected(*account).into());
    }
    Ok(())
}

pub(crate) fn create(
    overlay: &mut StateOverlay<impl StateReader>,
    id: Hash,
    workers: Vec<AccountId>,
) -> Result<Event, TxError> {
    if overlay.get(&cluster_key(&id))?.is_some() {
        return Err(ClusterError::Exists(id).into());
    }
    if workers.len() > MAX_CLUSTER_WORKERS {
        return Err(ClusterError::TooManyWorkers.into());
    }
    let mut unique = workers.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != workers.len() {
        return Err(ClusterError::ListedTwice.into());
    }
    for worker in &workers {
        require_role(overlay, worker, Role::Worker)?;
    }
    let info = ClusterInfo {
        workers: workers.clone(),
        public_key: None,
    };
    overlay.set(cluster_key(&id), info.encode());
    let mut all = all_clusters(overlay)?;
    all.push(id);
    overlay.set(ALL_CLUSTERS.to_vec(), all.encode());
    Ok(Event::ClusterCreated {
        cluster: id,
        workers,
    })
}

pub(crate) fn add_worker(
    overlay: &mut StateOverlay<impl StateReader>,
    id: Hash,
    worker: AccountId,
) -> Result<Event, TxError> {
    let mut info = read_cluster(overlay, &id)?;
    require_role(overlay, &worker, Role::Worker)?;
    if info.workers.contains(&worker) {
        return Err(ClusterError::AlreadyMember {
            worker,
            cluster: id,
        }
        .into());
    }
    if info.workers.len() >= MAX_CLUSTER_WORKERS {
        return Err(ClusterError::TooManyWorkers.into());
    }
    info.workers.push(worker);
    overlay.set(cluster_key(&id), info.encode());
    Ok(Event::AddedToCluster {
        cluster: id,
        worker,
    })
}

/// Puts a gatekeeper-published key into `slot`: only for the current epoch, and only once.
pub(crate) fn accept_key(
    overlay: &StateOverlay<impl StateReader>,
    slot: &mut Option<([u8; 32], u32)>,
    owner: &str,
    epoch: u32,
    public_key: [u8; 32],
) -> Result<(), TxError> {
    let current = current_epoch(overlay)?;
    if epoch != current {
        return Err(ClusterError::NotCurrentEpoch { epoch, current }.into());
    }
    if matches!(slot, Some((_, e)) if *e == epoch) {
        return Err(ClusterError::KeyPublished {
            owner: owner.to_string(),
            epoch,
        }
        .into());
    }
    *slot = Some((public_key, epoch));
    Ok(())
}

pub(crate) fn publish_key(
    overlay: &mut StateOverlay<impl StateReader>,
    signer: &AccountId,
    id: Hash,
    epoch: u32,
    public_key: [u8; 32],
) -> Result<Event, TxError> {
    require_holder(overlay, signer)?;
    let mut info = read_cluster(overlay, &id)?;
    accept_key(
        overlay,
        &mut info.public_key,
        &format!("cluster {id}"),
        epoch,
        public_key,
    )?;
    overlay.set(cluster_key(&id), info.encode());
    Ok(Event::ClusterKeyPublished {
        cluster: id,
        epoch,
        public_key,
    })
}

/// Checks a key message; its content stays in the block, where the recipient reads it. One per
/// worker, cluster and epoch: when several gatekeepers answer the same event, the first wins.
pub(crate) fn key_message(
    overlay: &mut StateOverlay<impl StateReader>,
    signer: &AccountId,
    recipient: AccountId,
    id: Hash,
    envelope: &Envelope,
) -> Result<Event, TxError> {
    require_holder(overlay, signer)?;
    let info = read_cluster(overlay, &id)?;
    if !info.workers.contains(&recipient) {
        return Err(ClusterError::NotMember {
            recipient,
            cluster: id,
        }
        .into());
    }
    // Keys of earlier epochs too: a worker joining late needs them to replay the history.
    let current = current_epoch(overlay)?;
    if envelope.epoch > current {
        return Err(ClusterError::FutureEpoch {
            epoch: envelope.epoch,
            current,
        }
        .into());
    }
    let delivered = [
        DELIVERED_PREFIX,
        id.0.as_slice(),
        recipient.as_bytes(),
        &envelope.epoch.to_le_bytes(),
    ]
    .concat();
    if overlay.get(&delivered)?.is_some() {
        return Err(ClusterError::KeyDelivered {
            recipient,
            cluster: id,
            epoch: envelope.epoch,
        }
        .into());
    }
    overlay.set(delivered, Vec::new());
    Ok(Event::KeyMessageSent {
        recipient,
        cluster: id,
        epoch: envelope.epoch,
    })
}
