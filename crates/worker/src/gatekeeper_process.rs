//! The gatekeeper process: a worker enclave in the gatekeeper role, custodian of the master key.
//!
//! It registers as a gatekeeper (its operator funds its identity, which signs its own
//! transactions). The first gatekeeper of a chain generates the master key inside its enclave,
//! seals it, and declares its public key on chain; a gatekeeper that finds a key declared waits
//! until a holder shares it (after its registration verified, encrypted to its attested ECDH
//! key), checks it against the declared public key and seals it. Holders follow verified blocks
//! and answer each block's events with [`Gatekeeper::respond`]: cluster keys published and sent
//! to members, contract keys published, the master key shared with new gatekeepers. Every holder
//! answers; the chain takes the first answer and refuses duplicates. The synced height is committed
//! to its sealed store after the answers are submitted, so a restart never skips a block.

use crate::chain_view::ChainView;
use crate::follower::Follower;
use crate::gatekeeper::open_master_share;
use crate::node_link::{self, wait_after, Backoff, Setback};
use crate::process::{
    enroll, open_enclave, status_module, RunningWorker, WorkerConfig, WorkerError, WorkerStatus,
};
use crate::store::{Synced, WorkerStore};
use crate::trust::pinned_view;
use crate::Gatekeeper;
use jsonrpsee::server::RpcModule;
use jsonrpsee::types::ErrorObjectOwned;
use parity_scale_codec::{DecodeAll, Encode};
use phalanx_client::NodeClient;
use phalanx_crypto::hierarchy::MasterKey;
use phalanx_crypto::sealing::SealingKey;
use phalanx_crypto::Keypair;
use phalanx_primitives::attestation::{AttestationPolicy, Role, SealingRootRequest};
use phalanx_primitives::{AccountId, Block, Call, Envelope, Event, EventRecord, Phase};
use rand_core::OsRng;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use x25519_dalek::StaticSecret;

const MASTER_KEY_FILE: &str = "master-key.sealed";
const MASTER_KEY_AAD: &[u8] = b"PHALANX_MASTER_KEY_V1";

/// The gatekeeper's store (its synced header and chain view) in the data directory.
const GATEKEEPER_STORE_FILE: &str = "gatekeeper.redb";
/// PHA (in units) the operator gives the gatekeeper identity for its transaction fees.
pub const GATEKEEPER_FUNDING: u128 = 1_000 * phalanx_primitives::amount::UNIT;
/// Blocks to wait for this gatekeeper's declaration of the master key to show in a verified
/// block before sending it again.
pub const DECLARE_AGAIN_AFTER: u64 = 10;

/// Where this gatekeeper stands with the chain's master key. Decided from the sealed key file and
/// the enclave's chain view only: the node is never asked whether a key is declared.
enum Custody {
    /// It holds the chain's master key.
    Holds(Gatekeeper),
    /// Another gatekeeper declared the key; this one waits for a holder to share it.
    Awaiting { declared: [u8; 32] },
    /// It has a sealed key that no verified block declared yet: it declares it once caught up
    /// with the chain, and holds it once a verified block shows the declaration (or, if another
    /// key is declared first, discards it and waits for a share).
    Declaring {
        master: MasterKey,
        /// The height its declaration was last sent at.
        sent_at: Option<u64>,
    },
}

/// Why the sealed master-key file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MasterKeyFileError {
    #[error("reading the sealed master key {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing the sealed master key {path}: {source}")]
    Unwritable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the sealed master key {path} is damaged: {length} bytes, where a sealed 32-byte key takes {expected}")]
    Damaged {
        path: PathBuf,
        length: usize,
        expected: usize,
    },
    #[error("the sealed master key {path} does not open: it was sealed by another enclave (a different build or machine) or altered")]
    WrongEnclave { path: PathBuf },
}

struct MasterKeyFile {
    path: PathBuf,
    sealing: SealingKey,
}

