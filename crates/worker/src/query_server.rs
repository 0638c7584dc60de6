//! The read side (CQRS): the `worker_query` and `worker_stateDigest` methods.
//!
//! Queries never touch the sync actor's executor and never wait for a block's commit: they run on
//! their own copy of it (the reader, replaced after every block that changed keys, code or
//! contracts) over one read transaction of the committed store, which gives the synced header
//! and the state as of that same block.

use crate::blocking::on_blocking_thread_async;
use crate::checkpoint::Checkpoints;
use crate::history::{self, HistoryQuery};
use crate::metrics::QueryMetrics;
use crate::process::{now_ms, WorkerError};
use crate::query_limits::QueryLimits;
use crate::store::{StoreError, WorkerStore};
use jsonrpsee::server::RpcModule;
use jsonrpsee::types::ErrorObjectOwned;
use parity_scale_codec::{DecodeAll, Encode};
use phalanx_client::views::DigestView;
use phalanx_client::NodeClient;
use phalanx_executor::{
    check_permit, open_query, seal_answer, ContractStates, Executor, NonceGuard,
};
use phalanx_primitives::query::{
    Answered, QueryAnswer, QueryRequest, MAX_NOTIFICATIONS_PER_ANSWER,
    MAX_NOTIFICATION_BYTES_PER_ANSWER,
};
use phalanx_primitives::{AccountId, Envelope, Hash, ValidatorHistory};
use rand_core::OsRng;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the query methods read, and what the sync actor tells them.
pub(crate) struct QueryServer {
    chain_id: Hash,
    /// The enclave's validator history, for the blocks history queries replay (the sync actor
    /// swaps in a newer one when a block changes it).
    validators: Mutex<Arc<ValidatorHistory>>,
    /// When the sync actor last committed a block.
    last_block_at: Mutex<Instant>,
    /// Past this long without a new block, state is not served (answers are `Stale`).
    stale_after: Duration,
    /// The queries' own executor. Held while a query runs; the sync actor never takes it.
    reader: Mutex<Executor>,
    /// A newer reader the sync actor left (it only ever holds this lock to swap a value in);
    /// the next query takes it.
    newer_reader: Mutex<Option<Executor>>,
    store: Arc<WorkerStore>,
    nonces: Mutex<NonceGuard>,
    /// For history queries: the blocks to replay and the checkpoints to start from.
    node: NodeClient,
    checkpoints: Arc<Checkpoints>,
    limits: QueryLimits,
    pub(crate) metrics: QueryMetrics,
}

impl QueryServer {
    pub(crate) fn new(
        reader: Executor,
        store: Arc<WorkerStore>,
        checkpoints: Arc<Checkpoints>,
        node: NodeClient,
        validators: Arc<ValidatorHistory>,
        stale_after: Duration,
    ) -> Self {
        QueryServer {
            chain_id: reader.chain_id(),
            validators: Mutex::new(validators),
            last_block_at: Mutex::new(Instant::now()),
            stale_after,
            reader: Mutex::new(reader),
            newer_reader: Mutex::new(None),
            store,
            nonces: Mutex::new(NonceGuard::default()),
            node,
            checkpoints,
            limits: QueryLimits::default(),
            metrics: QueryMetrics::default(),
        }
    }

    /// The sync actor committed a block; `reader`, if the block changed keys, code or
    /// contracts, is a copy of its executor after it.
    pub(crate) fn block_committed(&self, reader: Option<Executor>) {
        if let Some(reader) = reader {
            *self.newer_reader.lock().unwrap_or_else(|p| p.into_inner()) = Some(reader);
        }
        *self.last_block_at.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    /// A block the sync actor applied changed the validator history.
    pub(crate) fn validators_changed(&self, validators: &ValidatorHistory) {
        *self.validators.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(validators.clone());
    }

    /// How long since the sync actor last committed a block.
    pub(crate) fn since_block(&self) -> Duration {
        self.last_block_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }

    /// The reader, brought up to date with what the sync actor left.
    fn reader(&self) -> std::sync::MutexGuard<'_, Executor> {
        let mut reader = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(newer) = self
            .newer_reader
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            *reader = newer;
        }
        reader
    }
}

