//! Following the chain from a node the enclave does not trust: each block after the last accepted
//! one is fetched, checked by the one block verifier against the validators of the enclave's own
//! [`ChainView`] (link, body, time, finality certificate), its events against `events_root`, and
//! the signatures of the transactions an enclave acts on (batched); only then is it handed on.
//!
//! While the enclave is behind (replaying), the next few blocks are fetched and checked against
//! their own headers in background tasks (the signature and hash work on blocking threads), so
//! the network, decoding and hashing of block N+1 overlap the execution of block N; the link to
//! the previous block is still checked in order.

use phalanx_client::{ClientError, NodeClient};
use phalanx_crypto::{check_signatures, verify_events, verify_finalized, verify_link};
use phalanx_crypto::{BlockError, SignatureError};
use phalanx_executor::ChainView;
use phalanx_primitives::{
    Block, BlockHeader, Call, Event, EventRecord, Hash, SignedTransaction, ValidatorHistory,
};
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Most blocks fetched and checked ahead while behind (8 blocks of a replay's size are a few
/// megabytes; deeper than 4 keeps the signature checks off the replay's critical path).
const PREFETCH: usize = 8;
const _: () = assert!((PREFETCH as u64) < phalanx_primitives::validators::VALIDATOR_SET_DELAY);

type Fetched = Result<Option<(Block, Vec<EventRecord>)>, FollowError>;

/// Why the next block was not accepted. The enclave keeps its state and asks again later: a
/// node that lied, or failed, is refused, not followed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FollowError {
    #[error(transparent)]
    Node(#[from] ClientError),
    #[error("refused a block from the node: {0}")]
    Invalid(#[from] BlockError),
    #[error(
        "refused block {height}: transaction {index} ({tx}) is not signed by its sender: {reason}"
    )]
    Unsigned {
        height: u64,
        index: usize,
        tx: Hash,
        reason: SignatureError,
    },
    #[error("the node serves chain {found}, this enclave belongs to chain {expected}")]
    WrongChain { expected: Hash, found: Hash },
    #[error("fetching a block failed: {0}")]
    Fetch(String),
}

/// Whether an enclave acts on this kind of transaction (runs it, takes a key or a fact from it),
/// so its signature must be checked here even though the block is final: not even a block with
/// a valid certificate may carry a command its sender did not sign.
fn acted_on(call: &Call) -> bool {
    matches!(
        call,
        Call::Command { .. }
            | Call::Instantiate { .. }
            | Call::UploadCode { .. }
            | Call::KeyMessage { .. }
            | Call::ShareMasterKey { .. }
            | Call::RegisterWorker { .. }
            | Call::Egress { .. }
    )
}

/// Checks a fetched block against itself and the trusted validators: body, certificate, events,
/// signatures. CPU work: run it on a blocking thread.
fn check(
    block: &Block,
    events: &[EventRecord],
    validators: &ValidatorHistory,
) -> Result<(), FollowError> {
    verify_finalized(block, &validators.at(block.header.height).accounts())?;
    verify_events(&block.header, events)?;
    let (indices, acted): (Vec<usize>, Vec<&SignedTransaction>) = block
        .transactions
        .iter()
        .enumerate()
        .filter(|(_, tx)| acted_on(&tx.transaction.call))
        .unzip();
    for (index, result) in indices.into_iter().zip(check_signatures(&acted)) {
        if let Err(reason) = result {
            let tx = block.transactions[index].hash();
            return Err(FollowError::Unsigned {
                height: block.header.height,
                index,
                tx,
                reason,
            });
        }
    }
    Ok(())
}

