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

use crate::follower::Follower;
use crate::gatekeeper::open_master_share;
use crate::process::{
    enroll, status_module, RunningWorker, WorkerConfig, WorkerError, WorkerStatus,
};
use crate::store::WorkerStore;
use crate::Gatekeeper;
use jsonrpsee::server::RpcModule;
use jsonrpsee::types::ErrorObjectOwned;
use parity_scale_codec::{DecodeAll, Encode};
use phalanx_client::api::NodeApiClient;
use phalanx_client::{ClientError, NodeClient, DEFAULT_INCLUSION_TIMEOUT};
use phalanx_crypto::hierarchy::MasterKey;
use phalanx_crypto::sealing::SealingKey;
use phalanx_crypto::Keypair;
use phalanx_primitives::attestation::{Role, SealingRootRequest};
use phalanx_primitives::{AccountId, Block, Call, Envelope, Event, EventRecord, Phase};
use rand_core::OsRng;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use x25519_dalek::StaticSecret;

const MASTER_KEY_FILE: &str = "master-key.sealed";
const MASTER_KEY_AAD: &[u8] = b"PHALANX_MASTER_KEY_V1";
/// PHA (in units) the operator gives the gatekeeper identity for its transaction fees.
pub const GATEKEEPER_FUNDING: u128 = 1_000 * phalanx_primitives::amount::UNIT;

/// Where this gatekeeper stands with the chain's master key.
enum Custody {
    /// It holds the chain's master key.
    Holds(Gatekeeper),
    /// Another gatekeeper declared the key; this one waits for a holder to share it.
    Awaiting { declared: [u8; 32] },
}

struct MasterKeyFile {
    path: std::path::PathBuf,
    sealing: SealingKey,
}

impl MasterKeyFile {
    fn unsealable(&self) -> WorkerError {
        WorkerError::Enclave(crate::enclave::EnclaveError::Unsealable(self.path.clone()))
    }

