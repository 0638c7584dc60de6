//! CPU work off the async threads: contract execution, replays and checkpoints never run on the
//! threads that follow the chain and serve RPC.

use crate::process::WorkerError;

/// Runs `work` on a blocking thread: contract execution, replays and checkpoints never run on
/// the async threads that follow the chain and serve RPC.
pub(crate) async fn on_blocking_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WorkerError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| WorkerError::Panicked(e.to_string()))
}

/// Drives `work` to completion on a blocking thread: for work that is mostly CPU but waits on
/// the node now and then (history queries and catch-up replays fetch blocks as they go).
pub(crate) async fn on_blocking_thread_async<T: Send + 'static>(
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T, WorkerError> {
    let runtime = tokio::runtime::Handle::current();
    on_blocking_thread(move || runtime.block_on(work)).await
}
