//! `testkit`: what the tests and benchmarks of several crates share, so that none of them reaches
//! into another's `tests/` folder by path.
//!
//! - [`MemoryChain`]: a dev chain in memory, producing real signed blocks with their events, and
//!   [`TestEnclave`], an enclave's keys and dev registration without a process;
//! - [`processes`]: the real `phalanx` binary as child processes on loopback (node, worker,
//!   gatekeeper, devnet, one-shot CLI calls), killed when dropped;
//! - [`cluster`]: async helpers against running processes: submit calls, wait for keys,
//!   deploy a private token in a fresh cluster, read workers' status and digests;
//! - [`load`]: plain-transfer load for benchmarks: funded senders, pre-signed transfers, batched
//!   submission to one or several nodes;
//! - [`measure`]: the pipeline's measurements (plain transfers, confidential end to end with
//!   queries, replay, VM against native), shared by the benchmarks;
//! - [`knob`]: a benchmark's size from the environment.
//!
//! Test code only: it panics on anything unexpected, and nothing in the network depends on it.

pub mod cluster;
pub mod load;
pub mod measure;
mod memory_chain;
pub mod processes;
mod token_cluster;

pub use memory_chain::{MemoryChain, TestEnclave};
pub use processes::{
    cli_json, dev_chain_id, phalanx, phalanx_binary, DevnetProcess, NodeProcess, WorkerProcess,
};
pub use token_cluster::{TokenCluster, TOKEN_COMMAND_GAS};

/// The number in environment variable `name`, else `default` (load generators' sizes).
pub fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
