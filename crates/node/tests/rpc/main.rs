//! The node's RPC surface against a real node in this process, on a loopback port: what a client
//! sends is either pooled and made final, or refused with a precise error that changes nothing.

use jsonrpsee::core::client::SubscriptionClientT;
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::WsClientBuilder;
use parity_scale_codec::Encode;
use phalanx_api::error_codes as codes;
use phalanx_api::rpc::NodeApiClient;
use phalanx_api::views::{HeaderView, TxStatus};
use phalanx_client::{ClientError, NodeClient};
use phalanx_crypto::{sign_transaction, Keypair};
use phalanx_node::{NodeConfig, RunningNode};
use phalanx_primitives::amount::UNIT;
use phalanx_primitives::{Call, Hash, Transaction, MAX_TRANSACTION_SIZE};
use std::time::Duration;

mod abuse;

async fn start(dir: &std::path::Path) -> (RunningNode, NodeClient) {
    let mut config = NodeConfig::dev(dir.to_path_buf(), "127.0.0.1:0".parse().unwrap());
    config.block_time = Duration::from_millis(100);
    let node = RunningNode::start(config).await.unwrap();
    let client = NodeClient::connect(&format!("http://{}", node.rpc_addr()))
        .await
        .unwrap();
    (node, client)
}

fn code_of(result: Result<Hash, ClientError>) -> i32 {
    match result {
        Err(ClientError::Rejected { code, .. }) => code,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_become_final_and_bad_input_is_refused_without_effect() {
    let dir = tempfile::tempdir().unwrap();
    let (node, client) = start(dir.path()).await;
    let alice = Keypair::dev("alice");
    let bob = Keypair::dev("bob").account_id();

    let included = client.transfer(&alice, bob, 7 * UNIT).await.unwrap();
    let block = client
        .verified_block(included.height)
        .await
        .unwrap()
        .unwrap();
    // Its events come raw too, checked against the header's events root.
    let events = client.verified_events(&block.header).await.unwrap();
    assert!(events.iter().any(
        |r| matches!(r.event, phalanx_primitives::Event::Transfer { amount, .. } if amount == 7 * UNIT)
    ));
    assert_eq!(
        block.transactions[included.index as usize].hash(),
        included.hash
    );
    assert_eq!(
        client.account(bob).await.unwrap().free_units,
        1_000_007 * UNIT
    );

    let before = client.account(alice.account_id()).await.unwrap();
    let nonce = before.nonce;
    let transfer = |amount| Call::Transfer { to: bob, amount };
    let raw = |text: String| async { client.rpc().submit(text).await.map_err(ClientError::from) };

    // Undecodable bytes, and bytes that are not even hex.
    assert_eq!(code_of(raw("0x0102".into()).await), codes::MALFORMED);
    assert_eq!(code_of(raw("not hex".into()).await), codes::MALFORMED);
    // Oversized.
    assert_eq!(
        code_of(raw(format!("0x{}", "00".repeat(MAX_TRANSACTION_SIZE + 1))).await),
        codes::TOO_LARGE
    );
    // A bad signature.
    let mut forged = client.sign(&alice, nonce, transfer(UNIT));
    forged.signature.0[10] ^= 0xff;
    assert_eq!(code_of(client.submit(&forged).await), codes::BAD_SIGNATURE);
    // Another chain's id.
    let mut other_chain = client.sign(&alice, nonce, transfer(UNIT)).transaction;
    other_chain.chain_id = Hash([7; 32]);
    assert_eq!(
        code_of(client.submit(&sign_transaction(&alice, other_chain)).await),
        codes::WRONG_CHAIN
    );
    // Stale and future nonces.
    assert_eq!(
        code_of(
            client
                .submit(&client.sign(&alice, nonce - 1, transfer(UNIT)))
                .await
        ),
        codes::STALE_NONCE
    );
    assert_eq!(
        code_of(
            client
                .submit(&client.sign(&alice, nonce + 1, transfer(UNIT)))
                .await
        ),
        codes::FUTURE_NONCE
    );
    // An amount, or a fee, above the balance.
    assert_eq!(
        code_of(
            client
                .submit(&client.sign(&alice, nonce, transfer(before.free_units)))
                .await
        ),
        codes::INSUFFICIENT_BALANCE
    );
    let greedy_fee = Transaction {
        chain_id: client.info().chain_id,
        signer: alice.account_id(),
        nonce,
        fee: u128::MAX,
        call: transfer(1),
    };
    assert_eq!(
        code_of(client.submit(&sign_transaction(&alice, greedy_fee)).await),
        codes::INSUFFICIENT_BALANCE
    );
    // A fee below the minimum.
    let cheap = Transaction {
        chain_id: client.info().chain_id,
        signer: alice.account_id(),
        nonce,
        fee: 1,
        call: transfer(1),
    };
    assert_eq!(
        code_of(client.submit(&sign_transaction(&alice, cheap)).await),
        codes::FEE_TOO_LOW
    );
    // The final transfer again.
    assert_eq!(
        code_of(
            client
                .submit(&block.transactions[included.index as usize])
                .await
        ),
        codes::DUPLICATE
    );

    // A call the ledger refuses names its precise cause.
    let no_pool = client.sign(
        &alice,
        nonce,
        Call::Deposit {
            pool: 99,
            amount: UNIT,
        },
    );
    match client.submit(&no_pool).await {
        Err(ClientError::Rejected {
            code,
            kind,
            cause,
            message,
        }) => {
            assert_eq!(code, codes::INVALID_CALL);
            assert_eq!(kind, "InvalidCall");
            assert_eq!(cause, "no_pool");
            assert!(message.contains("no pool 99"), "{message}");
        }
        other => panic!("a deposit into no pool was not refused: {other:?}"),
    }

    // Nothing of that changed anything.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(client.account(alice.account_id()).await.unwrap(), before);
    assert_eq!(client.next_nonce(alice.account_id()).await.unwrap(), nonce);

    // A batch: good ones are pooled in order, bad ones refused, a resubmission is a duplicate.
    let good0 = client.sign(&alice, nonce, transfer(UNIT));
    let good1 = client.sign(&alice, nonce + 1, transfer(UNIT));
    let outcomes = client
        .submit_batch(&[good0.clone(), forged, good1.clone(), good0.clone()])
        .await
        .unwrap();
    assert_eq!(outcomes[0].hash, Some(good0.hash()));
    assert_eq!(outcomes[1].error.as_ref().unwrap().kind, "BadSignature");
    assert_eq!(outcomes[2].hash, Some(good1.hash()));
    assert_eq!(outcomes[3].error.as_ref().unwrap().code, codes::DUPLICATE);
    client
        .wait_for_inclusion(good1.hash(), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        client.account(alice.account_id()).await.unwrap().nonce,
        nonce + 2
    );
    assert_eq!(
        client.tx_status(Hash([3; 32])).await.unwrap(),
        TxStatus::Unknown
    );

    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_subscribers_see_every_new_final_head() {
    let dir = tempfile::tempdir().unwrap();
    let (node, client) = start(dir.path()).await;
    let ws = WsClientBuilder::default()
        .build(format!("ws://{}", node.rpc_addr()))
        .await
        .unwrap();
    let mut heads = ws
        .subscribe::<HeaderView, _>(
            "chain_subscribeFinalizedHeads",
            rpc_params![],
            "chain_unsubscribeFinalizedHeads",
        )
        .await
        .unwrap();
    let first = heads.next().await.unwrap().unwrap();
    let second = heads.next().await.unwrap().unwrap();
    assert_eq!(second.height, first.height + 1);
    assert_eq!(second.parent_hash, first.hash);
    let stored = client.verified_block(second.height).await.unwrap().unwrap();
    assert_eq!(stored.hash(), second.hash);
    // The same API over WebSocket.
    assert_eq!(ws.chain_info().await.unwrap(), *client.info());
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_the_chain_and_continues_it() {
    let dir = tempfile::tempdir().unwrap();
    let (node, client) = start(dir.path()).await;
    client
        .transfer(
            &Keypair::dev("charlie"),
            Keypair::dev("bob").account_id(),
            UNIT,
        )
        .await
        .unwrap();
    let head = client.head().await.unwrap();
    let kept = client
        .verified_block(head.height)
        .await
        .unwrap()
        .unwrap()
        .encode();
    node.stop().await.unwrap();

    let (node, client) = start(dir.path()).await;
    assert_eq!(
        client
            .verified_block(head.height)
            .await
            .unwrap()
            .unwrap()
            .encode(),
        kept
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(client.head().await.unwrap().height > head.height);
    node.stop().await.unwrap();
    let report = phalanx_node::verify::replay_data_dir(dir.path()).unwrap();
    assert_eq!(report.transactions, 1);
}