/// Fetches block `height` and its events and checks them against themselves and `validators`
/// (everything but the link to the parent, which the caller checks or vouches for). A block
/// with a certificate of the pinned validators is that height's block: catch-up and history
/// replays, which start from heights rather than headers, rely on this.
pub(crate) async fn fetch_checked(
    client: &NodeClient,
    validators: &Arc<ValidatorHistory>,
    height: u64,
) -> Fetched {
    let Some(block) = client.unverified_block(height).await? else {
        return Ok(None);
    };
    let events = client.unverified_events(height).await?;
    let validators = Arc::clone(validators);
    tokio::task::spawn_blocking(move || {
        check(&block, &events, &validators)?;
        Ok(Some((block, events)))
    })
    .await
    .map_err(|e| FollowError::Fetch(e.to_string()))?
}

pub struct Follower {
    client: Arc<NodeClient>,
    /// The validators whose certificates make each block final: the enclave's view's, then
    /// followed through the events of the blocks accepted here.
    validators: Arc<ValidatorHistory>,
    last: BlockHeader,
    /// Fetches under way, for consecutive heights from `last + 1`.
    ahead: VecDeque<(u64, JoinHandle<Fetched>)>,
    /// Whether the last call found a block (so the enclave is behind and prefetching pays).
    behind: bool,
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.cancel_ahead();
    }
}

impl Follower {
    /// Follows the chain of `view` from its head. The node must say it serves that chain; what
    /// it serves is checked block by block all the same.
    pub fn new(client: NodeClient, view: &ChainView) -> Result<Self, FollowError> {
        let found = client.info().chain_id;
        if found != view.chain_id() {
            return Err(FollowError::WrongChain {
                expected: view.chain_id(),
                found,
            });
        }
        Ok(Follower {
            client: Arc::new(client),
            validators: Arc::new(view.validators().clone()),
            last: view.head().clone(),
            ahead: VecDeque::new(),
            behind: true,
        })
    }

    pub fn last(&self) -> &BlockHeader {
        &self.last
    }

    pub fn client(&self) -> &NodeClient {
        &self.client
    }

    /// The next block with its events, verified, or `None` if the node has not finalized it yet.
    /// After an error nothing was accepted: the next call asks for the same height again.
    pub async fn next(&mut self) -> Result<Option<(Block, Vec<EventRecord>)>, FollowError> {
        let height = self.last.height + 1;
        if self.ahead.front().is_some_and(|(h, _)| *h != height) {
            self.cancel_ahead();
        }
        let depth = if self.behind { PREFETCH } else { 1 };
        while self.ahead.len() < depth {
            let at = height + self.ahead.len() as u64;
            let (client, validators) = (Arc::clone(&self.client), Arc::clone(&self.validators));
            let task = tokio::spawn(async move { fetch_checked(&client, &validators, at).await });
            self.ahead.push_back((at, task));
        }
        let (_, task) = self.ahead.pop_front().expect("filled above");
        let fetched = task
            .await
            .map_err(|e| FollowError::Fetch(e.to_string()))
            .and_then(|fetched| fetched);
        let fetched = match fetched {
            Ok(fetched) => fetched,
            Err(error) => {
                // What was fetched beyond a refused block came from the same node: ask again.
                self.cancel_ahead();
                return Err(error);
            }
        };
        let Some((block, events)) = fetched else {
            // Caught up: what was fetched beyond is not final yet either.
            self.cancel_ahead();
            self.behind = false;
            return Ok(None);
        };
        self.behind = true;
        if let Err(error) = verify_link(&self.last, &block.header) {
            self.cancel_ahead();
            return Err(error.into());
        }
        self.last = block.header.clone();
        if events
            .iter()
            .any(|r| matches!(r.event, Event::ValidatorSetScheduled { .. }))
        {
            // Blocks fetched ahead were checked under the old history, which is right for them:
            // a set starts VALIDATOR_SET_DELAY blocks after its scheduling block, beyond them.
            Arc::make_mut(&mut self.validators).observe(block.header.height, &events);
        }
        Ok(Some((block, events)))
    }

    fn cancel_ahead(&mut self) {
        for (_, task) in self.ahead.drain(..) {
            task.abort();
        }
    }
}