impl MasterKeyFile {
    /// The sealed key, or None if there is no file (a missing file is not an error: a new
    /// gatekeeper has none).
    fn load(&self) -> Result<Option<MasterKey>, MasterKeyFileError> {
        let sealed = match std::fs::read(&self.path) {
            Ok(sealed) => sealed,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(MasterKeyFileError::Unreadable {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        let expected = SealingKey::sealed_len(32);
        if sealed.len() != expected {
            return Err(MasterKeyFileError::Damaged {
                path: self.path.clone(),
                length: sealed.len(),
                expected,
            });
        }
        let bytes = self.sealing.unseal(&sealed, MASTER_KEY_AAD).map_err(|_| {
            MasterKeyFileError::WrongEnclave {
                path: self.path.clone(),
            }
        })?;
        let secret: [u8; 32] =
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| MasterKeyFileError::Damaged {
                    path: self.path.clone(),
                    length: sealed.len(),
                    expected,
                })?;
        Ok(Some(MasterKey::from_bytes(0, secret)))
    }

    /// Seals the key to disk like a checkpoint (temporary file, fsync, rename, directory fsync,
    /// mode 0600), so a crash leaves the old file or the new one.
    fn store(&self, master: &MasterKey) -> Result<(), MasterKeyFileError> {
        let sealed = self
            .sealing
            .seal(master.expose_secret(), MASTER_KEY_AAD, &mut OsRng);
        crate::durable::write_file(&self.path, &sealed)
            .map_err(|(path, source)| MasterKeyFileError::Unwritable { path, source })
    }

    fn discard(&self) -> Result<(), MasterKeyFileError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(MasterKeyFileError::Unwritable {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

/// A second handle on the same key (a `MasterKey` is deliberately not `Clone`).
fn copy_of(master: &MasterKey) -> MasterKey {
    MasterKey::from_bytes(master.epoch(), *master.expose_secret())
}

/// Decides custody at start, from the sealed key and the view (as of the synced block). The key
/// is sealed before it is declared, so a crash between the two loses nothing.
fn establish_custody(
    me: AccountId,
    view: &ChainView,
    file: &MasterKeyFile,
) -> Result<Custody, MasterKeyFileError> {
    let sealed = file.load()?;
    let declared = view.master_key().map(|m| m.public_key);
    Ok(match (sealed, declared) {
        (Some(master), Some(declared)) if master.public_key() == declared => {
            Custody::Holds(Gatekeeper::new(me, view.chain_id(), master))
        }
        (Some(_), Some(declared)) => {
            tracing::warn!("the chain declared another master key; discarding this one");
            file.discard()?;
            Custody::Awaiting { declared }
        }
        (None, Some(declared)) => Custody::Awaiting { declared },
        (Some(master), None) => Custody::Declaring {
            master,
            sent_at: None,
        },
        (None, None) => {
            let master = MasterKey::generate(0, &mut OsRng);
            file.store(&master)?;
            tracing::info!("generated and sealed a new master key");
            Custody::Declaring {
                master,
                sent_at: None,
            }
        }
    })
}

pub async fn start_gatekeeper(config: WorkerConfig) -> Result<RunningWorker, WorkerError> {
    let (enclave, client) = open_enclave(&config).await?;
    let store = WorkerStore::open(
        &config.data_dir.join(GATEKEEPER_STORE_FILE),
        enclave.sealing_key(),
        enclave.tag_key(),
    )?;
    let view = pinned_view(&store, config.chain_id, &client).await?;
    let listener = enroll(
        &config,
        &enclave,
        &client,
        &view,
        Role::Gatekeeper,
        GATEKEEPER_FUNDING,
    )
    .await?;
    let file = MasterKeyFile {
        path: config.data_dir.join(MASTER_KEY_FILE),
        sealing: enclave.sealing_key(),
    };
    let custody = establish_custody(enclave.identity.account_id(), &view, &file)?;
    let follower = Follower::new(client, &view)?;
    let status = Arc::new(Mutex::new(WorkerStatus {
        identity: enclave.identity.account_id(),
        ecdh_public: hex::encode(enclave.ecdh_public()),
        synced_height: follower.last().height,
        synced_hash: follower.last().hash(),
        clusters: vec![],
        contracts: vec![],
        holds_master_key: matches!(custody, Custody::Holds(_)),
        last_checkpoint: None,
        restored_from: None,
        commands_executed: 0,
        pending_outputs: 0,
        refused: None,
        node_unreachable_since_ms: None,
        node_error: None,
    }));
    let custody = Arc::new(Mutex::new(custody));
    let policy = Arc::new(Mutex::new(SealingPolicy::of(&view)));
    let mut module = status_module(config.rpc_addr, status.clone())?;
    let sealing = SealingService {
        custody: custody.clone(),
        policy: policy.clone(),
    };
    module
        .merge(sealing_module(config.rpc_addr, sealing)?)
        .map_err(|e| WorkerError::Rpc(config.rpc_addr, e.to_string()))?;
    let (rpc_addr, server) = listener.serve(module);
    let identity = enclave.identity.account_id();
    let task = tokio::spawn(answer_loop(
        follower,
        view,
        custody,
        policy,
        GatekeeperEnclave {
            identity: enclave.identity.clone(),
            ecdh: enclave.ecdh.clone(),
            file,
        },
        store,
        status.clone(),
    ));
    let sources = crate::metrics::MetricsSources {
        status: status.clone(),
        since_block: None,
        store: config.data_dir.join(GATEKEEPER_STORE_FILE),
        queries: None,
    };
    let (metrics_addr, metrics_task) = crate::metrics::start(config.metrics_addr, sources).await?;
    Ok(RunningWorker {
        rpc_addr,
        identity,
        metrics_addr,
        metrics_task,
        status,
        server,
        task,
    })
}

/// What the answer loop needs of the enclave.
struct GatekeeperEnclave {
    identity: Keypair,
    ecdh: StaticSecret,
    file: MasterKeyFile,
}

/// A share of the master key sent to this gatekeeper in `block` (and applied by the chain).
fn share_for_me<'b>(
    me: &AccountId,
    view: &ChainView,
    block: &'b Block,
    events: &[EventRecord],
) -> Option<(AccountId, &'b Envelope)> {
    let index = events
        .iter()
        .find_map(|record| match (&record.event, record.phase) {
            (Event::MasterKeyShared { to, .. }, Phase::Transaction(i)) if to == me => Some(i),
            _ => None,
        })?;
    let signed = block.transactions.get(index as usize)?;
    match &signed.transaction.call {
        Call::ShareMasterKey {
            recipient,
            envelope,
        } if recipient == me && view.is_holder(&signed.transaction.signer) => {
            Some((signed.transaction.signer, envelope))
        }
        _ => None,
    }
}

/// JSON-RPC error code of a refused sealing-root request.
pub const SEALING_REFUSED: i32 = 2100;

/// A gatekeeper mixes fresh randomness into the challenge seed after every this many blocks
/// (every holder sends it; the chain takes the first in a block and refuses the rest).
pub const RANDOMNESS_EVERY: u64 = 10;

/// The policy and time a sealing-root request is judged by: the attestation policy of the
/// enclave's view, at the later of the newest verified block's time and the host's clock (the
/// host may set its clock back to revive expired collateral, but cannot move a block's time).
struct SealingPolicy {
    policy: AttestationPolicy,
    block_time_secs: u64,
}

impl SealingPolicy {
    fn of(view: &ChainView) -> Self {
        SealingPolicy {
            policy: view.policy().clone(),
            block_time_secs: view.head().timestamp_ms / 1000,
        }
    }

    fn now_secs(&self) -> u64 {
        let host = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        host.max(self.block_time_secs)
    }
}

/// What `gatekeeper_sealingRoot` needs.
struct SealingService {
    custody: Arc<Mutex<Custody>>,
    policy: Arc<Mutex<SealingPolicy>>,
}

/// The `gatekeeper_sealingRoot` method: 0x-hex SCALE [`SealingRootRequest`] -> 0x-hex SCALE
/// envelope of the sealing root, sealed to the request's reply key. The quote is checked against
/// the policy of this enclave's chain view (see [`SealingPolicy`]), never one the node reports.
fn sealing_module(
    addr: std::net::SocketAddr,
    service: SealingService,
) -> Result<RpcModule<SealingService>, WorkerError> {
    let mut module = RpcModule::new(service);
    module
        .register_method("gatekeeper_sealingRoot", |params, service, _| {
            let refused =
                |message: String| ErrorObjectOwned::owned(SEALING_REFUSED, message, None::<()>);
            let request: String = params.one()?;
            let bytes = request
                .strip_prefix("0x")
                .and_then(|h| hex::decode(h).ok())
                .ok_or_else(|| refused("the request is not 0x-hex".into()))?;
            let request = SealingRootRequest::decode_all(&mut &bytes[..])
                .map_err(|e| refused(format!("malformed sealing-root request: {e}")))?;
            let (policy, now_secs) = {
                let sealing = service.policy.lock().unwrap_or_else(|p| p.into_inner());
                (sealing.policy.clone(), sealing.now_secs())
            };
            let custody = service.custody.lock().unwrap_or_else(|p| p.into_inner());
            let Custody::Holds(gatekeeper) = &*custody else {
                return Err(refused(
                    "this gatekeeper does not hold the master key yet".into(),
                ));
            };
            let envelope = gatekeeper
                .release_sealing_root(&request, &policy, now_secs, &mut OsRng)
                .map_err(|e| refused(e.to_string()))?;
            Ok::<_, ErrorObjectOwned>(format!("0x{}", hex::encode(envelope.encode())))
        })
        .map_err(|e| WorkerError::Rpc(addr, e.to_string()))?;
    Ok(module)
}

/// Follows verified blocks, advancing the view and answering each block as custody allows. The
/// node failing or lying stops nothing: the block is refused, the state kept, and asked again.
async fn answer_loop(
    mut follower: Follower,
    mut view: ChainView,
    custody: Arc<Mutex<Custody>>,
    policy: Arc<Mutex<SealingPolicy>>,
    enclave: GatekeeperEnclave,
    store: WorkerStore,
    status: Arc<Mutex<WorkerStatus>>,
) -> Result<(), WorkerError> {
    let me = enclave.identity.account_id();
    let mut backoff = Backoff::default();
    loop {
        let (block, events) = match follower.next().await {
            Ok(Some(next)) => next,
            Ok(None) => {
                node_link::reachable(
                    &mut status.lock().unwrap_or_else(|p| p.into_inner()),
                    &mut backoff,
                );
                // Caught up with the chain: a key no verified block declared is declared now.
                declare_if_due(&follower, &view, &custody, &enclave.identity).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(error) => {
                wait_after(&status, &mut backoff, Setback::of_follow(&error)).await;
                continue;
            }
        };
        let view_changed = view.apply(&block, &events);
        {
            let mut sealing = policy.lock().unwrap_or_else(|p| p.into_inner());
            if view_changed {
                sealing.policy = view.policy().clone();
            }
            sealing.block_time_secs = view.head().timestamp_ms / 1000;
        }
        let (calls, holds) = {
            let mut custody = custody.lock().unwrap_or_else(|p| p.into_inner());
            advance_custody(&mut custody, &me, &enclave, &view, &block, &events)?;
            match &*custody {
                Custody::Holds(gatekeeper) => (answers(gatekeeper, &view, &block, &events), true),
                _ => (Vec::new(), false),
            }
        };
        if let Err(error) = submit_answers(follower.client(), &enclave.identity, calls).await {
            // Every holder answers; a lost answer is another holder's, or the next start's.
            tracing::warn!(height = block.header.height, "answers not sent: {error}");
        }
        let synced = Synced {
            header: &block.header,
            executor_snapshot: None,
            view: view_changed.then_some(&view),
        };
        store.commit_block(
            store.begin_block()?,
            |_| None,
            &Default::default(),
            synced,
            &mut OsRng,
        )?;
        let mut status = status.lock().unwrap_or_else(|p| p.into_inner());
        status.synced_height = block.header.height;
        status.synced_hash = block.hash();
        status.holds_master_key = holds;
        node_link::recovered(&mut status, &mut backoff);
    }
}

/// Moves custody on with a verified block: a declaration it shows decides a declaring
/// gatekeeper; a share to this one, from a holder, opened and checked against the declared key,
/// makes a waiting one a holder.
fn advance_custody(
    custody: &mut Custody,
    me: &AccountId,
    enclave: &GatekeeperEnclave,
    view: &ChainView,
    block: &Block,
    events: &[EventRecord],
) -> Result<(), MasterKeyFileError> {
    match custody {
        Custody::Declaring { master, .. } => {
            let Some(declared) = view.master_key().map(|m| m.public_key) else {
                return Ok(());
            };
            if declared == master.public_key() {
                tracing::info!("the chain declared this gatekeeper's master key");
                *custody = Custody::Holds(Gatekeeper::new(*me, view.chain_id(), copy_of(master)));
            } else {
                tracing::info!("another gatekeeper declared the master key first");
                enclave.file.discard()?;
                *custody = Custody::Awaiting { declared };
            }
        }
        Custody::Awaiting { declared } => {
            let Some((sender, envelope)) = share_for_me(me, view, block, events) else {
                return Ok(());
            };
            let opened = open_master_share(
                view.chain_id(),
                *me,
                &enclave.ecdh,
                sender,
                envelope,
                declared,
            );
            match opened {
                Ok(master) => {
                    enclave.file.store(&master)?;
                    tracing::info!(%sender, "received the master key");
                    *custody = Custody::Holds(Gatekeeper::new(*me, view.chain_id(), master));
                }
                Err(error) => tracing::error!(%sender, "a master key share was refused: {error}"),
            }
        }
        Custody::Holds(_) => {}
    }
    Ok(())
}

/// A holder's answers to a verified block: keys for new members, clusters and contracts, the
/// master key for new gatekeepers, all encrypted only to ECDH keys this enclave's view verified;
/// and challenge randomness every [`RANDOMNESS_EVERY`] blocks.
fn answers(
    gatekeeper: &Gatekeeper,
    view: &ChainView,
    block: &Block,
    events: &[EventRecord],
) -> Vec<Call> {
    let attested = |identity: &AccountId| view.enclave(identity).map(|e| e.ecdh_public());
    let mut calls = gatekeeper.respond(events, view.epoch(), attested, &mut OsRng);
    let height = block.header.height;
    if height.is_multiple_of(RANDOMNESS_EVERY) {
        calls.push(gatekeeper.randomness(height));
    }
    calls
}

/// Sends a declaring gatekeeper's declaration, once it has caught up with the chain (and again
/// if no verified block showed it after [`DECLARE_AGAIN_AFTER`] blocks).
async fn declare_if_due(
    follower: &Follower,
    view: &ChainView,
    custody: &Mutex<Custody>,
    identity: &Keypair,
) {
    let head = view.head().height;
    let call = {
        let mut custody = custody.lock().unwrap_or_else(|p| p.into_inner());
        let Custody::Declaring { master, sent_at } = &mut *custody else {
            return;
        };
        if sent_at.is_some_and(|at| head < at + DECLARE_AGAIN_AFTER) {
            return;
        }
        *sent_at = Some(head);
        Gatekeeper::new(identity.account_id(), view.chain_id(), copy_of(master)).declaration()
    };
    match submit_answers(follower.client(), identity, vec![call]).await {
        Ok(()) => tracing::info!("declared the master key; waiting for a block to show it"),
        Err(error) => tracing::warn!("declaring the master key failed: {error}"),
    }
}

/// Signs and submits a block's answers. Another holder may have answered first: the chain refuses
/// the duplicate, which is expected and only logged.
async fn submit_answers(
    client: &NodeClient,
    identity: &Keypair,
    calls: Vec<Call>,
) -> Result<(), WorkerError> {
    if calls.is_empty() {
        return Ok(());
    }
    let nonce = client.next_nonce(identity.account_id()).await?;
    let txs: Vec<_> = calls
        .into_iter()
        .zip(nonce..)
        .map(|(call, n)| client.sign(identity, n, call))
        .collect();
    for outcome in client.submit_batch(&txs).await? {
        if let Some(error) = outcome.error {
            tracing::info!(kind = %error.kind, "gatekeeper transaction refused: {}", error.message);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &std::path::Path, key: u8) -> MasterKeyFile {
        MasterKeyFile {
            path: dir.join(MASTER_KEY_FILE),
            sealing: SealingKey::from_bytes([key; 32]),
        }
    }

    #[test]
    fn the_master_key_file_says_what_is_wrong_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let ours = file(dir.path(), 1);
        assert!(ours.load().unwrap().is_none(), "no file: a new gatekeeper");
        let master = MasterKey::generate(0, &mut OsRng);
        ours.store(&master).unwrap();
        assert_eq!(
            ours.load().unwrap().unwrap().public_key(),
            master.public_key()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&ours.path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Another enclave's sealing key.
        assert!(matches!(
            file(dir.path(), 2).load(),
            Err(MasterKeyFileError::WrongEnclave { .. })
        ));
        // Truncated on disk.
        let sealed = std::fs::read(&ours.path).unwrap();
        std::fs::write(&ours.path, &sealed[..sealed.len() - 1]).unwrap();
        assert!(matches!(
            ours.load(),
            Err(MasterKeyFileError::Damaged { length, .. }) if length == sealed.len() - 1
        ));
        ours.discard().unwrap();
        assert!(ours.load().unwrap().is_none());
    }
}
