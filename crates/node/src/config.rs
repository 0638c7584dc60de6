//! How a node is started.

use crate::transport::RpcLimits;
use phalanx_crypto::Keypair;
use phalanx_primitives::GenesisConfig;
use phalanx_runtime::genesis;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_BLOCK_TIME: Duration = Duration::from_secs(1);
/// Pending transactions the pool holds before it refuses more.
pub const DEFAULT_POOL_CAPACITY: usize = 200_000;
/// Most transactions in one block.
pub const MAX_BLOCK_TRANSACTIONS: usize = 20_000;
/// Most bytes of transactions in one block.
pub const MAX_BLOCK_BYTES: usize = 8 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Holds the database file (`chain.redb`).
    pub data_dir: PathBuf,
    pub rpc_addr: SocketAddr,
    pub block_time: Duration,
    pub genesis: GenesisConfig,
    /// This node's validator key; must be the genesis' only validator.
    pub validator: Keypair,
    pub pool_capacity: usize,
    /// Timeouts and per-peer caps of the RPC server.
    pub rpc_limits: RpcLimits,
    /// Where to serve Prometheus metrics (`/metrics`); none unless asked.
    pub metrics_addr: Option<SocketAddr>,
    /// For a chain of many validators: this validator's p2p endpoint and its peers. `None`
    /// runs the single-validator producer.
    pub network: Option<crate::consensus::network::ValidatorNetwork>,
    /// A full node that does not vote: the RPC URL of the node whose finalized chain it
    /// follows (checked and re-executed here) and forwards transactions to. Overrides
    /// `network`; `validator` is then unused.
    pub follow: Option<String>,
}

impl NodeConfig {
    /// A dev node: the built-in dev genesis and the dev validator key.
    pub fn dev(data_dir: PathBuf, rpc_addr: SocketAddr) -> Self {
        NodeConfig {
            data_dir,
            rpc_addr,
            block_time: DEFAULT_BLOCK_TIME,
            genesis: genesis::dev_config(),
            validator: Keypair::dev(genesis::DEV_VALIDATOR),
            pool_capacity: DEFAULT_POOL_CAPACITY,
            rpc_limits: RpcLimits::default(),
            metrics_addr: None,
            network: None,
            follow: None,
        }
    }
}
