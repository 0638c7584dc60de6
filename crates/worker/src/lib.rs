//! `worker`: the worker process (Phala's pRuntime host), and what every enclave process shares.
//!
//! A worker follows finalized blocks from a node it does not trust ([`Follower`] verifies each
//! against the validators its sealed trust root pinned), feeds them to the pure
//! `phalanx_executor::Executor`, and commits each block's effects in one transaction of its
//! sealed redb store ([`WorkerStore`]): contract state, receipts, digests, outputs not yet on
//! chain, the synced header. It serves encrypted queries (bounded per account, [`QUERY_REFUSED`]),
//! sends heartbeats and its contracts' outputs (egress), writes sealed checkpoints and restores
//! from the newest intact one, and replays history for queries about past blocks.
//!
//! [`host`] holds what the gatekeeper process (`phalanx-gatekeeper`) shares with it: opening the
//! enclave, enrolling on chain, the trust root, the node link with its backoff, the status RPC,
//! metrics, and [`HeaderStore`], the small store a gatekeeper keeps.
//!
//! It never decides what a command does (that is the executor's, the same on every worker),
//! never believes the node beyond what it verified, and never writes anything in clear that the
//! host could read or alter unnoticed: everything on disk is sealed under the enclave's key.
#![forbid(unsafe_code)]

mod benchmark;
mod blocking;
mod checkpoint;
mod durable;
mod egress_sender;
mod enclave;
mod enrollment;
mod follower;
mod history;
mod metrics;
mod node_link;
mod process;
mod query_limits;
mod query_server;
mod reporter;
mod running;
mod store;
mod sync;
mod tdx;
mod trust;

pub use checkpoint::CheckpointError;
pub use enclave::Enclave;
pub use follower::{FollowError, Follower};
pub use process::{
    start, Tee, WorkerConfig, WorkerError, WorkerStatus, DEFAULT_CHECKPOINT_EVERY,
    DEFAULT_HEARTBEAT_EVERY, DEFAULT_KEEP_CHECKPOINTS, DEFAULT_STALE_AFTER, STORE_FILE,
    WORKER_FUNDING,
};
pub use query_server::{NOT_SYNCED, QUERY_REFUSED};
pub use running::{Running, RunningWorker, Started, StatusWatch};
pub use store::{HeaderStore, PinnedStore, StoreError, Synced, WorkerStore};
pub use tdx::sealing_root;
pub use trust::TrustError;

/// What every enclave process does, worker or gatekeeper, beside its own work.
pub mod host {
    pub use crate::durable::write_file;
    pub use crate::enrollment::{enroll, open_enclave, status_module, RpcListener};
    pub use crate::metrics::{start as serve_metrics, MetricsSources};
    pub use crate::node_link::{reachable, recovered, wait_after, Backoff, Setback};
    pub use crate::trust::pinned_view;
}
