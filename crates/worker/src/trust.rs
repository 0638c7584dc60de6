//! The enclave's trust root at start: which chain it belongs to, and its view of that chain.
//!
//! At the first start the operator names the chain (`--chain-id`, or a genesis file whose hash
//! the CLI computes); the enclave fetches the genesis description from the node, accepts it only
//! if it hashes to that id, builds its [`ChainView`] from it and seals id and view into its store.
//! At every later start the sealed pin decides: a different `--chain-id`, a node serving another
//! chain, or a store of another chain is refused. Losing the store (and its checkpoints) loses the
//! pin, and the operator must name the chain again; an operator who names another chain gets an
//! enclave of that chain, whose keys open nothing of this one (every envelope binds the chain id).

use crate::follower::FollowError;
use crate::store::{PinnedStore, StoreError};
use phalanx_client::{ClientError, NodeClient};
use phalanx_executor::{ChainView, PinError};
use phalanx_primitives::Hash;
use rand_core::OsRng;

/// Why an enclave cannot tell which chain it belongs to.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    #[error("this enclave is not pinned to a chain yet: pass --chain-id HASH (or --genesis FILE) at its first start")]
    NotPinned,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Pin(#[from] PinError),
    #[error(transparent)]
    Follow(#[from] FollowError),
    #[error("reading the genesis description from the node: {0}")]
    Node(#[from] ClientError),
}

/// The chain view this enclave continues from: the sealed one, or at the first start the one
/// built from the genesis that hashes to `requested`. `client` is checked to serve that chain.
pub async fn pinned_view(
    store: &impl PinnedStore,
    requested: Option<Hash>,
    client: &NodeClient,
) -> Result<ChainView, TrustError> {
    let stored = store.pinned_chain()?;
    let chain_id = match (stored, requested) {
        (Some(stored), Some(requested)) if stored != requested => {
            return Err(StoreError::OtherChain {
                stored,
                expected: requested,
            }
            .into())
        }
        (Some(stored), _) => stored,
        (None, Some(requested)) => requested,
        (None, None) => return Err(TrustError::NotPinned),
    };
    let served = client.info().chain_id;
    if served != chain_id {
        return Err(FollowError::WrongChain {
            expected: chain_id,
            found: served,
        }
        .into());
    }
    if let Some(view) = store.chain_view()? {
        return Ok(view);
    }
    let view = genesis_view(client, chain_id).await?;
    store.pin(&view, &mut OsRng)?;
    tracing::info!(%chain_id, "pinned this enclave to its chain");
    Ok(view)
}

/// The view at genesis, from the node's genesis description, accepted only if it hashes to
/// `chain_id`.
pub async fn genesis_view(client: &NodeClient, chain_id: Hash) -> Result<ChainView, TrustError> {
    let genesis = client.genesis().await?;
    Ok(ChainView::from_genesis(chain_id, &genesis)?)
}
