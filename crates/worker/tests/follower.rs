//! The follower against a real node on loopback: it delivers every finalized block in order, each
//! verified, with events that match the header; and it refuses a node of another chain.

use phalanx_client::NodeClient;
use phalanx_crypto::Keypair;
use phalanx_executor::ChainView;
use phalanx_node::{NodeConfig, RunningNode};
use phalanx_primitives::amount::UNIT;
use phalanx_primitives::Event;
use phalanx_worker::{FollowError, Follower};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_verified_blocks_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = NodeConfig::dev(dir.path().to_path_buf(), "127.0.0.1:0".parse().unwrap());
    config.block_time = Duration::from_millis(100);
    let chain_id = config.genesis.hash();
    let view = ChainView::from_genesis(chain_id, &config.genesis).unwrap();
    let mut other_genesis = config.genesis.clone();
    other_genesis.chain_name = "another chain".into();
    let other = ChainView::from_genesis(other_genesis.hash(), &other_genesis).unwrap();
    let node = RunningNode::start(config).await.unwrap();
    let url = format!("http://{}", node.rpc_addr());
    let client = NodeClient::connect(&url).await.unwrap();
    let included = client
        .transfer(
            &Keypair::dev("alice"),
            Keypair::dev("bob").account_id(),
            UNIT,
        )
        .await
        .unwrap();

    let mut follower = Follower::new(NodeClient::connect(&url).await.unwrap(), &view).unwrap();
    assert_eq!(follower.last().height, 0);
    let mut saw_transfer = false;
    while follower.last().height < included.height {
        let (block, events) = follower
            .next()
            .await
            .unwrap()
            .expect("the node has these blocks");
        assert_eq!(block.header.height, follower.last().height);
        saw_transfer |= events
            .iter()
            .any(|r| matches!(r.event, Event::Transfer { amount, .. } if amount == UNIT));
    }
    assert!(saw_transfer);
    // Past the head there is nothing yet, which is not an error.
    let head = client.head().await.unwrap().height;
    while follower.last().height < head {
        follower.next().await.unwrap();
    }
    assert!(matches!(follower.next().await, Ok(None) | Ok(Some(_))));

    let wrong = Follower::new(NodeClient::connect(&url).await.unwrap(), &other);
    assert!(matches!(wrong, Err(FollowError::WrongChain { .. })));
    node.stop().await.unwrap();
}
