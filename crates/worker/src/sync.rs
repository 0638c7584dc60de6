//! The sync actor: the write side of a worker. It owns the executor and the chain view, takes
//! each verified block from the follower, executes and commits it on a blocking thread (one
//! sealed store transaction per block), writes checkpoints when due, hands the committed block
//! to the reporter's mailbox and a fresh reader to the query server when the block changed what
//! queries need. A key to a cluster with history makes it replay that history first (catch-up).
//!
//! Nothing else touches its executor: queries run on their own copy, so a query never waits for
//! a block, and a block never waits for a query.

use crate::blocking::{on_blocking_thread, on_blocking_thread_async};
use crate::checkpoint::Checkpoints;
use crate::follower::{fetch_checked, Follower};
use crate::node_link::{self, wait_after, Backoff, Setback};
use crate::process::{WorkerError, WorkerStatus};
use crate::query_server::QueryServer;
use crate::reporter::Committed;
use crate::store::{CatchUp, CaughtUp, Synced, WorkerStore};
use phalanx_client::{ClientError, NodeClient};
use phalanx_executor::{BlockEffects, ChainView, Executor};
use phalanx_primitives::{AccountId, Block, Event, EventRecord, Hash, ValidatorHistory};
use rand_core::OsRng;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long to wait before asking the node again when it has no new block.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

pub(crate) struct SyncActor {
    pub(crate) follower: Follower,
    /// Always there between blocks: it travels to a blocking thread and back.
    pub(crate) core: Option<SyncCore>,
    pub(crate) store: Arc<WorkerStore>,
    pub(crate) checkpoints: Arc<Checkpoints>,
    pub(crate) queries: Arc<QueryServer>,
    pub(crate) reporter: mpsc::Sender<Committed>,
    pub(crate) status: Arc<Mutex<WorkerStatus>>,
}

/// What the actor alone holds: its executor and its view of the chain.
pub(crate) struct SyncCore {
    pub(crate) executor: Executor,
    pub(crate) view: ChainView,
}

/// What one block's application leaves the actor with.
struct Applied {
    effects: BlockEffects,
    clusters: Vec<Hash>,
    contracts: Vec<AccountId>,
    /// A copy of the executor for the queries, if the block changed keys, code or contracts.
    reader: Option<Executor>,
}

impl SyncActor {
    /// Follows the chain until a fatal error (the store failing, the reporter gone).
    pub(crate) async fn run(mut self) -> Result<(), WorkerError> {
        let mut backoff = Backoff::default();
        // A catch-up a crash interrupted goes on first.
        self.catch_up_until_done(&mut backoff).await?;
        loop {
            let (block, events) = match self.follower.next().await {
                Ok(Some(next)) => next,
                Ok(None) => {
                    node_link::reachable(&mut self.lock_status(), &mut backoff);
                    tokio::time::sleep(POLL_INTERVAL).await;
                    continue;
                }
                Err(error) => {
                    wait_after(&self.status, &mut backoff, Setback::of_follow(&error)).await;
                    continue;
                }
            };
            let queries = Arc::clone(&self.queries);
            let core = self.core();
            let view_changed = core.view.apply(&block, &events);
            if events
                .iter()
                .any(|r| matches!(r.event, Event::ValidatorSetScheduled { .. }))
            {
                queries.validators_changed(core.view.validators());
            }
            // A key to a cluster with history: replay that history before this block.
            let joined = core.executor.receive_keys(&block, &events, &core.view);
            for cluster in joined {
                let progress = CatchUp {
                    cluster,
                    until: block.header.height,
                    done: 0,
                };
                let store = self.store.clone();
                let snapshot = {
                    let executor = &self.core().executor;
                    install_state_keys(&store, executor, true);
                    executor.snapshot()
                };
                self.store.begin_catch_up(progress, &snapshot, &mut OsRng)?;
                self.catch_up_until_done(&mut backoff).await?;
            }
            let (block, events, applied) = self.apply(block, events, view_changed).await?;
            let height = block.header.height;
            if self.checkpoints.due(height) {
                // Queries go on meanwhile: the image is one read transaction of the committed
                // store, streamed to the file a chunk at a time, off the async threads.
                let (checkpoints, store) = (self.checkpoints.clone(), self.store.clone());
                on_blocking_thread(move || checkpoints.write(height, &store)).await??;
            }
            self.queries.block_committed(applied.reader);
            {
                let mut status = self.lock_status();
                status.synced_height = height;
                status.synced_hash = block.hash();
                status.clusters = applied.clusters;
                status.contracts = applied.contracts.clone();
                status.commands_executed += applied.effects.receipts.len() as u64;
                if self.checkpoints.due(height) {
                    status.last_checkpoint = Some(height);
                }
                node_link::recovered(&mut status, &mut backoff);
            }
            let committed = Committed {
                height,
                events,
                contracts: applied.contracts,
                view: view_changed.then(|| Arc::new(self.core().view.clone())),
            };
            self.reporter
                .send(committed)
                .await
                .map_err(|_| WorkerError::Panicked("the reporter stopped".into()))?;
        }
    }

    fn core(&mut self) -> &mut SyncCore {
        self.core.as_mut().expect("the core is back between blocks")
    }

