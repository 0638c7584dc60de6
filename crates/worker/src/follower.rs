//! Following the chain from a node: each finalized block after the last accepted one is fetched,
//! checked (link, body, time, finality certificate) with its events (against `events_root`), and
//! only then handed to the executor. The node is not trusted beyond the chain identity pinned
//! at start.

use crate::sync::{verify_next_block, SyncError};
use phalanx_client::{ClientError, NodeClient};
use phalanx_primitives::{Block, BlockHeader, EventRecord, Hash};

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
}

pub struct Follower {
    client: NodeClient,
    last: BlockHeader,
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
        Ok(Follower { client, last })
    }

    pub fn last(&self) -> &BlockHeader {
        &self.last
    }

    pub fn client(&self) -> &NodeClient {
        &self.client
    }

    /// The next block with its events, verified, or `None` if the node has not finalized it yet.
    pub async fn next(&mut self) -> Result<Option<(Block, Vec<EventRecord>)>, FollowError> {
        let Some(block) = self.client.verified_block(self.last.height + 1).await? else {
            return Ok(None);
        };
        verify_next_block(&self.last, &block, &self.client.info().validators)?;
        let events = self.client.verified_events(&block.header).await?;
        self.last = block.header.clone();
        Ok(Some((block, events)))
    }
}
