//! `node`: the Phalanx ledger node — it stores the chain in redb, admits transactions into its
//! pool, produces and finalises blocks — as the single dev validator, as one of many under simplex
//! (`consensus`), or as a full node that follows and re-executes another node's finalized chain
//! without voting (`follower`) — and serves the JSON-RPC API of `phalanx-api` over HTTP and
//! WebSocket.
//!
//! It owns all of the ledger's I/O: the disk, the clock (block timestamps), the network. It never
//! decides what a transaction does: that is `phalanx-runtime`, called with the same inputs on
//! every node. A block is reported final (RPC, subscriptions) only after it is durably committed.
//!
//! ```no_run
//! # async fn demo() -> Result<(), phalanx_node::NodeError> {
//! use phalanx_node::{NodeConfig, RunningNode};
//! let config = NodeConfig::dev("/tmp/phalanx-node".into(), "127.0.0.1:9944".parse().unwrap());
//! let node = RunningNode::start(config).await?;
//! println!("serving on {}", node.rpc_addr());
//! node.stop().await
//! # }
//! ```
#![forbid(unsafe_code)]

mod admission;
mod config;
pub mod consensus;
mod economy_views;
pub mod follower;
mod metrics;
mod pool;
mod producer;
mod refusals;
mod rpc;
mod running;
mod storage;
pub mod transport;
pub mod verify;

pub use config::{
    NodeConfig, DEFAULT_BLOCK_TIME, DEFAULT_POOL_CAPACITY, MAX_BLOCK_BYTES, MAX_BLOCK_TRANSACTIONS,
};
pub use running::{NodeError, RunningNode};
pub use storage::{StorageError, Store, DATABASE_FILE};
