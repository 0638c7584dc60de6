//! The reporter: what a worker tells the chain after each block, its heartbeats and its
//! contracts' outputs (egress), signed by its identity.
//!
//! An actor of its own, reached through a bounded mailbox: the sync actor hands it each
//! committed block and goes on with the next, never waiting on the node's answers. One actor
//! sends both, so that the transactions of one identity never race for a nonce.

use crate::egress_sender::EgressSender;
use crate::process::{WorkerError, WorkerStatus};
use crate::store::WorkerStore;
use phalanx_client::NodeClient;
use phalanx_crypto::Keypair;
use phalanx_executor::ChainView;
use phalanx_primitives::{AccountId, Call, Event, EventRecord, StateReport, MAX_STATE_REPORTS};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Committed blocks the reporter may lag behind before the sync actor waits for it.
pub(crate) const REPORTER_MAILBOX: usize = 64;

/// One committed block, as the reporter needs it.
pub(crate) struct Committed {
    pub(crate) height: u64,
    pub(crate) events: Vec<EventRecord>,
    /// The contracts this worker runs after the block.
    pub(crate) contracts: Vec<AccountId>,
    /// The chain view after the block, when the block changed more than its head (contract
    /// keys for sealed messages come from it).
    pub(crate) view: Option<Arc<ChainView>>,
}

/// The reporter's state; [`Reporter::spawn`] starts it and returns its mailbox.
pub(crate) struct Reporter {
    pub(crate) heartbeats: Heartbeats,
    pub(crate) egress: EgressSender,
    pub(crate) client: NodeClient,
    pub(crate) store: Arc<WorkerStore>,
    pub(crate) view: Arc<ChainView>,
    pub(crate) status: Arc<Mutex<WorkerStatus>>,
}

impl Reporter {
    pub(crate) fn spawn(self) -> (mpsc::Sender<Committed>, tokio::task::JoinHandle<()>) {
        let (mailbox, inbox) = mpsc::channel(REPORTER_MAILBOX);
        (mailbox, tokio::spawn(self.run(inbox)))
    }

    /// Until the sync actor drops the mailbox. The node failing to take a heartbeat or an
    /// egress batch is not the enclave's failure: both go again with a later block.
    async fn run(mut self, mut inbox: mpsc::Receiver<Committed>) {
        while let Some(block) = inbox.recv().await {
            if let Some(view) = block.view {
                self.view = view;
            }
            let height = block.height;
            if let Err(error) = self
                .heartbeats
                .send(
                    &self.client,
                    &self.store,
                    &block.contracts,
                    &block.events,
                    height,
                )
                .await
            {
                tracing::warn!(height, "heartbeat not sent: {error}");
            }
            match self
                .egress
                .send(&self.client, &self.view, &self.store, height)
                .await
            {
                Ok(pending) => {
                    self.status
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .pending_outputs = pending;
                }
                Err(error) => tracing::warn!(height, "egress not sent: {error}"),
            }
        }
    }
}

/// The worker's heartbeats, signed by its identity: every `every` blocks with the digests of its
/// contracts after that block; at once when the chain challenges it; and a first one with its
/// benchmark score. Each carries the score, so the chain always knows the latest.
pub(crate) struct Heartbeats {
    pub(crate) identity: Keypair,
    pub(crate) every: u64,
    /// P, measured by [`crate::benchmark`] at start.
    pub(crate) performance: u32,
    /// Whether a heartbeat has reached the pool since the start (the first reports P).
    pub(crate) reported: bool,
}

impl Heartbeats {
    /// Sends the heartbeat for block `height` if one is due, or the block challenged this
    /// worker. Not waited for: a lost heartbeat means one height less compared, and a missed
    /// challenge is answered by the next heartbeat.
    async fn send(
        &mut self,
        client: &NodeClient,
        store: &WorkerStore,
        contracts: &[AccountId],
        block_events: &[EventRecord],
        height: u64,
    ) -> Result<(), WorkerError> {
        let me = self.identity.account_id();
        let challenged = block_events
            .iter()
            .any(|r| matches!(r.event, Event::WorkerChallenged { worker, .. } if worker == me));
        let due = self.every != 0 && height != 0 && height.is_multiple_of(self.every);
        let mut digests = Vec::new();
        if due {
            for contract in contracts.iter().take(MAX_STATE_REPORTS) {
                if let Some(digest) = store.digest_at(contract, height)? {
                    digests.push(StateReport {
                        contract: *contract,
                        height,
                        digest: digest.as_hash(),
                    });
                }
            }
        }
        if digests.is_empty() && !challenged && self.reported {
            return Ok(());
        }
        let nonce = client.next_nonce(me).await?;
        let call = Call::Heartbeat {
            performance: Some(self.performance),
            digests,
        };
        let tx = client.sign(&self.identity, nonce, call);
        match client.submit(&tx).await {
            Ok(_) => {
                self.reported = true;
                if challenged {
                    tracing::info!(height, "answered the chain's heartbeat challenge");
                }
            }
            Err(error) => tracing::warn!(height, "heartbeat refused: {error}"),
        }
        Ok(())
    }
}
