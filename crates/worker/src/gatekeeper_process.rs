//! The gatekeeper process: a worker enclave in the gatekeeper role, holding the master key.
//!
//! On first start it generates the master key inside the enclave and seals it (the first
//! gatekeeper of a chain; handing the key to further gatekeepers is not built yet). It registers
//! as a gatekeeper (its operator funds its identity, which signs its own transactions), follows
//! verified blocks, and answers each block's events with [`Gatekeeper::respond`]: cluster keys
//! published and sent to members, contract keys published. The synced height is committed to its
//! sealed store after the answers are submitted, so a restart never skips a block (at worst it
//! answers one twice; the chain refuses the duplicate publications).

use crate::enclave::Enclave;
use crate::follower::Follower;
use crate::process::{
    open_enclave, register_if_needed, status_module, RpcListener, RunningWorker, WorkerConfig,
    WorkerError, WorkerStatus,
};
use crate::store::WorkerStore;
use crate::Gatekeeper;
use phalanx_client::api::NodeApiClient;
use phalanx_client::{ClientError, NodeClient};
use phalanx_crypto::hierarchy::MasterKey;
use phalanx_crypto::Keypair;
use phalanx_primitives::attestation::Role;
use phalanx_primitives::{AccountId, Event, EventRecord};
use rand_core::OsRng;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const MASTER_KEY_FILE: &str = "master-key.sealed";
const MASTER_KEY_AAD: &[u8] = b"PHALANX_MASTER_KEY_V1";
/// PHA (in units) the operator gives the gatekeeper identity for its transaction fees.
pub const GATEKEEPER_FUNDING: u128 = 1_000 * phalanx_primitives::amount::UNIT;

/// Loads the sealed master key, or generates and seals one on first start.
fn master_key(dir: &Path, enclave: &Enclave) -> Result<MasterKey, WorkerError> {
    let path = dir.join(MASTER_KEY_FILE);
    let sealing = enclave.sealing_key();
    let unsealable =
        || WorkerError::Enclave(crate::enclave::EnclaveError::Unsealable(path.clone()));
    match std::fs::read(&path) {
        Ok(sealed) => {
            let bytes = sealing
                .unseal(&sealed, MASTER_KEY_AAD)
                .map_err(|_| unsealable())?;
            let secret: [u8; 32] = bytes.as_slice().try_into().map_err(|_| unsealable())?;
            Ok(MasterKey::from_bytes(0, secret))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let master = MasterKey::generate(0, &mut OsRng);
            let sealed = sealing.seal(master.expose_secret(), MASTER_KEY_AAD, &mut OsRng);
            std::fs::write(&path, sealed).map_err(|_| unsealable())?;
            tracing::info!("generated and sealed a new master key");
            Ok(master)
        }
        Err(_) => Err(unsealable()),
    }
}

pub async fn start_gatekeeper(config: WorkerConfig) -> Result<RunningWorker, WorkerError> {
    let (enclave, client) = open_enclave(&config).await?;
    let chain_id = client.info().chain_id;
    let listener = RpcListener::bind(&config).await?;
    register_if_needed(
        &client,
        &enclave,
        &config,
        &listener.public_url,
        Role::Gatekeeper,
        GATEKEEPER_FUNDING,
    )
    .await?;
    let master = master_key(&config.data_dir, &enclave)?;
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
    }));
    let (rpc_addr, server) = listener.serve(status_module(config.rpc_addr, status.clone())?);
    let gatekeeper = Gatekeeper::new(enclave.identity.account_id(), chain_id, master);
    let identity = enclave.identity.account_id();
    let task = tokio::spawn(answer_loop(
        follower,
        gatekeeper,
        enclave.identity.clone(),
        store,
        status,
    ));
    Ok(RunningWorker {
        rpc_addr,
        identity,
        server,
        task,
    })
}

/// The registered ECDH keys of the workers a block's events concern.
async fn member_keys(
    client: &NodeClient,
    events: &[EventRecord],
) -> Result<HashMap<AccountId, [u8; 32]>, WorkerError> {
    let mut keys = HashMap::new();
    let members = events.iter().flat_map(|record| match &record.event {
        Event::ClusterCreated { workers, .. } => workers.clone(),
        Event::AddedToCluster { worker, .. } => vec![*worker],
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

async fn answer_loop(
    mut follower: Follower,
    gatekeeper: Gatekeeper,
    identity: Keypair,
    store: WorkerStore,
    status: Arc<Mutex<WorkerStatus>>,
) -> Result<(), WorkerError> {
    loop {
        let Some((block, events)) = follower.next().await? else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let keys = member_keys(follower.client(), &events).await?;
        let calls = gatekeeper.respond(&events, |w| keys.get(w).copied(), &mut OsRng);
        if !calls.is_empty() {
            let client = follower.client();
            let nonce = client.next_nonce(identity.account_id()).await?;
            let txs: Vec<_> = calls
                .into_iter()
                .zip(nonce..)
                .map(|(call, n)| client.sign(&identity, n, call))
                .collect();
            for outcome in client.submit_batch(&txs).await? {
                if let Some(error) = outcome.error {
                    tracing::warn!(kind = %error.kind, "gatekeeper transaction refused: {}", error.message);
                }
            }
        }
        store.commit_block(
            store.begin_block()?,
            |_| None,
            &[],
            &block.header,
            None,
            &mut OsRng,
        )?;
        let mut status = status.lock().unwrap_or_else(|p| p.into_inner());
        status.synced_height = block.header.height;
        status.synced_hash = block.hash();
    }
}
