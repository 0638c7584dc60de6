//! Replay rate: how fast a worker rebuilds every contract's state from the chain alone.
//!
//! Run: `cargo bench --bench replay` (knobs: PHALANX_REPLAY_COMMANDS, default 20,000). A node, a
//! gatekeeper and one worker run as processes; `private_token` gets that many confidential
//! transfers. Then the worker is stopped, its store and checkpoints are deleted (its sealed
//! identity stays, so the chain's key messages still open for it), and it is started again: it
//! replays every block from genesis — verifying each, receiving its cluster key where the chain
//! delivered it, decrypting and executing every command, committing sealed state per block —
//! until it reaches the head. Reported: blocks/s and commands/s of that replay.

use parity_scale_codec::Encode;
use phalanx_client::contract::Instantiation;
use phalanx_client::query::WorkerClient;
use phalanx_client::{ContractClient, NodeClient};
use phalanx_crypto::Keypair;
use phalanx_primitives::{sha256, AccountId, Call, Hash, SudoCall};
use phalanx_testkit::knob;
use phalanx_testkit::{NodeProcess, WorkerProcess};
use rand_core::OsRng;
use std::time::{Duration, Instant};

const BATCH: usize = 1_000;

async fn synced(worker: &WorkerClient) -> (u64, u64) {
    let status = worker.status().await.unwrap();
    (
        status["synced_height"].as_u64().unwrap(),
        status["commands_executed"].as_u64().unwrap(),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let commands = knob("PHALANX_REPLAY_COMMANDS", 20_000);
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let node_process = NodeProcess::start(dirs[0].path(), "500ms");
    let node = NodeClient::connect(&node_process.url).await.unwrap();
    let _gatekeeper = WorkerProcess::start_as("gatekeeper", &node_process.url, dirs[1].path());
    let mut worker = WorkerProcess::start(&node_process.url, dirs[2].path());

    // As many commands a block as before per-block gas budgets (one sender sends them all).
    phalanx_testkit::cluster::raise_cluster_budget(&node).await;
    // A one-worker cluster running a private token, and `commands` transfers to it.
    let alice = Keypair::dev("alice");
    let cluster = Hash([0xbe; 32]);
    let mut nonce = node.next_nonce(alice.account_id()).await.unwrap();
    let create = node.sign(
        &alice,
        nonce,
        Call::Sudo(SudoCall::CreateCluster {
            cluster,
            workers: vec![worker.identity.parse().unwrap()],
        }),
    );
    nonce += 1;
    node.wait_for_inclusion(node.submit(&create).await.unwrap(), Duration::from_secs(30))
        .await
        .unwrap();
    let cluster_key =
        phalanx_testkit::cluster::poll_key(|| async { node.cluster_key(cluster).await.unwrap() })
            .await;
    let code = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/contracts/private_token/private_token.wasm"
    ))
    .unwrap();
    let init = private_token::Init {
        name: "Replay".into(),
        symbol: "RPL".into(),
        initial_supply: 1_000_000_000,
        pha_backed: false,
    }
    .encode();
    let (token, instantiate) = Instantiation {
        code_hash: sha256(&code),
        cluster,
        cluster_key,
        salt: b"replay",
        init: &init,
        gas_limit: 10_000_000,
    }
    .call(node.info().chain_id, alice.account_id(), &mut OsRng)
    .unwrap();
    let setup = [
        node.sign(&alice, nonce, Call::UploadCode { code }),
        node.sign(&alice, nonce + 1, instantiate),
    ];
    nonce += 2;
    node.submit_batch(&setup).await.unwrap();
    phalanx_testkit::cluster::poll_key(|| async { node.contract_key(token).await.ok().flatten() })
        .await;
    let contract = ContractClient::open(&node, token).await.unwrap();
    let mut last = setup[1].hash();
    for chunk in (0..commands).collect::<Vec<_>>().chunks(BATCH) {
        let txs: Vec<_> = chunk
            .iter()
            .map(|&i| {
                let to = AccountId::from_bytes(sha256(&(i as u64).to_le_bytes()).0);
                let message = private_token::Command::Transfer {
                    to: phalanx_sdk::AccountId(*to.as_bytes()),
                    amount: 1,
                }
                .encode();
                let call = contract
                    .command_call(alice.account_id(), &message, 100_000, 0, &mut OsRng)
                    .unwrap();
                node.sign(&alice, nonce + i as u64, call)
            })
            .collect();
        for outcome in node.submit_batch(&txs).await.unwrap() {
            assert!(outcome.error.is_none(), "{:?}", outcome.error);
        }
        last = txs.last().unwrap().hash();
    }
    let included = node
        .wait_for_inclusion(last, Duration::from_secs(300))
        .await
        .unwrap();
    let live = WorkerClient::connect(&worker.url).unwrap();
    while synced(&live).await.0 < included.height {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Lose the store and the checkpoints; replay from genesis.
    worker.kill_9();
    std::fs::remove_file(dirs[2].path().join("worker.redb")).unwrap();
    std::fs::remove_dir_all(dirs[2].path().join("checkpoints")).unwrap();
    let head = node.head().await.unwrap().height;
    let started = Instant::now();
    let worker = WorkerProcess::start(&node_process.url, dirs[2].path());
    let replaying = WorkerClient::connect(&worker.url).unwrap();
    // The first sight of executed commands splits process start (enclave, registration check,
    // RPC) from the replay proper.
    let mut first_seen: Option<(Instant, u64)> = None;
    let executed = loop {
        let (height, executed) = synced(&replaying).await;
        if executed > 0 && first_seen.is_none() {
            first_seen = Some((Instant::now(), executed));
        }
        if height >= head {
            break executed;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(
        executed,
        commands as u64 + 1,
        "every command (and the instantiation) replayed"
    );
    println!("replay: {head} blocks holding {commands} private_token transfers, replayed from genesis by a fresh worker store");
    println!(
        "  {seconds:.2}s = {:.0} blocks/s, {:.0} commands/s (from process start to the head)",
        head as f64 / seconds,
        executed as f64 / seconds
    );
    if let Some((at, seen)) = first_seen {
        let steady = at.elapsed().as_secs_f64();
        println!(
            "  {:.0} commands/s once replaying ({} commands in {steady:.2}s after the first was seen, {:.2}s after the start)",
            (executed - seen) as f64 / steady,
            executed - seen,
            seconds - steady
        );
    }
}