    fn take_core(&mut self) -> SyncCore {
        self.core.take().expect("the core is back between blocks")
    }

    fn lock_status(&self) -> std::sync::MutexGuard<'_, WorkerStatus> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Executes and commits `block` on a blocking thread, with the executor and the view
    /// travelling there and back.
    async fn apply(
        &mut self,
        block: Block,
        events: Vec<EventRecord>,
        view_changed: bool,
    ) -> Result<(Block, Vec<EventRecord>, Applied), WorkerError> {
        let mut core = self.take_core();
        let store = self.store.clone();
        let (core, block, events, applied) = on_blocking_thread(move || {
            let applied = apply_and_commit(&mut core, &store, &block, &events, view_changed);
            (core, block, events, applied)
        })
        .await?;
        self.core = Some(core);
        Ok((block, events, applied?))
    }

    /// Catches up a cluster joined late, from where the store says the catch-up stands, asking
    /// again (with a backoff) while the node fails or serves what the enclave refuses.
    async fn catch_up_until_done(&mut self, backoff: &mut Backoff) -> Result<(), WorkerError> {
        while let Some(progress) = self.store.catch_up()? {
            // The replay executes contracts: on a blocking thread, fetching blocks from there.
            let mut core = self.take_core();
            let client = self.follower.client().clone();
            let store = self.store.clone();
            let (core, replayed) = on_blocking_thread_async(async move {
                let validators = Arc::new(core.view.validators().clone());
                let replayed =
                    catch_up(&client, &validators, &mut core.executor, &store, progress).await;
                (core, replayed)
            })
            .await?;
            self.queries.block_committed(Some(core.executor.fork()));
            self.core = Some(core);
            match replayed {
                Ok(()) => {}
                Err(WorkerError::Follow(error)) => {
                    wait_after(&self.status, backoff, Setback::of_follow(&error)).await
                }
                Err(WorkerError::Node(error)) => {
                    wait_after(&self.status, backoff, Setback::of_client(&error)).await
                }
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }
}

/// Executes one verified block and commits it, sealed, in one store transaction: state,
/// receipts, executor snapshot, view and synced height. CPU work: called on a blocking thread.
fn apply_and_commit(
    core: &mut SyncCore,
    store: &WorkerStore,
    block: &Block,
    events: &[EventRecord],
    view_changed: bool,
) -> Result<Applied, WorkerError> {
    let SyncCore { executor, view } = core;
    let view = &*view;
    let mut writes = store.begin_block()?;
    let effects = executor.apply_block(block, events, view, &mut writes)?;
    let snapshot = executor.take_snapshot_if_changed();
    install_state_keys(store, executor, snapshot.is_some());
    let synced = Synced {
        header: &block.header,
        executor_snapshot: snapshot.as_deref(),
        view: view_changed.then_some(view),
    };
    store.commit_block(
        writes,
        |contract| executor.digest_key(contract),
        &effects,
        synced,
        &mut OsRng,
    )?;
    Ok(Applied {
        effects,
        clusters: executor.keys().served_clusters(),
        contracts: executor.contracts().copied().collect(),
        reader: snapshot.is_some().then(|| executor.fork()),
    })
}

/// Replays the blocks before `progress.until` for a cluster this worker joined late, one sealed
/// commit per block with the progress, so a crash resumes where it stopped.
async fn catch_up(
    client: &NodeClient,
    validators: &Arc<ValidatorHistory>,
    executor: &mut Executor,
    store: &WorkerStore,
    mut progress: CatchUp,
) -> Result<(), WorkerError> {
    tracing::info!(cluster = %progress.cluster, until = progress.until, "joined a cluster with history: replaying it");
    if progress.done + 1 >= progress.until {
        let writes = store.begin_block()?;
        let finished = CaughtUp {
            height: progress.done,
            progress: None,
            executor_snapshot: None,
        };
        store.commit_caught_up(writes, |_| None, &Default::default(), finished, &mut OsRng)?;
        return Ok(());
    }
    for height in progress.done + 1..progress.until {
        let (block, events) = fetch_checked(client, validators, height)
            .await?
            .ok_or_else(|| {
                ClientError::InvalidBlock(format!(
                    "the node has no block {height} to catch up from"
                ))
            })?;
        let mut writes = store.begin_block()?;
        let effects = executor.catch_up_block(&block, &events, progress.cluster, &mut writes)?;
        progress.done = height;
        let next = (height + 1 < progress.until).then_some(progress);
        let snapshot = executor.take_snapshot_if_changed();
        install_state_keys(store, executor, snapshot.is_some());
        store.commit_caught_up(
            writes,
            |contract| executor.digest_key(contract),
            &effects,
            CaughtUp {
                height,
                progress: next,
                executor_snapshot: snapshot.as_deref(),
            },
            &mut OsRng,
        )?;
    }
    tracing::info!(cluster = %progress.cluster, "caught up");
    Ok(())
}

/// Gives the store the state keys of what the executor learnt (`learnt`: it is about to commit
/// a snapshot); the commit then re-encrypts whatever a newer key epoch reached.
pub(crate) fn install_state_keys(store: &WorkerStore, executor: &Executor, learnt: bool) {
    if learnt {
        store.install_state_keys(executor.state_keys());
    }
}
