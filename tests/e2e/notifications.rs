//! Notifications with real processes: an event a contract addresses to an account reaches that
//! account, through a query only it can sign, and nobody else; the command's sender reads in
//! its receipt only the public events and those addressed to it.

use phalanx_client::{ContractClient, NodeClient};
use phalanx_crypto::Keypair;
use phalanx_primitives::query::ReceiptOutcome;
use phalanx_primitives::Hash;
use phalanx_testkit::cluster::{deploy_code, submit};
use phalanx_testkit::{NodeProcess, WorkerProcess};
use rand_core::OsRng;
use std::time::Duration;

/// A contract whose `execute` (think of an auction's `close`) tells alice and bob each their
/// own result and announces a public one.
fn closer(alice: &[u8; 32], bob: &[u8; 32]) -> Vec<u8> {
    let bytes = |b: &[u8]| b.iter().map(|x| format!("\\{x:02x}")).collect::<String>();
    wat::parse_str(format!(
        r#"(module
            (import "env" "emit_event" (func $emit (param i32 i32)))
            (import "env" "emit_event_to" (func $emit_to (param i32 i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "{alice}")
            (data (i32.const 32) "{bob}")
            (data (i32.const 64) "alice-lost")
            (data (i32.const 74) "bob-won!!!")
            (data (i32.const 84) "closed")
            (func (export "instantiate") (result i32) i32.const 0)
            (func (export "execute") (result i32)
                (call $emit_to (i32.const 0) (i32.const 64) (i32.const 10))
                (call $emit_to (i32.const 32) (i32.const 74) (i32.const 10))
                (call $emit (i32.const 84) (i32.const 6))
                i32.const 0)
            (func (export "query") (result i32) i32.const 0))"#,
        alice = bytes(alice),
        bob = bytes(bob),
    ))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_account_reads_its_own_notifications_and_the_closer_none_of_them() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let node_process = NodeProcess::start(dirs[0].path(), "100ms");
    let node = NodeClient::connect(&node_process.url).await.unwrap();
    let _gatekeeper = WorkerProcess::start_as("gatekeeper", &node_process.url, dirs[1].path());
    let worker = WorkerProcess::start(&node_process.url, dirs[2].path());
    let (alice, bob, charlie) = (
        Keypair::dev("alice"),
        Keypair::dev("bob"),
        Keypair::dev("charlie"),
    );
    let code = closer(alice.account_id().as_bytes(), bob.account_id().as_bytes());
    let contract = deploy_code(
        &node,
        Hash([0xa7; 32]),
        vec![worker.identity.parse().unwrap()],
        code,
        b"",
        b"closer",
    )
    .await;
    let client = ContractClient::open(&node, contract).await.unwrap();

    // Charlie closes: his receipt shows only the public event.
    let close = client
        .command_call(charlie.account_id(), b"", 1_000_000, 0, &mut OsRng)
        .unwrap();
    let nonce = node.next_nonce(charlie.account_id()).await.unwrap();
    let tx = node.sign(&charlie, nonce, close);
    let hash = node.submit(&tx).await.unwrap();
    node.wait_for_inclusion(hash, Duration::from_secs(20))
        .await
        .unwrap();
    let receipt = client
        .receipt(&charlie, hash, Duration::from_secs(20), &mut OsRng)
        .await
        .unwrap();
    assert!(matches!(receipt.outcome, ReceiptOutcome::Ok(_)));
    assert_eq!(receipt.events, vec![(None, b"closed".to_vec())]);

    // Each bidder reads their own result, and only theirs; the closer reads none.
    let alice_reads = client.notifications(&alice, 0, &mut OsRng).await.unwrap();
    assert_eq!(alice_reads.len(), 1);
    assert_eq!(alice_reads[0].data, b"alice-lost");
    assert_eq!(alice_reads[0].seq, 0);
    assert_eq!(alice_reads[0].tx_hash, hash);
    let bob_reads = client.notifications(&bob, 0, &mut OsRng).await.unwrap();
    assert_eq!(bob_reads.len(), 1);
    assert_eq!(bob_reads[0].data, b"bob-won!!!");
    assert!(client
        .notifications(&charlie, 0, &mut OsRng)
        .await
        .unwrap()
        .is_empty());

    // A second close numbers on; `since` pages.
    let again = client
        .command_call(charlie.account_id(), b"", 1_000_000, 0, &mut OsRng)
        .unwrap();
    submit(&node, &charlie, vec![again]).await;
    let mut alice_reads = Vec::new();
    for _ in 0..100 {
        alice_reads = client.notifications(&alice, 0, &mut OsRng).await.unwrap();
        if alice_reads.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        alice_reads.iter().map(|n| n.seq).collect::<Vec<_>>(),
        vec![0, 1]
    );
    let later = client.notifications(&alice, 1, &mut OsRng).await.unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].seq, 1);

    // Charlie names alice as the query's origin and signs it himself: refused, with nothing of
    // alice's in the answer.
    let refused = forged_notification_query(&node, &client, &worker.url, &charlie, &alice).await;
    assert!(
        refused.contains("signature does not verify") && !refused.contains("alice-lost"),
        "{refused}"
    );
}

/// Sends the worker a notification query in `victim`'s name signed by `forger`, and returns
/// the worker's refusal.
async fn forged_notification_query(
    node: &NodeClient,
    client: &ContractClient,
    worker_url: &str,
    forger: &Keypair,
    victim: &Keypair,
) -> String {
    use jsonrpsee::core::client::ClientT;
    use parity_scale_codec::Encode;
    use phalanx_primitives::query::{Query, QueryRequest, SignedQuery};
    let query = Query {
        origin: victim.account_id(),
        contract: client.contract(),
        expiry_ms: phalanx_client::contract::now_ms() + 60_000,
        nonce: [7; 16],
        request: QueryRequest::Notifications { since: 0 },
    };
    let signed = SignedQuery {
        signature: forger.sign(&query.signing_message()),
        query,
    };
    let context = phalanx_executor::query_context(node.info().chain_id, client.contract());
    let key = client.key();
    let envelope = phalanx_crypto::Sealer::new(&mut OsRng)
        .seal(
            &key.bytes,
            key.epoch,
            &context,
            &signed.encode(),
            &mut OsRng,
        )
        .unwrap();
    let rpc = jsonrpsee::http_client::HttpClientBuilder::default()
        .build(worker_url)
        .unwrap();
    let sealed = format!("0x{}", hex::encode(envelope.encode()));
    let answer: Result<String, _> = rpc
        .request(
            "worker_query",
            jsonrpsee::rpc_params![client.contract(), sealed],
        )
        .await;
    match answer {
        Err(error) => error.to_string(),
        Ok(answer) => panic!("a forged notification query was answered: {answer}"),
    }
}