/// JSON-RPC error code of a refused query (bad signature, expired, replayed, ...).
pub const QUERY_REFUSED: i32 = 2000;

/// JSON-RPC error code of a digest asked for a height this worker has not reached.
pub const NOT_SYNCED: i32 = 2001;

/// The `worker_query` method: `(contract, 0x-hex envelope)` -> 0x-hex answer envelope, and
/// `worker_stateDigest`: `(contract, height or null for the synced height)` -> [`DigestView`].
pub(crate) fn query_module(
    addr: SocketAddr,
    state: Arc<QueryServer>,
) -> Result<RpcModule<Arc<QueryServer>>, WorkerError> {
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
    state: &QueryServer,
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

/// Runs the contract's `query` entry point on `message` against the synced header and the state
/// of the same block (one read transaction), as the caller `who` decides: the origin itself, or
/// a permit's owner with its scopes; `who` reads the contract's state through its argument (a
/// permit's revocation) and refuses with a reason. Returns the block and the answer.
fn run_query(
    state: &QueryServer,
    contract: &AccountId,
    message: &[u8],
    who: impl FnOnce(
        &mut dyn FnMut(&[u8]) -> Result<bool, String>,
    ) -> Result<(AccountId, Option<Vec<String>>), String>,
) -> Result<((u64, Hash), QueryAnswer), String> {
    let (synced, mut view) = state
        .store
        .committed()
        .map_err(|e| e.to_string())?
        .ok_or("this worker has not synced yet")?;
    let at = (synced.height, synced.hash());
    let mut read = |key: &[u8]| {
        view.storage(contract)
            .get(key)
            .map(|value| value.is_some())
            .map_err(|e| e.0)
    };
    let (caller, scopes) = match who(&mut read) {
        Ok(caller) => caller,
        Err(reason) => return Ok((at, QueryAnswer::Refused(reason))),
    };
    let mut reader = state.reader();
    let answer = match reader.query_as(
        contract,
        caller,
        scopes,
        message,
        synced.height,
        synced.timestamp_ms,
        &mut view,
    ) {
        Ok(output) => QueryAnswer::Ok(output),
        Err(error) => QueryAnswer::Refused(error.to_string()),
    };
    Ok((at, answer))
}

async fn answer_query(
    state: &QueryServer,
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
        let reader = state.reader();
        let mut nonces = state.nonces.lock().unwrap_or_else(|p| p.into_inner());
        open_query(&reader, &contract, &envelope, now_ms(), &mut nonces)
            .map_err(|e| e.to_string())?
    };
    let synced = state
        .store
        .synced()
        .map_err(|e| e.to_string())?
        .ok_or("this worker has not synced yet")?;
    let silent = state.since_block();
    let stale = silent > state.stale_after;
    // Receipts and notifications are facts of past blocks, served however long the node is silent.
    let reads_state = !matches!(
        query.request,
        QueryRequest::Receipt(_) | QueryRequest::Notifications { .. }
    );
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
                let reader = state.reader();
                (reader.fork(), reader.cluster_of(&contract))
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
            let validators =
                Arc::clone(&state.validators.lock().unwrap_or_else(|p| p.into_inner()));
            let node = (&state.node, &validators);
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
            run_query(state, &contract, &message, |_| Ok((query.origin, None)))?
        }
        QueryRequest::WithPermit { permit, message } => {
            run_query(state, &contract, &message, |revoked| {
                let permit = check_permit(
                    state.chain_id,
                    &contract,
                    &query.origin,
                    &permit,
                    now_ms(),
                    revoked,
                )
                .map_err(|error| format!("permit refused: {error}"))?;
                Ok((permit.owner, Some(permit.scopes.clone())))
            })?
        }
        QueryRequest::Notifications { since } => {
            // Only the origin's own: the query's signature proved who asks.
            let notifications = state
                .store
                .notifications(
                    &contract,
                    &query.origin,
                    since,
                    MAX_NOTIFICATIONS_PER_ANSWER,
                    MAX_NOTIFICATION_BYTES_PER_ANSWER,
                )
                .map_err(|e| e.to_string())?;
            (
                (synced.height, synced.hash()),
                QueryAnswer::Ok(notifications.encode()),
            )
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
