//! History queries with real processes: a worker answers a private balance as of any earlier
//! block, rebuilding that state from its newest checkpoint at or below the block (or genesis) and
//! the chain; the contract's own rule (only the owner reads a balance) holds for the past too.

use parity_scale_codec::{Decode, Encode};
use phalanx_client::{ContractClient, NodeClient};
use phalanx_crypto::Keypair;
use phalanx_primitives::query::{QueryAnswer, QueryRequest};
use phalanx_primitives::Hash;
use phalanx_testkit::cluster::{deploy_private_token, submit, wait_synced, worker_status};
use phalanx_testkit::{phalanx, NodeProcess, WorkerProcess};
use rand_core::OsRng;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_balance_is_answered_as_of_any_earlier_block_to_its_owner_only() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let node_process = NodeProcess::start(dirs[0].path(), "100ms");
    let node = NodeClient::connect(&node_process.url).await.unwrap();
    let _gatekeeper = WorkerProcess::start_as("gatekeeper", &node_process.url, dirs[1].path());
    let worker = WorkerProcess::start_with(
        "worker",
        &node_process.url,
        dirs[2].path(),
        "127.0.0.1:0",
        &["--checkpoint-every", "4", "--keep-checkpoints", "2"],
    );
    let token = deploy_private_token(
        &node,
        Hash([0xf1; 32]),
        vec![worker.identity.parse().unwrap()],
        private_token::Init {
            name: "History".into(),
            symbol: "HST".into(),
            initial_supply: 1_000,
            pha_backed: false,
        },
        b"history",
    )
    .await;
    let contract = ContractClient::open(&node, token).await.unwrap();
    let alice = Keypair::dev("alice");
    let bob = Keypair::dev("bob");
    let bob_sdk = phalanx_sdk::AccountId(*bob.account_id().as_bytes());

    // Bob receives 10 more at each of six rounds; remember a height at which each held.
    let mut known = vec![(node.head().await.unwrap().height, 0u128)];
    for round in 1..=6u128 {
        let message = private_token::Command::Transfer {
            to: bob_sdk,
            amount: 10,
        }
        .encode();
        let call = contract
            .command_call(alice.account_id(), &message, 1_000_000, 0, &mut OsRng)
            .unwrap();
        submit(&node, &alice, vec![call]).await;
        known.push((node.head().await.unwrap().height, 10 * round));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let head = node.head().await.unwrap().height;
    wait_synced(&worker.url, head, Duration::from_secs(30)).await;
    assert!(
        !worker_status(&worker.url).await["last_checkpoint"].is_null(),
        "the worker has checkpoints to start from"
    );

    let balance = private_token::Query::Balance { account: bob_sdk }.encode();
    let at = |height: u64| QueryRequest::ContractAt {
        height,
        message: balance.clone(),
    };
    for (height, expected) in &known {
        let answer = contract.query(&bob, at(*height), &mut OsRng).await.unwrap();
        let QueryAnswer::Ok(bytes) = answer else {
            panic!("refused at {height}: {answer:?}")
        };
        assert_eq!(
            u128::decode(&mut &bytes[..]).unwrap(),
            *expected,
            "at {height}"
        );
    }
    // The owner only, then as now; and no answer about blocks the worker has not seen.
    let (height, _) = known[3];
    let refused = contract
        .query(&alice, at(height), &mut OsRng)
        .await
        .unwrap();
    assert!(matches!(&refused, QueryAnswer::Refused(r) if r.contains("only the owner")));
    let future = contract
        .query(&bob, at(head + 1_000), &mut OsRng)
        .await
        .unwrap();
    assert!(
        matches!(&future, QueryAnswer::Refused(r) if r.contains("synced")),
        "{future:?}"
    );

    // The CLI, as a user would.
    let msg = format!("0x{}", hex::encode(&balance));
    let token_text = token.to_string();
    let height_text = height.to_string();
    let args = [
        "--rpc",
        &node_process.url,
        "--json",
        "contract",
        "history",
        &token_text,
        "--at",
        &height_text,
        "--from",
        "bob",
        "--msg",
        &msg,
    ];
    let out = phalanx(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["result"], "30");
    assert_eq!(answer["at"], height);
}
