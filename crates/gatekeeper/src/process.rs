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

use crate::custody::{
    advance_custody, answers, copy_of, establish_custody, Custody, GatekeeperEnclave,
};
use crate::master_key_file::{MasterKeyFile, MasterKeyFileError, MASTER_KEY_FILE};
use crate::sealing_service::{sealing_module, SealingPolicy, SealingService};
use phalanx_client::{ClientError, NodeClient};
use phalanx_crypto::Keypair;
use phalanx_executor::{ChainView, Gatekeeper};
use phalanx_primitives::attestation::Role;
use phalanx_primitives::Call;
use phalanx_worker::host::{
    enroll, open_enclave, pinned_view, reachable, recovered, serve_metrics, status_module,
    wait_after, Backoff, MetricsSources, Setback,
};
use phalanx_worker::{
    FollowError, Follower, HeaderStore, Running, Started, StoreError, TrustError, WorkerConfig,
    WorkerError, WorkerStatus,
};
use rand_core::OsRng;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a gatekeeper cannot start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatekeeperError {
    /// Opening, attesting or enrolling the enclave, or serving its RPC.
    #[error(transparent)]
    Enclave(#[from] WorkerError),
    #[error(transparent)]
    MasterKeyFile(#[from] MasterKeyFileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error(transparent)]
    Follow(#[from] FollowError),
    #[error(transparent)]
    Node(#[from] ClientError),
}

/// A started gatekeeper.
pub type RunningGatekeeper = Running<GatekeeperError>;

/// The gatekeeper's store (its synced header and chain view) in the data directory.
pub const GATEKEEPER_STORE_FILE: &str = "gatekeeper.redb";
/// PHA (in units) the operator gives the gatekeeper identity for its transaction fees.
pub const GATEKEEPER_FUNDING: u128 = 1_000 * phalanx_primitives::amount::UNIT;
/// Blocks to wait for this gatekeeper's declaration of the master key to show in a verified
/// block before sending it again.
pub const DECLARE_AGAIN_AFTER: u64 = 10;

/// Opens the enclave, pins or resumes its chain view, enrolls it as a gatekeeper, establishes
/// custody and starts answering verified blocks.
pub async fn start_gatekeeper(config: WorkerConfig) -> Result<RunningGatekeeper, GatekeeperError> {
    let (enclave, client) = open_enclave(&config).await?;
    let store = HeaderStore::open(
        &config.data_dir.join(GATEKEEPER_STORE_FILE),
        enclave.sealing_key(),
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
    let sources =
        MetricsSources::of_status(status.clone(), config.data_dir.join(GATEKEEPER_STORE_FILE));
    let metrics = serve_metrics(config.metrics_addr, sources).await?;
    Ok(Running::new(Started {
        rpc_addr,
        identity,
        metrics,
        status,
        server,
        task,
    }))
}

/// Follows verified blocks, advancing the view and answering each block as custody allows. The
/// node failing or lying stops nothing: the block is refused, the state kept, and asked again.
async fn answer_loop(
    mut follower: Follower,
    mut view: ChainView,
    custody: Arc<Mutex<Custody>>,
    policy: Arc<Mutex<SealingPolicy>>,
    enclave: GatekeeperEnclave,
    store: HeaderStore,
    status: Arc<Mutex<WorkerStatus>>,
) -> Result<(), GatekeeperError> {
    let me = enclave.identity.account_id();
    let mut backoff = Backoff::default();
    loop {
        let (block, events) = match follower.next().await {
            Ok(Some(next)) => next,
            Ok(None) => {
                reachable(
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
        store.commit(&block.header, view_changed.then_some(&view), &mut OsRng)?;
        let mut status = status.lock().unwrap_or_else(|p| p.into_inner());
        status.synced_height = block.header.height;
        status.synced_hash = block.hash();
        status.holds_master_key = holds;
        recovered(&mut status, &mut backoff);
    }
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
) -> Result<(), ClientError> {
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
