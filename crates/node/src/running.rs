//! A started node: the shared state, the producer thread and the RPC server, and how they stop.

use crate::config::NodeConfig;
use crate::metrics::NodeMetrics;
use crate::pool::Pool;
use crate::producer;
use crate::rpc::{self, RpcHandler};
use crate::storage::{StorageError, Store};
use phalanx_api::views::{ChainInfo, HeaderView, TokenInfo};
use phalanx_primitives::amount::{DECIMALS, TOTAL_SUPPLY};
use phalanx_primitives::{BlockHeader, GenesisConfig, MAX_TRANSACTION_SIZE};
use phalanx_runtime::{genesis, ChainParams};
use std::net::SocketAddr;
use std::sync::{mpsc, Arc, Mutex, RwLock};
use tokio::sync::{broadcast, oneshot};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot serve RPC on {addr}: {reason}")]
    Rpc { addr: SocketAddr, reason: String },
    #[error("block production stopped: {0}")]
    Producer(String),
}

/// What the producer, the RPC handlers and the admission path share.
pub(crate) struct Shared {
    pub store: Store,
    /// Guards the pool *and* the pairing of committed state with it: the producer holds it from
    /// choosing a block's transactions until the pool is rebased on the committed block.
    pub pool: Mutex<Pool>,
    /// Header of the newest committed block; updated under the pool lock.
    pub head: RwLock<BlockHeader>,
    pub heads: broadcast::Sender<HeaderView>,
    pub params: ChainParams,
    pub info: ChainInfo,
    /// The genesis description, SCALE-encoded (served as is by `chain_getGenesis`).
    pub genesis: Vec<u8>,
    pub metrics: NodeMetrics,
    /// Where admitted transactions go to reach the other validators (many-validator chains).
    pub relay: std::sync::OnceLock<crate::consensus::relay::Outbox>,
}

impl Shared {
    /// The height of the newest committed block.
    pub(crate) fn head_height(&self) -> u64 {
        self.head.read().unwrap_or_else(|p| p.into_inner()).height
    }

    /// Opens (or creates) the chain's database in `data_dir` and the pool on its head; also
    /// returns the metrics registry.
    pub(crate) fn open(
        genesis_config: &GenesisConfig,
        data_dir: &std::path::Path,
        pool_capacity: usize,
    ) -> Result<
        (
            Shared,
            phalanx_telemetry::prometheus_client::registry::Registry,
        ),
        NodeError,
    > {
        let genesis_block =
            genesis::build(genesis_config).map_err(|e| NodeError::Config(e.to_string()))?;
        let store = Store::open(data_dir, genesis_config)?;
        let head = store.head()?.header;
        let params = ChainParams::from_genesis(genesis_config);
        let pool = Pool::new(
            params.clone(),
            store.state_snapshot()?,
            producer::next_block_context(&head),
            pool_capacity,
        );
        let (heads, _) = broadcast::channel(1024);
        let (metrics, registry) = NodeMetrics::new();
        let shared = Shared {
            store,
            pool: Mutex::new(pool),
            head: RwLock::new(head),
            heads,
            params,
            info: chain_info(genesis_config, genesis_block.header.hash()),
            genesis: parity_scale_codec::Encode::encode(genesis_config),
            metrics,
            relay: std::sync::OnceLock::new(),
        };
        Ok((shared, registry))
    }
}

pub struct RunningNode {
    shared: Arc<Shared>,
    /// The metrics endpoint's address and task, when asked for.
    metrics_server: Option<(SocketAddr, tokio::task::JoinHandle<()>)>,
    rpc_addr: SocketAddr,
    server: jsonrpsee::server::ServerHandle,
    /// Tells block production (the producer or consensus) to stop.
    stop_producer: Option<Box<dyn FnOnce() + Send>>,
    producer_done: oneshot::Receiver<Result<(), NodeError>>,
    producer_thread: Option<std::thread::JoinHandle<()>>,
}

fn chain_info(config: &GenesisConfig, genesis_block_hash: phalanx_primitives::Hash) -> ChainInfo {
    ChainInfo {
        chain_name: config.chain_name.clone(),
        chain_id: config.hash(),
        genesis_block_hash,
        validators: config.validators.clone(),
        token: TokenInfo {
            symbol: "PHA".into(),
            decimals: DECIMALS,
            total_supply_units: TOTAL_SUPPLY,
        },
        base_fee_units: config.fees.base_fee,
        per_byte_fee_units: config.fees.per_byte_fee,
        gas_price_units: config.economy.gas_price,
        max_transaction_size: MAX_TRANSACTION_SIZE,
        treasury: GenesisConfig::treasury_account(),
    }
}

/// Serves the node's metrics at `addr`; gauges of shared state are read at each scrape.
async fn serve_metrics(
    addr: SocketAddr,
    registry: phalanx_telemetry::prometheus_client::registry::Registry,
    shared: Arc<Shared>,
    data_dir: &std::path::Path,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let database = data_dir.join(crate::storage::DATABASE_FILE);
    // A weak handle: the endpoint must not keep the node's state alive after `stop`.
    let weak = Arc::downgrade(&shared);
    let refresh: phalanx_telemetry::Refresh = Arc::new(move || {
        let Some(shared) = weak.upgrade() else { return };
        let m = &shared.metrics;
        m.head_height
            .set(shared.head.read().unwrap_or_else(|p| p.into_inner()).height as i64);
        m.pool_pending
            .set(shared.pool.lock().unwrap_or_else(|p| p.into_inner()).len() as i64);
        m.store_bytes
            .set(phalanx_telemetry::file_bytes(&database) as i64);
        m.resident_bytes
            .set(phalanx_telemetry::resident_memory_bytes().unwrap_or(0) as i64);
    });
    phalanx_telemetry::serve(addr, Arc::new(registry), refresh).await
}

