//! Following the chain from a node: each finalized block after the last accepted one is fetched,
//! checked (link, body, time, finality certificate) with its events (against `events_root`), and
//! only then handed to the executor. The node is not trusted beyond the chain identity pinned
//! at start.
//!
//! While the worker is behind (replaying), the next few blocks are fetched and checked against
//! their own headers in background tasks, so the network, decoding and hashing of block N+1
//! overlap the execution of block N; the link to the previous block is still checked in order.

use crate::sync::{verify_next_block, SyncError};
use phalanx_client::{ClientError, NodeClient};
use phalanx_primitives::{Block, BlockHeader, EventRecord, Hash};
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Most blocks fetched ahead while behind.
const PREFETCH: usize = 4;

type Fetched = Result<Option<(Block, Vec<EventRecord>)>, ClientError>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FollowError {
    #[error(transparent)]
    Node(#[from] ClientError),
    #[error(transparent)]
    Invalid(#[from] SyncError),
    #[error("the node serves chain {found}, this worker belongs to chain {expected}")]
    WrongChain { expected: Hash, found: Hash },
    #[error("the node's genesis block does not match its chain description")]
    BadGenesis,
    #[error("fetching a block failed: {0}")]
    Fetch(String),
}

pub struct Follower {
    client: Arc<NodeClient>,
    last: BlockHeader,
    /// Fetches under way, for consecutive heights from `last + 1`.
    ahead: VecDeque<(u64, JoinHandle<Fetched>)>,
    /// Whether the last call found a block (so the worker is behind and prefetching pays).
    behind: bool,
}

async fn fetch(client: Arc<NodeClient>, height: u64) -> Fetched {
    let Some(block) = client.verified_block(height).await? else {
        return Ok(None);
    };
    let events = client.verified_events(&block.header).await?;
    Ok(Some((block, events)))
}

impl Drop for Follower {
    fn drop(&mut self) {
        for (_, task) in self.ahead.drain(..) {
            task.abort();
        }
    }
}

impl Follower {
    /// Starts after `last` (a header this worker accepted before, e.g. from its store), or after
    /// genesis when `last` is `None`. `chain_id` pins the chain.
    pub async fn new(
        client: NodeClient,
        chain_id: Hash,
        last: Option<BlockHeader>,
    ) -> Result<Self, FollowError> {
        let info = client.info();
        if info.chain_id != chain_id {
            return Err(FollowError::WrongChain {
                expected: chain_id,
                found: info.chain_id,
            });
        }
        let last = match last {
            Some(header) => header,
            None => {
                let genesis = client
                    .verified_block(0)
                    .await?
                    .ok_or(FollowError::BadGenesis)?;
                if genesis.hash() != info.genesis_block_hash {
                    return Err(FollowError::BadGenesis);
                }
                genesis.header
            }
        };
        Ok(Follower {
            client: Arc::new(client),
            last,
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
    pub async fn next(&mut self) -> Result<Option<(Block, Vec<EventRecord>)>, FollowError> {
        let height = self.last.height + 1;
        if self.ahead.front().is_some_and(|(h, _)| *h != height) {
            self.cancel_ahead();
        }
        let depth = if self.behind { PREFETCH } else { 1 };
        while self.ahead.len() < depth {
            let at = height + self.ahead.len() as u64;
            let task = tokio::spawn(fetch(Arc::clone(&self.client), at));
            self.ahead.push_back((at, task));
        }
        let (_, task) = self.ahead.pop_front().expect("filled above");
        let fetched = task.await.map_err(|e| FollowError::Fetch(e.to_string()))?;
        let Some((block, events)) = fetched? else {
            // Caught up: what was fetched beyond is not final yet either.
            self.cancel_ahead();
            self.behind = false;
            return Ok(None);
        };
        self.behind = true;
        verify_next_block(&self.last, &block, &self.client.info().validators)?;
        self.last = block.header.clone();
        Ok(Some((block, events)))
    }

    fn cancel_ahead(&mut self) {
        for (_, task) in self.ahead.drain(..) {
            task.abort();
        }
    }
}
