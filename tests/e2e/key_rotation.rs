//! Master key rotation with real processes: sudo deregisters one worker of a cluster and starts a
//! new key epoch (through the CLI); the gatekeeper publishes the new cluster and contract keys and
//! sends the new cluster key to the remaining member only. New commands use the new contract key;
//! the removed worker cannot decrypt them; a worker added afterwards receives every epoch's key
//! and replays the whole history, old-epoch commands included, to the same state.

use parity_scale_codec::{Decode, Encode};
use phalanx_client::query::{prepare_query, WorkerClient};
use phalanx_client::{ContractClient, NodeClient, PublicKey};
use phalanx_crypto::Keypair;
use phalanx_primitives::query::{QueryAnswer, QueryRequest, Receipt, ReceiptOutcome};
use phalanx_primitives::{AccountId, Hash};
use phalanx_testkit::cluster::{balance_from, deploy_private_token, digest, wait_synced};
use phalanx_testkit::{phalanx, NodeProcess, WorkerProcess};
use rand_core::OsRng;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn sudo(rpc: &str, args: &[&str]) {
    let mut full = vec!["--rpc", rpc, "sudo"];
    full.extend_from_slice(args);
    let out = phalanx(&full);
    assert!(
        out.status.success(),
        "phalanx sudo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Sends alice's transfer of `amount` to bob through a freshly opened client (so sealed to the
/// contract key the chain publishes now) and returns its transaction hash once final.
async fn transfer(node: &NodeClient, token: AccountId, amount: u128) -> Hash {
    let alice = Keypair::dev("alice");
    let bob = Keypair::dev("bob").account_id();
    let message = private_token::Command::Transfer {
        to: phalanx_sdk::AccountId(*bob.as_bytes()),
        amount,
    }
    .encode();
    let client = ContractClient::open(node, token).await.unwrap();
    let call = client
        .command_call(alice.account_id(), &message, 1_000_000, 0, &mut OsRng)
        .unwrap();
    let nonce = node.next_nonce(alice.account_id()).await.unwrap();
    let tx = node.sign(&alice, nonce, call);
    let hash = node.submit(&tx).await.unwrap();
    node.wait_for_inclusion(hash, Duration::from_secs(30))
        .await
        .unwrap();
    hash
}

/// Alice's receipt of `tx` from one worker, asked with a query sealed to `key`.
async fn receipt_from(
    node: &NodeClient,
    url: &str,
    token: AccountId,
    key: PublicKey,
    tx: Hash,
) -> Receipt {
    let alice = Keypair::dev("alice");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let prepared = prepare_query(
            node.info().chain_id,
            token,
            &key.bytes,
            key.epoch,
            &alice,
            QueryRequest::Receipt(tx),
            now_ms(),
            &mut OsRng,
        )
        .unwrap();
        // A worker that has not caught up yet refuses or has no receipt yet: ask again.
        let answer = WorkerClient::connect(url)
            .unwrap()
            .query(token, &prepared)
            .await
            .map(|answered| answered.answer);
        match answer {
            Ok(QueryAnswer::Ok(bytes)) => return Receipt::decode(&mut &bytes[..]).unwrap(),
            other => {
                assert!(
                    Instant::now() < deadline,
                    "no receipt from {url}: {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_rotation_a_removed_worker_reads_nothing_new_and_history_still_replays() {
    let dirs: Vec<_> = (0..5).map(|_| tempfile::tempdir().unwrap()).collect();
    let node_process = NodeProcess::start(dirs[0].path(), "100ms");
    let rpc = node_process.url.clone();
    let node = NodeClient::connect(&rpc).await.unwrap();
    let _gatekeeper = WorkerProcess::start_as("gatekeeper", &rpc, dirs[1].path());
    let kept = WorkerProcess::start(&rpc, dirs[2].path());
    let removed = WorkerProcess::start(&rpc, dirs[3].path());
    let cluster = Hash([0xa1; 32]);
    let token = deploy_private_token(
        &node,
        cluster,
        vec![
            kept.identity.parse().unwrap(),
            removed.identity.parse().unwrap(),
        ],
        private_token::Init {
            name: "Rotating".into(),
            symbol: "ROT".into(),
            initial_supply: 1_000,
            pha_backed: false,
        },
        b"rotation",
    )
    .await;
    let old_key = node.contract_key(token).await.unwrap().unwrap();
    assert_eq!(old_key.epoch, 0);
    let before = transfer(&node, token, 10).await;

    // Deregister one worker, then rotate (as an operator would, through the CLI).
    sudo(&rpc, &["remove-worker", &removed.identity]);
    sudo(&rpc, &["rotate-master-key"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let new_key = loop {
        let key = node.contract_key(token).await.unwrap().unwrap();
        if key.epoch == 1 {
            break key;
        }
        assert!(Instant::now() < deadline, "no contract key of epoch 1");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_ne!(new_key.bytes, old_key.bytes);
    assert_eq!(node.cluster_key(cluster).await.unwrap().unwrap().epoch, 1);

    // A new command is sealed to the new key; the kept worker runs it, the removed one cannot.
    let after = transfer(&node, token, 20).await;
    let ran = receipt_from(&node, &kept.url, token, new_key, after).await;
    assert!(matches!(ran.outcome, ReceiptOutcome::Ok(_)), "{ran:?}");
    let refused = receipt_from(&node, &removed.url, token, old_key, after).await;
    assert!(
        matches!(&refused.outcome, ReceiptOutcome::Failed(r) if r.contains("no key of the epoch")),
        "{refused:?}"
    );
    // The old command still reads, from the old key's worker too.
    let old = receipt_from(&node, &removed.url, token, old_key, before).await;
    assert!(matches!(old.outcome, ReceiptOutcome::Ok(_)));

    // A worker added now gets both epochs' cluster keys and replays everything.
    let late = WorkerProcess::start(&rpc, dirs[4].path());
    sudo(
        &rpc,
        &[
            "add-to-cluster",
            &cluster.to_string(),
            "--worker",
            &late.identity,
        ],
    );
    let more = transfer(&node, token, 30).await;
    receipt_from(&node, &late.url, token, new_key, more).await;
    let head = node.head().await.unwrap().height;
    wait_synced(&kept.url, head, Duration::from_secs(30)).await;
    wait_synced(&late.url, head, Duration::from_secs(30)).await;
    let (a, b) = (
        digest(&kept.url, token, head).await,
        digest(&late.url, token, head).await,
    );
    assert!(a.digest.is_some());
    assert_eq!(
        a, b,
        "the late worker replayed both epochs to the same state"
    );
    let bob = Keypair::dev("bob");
    assert_eq!(balance_from(&node, &late.url, token, &bob).await, 60);

    // The rotation is in the chain's events, in words.
    let mut found = false;
    for height in 1..=head {
        let out = phalanx(&["--rpc", &rpc, "events", &height.to_string()]);
        found |= String::from_utf8_lossy(&out.stdout).contains("KEY ROTATION: epoch 1");
    }
    assert!(found, "no rotation event shown");
}