    fn load(&self) -> Result<Option<MasterKey>, WorkerError> {
        match std::fs::read(&self.path) {
            Ok(sealed) => {
                let bytes = self
                    .sealing
                    .unseal(&sealed, MASTER_KEY_AAD)
                    .map_err(|_| self.unsealable())?;
                let secret: [u8; 32] =
                    bytes.as_slice().try_into().map_err(|_| self.unsealable())?;
                Ok(Some(MasterKey::from_bytes(0, secret)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(_) => Err(self.unsealable()),
        }
    }

    /// Seals the key to disk (write to a temporary file, then rename, so a crash leaves the old
    /// file or the new one).
    fn store(&self, master: &MasterKey) -> Result<(), WorkerError> {
        let sealed = self
            .sealing
            .seal(master.expose_secret(), MASTER_KEY_AAD, &mut OsRng);
        let temporary = self.path.with_extension("tmp");
        std::fs::write(&temporary, sealed).map_err(|_| self.unsealable())?;
        std::fs::rename(&temporary, &self.path).map_err(|_| self.unsealable())
    }

    fn discard(&self) -> Result<(), WorkerError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(_) => Err(self.unsealable()),
        }
    }
}

/// The master key's public key as declared on chain, if any.
async fn declared_key(client: &NodeClient) -> Result<Option<[u8; 32]>, WorkerError> {
    let view = client.rpc().master_key().await.map_err(ClientError::from)?;
    Ok(view.and_then(|v| v.public_key_bytes()))
}

/// Decides custody at start. The key is sealed before it is declared, so a crash between the two
/// loses nothing; a gatekeeper whose sealed key is not the one the chain declared (it lost the
/// race to declare) discards it and waits for a share.
async fn establish_custody(
    client: &NodeClient,
    identity: &Keypair,
    file: &MasterKeyFile,
) -> Result<Custody, WorkerError> {
    let chain_id = client.info().chain_id;
    let holds = |master| Custody::Holds(Gatekeeper::new(identity.account_id(), chain_id, master));
    let sealed = file.load()?;
    match (sealed, declared_key(client).await?) {
        (Some(master), Some(declared)) if master.public_key() == declared => Ok(holds(master)),
        (Some(_), Some(declared)) => {
            tracing::warn!("the chain declared another master key; discarding this one");
            file.discard()?;
            Ok(Custody::Awaiting { declared })
        }
        (None, Some(declared)) => Ok(Custody::Awaiting { declared }),
        (sealed, None) => {
            let master = match sealed {
                Some(master) => master,
                None => {
                    let master = MasterKey::generate(0, &mut OsRng);
                    file.store(&master)?;
                    tracing::info!("generated and sealed a new master key");
                    master
                }
            };
            let gatekeeper = Gatekeeper::new(identity.account_id(), chain_id, master);
            let nonce = client.next_nonce(identity.account_id()).await?;
            let tx = client.sign(identity, nonce, gatekeeper.declaration());
            match client.submit(&tx).await {
                Ok(hash) => {
                    client
                        .wait_for_inclusion(hash, DEFAULT_INCLUSION_TIMEOUT)
                        .await?;
                }
                Err(error) => tracing::info!("declaring the master key was refused: {error}"),
            }
            match declared_key(client).await? {
                Some(declared) if declared == gatekeeper.master_public_key() => {
                    tracing::info!("declared the chain's master key");
                    Ok(Custody::Holds(gatekeeper))
                }
                Some(declared) => {
                    tracing::info!("another gatekeeper declared the master key first");
                    file.discard()?;
                    Ok(Custody::Awaiting { declared })
                }
                None => Err(WorkerError::MasterKey(
                    "the chain recorded no master key after this gatekeeper declared one".into(),
                )),
            }
        }
    }
}

pub async fn start_gatekeeper(config: WorkerConfig) -> Result<RunningWorker, WorkerError> {
    let (enclave, client, listener) = enroll(&config, Role::Gatekeeper, GATEKEEPER_FUNDING).await?;
    let chain_id = client.info().chain_id;
    let file = MasterKeyFile {
        path: config.data_dir.join(MASTER_KEY_FILE),
        sealing: enclave.sealing_key(),
    };
    let custody = establish_custody(&client, &enclave.identity, &file).await?;
    let store = WorkerStore::open(
        &config.data_dir.join("gatekeeper.redb"),
        enclave.sealing_key(),
        enclave.tag_key(),
    )?;
    let follower = Follower::new(client, chain_id, store.synced()?).await?;
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
    }));
    let custody = Arc::new(Mutex::new(custody));
    let mut module = status_module(config.rpc_addr, status.clone())?;
    let sealing = SealingService {
        custody: custody.clone(),
        node: NodeClient::connect(&config.node_url).await?,
    };
    module
        .merge(sealing_module(config.rpc_addr, sealing)?)
        .map_err(|e| WorkerError::Rpc(config.rpc_addr, e.to_string()))?;
    let (rpc_addr, server) = listener.serve(module);
    let identity = enclave.identity.account_id();
    let task = tokio::spawn(answer_loop(
        follower,
        custody,
        GatekeeperEnclave {
            identity: enclave.identity.clone(),
            ecdh: enclave.ecdh.clone(),
            file,
        },
        store,
        status.clone(),
    ));
    Ok(RunningWorker {
        rpc_addr,
        identity,
        status,
        server,
        task,
    })
}

/// The registered ECDH keys of the enclaves a block's events concern: new cluster members and
/// newly registered gatekeepers.
/// The chain's key epoch now.
async fn current_epoch(client: &NodeClient) -> Result<u32, WorkerError> {
    let view = client.rpc().master_key().await.map_err(ClientError::from)?;
    Ok(view.map_or(0, |v| v.current_epoch))
}

async fn enclave_keys(
    client: &NodeClient,
    events: &[EventRecord],
) -> Result<HashMap<AccountId, [u8; 32]>, WorkerError> {
    let mut keys = HashMap::new();
    let members = events.iter().flat_map(|record| match &record.event {
        Event::ClusterCreated { workers, .. } | Event::ClusterRekeyed { workers, .. } => {
            workers.clone()
        }
        Event::AddedToCluster { worker, .. } => vec![*worker],
        Event::GatekeeperElected { identity } => vec![*identity],
        _ => vec![],
    });
    for member in members {
        if let Some(info) = client
            .rpc()
            .worker(member)
            .await
            .map_err(ClientError::from)?
        {
            if let Some(key) = hex::decode(&info.ecdh_public)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
            {
                keys.insert(member, key);
            }
        }
    }
    Ok(keys)
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
        } if recipient == me => Some((signed.transaction.signer, envelope)),
        _ => None,
    }
}

/// JSON-RPC error code of a refused sealing-root request.
pub const SEALING_REFUSED: i32 = 2100;

