//! A started enclave process, as its caller holds it: addresses, identity, status, and the
//! handles to stop it or learn why it failed.

use crate::process::{WorkerError, WorkerStatus};
use jsonrpsee::server::ServerHandle;
use phalanx_primitives::AccountId;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

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
