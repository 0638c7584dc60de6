//! The worker process: wires the enclave, the node, the executor and the sealed store together.
//!
//! Start: open the enclave (keys created on first start), restore or open the sealed store,
//! pin the chain, register with the chain if it does not know these keys, restore the executor
//! from the sealed snapshot. Then three actors run, each owning its state:
//! - the sync actor (`sync.rs`) owns the executor and the chain view: it takes each verified
//!   block, executes and commits it on a blocking thread, writes checkpoints;
//! - the reporter (`reporter.rs`), reached through its mailbox, sends heartbeats and egress;
//! - the query server (`query_server.rs`) answers `worker_query` and `worker_stateDigest` on
//!   its own copy of the executor and a read transaction of the committed store.
//!
//! `worker_status` reports progress.

use crate::checkpoint::{CheckpointError, Checkpoints};
use crate::egress_sender::EgressSender;
use crate::enclave::{Enclave, EnclaveError};
use crate::enrollment::{enroll, open_enclave, status_module};
use crate::follower::{FollowError, Follower};
use crate::metrics::MetricsSources;
use crate::query_server::{query_module, QueryServer};
use crate::reporter::{Heartbeats, Reporter};
use crate::running::{Running, RunningWorker, Started};
use crate::store::{StoreError, WorkerStore};
use crate::sync::{SyncActor, SyncCore};
use crate::trust::{pinned_view, TrustError};
use phalanx_attestation::{
    dev_measurement, DevProvider, GramineSgxProvider, QuoteProvider, TdxConfigfsProvider,
};
use phalanx_client::ClientError;
use phalanx_crypto::Keypair;
use phalanx_executor::{ExecError, Executor, KeyRing};
use phalanx_primitives::attestation::Role;
use phalanx_primitives::{AccountId, Hash};
use serde::Serialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Name of the dev key whose simulated quotes dev chains trust.
const DEV_ATTESTATION_KEY: &str = "dev-attestation";
/// Which enclave the worker runs in, and where its quotes come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tee {
    /// Simulated: quotes signed by the dev attestation key, sealing key in a file. Dev chains only.
    Dev,
    /// SGX under Gramine: quotes and the sealing key from `attestation_dir` (`/dev/attestation`);
    /// the quote's collateral from a file the operator keeps fresh from a PCCS.
    Sgx {
        attestation_dir: PathBuf,
        collateral: PathBuf,
    },
    /// TDX through configfs-tsm (quotes from `report_dir`); with no hardware sealing key, its
    /// sealing root comes from a gatekeeper after attestation (see `tdx`).
    Tdx {
        report_dir: PathBuf,
        collateral: PathBuf,
    },
}

impl Tee {
    /// The provider that quotes this enclave's report data.
    pub(crate) fn quote_provider(&self) -> Box<dyn QuoteProvider> {
        match self {
            Tee::Dev => Box::new(DevProvider::new_insecure(
                Keypair::dev(DEV_ATTESTATION_KEY),
                dev_measurement(),
            )),
            Tee::Sgx {
                attestation_dir,
                collateral,
            } => Box::new(GramineSgxProvider::new(attestation_dir, collateral)),
            Tee::Tdx {
                report_dir,
                collateral,
            } => Box::new(TdxConfigfsProvider::new(report_dir, collateral)),
        }
    }
}

pub struct WorkerConfig {
    /// The node to follow; not trusted (see [`crate::chain_view`]).
    pub node_url: String,
    /// The chain to pin at the first start (its genesis hash); afterwards it must match the pin
    /// in the sealed store, or may be left out.
    pub chain_id: Option<Hash>,
    pub data_dir: PathBuf,
    pub rpc_addr: SocketAddr,
    pub tee: Tee,
    /// Pays for the registration.
    pub operator: Keypair,
    /// The URL clients use to reach this worker's RPC, published on chain
    /// [default: `http://` + the bound `rpc_addr`].
    pub public_url: Option<String>,
    /// Write a checkpoint after every this many blocks (0: never).
    pub checkpoint_every: u64,
    /// How many checkpoints to keep: restores and history queries start from them.
    pub keep_checkpoints: usize,
    /// Report state digests on chain after every this many blocks (0: never).
    pub heartbeat_every: u64,
    /// Answer queries about state `Stale` once no new final block came for this long.
    pub stale_after: Duration,
    /// Where to serve Prometheus metrics (`/metrics`); none unless asked.
    pub metrics_addr: Option<SocketAddr>,
}

/// Default of [`WorkerConfig::stale_after`]: many block times, few enough that a permit revoked
/// is honoured within about that long everywhere.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(30);