impl RunningNode {
    /// Opens the data directory, starts producing blocks and serving RPC.
    pub async fn start(config: NodeConfig) -> Result<RunningNode, NodeError> {
        if config.network.is_none()
            && config.follow.is_none()
            && config.genesis.validators != [config.validator.account_id()]
        {
            return Err(NodeError::Config(format!(
                "this node's validator key is {}, but the genesis validators are {:?}; a single-validator node must be the only validator (a chain of many needs --p2p-addr and the validators' addresses in its genesis)",
                config.validator.account_id(),
                config.genesis.validators
            )));
        }
        let (shared, registry) =
            Shared::open(&config.genesis, &config.data_dir, config.pool_capacity)?;
        let shared = Arc::new(shared);
        let metrics_server = match config.metrics_addr {
            Some(addr) => Some(
                serve_metrics(addr, registry, shared.clone(), &config.data_dir)
                    .await
                    .map_err(|e| NodeError::Rpc {
                        addr,
                        reason: format!("metrics: {e}"),
                    })?,
            ),
            None => None,
        };

        let producer_shared = shared.clone();
        let (rpc_addr, server) = rpc::serve(
            config.rpc_addr,
            RpcHandler::new(shared.clone()),
            config.rpc_limits,
        )
        .await
        .map_err(|reason| NodeError::Rpc {
            addr: config.rpc_addr,
            reason,
        })?;

        let (done_tx, producer_done) = oneshot::channel();
        let (stop_producer, producer_thread): (Box<dyn FnOnce() + Send>, _) =
            match (config.follow, config.network) {
                (Some(upstream), _) => {
                    let (stop, stop_rx) = oneshot::channel();
                    let thread = std::thread::Builder::new()
                        .name("block-follower".into())
                        .spawn(move || {
                            let result = tokio::runtime::Builder::new_current_thread()
                                .enable_all()
                                .build()
                                .map_err(|e| NodeError::Producer(e.to_string()))
                                .and_then(|runtime| {
                                    runtime.block_on(crate::follower::run(
                                        producer_shared,
                                        upstream,
                                        stop_rx,
                                    ))
                                });
                            let _ = done_tx.send(result);
                        })
                        .map_err(|e| NodeError::Producer(e.to_string()))?;
                    (
                        Box::new(move || {
                            let _ = stop.send(());
                        }),
                        thread,
                    )
                }
                (None, None) => {
                    let (stop, stop_rx) = mpsc::channel();
                    let validator = config.validator.clone();
                    let block_time = config.block_time;
                    let thread = std::thread::Builder::new()
                        .name("block-producer".into())
                        .spawn(move || {
                            let result =
                                producer::run(&producer_shared, &validator, block_time, stop_rx);
                            let _ = done_tx.send(result);
                        })
                        .map_err(|e| NodeError::Producer(e.to_string()))?;
                    (
                        Box::new(move || {
                            let _ = stop.send(());
                        }),
                        thread,
                    )
                }
                (None, Some(network)) => {
                    let (outbox, queue) = crate::consensus::relay::Outbox::new();
                    let _ = shared.relay.set(outbox);
                    let mut consensus = crate::consensus::network::start(
                        producer_shared,
                        config.validator.clone(),
                        network,
                        queue,
                        config.block_time,
                        done_tx,
                    )?;
                    let stop = consensus.stop.take().expect("just started");
                    let thread = consensus.thread.take().expect("just started");
                    (
                        Box::new(move || {
                            let _ = stop.send(());
                        }),
                        thread,
                    )
                }
            };
        tracing::info!(%rpc_addr, "node started");
        Ok(RunningNode {
            shared,
            metrics_server,
            rpc_addr,
            server,
            stop_producer: Some(stop_producer),
            producer_done,
            producer_thread: Some(producer_thread),
        })
    }

    /// The address the RPC server listens on (useful when started on port 0).
    pub fn rpc_addr(&self) -> SocketAddr {
        self.rpc_addr
    }

    /// Where the metrics are served (`--metrics-addr`), if they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_server.as_ref().map(|(addr, _)| *addr)
    }

    /// Resolves when block production ends on its own, which only happens on a fatal error.
    pub async fn failed(&mut self) -> NodeError {
        match (&mut self.producer_done).await {
            Ok(Err(e)) => e,
            Ok(Ok(())) => NodeError::Producer("stopped unexpectedly".into()),
            Err(_) => NodeError::Producer("producer thread panicked".into()),
        }
    }

    /// Stops producing (after the block in progress is committed) and stops serving.
    pub async fn stop(mut self) -> Result<(), NodeError> {
        if let Some((_, task)) = self.metrics_server.take() {
            task.abort();
            let _ = task.await;
        }
        if let Some(stop) = self.stop_producer.take() {
            stop();
        }
        let _ = self.server.stop();
        self.server.clone().stopped().await;
        if let Some(thread) = self.producer_thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        // Connection tasks that were mid-request may still hold the database for a moment; wait
        // for them so that the data directory can be reopened as soon as this returns.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while Arc::strong_count(&self.shared) > 1 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        match self.producer_done.try_recv() {
            Ok(result) => result,
            Err(_) => Ok(()),
        }
    }
}