/// A gatekeeper mixes fresh randomness into the challenge seed after every this many blocks
/// (every holder sends it; the chain takes the first in a block and refuses the rest).
pub const RANDOMNESS_EVERY: u64 = 10;

/// What `gatekeeper_sealingRoot` needs.
struct SealingService {
    custody: Arc<Mutex<Custody>>,
    node: NodeClient,
}

/// The `gatekeeper_sealingRoot` method: 0x-hex SCALE [`SealingRootRequest`] -> 0x-hex SCALE
/// envelope of the sealing root, sealed to the request's reply key. The quote is checked against
/// the chain's current policy at the gatekeeper's clock.
fn sealing_module(
    addr: std::net::SocketAddr,
    service: SealingService,
) -> Result<RpcModule<SealingService>, WorkerError> {
    let mut module = RpcModule::new(service);
    module
        .register_async_method("gatekeeper_sealingRoot", |params, service, _| async move {
            let refused =
                |message: String| ErrorObjectOwned::owned(SEALING_REFUSED, message, None::<()>);
            let request: String = params.one()?;
            let bytes = request
                .strip_prefix("0x")
                .and_then(|h| hex::decode(h).ok())
                .ok_or_else(|| refused("the request is not 0x-hex".into()))?;
            let request = SealingRootRequest::decode_all(&mut &bytes[..])
                .map_err(|e| refused(format!("malformed sealing-root request: {e}")))?;
            let policy = service
                .node
                .rpc()
                .attestation_policy()
                .await
                .map_err(|e| refused(format!("cannot read the chain's policy: {e}")))?;
            let now_secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
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

async fn answer_loop(
    mut follower: Follower,
    custody: Arc<Mutex<Custody>>,
    enclave: GatekeeperEnclave,
    store: WorkerStore,
    status: Arc<Mutex<WorkerStatus>>,
) -> Result<(), WorkerError> {
    let me = enclave.identity.account_id();
    let chain_id = follower.client().info().chain_id;
    loop {
        let Some((block, events)) = follower.next().await? else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let awaiting = match &*custody.lock().unwrap_or_else(|p| p.into_inner()) {
            Custody::Awaiting { declared } => Some(*declared),
            Custody::Holds(_) => None,
        };
        match awaiting {
            Some(declared) => {
                if let Some((sender, envelope)) = share_for_me(&me, &block, &events) {
                    match open_master_share(
                        chain_id,
                        me,
                        &enclave.ecdh,
                        sender,
                        envelope,
                        &declared,
                    ) {
                        Ok(master) => {
                            enclave.file.store(&master)?;
                            tracing::info!(%sender, "received the master key");
                            *custody.lock().unwrap_or_else(|p| p.into_inner()) =
                                Custody::Holds(Gatekeeper::new(me, chain_id, master));
                            let mut status = status.lock().unwrap_or_else(|p| p.into_inner());
                            status.holds_master_key = true;
                        }
                        Err(error) => {
                            tracing::error!(%sender, "a master key share was refused: {error}")
                        }
                    }
                }
            }
            None => {
                let height = block.header.height;
                // What the answers need from the node, fetched before taking the lock.
                let context = match events.is_empty() {
                    true => None,
                    // Keys go out for the chain's epoch now, which may be past this block's.
                    false => Some((
                        enclave_keys(follower.client(), &events).await?,
                        current_epoch(follower.client()).await?,
                    )),
                };
                let mut calls = Vec::new();
                if let Custody::Holds(gatekeeper) =
                    &*custody.lock().unwrap_or_else(|p| p.into_inner())
                {
                    if let Some((keys, epoch)) = &context {
                        calls = gatekeeper.respond(
                            &events,
                            *epoch,
                            |w| keys.get(w).copied(),
                            &mut OsRng,
                        );
                    }
                    if height.is_multiple_of(RANDOMNESS_EVERY) {
                        calls.push(gatekeeper.randomness(height));
                    }
                }
                submit_answers(follower.client(), &enclave.identity, calls).await?;
            }
        }
        store.commit_block(
            store.begin_block()?,
            |_| None,
            &Default::default(),
            &block.header,
            None,
            &mut OsRng,
        )?;
        let mut status = status.lock().unwrap_or_else(|p| p.into_inner());
        status.synced_height = block.header.height;
        status.synced_hash = block.hash();
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