/// The sealed store's file in the data directory.
pub const STORE_FILE: &str = "worker.redb";

/// Default heartbeat interval, in blocks.
pub const DEFAULT_HEARTBEAT_EVERY: u64 = 10;
/// PHA (in units) the operator gives a worker's identity for its heartbeats' fees.
pub const WORKER_FUNDING: u128 = 100 * phalanx_primitives::amount::UNIT;

/// Default checkpoint interval, in blocks.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 100;
/// Default number of checkpoints a worker keeps.
pub const DEFAULT_KEEP_CHECKPOINTS: usize = 10;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    #[error(transparent)]
    Enclave(#[from] EnclaveError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Node(#[from] ClientError),
    #[error(transparent)]
    Follow(#[from] FollowError),
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("no gatekeeper released a sealing root for this TDX enclave (TDX has no hardware sealing key): {0}")]
    NoSealingRoot(String),
    #[error("the enclave cannot produce a quote: {0}")]
    Quote(#[from] phalanx_attestation::ProviderError),
    #[error("cannot serve RPC on {0}: {1}")]
    Rpc(SocketAddr, String),
    #[error("the RPC address {0} binds every interface, so clients cannot be told where to reach it: pass --public-url")]
    NoPublicUrl(SocketAddr),
    #[error("this machine cannot run the contract engine ({0}); it needs pages it can make executable: a TDX guest, or SGX2 with EDMM under Gramine (SGX1 cannot)")]
    Engine(phalanx_vm::VmError),
    #[error("the performance test did not finish: {0}")]
    Benchmark(String),
    #[error("work on a blocking thread failed unexpectedly: {0}")]
    Panicked(String),
}

/// What `worker_status` answers.
#[derive(Clone, Debug, Serialize)]
pub struct WorkerStatus {
    pub identity: AccountId,
    pub ecdh_public: String,
    pub synced_height: u64,
    pub synced_hash: Hash,
    /// Clusters whose key this worker received.
    pub clusters: Vec<Hash>,
    pub contracts: Vec<AccountId>,
    /// Gatekeepers: whether this one holds the chain's master key (always false for workers).
    pub holds_master_key: bool,
    /// Height of the newest checkpoint on disk.
    pub last_checkpoint: Option<u64>,
    /// The checkpoint this start restored, because the store was missing or damaged.
    pub restored_from: Option<u64>,
    /// Instantiations and commands executed since this start.
    pub commands_executed: u64,
    /// Contract outputs (events, payments, messages) the chain has not accepted yet.
    pub pending_outputs: u64,
    /// Why the node's next block (or answer) was refused, while it is; None once blocks are
    /// accepted again. The enclave keeps its state meanwhile and asks again.
    pub refused: Option<String>,
    /// Since when (Unix ms) the node has not answered at all, while it does not; the enclave
    /// keeps its state and tries again with a backoff.
    pub node_unreachable_since_ms: Option<u64>,
    /// The last failure to reach the node, while it lasts.
    pub node_error: Option<String>,
}

/// Starts a worker: registration, restore, then the sync loop in a background task.
pub async fn start(config: WorkerConfig) -> Result<RunningWorker, WorkerError> {
    // Before anything is registered: an enclave that cannot compile contracts must not join.
    phalanx_vm::self_test().map_err(WorkerError::Engine)?;
    let (enclave, client) = open_enclave(&config).await?;
    let checkpoints = Checkpoints::open(
        &config.data_dir.join("checkpoints"),
        enclave.sealing_key(),
        config.checkpoint_every,
        config.keep_checkpoints,
    )?;
    let (store, restored_from) =
        open_or_restore(&config.data_dir.join(STORE_FILE), &enclave, &checkpoints)?;
    let view = pinned_view(&store, config.chain_id, &client).await?;
    let chain_id = view.chain_id();
    let listener = enroll(
        &config,
        &enclave,
        &client,
        &view,
        Role::Worker,
        WORKER_FUNDING,
    )
    .await?;
    let keys = KeyRing::new(enclave.identity.account_id(), enclave.ecdh.clone());
    let executor = match store.executor_snapshot()? {
        Some(snapshot) => Executor::restore(chain_id, keys, &snapshot)?,
        None => Executor::new(chain_id, keys),
    };
    // Every commit that recorded a snapshot re-encrypted what its keys rotated, in the same
    // transaction: the keys it holds need no catching up.
    store.install_state_keys(executor.state_keys());
    let follower = Follower::new(client.clone(), &view)?;
    let status = Arc::new(Mutex::new(WorkerStatus {
        identity: enclave.identity.account_id(),
        ecdh_public: hex::encode(enclave.ecdh_public()),
        synced_height: follower.last().height,
        synced_hash: follower.last().hash(),
        clusters: executor.keys().served_clusters(),
        contracts: executor.contracts().copied().collect(),
        holds_master_key: false,
        last_checkpoint: checkpoints.heights()?.last().copied(),
        restored_from,
        commands_executed: 0,
        pending_outputs: 0,
        refused: None,
        node_unreachable_since_ms: None,
        node_error: None,
    }));

    let store = Arc::new(store);
    let checkpoints = Arc::new(checkpoints);
    let queries = Arc::new(QueryServer::new(
        executor.fork(),
        store.clone(),
        checkpoints.clone(),
        client.clone(),
        Arc::new(view.validators().clone()),
        config.stale_after,
    ));
    let mut module = status_module(config.rpc_addr, status.clone())?;
    module
        .merge(query_module(config.rpc_addr, queries.clone())?)
        .map_err(|e| WorkerError::Rpc(config.rpc_addr, e.to_string()))?;
    let (rpc_addr, server) = listener.serve(module);

    let identity = enclave.identity.account_id();
    let clock = queries.clone();
    let sources = MetricsSources {
        status: status.clone(),
        since_block: Some(Box::new(move || clock.since_block().as_secs())),
        store: config.data_dir.join(STORE_FILE),
        queries: Some(queries.metrics.clone()),
    };
    let metrics = crate::metrics::start(config.metrics_addr, sources).await?;
    // 200 ms of one core: off the async threads, which are already serving RPC.
    let performance = tokio::task::spawn_blocking(crate::benchmark::run)
        .await
        .map_err(|e| WorkerError::Benchmark(e.to_string()))?;
    tracing::info!(performance, "benchmark done");
    let reporter = Reporter {
        heartbeats: Heartbeats {
            identity: enclave.identity.clone(),
            every: config.heartbeat_every,
            performance,
            reported: false,
        },
        egress: EgressSender::new(enclave.identity.clone()),
        client: client.clone(),
        store: store.clone(),
        view: Arc::new(view.clone()),
        status: status.clone(),
    };
    let (mailbox, _reporter_task) = reporter.spawn();
    let sync = SyncActor {
        follower,
        core: Some(SyncCore { executor, view }),
        store,
        checkpoints,
        queries,
        reporter: mailbox,
        status: status.clone(),
    };
    let task = tokio::spawn(sync.run());
    Ok(Running::new(Started {
        rpc_addr,
        identity,
        metrics,
        status,
        server,
        task,
    }))
}

/// Opens the sealed store; if it is missing what a restart needs or damaged, moves it aside and
/// rebuilds it from the newest intact checkpoint (with none, the worker replays from genesis).
/// Returns the store and the height of the checkpoint restored, if one was.
fn open_or_restore(
    path: &std::path::Path,
    enclave: &Enclave,
    checkpoints: &Checkpoints,
) -> Result<(WorkerStore, Option<u64>), WorkerError> {
    if path.exists() {
        // redb asserts on some damage (a truncated file) instead of returning an error; a
        // panic here means the same as an error: the file cannot be trusted.
        let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            WorkerStore::open(path, enclave.sealing_key(), enclave.tag_key())
                .and_then(|store| store.check().map(|_| store))
        }));
        let error = match opened {
            Ok(Ok(store)) => return Ok((store, None)),
            Ok(Err(error)) => error.to_string(),
            Err(_) => "the database panicked while opening".to_string(),
        };
        let aside = path.with_extension("redb.damaged");
        tracing::error!(
            "the worker store is damaged ({error}); moving it to {} and restoring the newest intact checkpoint",
            aside.display()
        );
        std::fs::rename(path, &aside).map_err(|source| StoreError::File {
            path: path.to_path_buf(),
            source,
        })?;
    } else if checkpoints.heights()?.is_empty() {
        // A first start.
        let store = WorkerStore::open(path, enclave.sealing_key(), enclave.tag_key())?;
        return Ok((store, None));
    } else {
        tracing::error!("the worker store is gone; restoring the newest intact checkpoint");
    }
    let open =
        |at: &std::path::Path| WorkerStore::open(at, enclave.sealing_key(), enclave.tag_key());
    match checkpoints.restore_newest(path, open)? {
        Some((height, store)) => {
            tracing::info!(
                height,
                "restored the checkpoint; replaying the blocks after it"
            );
            Ok((store, Some(height)))
        }
        None => {
            tracing::warn!("no intact checkpoint: replaying the chain from genesis");
            let store = WorkerStore::open(path, enclave.sealing_key(), enclave.tag_key())?;
            Ok((store, None))
        }
    }
}

/// The enclave host's clock, in Unix milliseconds.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
