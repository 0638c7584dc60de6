//! `client`: the node's JSON-RPC API — its method names, JSON shapes and error codes — and a typed
//! client for it that builds, signs and submits transactions and verifies the blocks it reads.
//!
//! The API trait here is the single definition both sides use: `phalanx-node` implements the
//! generated server trait, the CLI, tests and benchmarks call the generated client. This crate
//! never holds key files or decides policy; callers hand it keys.
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

pub mod api;
pub mod contract;
pub mod economy;
mod node_client;
pub mod query;
pub mod views;

pub use api::error_codes;
pub use contract::{seal_to_contract, ContractClient, PublicKey};
pub use node_client::{ClientError, Included, NodeClient, DEFAULT_INCLUSION_TIMEOUT};
