//! `client`: a typed client of the node's JSON-RPC API (defined in `phalanx-api`, re-exported
//! here) that builds, signs and submits transactions and verifies the blocks it reads, and the
//! encryption helpers for contracts and their workers.
//!
//! The CLI, tests and benchmarks use it. This crate never holds key files or decides policy;
//! callers hand it keys.
//!
//! ```no_run
//! # async fn demo() -> Result<(), phalanx_client::ClientError> {
//! use phalanx_client::NodeClient;
//! use phalanx_crypto::Keypair;
//! let node = NodeClient::connect("http://127.0.0.1:9944").await?;
//! let bob = Keypair::dev("bob").account_id();
//! let included = node.transfer(&Keypair::dev("alice"), bob, 5_000_000_000_000).await?;
//! println!("final in block {}", included.height);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod contract;
pub mod metadata;
mod node_client;
pub mod query;

pub use contract::{seal_to_contract, ContractClient, PublicKey};
pub use node_client::{ClientError, Included, NodeClient, DEFAULT_INCLUSION_TIMEOUT};
pub use phalanx_api::{economy, error_codes, rpc as api, views};
