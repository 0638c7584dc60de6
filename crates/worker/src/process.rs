//! The worker process: wires the enclave, the node, the executor and the sealed store together.
//!
//! Start: open the enclave (keys created on first start), register with the chain if the chain
//! does not know these keys, restore the executor from the sealed snapshot. Then, forever:
//! take the next finalized block from the follower (verified), replay it, and commit its state
//! changes, receipts, executor snapshot and the synced height in one sealed redb transaction.
//! A `worker_status` JSON-RPC method reports progress.

use crate::checkpoint::{CheckpointError, Checkpoints};
use crate::egress_sender::EgressSender;
use crate::enclave::{Enclave, EnclaveError};
use crate::follower::{fetch_checked, FollowError, Follower};
use crate::history::{self, HistoryQuery};
use crate::metrics::{MetricsSources, QueryMetrics};
use crate::node_link::{self, connect_patiently, wait_after, Backoff, Setback};
use crate::query_limits::QueryLimits;
use crate::store::{CatchUp, CaughtUp, StoreError, Synced, WorkerStore};
use crate::trust::{pinned_view, TrustError};
use jsonrpsee::server::{RpcModule, Server, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::Methods;
use parity_scale_codec::{DecodeAll, Encode};
use phalanx_attestation::{
    dev_measurement, DevProvider, Enrollment, GramineSgxProvider, QuoteProvider,
    TdxConfigfsProvider,
};
use phalanx_client::api::NodeApiClient;
use phalanx_client::views::DigestView;
use phalanx_client::{ClientError, NodeClient, DEFAULT_INCLUSION_TIMEOUT};
use phalanx_crypto::Keypair;
use phalanx_executor::ChainView;
use phalanx_executor::{open_query, seal_answer, NonceGuard};
use phalanx_executor::{BlockEffects, ExecError, Executor, KeyRing};
use phalanx_primitives::attestation::Role;
use phalanx_primitives::query::{Answered, QueryAnswer, QueryRequest};
use phalanx_primitives::Envelope;
use phalanx_primitives::{
    AccountId, Block, Call, Event, EventRecord, Hash, StateReport, MAX_STATE_REPORTS,
};
use rand_core::OsRng;
use serde::Serialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Name of the dev key whose simulated quotes dev chains trust.
const DEV_ATTESTATION_KEY: &str = "dev-attestation";
/// How long to wait before asking the node again when it has no new block.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

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
    fn quote_provider(&self) -> Box<dyn QuoteProvider> {
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

/// A started enclave process (a worker, or with its own error type a gatekeeper): its RPC
/// address and identity, and the task that runs it, which fails with `E`.
pub struct Running<E> {
    pub rpc_addr: SocketAddr,
    pub identity: AccountId,
    /// Where the metrics are served, when asked for.
    pub metrics_addr: Option<SocketAddr>,
    metrics_task: Option<tokio::task::JoinHandle<()>>,
    status: Arc<Mutex<WorkerStatus>>,
    server: ServerHandle,
    task: tokio::task::JoinHandle<Result<(), E>>,
}

/// A started worker.
pub type RunningWorker = Running<WorkerError>;

/// The parts of a started enclave process (see [`Running::new`]).
pub struct Started<E> {
    pub rpc_addr: SocketAddr,
    pub identity: AccountId,
    pub metrics: (Option<SocketAddr>, Option<tokio::task::JoinHandle<()>>),
    pub status: Arc<Mutex<WorkerStatus>>,
    pub server: ServerHandle,
    /// The process's main loop: it ends only on a fatal error.
    pub task: tokio::task::JoinHandle<Result<(), E>>,
}

/// A handle on a running worker's status, for watching it from beside.
#[derive(Clone)]
pub struct StatusWatch(Arc<Mutex<WorkerStatus>>);

impl StatusWatch {
    /// What `worker_status` would answer now.
    pub fn get(&self) -> WorkerStatus {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl<E: From<WorkerError>> Running<E> {
    pub fn new(started: Started<E>) -> Self {
        let (metrics_addr, metrics_task) = started.metrics;
        Running {
            rpc_addr: started.rpc_addr,
            identity: started.identity,
            metrics_addr,
            metrics_task,
            status: started.status,
            server: started.server,
            task: started.task,
        }
    }

    pub fn status(&self) -> StatusWatch {
        StatusWatch(self.status.clone())
    }

    /// Resolves when the process stops on its own, which only happens on a fatal error.
    pub async fn failed(&mut self) -> E {
        match (&mut self.task).await {
            Ok(Err(error)) => error,
            Ok(Ok(())) => WorkerError::Rpc(self.rpc_addr, "the main loop ended".into()).into(),
            Err(join) => {
                WorkerError::Rpc(self.rpc_addr, format!("the main task failed: {join}")).into()
            }
        }
    }

    pub async fn stop(self) {
        if let Some(metrics) = &self.metrics_task {
            metrics.abort();
        }
        self.task.abort();
        let _ = self.server.stop();
        self.server.stopped().await;
    }
}

/// Registers the enclave in `role` unless these keys are registered at this endpoint already (a
/// restarted worker that moved re-registers, with a fresh quote for the new endpoint); the
/// operator pays, and also sends `fund` units to the enclave's identity when it signs
/// transactions of its own.
///
/// Whether to register is a liveness decision, not a fact the enclave acts on, so the node's
/// word is taken as a hint beside the enclave's own view (a view at genesis, after a lost store,
/// does not know yet): a lying node can only make the enclave pay for a registration again, or
/// skip one and get no keys, which hurts the operator who runs that node.
async fn register_if_needed(
    client: &NodeClient,
    enclave: &Enclave,
    config: &WorkerConfig,
    view: &ChainView,
    endpoint: &str,
    role: Role,
    fund: u128,
) -> Result<(), WorkerError> {
    let identity = enclave.identity.account_id();
    let operator = &config.operator;
    let chain_id = view.chain_id();
    if let Some(known) = view.enclave(&identity) {
        if known.ecdh_public() == enclave.ecdh_public() && known.endpoint == endpoint {
            return Ok(());
        }
    }
    let hint = client
        .rpc()
        .worker(identity)
        .await
        .map_err(ClientError::from)?;
    if hint.is_some_and(|known| {
        known.ecdh_public == hex::encode(enclave.ecdh_public()) && known.endpoint == endpoint
    }) {
        return Ok(());
    }
    let ecdh_public = enclave.ecdh_public();
    let operator_account = operator.account_id();
    let enrollment = Enrollment {
        identity: &identity,
        ecdh_public: &ecdh_public,
        chain_id: &chain_id,
        role,
        operator: &operator_account,
        endpoint: endpoint.as_bytes(),
    };
    let quote = config
        .tee
        .quote_provider()
        .quote(&enrollment.report_data())?;
    let mut calls = vec![enrollment.register_call(&enclave.identity, quote)];
    if fund > 0 {
        calls.push(Call::Transfer {
            to: identity,
            amount: fund,
        });
    }
    // The operator may start several enclaves at once, all paying from its account: one that
    // loses the race for a nonce asks for the next one and tries again.
    let mut backoff = Backoff::default();
    let mut attempt = 0;
    let last = loop {
        attempt += 1;
        let nonce = client.next_nonce(operator.account_id()).await?;
        let txs: Vec<_> = calls
            .iter()
            .zip(nonce..)
            .map(|(call, n)| client.sign(operator, n, call.clone()))
            .collect();
        let refused = client
            .submit_batch(&txs)
            .await?
            .into_iter()
            .find_map(|outcome| outcome.error);
        match refused {
            None => break txs.last().expect("one or two").hash(),
            Some(error) if nonce_race(&error.kind) && attempt < REGISTRATION_ATTEMPTS => {
                tracing::info!(
                    attempt,
                    "the operator's nonce was taken ({}); trying again",
                    error.message
                );
                tokio::time::sleep(backoff.step()).await;
            }
            Some(error) => {
                return Err(ClientError::Rejected {
                    code: error.code,
                    kind: error.kind,
                    cause: error.cause,
                    message: error.message,
                }
                .into())
            }
        }
    };
    client
        .wait_for_inclusion(last, DEFAULT_INCLUSION_TIMEOUT)
        .await?;
    tracing::info!(%identity, ?role, endpoint, "registered with the chain");
    Ok(())
}

/// Tries at registering before a lost nonce race is an error.
const REGISTRATION_ATTEMPTS: u32 = 20;

/// Whether a refusal means another transaction of the same account took the nonce first.
fn nonce_race(kind: &str) -> bool {
    matches!(kind, "StaleNonce" | "FutureNonce" | "Duplicate")
}

/// Opens the enclave (a dev one loudly insecure) and connects to the node.
pub async fn open_enclave(config: &WorkerConfig) -> Result<(Enclave, NodeClient), WorkerError> {
    let client = connect_patiently(&config.node_url).await?;
    let enclave = match &config.tee {
        Tee::Dev => {
            tracing::warn!(
                "dev enclave: the sealing key is a plain file in the data directory (INSECURE)"
            );
            Enclave::open_dev(&config.data_dir, &mut OsRng)?
        }
        Tee::Sgx {
            attestation_dir, ..
        } => Enclave::open_sgx(&config.data_dir, attestation_dir, &mut OsRng)?,
        Tee::Tdx {
            report_dir,
            collateral,
        } => {
            let provider = TdxConfigfsProvider::new(report_dir, collateral);
            // Its pin is sealed under the root it is about to fetch: it must be told its chain.
            let chain_id = config.chain_id.ok_or(TrustError::NotPinned)?;
            let root =
                crate::tdx::sealing_root(&client, chain_id, &config.data_dir, &provider).await?;
            Enclave::open_with_root(&config.data_dir, *root, &mut OsRng)?
        }
    };
    Ok((enclave, client))
}

/// What every enclave process does once it knows its chain: bind its RPC socket (so the
/// endpoint it publishes names the real port) and register in `role` on `view`'s chain, the
/// operator funding its identity with `funding`.
pub async fn enroll(
    config: &WorkerConfig,
    enclave: &Enclave,
    client: &NodeClient,
    view: &ChainView,
    role: Role,
    funding: u128,
) -> Result<RpcListener, WorkerError> {
    let listener = RpcListener::bind(config).await?;
    register_if_needed(
        client,
        enclave,
        config,
        view,
        &listener.public_url,
        role,
        funding,
    )
    .await?;
    Ok(listener)
}

/// Starts a worker: registration, restore, then the sync loop in a background task.
pub async fn start(config: WorkerConfig) -> Result<RunningWorker, WorkerError> {
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

    let shared = Arc::new(QueryState {
        chain_id,
        validators: view.validators().into(),
        last_block_at: Mutex::new(std::time::Instant::now()),
        stale_after: config.stale_after,
        executor: Mutex::new(executor),
        store,
        nonces: Mutex::new(NonceGuard::default()),
        node: client.clone(),
        checkpoints: Arc::new(checkpoints),
        limits: QueryLimits::default(),
        metrics: QueryMetrics::default(),
    });
    let mut module = status_module(config.rpc_addr, status.clone())?;
    module
        .merge(query_module(config.rpc_addr, shared.clone())?)
        .map_err(|e| WorkerError::Rpc(config.rpc_addr, e.to_string()))?;
    let (rpc_addr, server) = listener.serve(module);

    let identity = enclave.identity.account_id();
    let clock = shared.clone();
    let sources = MetricsSources {
        status: status.clone(),
        since_block: Some(Box::new(move || {
            clock
                .last_block_at
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .elapsed()
                .as_secs()
        })),
        store: config.data_dir.join(STORE_FILE),
        queries: Some(shared.metrics.clone()),
    };
    let metrics = crate::metrics::start(config.metrics_addr, sources).await?;
    // 200 ms of one core: off the async threads, which are already serving RPC.
    let performance = tokio::task::spawn_blocking(crate::benchmark::run)
        .await
        .map_err(|e| WorkerError::Benchmark(e.to_string()))?;
    tracing::info!(performance, "benchmark done");
    let heartbeats = Heartbeats {
        identity: enclave.identity.clone(),
        every: config.heartbeat_every,
        performance,
        reported: false,
    };
    let task = tokio::spawn(sync_loop(
        follower,
        view,
        shared,
        heartbeats,
        EgressSender::new(enclave.identity.clone()),
        status.clone(),
    ));
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

/// The `worker_status` method.
pub fn status_module(
    addr: SocketAddr,
    status: Arc<Mutex<WorkerStatus>>,
) -> Result<RpcModule<Arc<Mutex<WorkerStatus>>>, WorkerError> {
    let mut module = RpcModule::new(status);
    module
        .register_method("worker_status", |_, status, _| {
            let status = status.lock().unwrap_or_else(|p| p.into_inner()).clone();
            Ok::<_, ErrorObjectOwned>(status)
        })
        .map_err(|e| WorkerError::Rpc(addr, e.to_string()))?;
    Ok(module)
}

/// The RPC socket, bound before registration so the published endpoint names the real port.
pub struct RpcListener {
    server: Server,
    addr: SocketAddr,
    /// What the chain will tell clients.
    pub public_url: String,
}

impl RpcListener {
    pub async fn bind(config: &WorkerConfig) -> Result<Self, WorkerError> {
        let rpc_error =
            |e: &dyn std::fmt::Display| WorkerError::Rpc(config.rpc_addr, e.to_string());
        let server = Server::builder()
            .build(config.rpc_addr)
            .await
            .map_err(|e| rpc_error(&e))?;
        let addr = server.local_addr().map_err(|e| rpc_error(&e))?;
        let public_url = match &config.public_url {
            Some(url) => url.clone(),
            None if addr.ip().is_unspecified() => return Err(WorkerError::NoPublicUrl(addr)),
            None => format!("http://{addr}"),
        };
        Ok(Self {
            server,
            addr,
            public_url,
        })
    }

    /// Starts serving `methods`; returns the bound address.
    pub fn serve(self, methods: impl Into<Methods>) -> (SocketAddr, ServerHandle) {
        (self.addr, self.server.start(methods))
    }
}

/// What the sync loop and the query server share.
struct QueryState {
    chain_id: Hash,
    /// The pinned validators, for the blocks history queries replay.
    validators: Arc<[AccountId]>,
    /// When the sync loop last accepted a block.
    last_block_at: Mutex<std::time::Instant>,
    /// Past this long without a new block, state is not served (answers are `Stale`).
    stale_after: Duration,
    executor: Mutex<Executor>,
    store: WorkerStore,
    nonces: Mutex<NonceGuard>,
    /// For history queries: the blocks to replay and the checkpoints to start from.
    node: NodeClient,
    checkpoints: Arc<Checkpoints>,
    limits: QueryLimits,
    metrics: QueryMetrics,
}

/// JSON-RPC error code of a refused query (bad signature, expired, replayed, ...).
pub const QUERY_REFUSED: i32 = 2000;

/// JSON-RPC error code of a digest asked for a height this worker has not reached.
pub const NOT_SYNCED: i32 = 2001;

/// The `worker_query` method: `(contract, 0x-hex envelope)` -> 0x-hex answer envelope, and
/// `worker_stateDigest`: `(contract, height or null for the synced height)` -> [`DigestView`].
fn query_module(
    addr: SocketAddr,
    state: Arc<QueryState>,
) -> Result<RpcModule<Arc<QueryState>>, WorkerError> {
    let mut module = RpcModule::new(state);
    module
        .register_async_method("worker_query", |params, state, _| async move {
            let (contract, sealed): (AccountId, String) = params.parse()?;
            let started = std::time::Instant::now();
            let metrics = state.metrics.clone();
            let refused = |e: String| {
                metrics.record("refused", started);
                ErrorObjectOwned::owned(QUERY_REFUSED, e, None::<()>)
            };
            let slot = state.limits.query().map_err(|e| refused(e.to_string()))?;
            // The VM and history replays run on a blocking thread (driving the node fetches of
            // a replay from there), never on the threads that follow the chain.
            let answering = state.clone();
            let answer = on_blocking_thread_async(async move {
                let answer = answer_query(&answering, contract, &sealed).await;
                drop(slot);
                answer
            })
            .await
            .map_err(|e| refused(e.to_string()))?
            .map_err(refused)?;
            state.metrics.record("answered", started);
            Ok::<_, ErrorObjectOwned>(answer)
        })
        .map_err(|e| WorkerError::Rpc(addr, e.to_string()))?;
    module
        .register_method("worker_stateDigest", |params, state, _| {
            let (contract, height): (AccountId, Option<u64>) = params.parse()?;
            state_digest(state, contract, height)
        })
        .map_err(|e| WorkerError::Rpc(addr, e.to_string()))?;
    Ok(module)
}

fn state_digest(
    state: &QueryState,
    contract: AccountId,
    height: Option<u64>,
) -> Result<DigestView, ErrorObjectOwned> {
    let internal = |e: StoreError| ErrorObjectOwned::owned(-32603, e.to_string(), None::<()>);
    let synced = state
        .store
        .synced()
        .map_err(internal)?
        .map_or(0, |h| h.height);
    let height = height.unwrap_or(synced);
    if height > synced {
        return Err(ErrorObjectOwned::owned(
            NOT_SYNCED,
            format!("this worker has synced to block {synced}, not {height} yet"),
            None::<()>,
        ));
    }
    let digest = state
        .store
        .digest_at(&contract, height)
        .map_err(internal)?
        .map(|d| d.as_hash());
    Ok(DigestView {
        contract,
        height,
        digest,
    })
}

/// The enclave host's clock, in Unix milliseconds.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

async fn answer_query(
    state: &QueryState,
    contract: AccountId,
    sealed: &str,
) -> Result<String, String> {
    let bytes = sealed
        .strip_prefix("0x")
        .and_then(|h| hex::decode(h).ok())
        .ok_or("the envelope is not hex")?;
    let envelope =
        Envelope::decode_all(&mut &bytes[..]).map_err(|_| "the envelope does not decode")?;
    let query = {
        let executor = state.executor.lock().unwrap_or_else(|p| p.into_inner());
        let mut nonces = state.nonces.lock().unwrap_or_else(|p| p.into_inner());
        open_query(&executor, &contract, &envelope, now_ms(), &mut nonces)
            .map_err(|e| e.to_string())?
    };
    let synced = state
        .store
        .synced()
        .map_err(|e| e.to_string())?
        .ok_or("this worker has not synced yet")?;
    let silent = state
        .last_block_at
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .elapsed();
    let stale = silent > state.stale_after;
    let reads_state = !matches!(query.request, QueryRequest::Receipt(_));
    let (at, answer) = match query.request {
        _ if stale && reads_state => {
            let answer = QueryAnswer::Stale {
                synced_height: synced.height,
                silent_ms: silent.as_millis() as u64,
            };
            ((synced.height, synced.hash()), answer)
        }
        QueryRequest::ContractAt { height, message } => {
            let _replaying = state
                .limits
                .history(query.origin)
                .map_err(|e| e.to_string())?;
            // The replay runs on a copy of the executor, without holding the live one.
            let (fork, cluster) = {
                let executor = state.executor.lock().unwrap_or_else(|p| p.into_inner());
                let cluster = executor.cluster_of(&contract);
                (executor.fork(), cluster)
            };
            let cluster = cluster.ok_or("this worker does not run that contract")?;
            let history = HistoryQuery {
                contract,
                cluster,
                height,
                origin: query.origin,
                message: &message,
            };
            let checkpoints = &state.checkpoints;
            let node = (&state.node, &state.validators);
            match history::answer_at(node, checkpoints, &state.store, fork, history).await {
                Ok((Ok(output), hash)) => ((height, hash), QueryAnswer::Ok(output)),
                Ok((Err(error), hash)) => ((height, hash), QueryAnswer::Refused(error.to_string())),
                // Not computed at that block: said as of the worker's own.
                Err(error) => (
                    (synced.height, synced.hash()),
                    QueryAnswer::Refused(error.to_string()),
                ),
            }
        }
        QueryRequest::Contract(message) => {
            let mut executor = state.executor.lock().unwrap_or_else(|p| p.into_inner());
            // Read under the executor lock: the sync loop commits a block holding it.
            let synced = state
                .store
                .synced()
                .map_err(|e| e.to_string())?
                .ok_or("this worker has not synced yet")?;
            let mut view = state.store.begin_block().map_err(|e| e.to_string())?;
            let answer = match executor.query(
                &contract,
                query.origin,
                &message,
                synced.height,
                synced.timestamp_ms,
                &mut view,
            ) {
                Ok(output) => QueryAnswer::Ok(output),
                Err(error) => QueryAnswer::Refused(error.to_string()),
            };
            ((synced.height, synced.hash()), answer)
        }
        QueryRequest::Receipt(tx_hash) => {
            let answer = match state.store.receipt(&tx_hash).map_err(|e| e.to_string())? {
                Some(receipt) if receipt.sender == query.origin && receipt.contract == contract => {
                    QueryAnswer::Ok(receipt.encode())
                }
                _ => QueryAnswer::Refused("no receipt of yours with that hash (yet)".into()),
            };
            ((synced.height, synced.hash()), answer)
        }
    };
    let answered = Answered {
        height: at.0,
        block_hash: at.1,
        answer,
    };
    let reply = seal_answer(state.chain_id, contract, &envelope, &answered, &mut OsRng);
    Ok(format!("0x{}", hex::encode(reply.encode())))
}

/// Replays the blocks before `progress.until` for a cluster this worker joined late, one sealed
/// commit per block with the progress, so a crash resumes where it stopped.
async fn catch_up(
    client: &NodeClient,
    shared: &QueryState,
    mut progress: CatchUp,
) -> Result<(), WorkerError> {
    let validators = &shared.validators;
    tracing::info!(cluster = %progress.cluster, until = progress.until, "joined a cluster with history: replaying it");
    if progress.done + 1 >= progress.until {
        let writes = shared.store.begin_block()?;
        let finished = CaughtUp {
            height: progress.done,
            progress: None,
            executor_snapshot: None,
        };
        shared.store.commit_caught_up(
            writes,
            |_| None,
            &Default::default(),
            finished,
            &mut OsRng,
        )?;
        return Ok(());
    }
    for height in progress.done + 1..progress.until {
        let (block, events) = fetch_checked(client, validators, height)
            .await?
            .ok_or_else(|| {
                ClientError::InvalidBlock(format!(
                    "the node has no block {height} to catch up from"
                ))
            })?;
        let mut executor = shared.executor.lock().unwrap_or_else(|p| p.into_inner());
        let mut writes = shared.store.begin_block()?;
        let effects = executor.catch_up_block(&block, &events, progress.cluster, &mut writes)?;
        progress.done = height;
        let next = (height + 1 < progress.until).then_some(progress);
        let snapshot = executor.take_snapshot_if_changed();
        install_state_keys(&shared.store, &executor, snapshot.is_some());
        shared.store.commit_caught_up(
            writes,
            |contract| executor.digest_key(contract),
            &effects,
            CaughtUp {
                height,
                progress: next,
                executor_snapshot: snapshot.as_deref(),
            },
            &mut OsRng,
        )?;
    }
    tracing::info!(cluster = %progress.cluster, "caught up");
    Ok(())
}

/// Gives the store the state keys of what the executor learnt (`learnt`: it is about to commit
/// a snapshot); the commit then re-encrypts whatever a newer key epoch reached.
fn install_state_keys(store: &WorkerStore, executor: &Executor, learnt: bool) {
    if learnt {
        store.install_state_keys(executor.state_keys());
    }
}

/// The worker's heartbeats, signed by its identity: every `every` blocks with the digests of its
/// contracts after that block; at once when the chain challenges it; and a first one with its
/// benchmark score. Each carries the score, so the chain always knows the latest.
struct Heartbeats {
    identity: Keypair,
    every: u64,
    /// P, measured by [`crate::benchmark`] at start.
    performance: u32,
    /// Whether a heartbeat has reached the pool since the start (the first reports P).
    reported: bool,
}

impl Heartbeats {
    /// Sends the heartbeat for block `height` if one is due, or the block challenged this
    /// worker. Not waited for: a lost heartbeat means one height less compared, and a missed
    /// challenge is answered by the next heartbeat.
    async fn send(
        &mut self,
        client: &NodeClient,
        store: &WorkerStore,
        contracts: &[AccountId],
        block_events: &[EventRecord],
        height: u64,
    ) -> Result<(), WorkerError> {
        let me = self.identity.account_id();
        let challenged = block_events
            .iter()
            .any(|r| matches!(r.event, Event::WorkerChallenged { worker, .. } if worker == me));
        let due = self.every != 0 && height != 0 && height.is_multiple_of(self.every);
        let mut digests = Vec::new();
        if due {
            for contract in contracts.iter().take(MAX_STATE_REPORTS) {
                if let Some(digest) = store.digest_at(contract, height)? {
                    digests.push(StateReport {
                        contract: *contract,
                        height,
                        digest: digest.as_hash(),
                    });
                }
            }
        }
        if digests.is_empty() && !challenged && self.reported {
            return Ok(());
        }
        let nonce = client.next_nonce(me).await?;
        let call = Call::Heartbeat {
            performance: Some(self.performance),
            digests,
        };
        let tx = client.sign(&self.identity, nonce, call);
        match client.submit(&tx).await {
            Ok(_) => {
                self.reported = true;
                if challenged {
                    tracing::info!(height, "answered the chain's heartbeat challenge");
                }
            }
            Err(error) => tracing::warn!(height, "heartbeat refused: {error}"),
        }
        Ok(())
    }
}

/// Catches up a cluster joined late, from where the store says the catch-up stands, asking
/// again (with a backoff) while the node fails or serves what the enclave refuses.
async fn catch_up_until_done(
    client: &NodeClient,
    shared: &Arc<QueryState>,
    status: &Mutex<WorkerStatus>,
    backoff: &mut Backoff,
) -> Result<(), WorkerError> {
    while let Some(progress) = shared.store.catch_up()? {
        // The replay executes contracts: on a blocking thread, fetching blocks from there.
        let (client, replaying) = (client.clone(), shared.clone());
        let replayed =
            on_blocking_thread_async(async move { catch_up(&client, &replaying, progress).await })
                .await?;
        match replayed {
            Ok(()) => {}
            Err(WorkerError::Follow(error)) => {
                wait_after(status, backoff, Setback::of_follow(&error)).await
            }
            Err(WorkerError::Node(error)) => {
                wait_after(status, backoff, Setback::of_client(&error)).await
            }
            Err(other) => return Err(other),
        }
    }
    Ok(())
}

/// Runs `work` on a blocking thread: contract execution, replays and checkpoints never run on
/// the async threads that follow the chain and serve RPC.
async fn on_blocking_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WorkerError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| WorkerError::Panicked(e.to_string()))
}

/// Drives `work` to completion on a blocking thread: for work that is mostly CPU but waits on
/// the node now and then (history queries and catch-up replays fetch blocks as they go).
async fn on_blocking_thread_async<T: Send + 'static>(
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T, WorkerError> {
    let runtime = tokio::runtime::Handle::current();
    on_blocking_thread(move || runtime.block_on(work)).await
}

/// Executes one verified block and commits it, sealed, in one store transaction: state,
/// receipts, executor snapshot, view and synced height. Returns the effects and what the
/// worker now serves. CPU work: called on a blocking thread.
fn apply_and_commit(
    shared: &QueryState,
    block: &Block,
    events: &[EventRecord],
    view: &ChainView,
    view_changed: bool,
) -> Result<(BlockEffects, Vec<Hash>, Vec<AccountId>), WorkerError> {
    let mut executor = shared.executor.lock().unwrap_or_else(|p| p.into_inner());
    let mut writes = shared.store.begin_block()?;
    let effects = executor.apply_block(block, events, view, &mut writes)?;
    let snapshot = executor.take_snapshot_if_changed();
    install_state_keys(&shared.store, &executor, snapshot.is_some());
    let synced = Synced {
        header: &block.header,
        executor_snapshot: snapshot.as_deref(),
        view: view_changed.then_some(view),
    };
    shared.store.commit_block(
        writes,
        |contract| executor.digest_key(contract),
        &effects,
        synced,
        &mut OsRng,
    )?;
    Ok((
        effects,
        executor.keys().served_clusters(),
        executor.contracts().copied().collect::<Vec<_>>(),
    ))
}

async fn sync_loop(
    mut follower: Follower,
    mut view: ChainView,
    shared: Arc<QueryState>,
    mut heartbeats: Heartbeats,
    mut egress: EgressSender,
    status: Arc<Mutex<WorkerStatus>>,
) -> Result<(), WorkerError> {
    let mut backoff = Backoff::default();
    // A catch-up a crash interrupted goes on first.
    catch_up_until_done(follower.client(), &shared, &status, &mut backoff).await?;
    loop {
        let (block, events) = match follower.next().await {
            Ok(Some(next)) => next,
            Ok(None) => {
                node_link::reachable(
                    &mut status.lock().unwrap_or_else(|p| p.into_inner()),
                    &mut backoff,
                );
                tokio::time::sleep(POLL_INTERVAL).await;
                continue;
            }
            Err(error) => {
                wait_after(&status, &mut backoff, Setback::of_follow(&error)).await;
                continue;
            }
        };
        let view_changed = view.apply(&block, &events);
        // A key to a cluster with history: replay that history before this block.
        let joined = shared
            .executor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .receive_keys(&block, &events, &view);
        for cluster in joined {
            let progress = CatchUp {
                cluster,
                until: block.header.height,
                done: 0,
            };
            let snapshot = {
                let executor = shared.executor.lock().unwrap_or_else(|p| p.into_inner());
                install_state_keys(&shared.store, &executor, true);
                executor.snapshot()
            };
            shared
                .store
                .begin_catch_up(progress, &snapshot, &mut OsRng)?;
            catch_up_until_done(follower.client(), &shared, &status, &mut backoff).await?;
        }
        // Contracts run here: on a blocking thread, never on the async ones that serve RPC.
        let applying = shared.clone();
        let (block, events, returned_view, applied) = on_blocking_thread(move || {
            let applied = apply_and_commit(&applying, &block, &events, &view, view_changed);
            (block, events, view, applied)
        })
        .await?;
        view = returned_view;
        let (effects, clusters, contracts) = applied?;
        let height = block.header.height;
        // The node failing to take a heartbeat or an egress batch is not the enclave's failure:
        // both are sent again with a later block.
        if let Err(error) = heartbeats
            .send(
                follower.client(),
                &shared.store,
                &contracts,
                &events,
                height,
            )
            .await
        {
            tracing::warn!(height, "heartbeat not sent: {error}");
        }
        let pending_outputs = match egress
            .send(follower.client(), &view, &shared.store, height)
            .await
        {
            Ok(pending) => pending,
            Err(error) => {
                tracing::warn!(height, "egress not sent: {error}");
                status
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .pending_outputs
            }
        };
        if shared.checkpoints.due(height) {
            // Queries go on meanwhile: the image is one read transaction of the committed store,
            // streamed to the file a chunk at a time, off the async threads.
            let writing = shared.clone();
            on_blocking_thread(move || writing.checkpoints.write(height, &writing.store)).await??;
        }
        let mut status = status.lock().unwrap_or_else(|p| p.into_inner());
        status.synced_height = height;
        status.synced_hash = block.hash();
        status.clusters = clusters;
        status.contracts = contracts;
        status.commands_executed += effects.receipts.len() as u64;
        status.pending_outputs = pending_outputs;
        node_link::recovered(&mut status, &mut backoff);
        *shared
            .last_block_at
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = std::time::Instant::now();
        if shared.checkpoints.due(height) {
            status.last_checkpoint = Some(height);
        }
    }
}
