//! The pipeline's measurements, each a function that starts what it needs (real processes on
//! loopback, or the VM in this process), runs its load and returns its figures. The single
//! benchmarks under `benches/` print one each; `cargo bench --bench pipeline` runs them all in
//! one sitting and prints their ratios, which is what holds on a noisy machine.

use crate::load::{funded_senders, percentile, presigned_transfers, submit_and_wait, LoadOutcome};
use crate::{DevnetProcess, NodeProcess, WorkerProcess};
use parity_scale_codec::{Decode, Encode};
use phalanx_client::contract::Instantiation;
use phalanx_client::query::WorkerClient;
use phalanx_client::views::TxStatus;
use phalanx_client::{ClientError, ContractClient, NodeClient};
use phalanx_crypto::Keypair;
use phalanx_primitives::query::{QueryAnswer, QueryRequest, ReceiptOutcome};
use phalanx_primitives::{sha256, AccountId, Call, Hash, SignedTransaction, SudoCall};
use rand_core::OsRng;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Transactions per `tx_submitBatch` of confidential commands.
const COMMAND_BATCH: usize = 1_000;
/// Gas reserved per `private_token` transfer: it burns ~35,000 and pads to its limit below
/// 150,000, so every transfer is charged this.
const TRANSFER_GAS: u64 = 100_000;

/// The committed `private_token` artifact.
const TOKEN_WASM: &[u8] = include_bytes!("../../../contracts/private_token/private_token.wasm");

fn sdk_account(account: AccountId) -> phalanx_sdk::AccountId {
    phalanx_sdk::AccountId(*account.as_bytes())
}

/// A `private_token` transfer of one unit to the `i`-th of many recipients.
fn token_transfer(i: usize) -> Vec<u8> {
    let to = AccountId::from_bytes(sha256(&(i as u64).to_le_bytes()).0);
    private_token::Command::Transfer {
        to: sdk_account(to),
        amount: 1,
    }
    .encode()
}

/// The `i`-th token transfer of a run, sealed to `contract` and signed by `alice` with nonce
/// `first_nonce + i`.
fn sealed_transfer(
    node: &NodeClient,
    contract: &ContractClient,
    alice: &Keypair,
    first_nonce: u64,
    i: usize,
) -> SignedTransaction {
    let call = contract
        .command_call(
            alice.account_id(),
            &token_transfer(i),
            TRANSFER_GAS,
            0,
            &mut OsRng,
        )
        .unwrap();
    node.sign(alice, first_nonce + i as u64, call)
}

fn per_second(count: usize, after: Duration) -> f64 {
    count as f64 / after.as_secs_f64()
}

/// Plain PHA transfers through one dev node process.
pub struct PlainFigures {
    pub submitted: usize,
    pub rejected: usize,
    pub accepted_per_s: f64,
    pub finalized_per_s: f64,
    pub final_after: Duration,
    /// The blocks that held them.
    pub blocks: (u64, u64),
}

/// `total` pre-signed transfers from `senders` accounts over `clients` connections to a fresh
/// node with `block_time` blocks, from the first submission until the last is final.
pub async fn plain_transfers(
    total: usize,
    senders: usize,
    clients: usize,
    block_time: &str,
) -> PlainFigures {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(dir.path(), block_time);
    let client = NodeClient::connect(&node.url).await.unwrap();
    let senders = funded_senders(&client, "load", senders).await;
    let work = presigned_transfers(&client, &senders, total, clients.min(senders.len()).max(1));
    let first_height = client.head().await.unwrap().height;
    let LoadOutcome {
        submitted,
        rejected,
        accepted_after,
        final_after,
    } = submit_and_wait(std::slice::from_ref(&node.url), work).await;
    let last_height = client.head().await.unwrap().height;
    PlainFigures {
        submitted,
        rejected,
        accepted_per_s: per_second(submitted - rejected, accepted_after),
        finalized_per_s: per_second(submitted - rejected, final_after),
        final_after,
        blocks: (first_height + 1, last_height),
    }
}

/// Confidential `private_token` transfers end to end on a devnet (node, gatekeeper, two
/// workers), with encrypted queries to one worker while they flow and after.
pub struct ConfidentialFigures {
    pub commands: usize,
    pub sealed_per_s: f64,
    pub accepted_after: Duration,
    pub final_after: Duration,
    pub last_height: u64,
    /// From the first command sealed to both workers having run the last and its receipt read.
    pub executed_after: Duration,
    pub end_to_end_per_s: f64,
    /// Latencies of queries made one at a time while the commands were flowing, sorted.
    pub queries_under_load: Vec<Duration>,
    /// Queries under load whose answer the client refused, the worker being too far behind.
    pub stale_answers: usize,
    /// Latencies of queries made one at a time once everything was executed, sorted.
    pub queries_idle: Vec<Duration>,
}

impl ConfidentialFigures {
    pub fn under_load(&self, p: f64) -> Duration {
        percentile(&self.queries_under_load, p)
    }
    pub fn idle(&self, p: f64) -> Duration {
        percentile(&self.queries_idle, p)
    }
}

/// Asks `request` of one worker, one query at a time, until `stop`: the latencies of the
/// answers, sorted, and how many answers were refused as stale.
async fn query_until(
    node_url: String,
    worker_url: String,
    token: AccountId,
    request: QueryRequest,
    stop: Arc<AtomicBool>,
) -> (Vec<Duration>, usize) {
    let node = NodeClient::connect(&node_url).await.unwrap();
    let worker = ContractClient::open(&node, token)
        .await
        .unwrap()
        .only_worker(&worker_url)
        .unwrap();
    let alice = Keypair::dev("alice");
    let (mut latencies, mut stale) = (Vec::new(), 0);
    while !stop.load(Ordering::Relaxed) {
        let asked = Instant::now();
        match worker.query(&alice, request.clone(), &mut OsRng).await {
            Ok(QueryAnswer::Ok(_)) => latencies.push(asked.elapsed()),
            // A worker far behind the head under this load: the client refuses its answer.
            Err(ClientError::Contract(why)) if why.contains("behind the head") => stale += 1,
            other => panic!("alice was refused: {other:?}"),
        }
    }
    latencies.sort();
    (latencies, stale)
}

/// `commands` transfers sealed by the client, from alice (who holds the devnet token's supply)
/// to as many recipients, then `idle_queries` balance queries.
pub async fn confidential_transfers(
    commands: usize,
    idle_queries: usize,
    block_time: &str,
) -> ConfidentialFigures {
    let devnet = DevnetProcess::start(block_time);
    let node_url = devnet.summary["node"]["rpc_http"]
        .as_str()
        .unwrap()
        .to_string();
    let node = NodeClient::connect(&node_url).await.unwrap();
    let token = devnet.contract("private_token");
    let workers = devnet.rpc_urls("workers");
    let contract = ContractClient::open(&node, token).await.unwrap();
    let receipts = ContractClient::open(&node, token).await.unwrap();
    let alice = Keypair::dev("alice");
    // One sender may take half a cluster's block budget, which would bound this run (one
    // sender) below what the pipeline does: raise the budget, so the machine is the bound.
    crate::cluster::raise_cluster_budget(&node).await;
    let balance = QueryRequest::Contract(
        private_token::Query::Balance {
            account: sdk_account(alice.account_id()),
        }
        .encode(),
    );
    let one_worker = ContractClient::open(&node, token)
        .await
        .unwrap()
        .only_worker(&workers[0])
        .unwrap();
    let before = balance_of(&one_worker, &alice, &balance).await;

    let stop = Arc::new(AtomicBool::new(false));
    let querying = tokio::spawn(query_until(
        node_url.clone(),
        workers[0].clone(),
        token,
        balance.clone(),
        stop.clone(),
    ));
    let first_nonce = node.next_nonce(alice.account_id()).await.unwrap();
    let started = Instant::now();
    // The client seals and signs batch after batch on a thread of its own while the batches
    // before go out, as a stream of clients would: its cost is in the figure, overlapped.
    let (batches, mut sealed) = tokio::sync::mpsc::channel::<Vec<SignedTransaction>>(4);
    let sealing = {
        let node = node.clone();
        tokio::task::spawn_blocking(move || {
            let alice = Keypair::dev("alice");
            for first in (0..commands).step_by(COMMAND_BATCH) {
                let batch = (first..(first + COMMAND_BATCH).min(commands))
                    .map(|i| sealed_transfer(&node, &contract, &alice, first_nonce, i))
                    .collect();
                if batches.blocking_send(batch).is_err() {
                    break;
                }
            }
            started.elapsed()
        })
    };
    let mut last = None;
    while let Some(batch) = sealed.recv().await {
        for outcome in node.submit_batch(&batch).await.unwrap() {
            assert!(outcome.error.is_none(), "{:?}", outcome.error);
        }
        last = batch.last().map(SignedTransaction::hash);
    }
    let sealed_after = sealing.await.unwrap();
    let accepted_after = started.elapsed();
    let last = last.expect("at least one command");
    let last_height = loop {
        if let TxStatus::Included { height, .. } = node.tx_status(last).await.unwrap() {
            break height;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let final_after = started.elapsed();
    for url in &workers {
        while crate::cluster::synced_height(url).await < last_height {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    // A client takes answers at most a few blocks behind the head; a worker that ran the last
    // command may still be behind the empty blocks after it.
    for url in &workers {
        while crate::cluster::synced_height(url).await + 2 < node.head().await.unwrap().height {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let receipt = receipts
        .receipt(&alice, last, Duration::from_secs(10), &mut OsRng)
        .await
        .unwrap();
    let executed_after = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (queries_under_load, stale_answers) = querying.await.unwrap();
    assert!(
        matches!(receipt.outcome, ReceiptOutcome::Ok(_)),
        "{receipt:?}"
    );

    let mut queries_idle = Vec::with_capacity(idle_queries);
    for _ in 0..idle_queries {
        let asked = Instant::now();
        let left = balance_of(&one_worker, &alice, &balance).await;
        queries_idle.push(asked.elapsed());
        assert_eq!(left, before - commands as u128, "every transfer ran once");
    }
    queries_idle.sort();
    ConfidentialFigures {
        commands,
        sealed_per_s: per_second(commands, sealed_after),
        accepted_after,
        final_after,
        last_height,
        executed_after,
        end_to_end_per_s: per_second(commands, executed_after),
        queries_under_load,
        stale_answers,
        queries_idle,
    }
}

async fn balance_of(one_worker: &ContractClient, alice: &Keypair, request: &QueryRequest) -> u128 {
    let answer = one_worker
        .query(alice, request.clone(), &mut OsRng)
        .await
        .unwrap();
    let QueryAnswer::Ok(bytes) = answer else {
        panic!("alice was refused: {answer:?}")
    };
    u128::decode(&mut &bytes[..]).unwrap()
}

/// A fresh worker store rebuilt from the chain alone.
pub struct ReplayFigures {
    pub blocks: u64,
    /// Commands executed (the transfers and the instantiation).
    pub commands: u64,
    /// From process start to the head.
    pub seconds: f64,
    pub per_s: f64,
    /// Commands per second from the first executed command on (without process start).
    pub steady_per_s: Option<f64>,
}

async fn synced(worker: &WorkerClient) -> (u64, u64) {
    let status = worker.status().await.unwrap();
    (
        status["synced_height"].as_u64().unwrap(),
        status["commands_executed"].as_u64().unwrap(),
    )
}

/// A node, a gatekeeper and one worker; `commands` confidential transfers to a token of a
/// one-worker cluster; then the worker loses its store and checkpoints (not its sealed
/// identity) and replays every block from genesis, verifying, decrypting, executing and
/// committing each, until it reaches the head.
pub async fn replay(commands: usize) -> ReplayFigures {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let node_process = NodeProcess::start(dirs[0].path(), "500ms");
    let node = NodeClient::connect(&node_process.url).await.unwrap();
    let _gatekeeper = WorkerProcess::start_as("gatekeeper", &node_process.url, dirs[1].path());
    let mut worker = WorkerProcess::start(&node_process.url, dirs[2].path());

    // As many commands a block as before per-block gas budgets (one sender sends them all).
    crate::cluster::raise_cluster_budget(&node).await;
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
        crate::cluster::poll_key(|| async { node.cluster_key(cluster).await.unwrap() }).await;
    let init = private_token::Init {
        name: "Replay".into(),
        symbol: "RPL".into(),
        initial_supply: 1_000_000_000,
        pha_backed: false,
    }
    .encode();
    let (token, instantiate) = Instantiation {
        code_hash: sha256(TOKEN_WASM),
        cluster,
        cluster_key,
        salt: b"replay",
        init: &init,
        gas_limit: 10_000_000,
    }
    .call(node.info().chain_id, alice.account_id(), &mut OsRng)
    .unwrap();
    let setup = [
        node.sign(
            &alice,
            nonce,
            Call::UploadCode {
                code: TOKEN_WASM.to_vec(),
            },
        ),
        node.sign(&alice, nonce + 1, instantiate),
    ];
    nonce += 2;
    node.submit_batch(&setup).await.unwrap();
    crate::cluster::poll_key(|| async { node.contract_key(token).await.ok().flatten() }).await;
    let contract = ContractClient::open(&node, token).await.unwrap();
    let mut last = setup[1].hash();
    for chunk in (0..commands).collect::<Vec<_>>().chunks(COMMAND_BATCH) {
        let txs: Vec<_> = chunk
            .iter()
            .map(|&i| sealed_transfer(&node, &contract, &alice, nonce, i))
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
    ReplayFigures {
        blocks: head,
        commands: executed,
        seconds,
        per_s: executed as f64 / seconds,
        steady_per_s: first_seen.map(|(at, seen)| {
            (executed - seen) as f64 / at.elapsed().as_secs_f64().max(f64::EPSILON)
        }),
    }
}

/// One `private_token` transfer in the VM against the same contract compiled natively.
pub struct VmFigures {
    /// Gas one transfer burns.
    pub gas: u64,
    /// A call on an instance of its own (`Vm::call`), as a lone query runs.
    pub fresh_instance: Duration,
    /// A call on the instance kept for a run of calls, as a block's commands run.
    pub kept_instance: Duration,
    pub native: Duration,
}

/// Sets up `private_token` natively on the SDK's test host, instantiated by account `[1; 32]`
/// with half of `u128::MAX`, and `message` as the input of every later command.
pub fn native_token(message: &[u8]) {
    use phalanx_sdk::testing;
    testing::reset();
    testing::with_env(|env| {
        env.caller = phalanx_sdk::AccountId([1; 32]);
        env.input = token_init();
    });
    assert_eq!(phalanx_sdk::entry::run(private_token::instantiate), 0);
    testing::with_env(|env| env.input = message.to_vec());
}

/// One command of [`native_token`]'s, its events and call counts forgotten after it.
pub fn run_native_command() {
    assert_eq!(phalanx_sdk::entry::run(private_token::execute), 0);
    phalanx_sdk::testing::with_env(|env| {
        env.events.clear();
        env.call = Default::default();
    });
}

/// `private_token`'s instantiation message: half of `u128::MAX` to the caller.
pub fn token_init() -> Vec<u8> {
    private_token::Init {
        name: "Bench".into(),
        symbol: "BNCH".into(),
        initial_supply: u128::MAX / 2,
        pha_backed: false,
    }
    .encode()
}

/// The median over `rounds` of the mean time of `calls` runs of `one`.
fn median_time(rounds: usize, calls: usize, mut one: impl FnMut()) -> Duration {
    let mut means: Vec<Duration> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..calls {
                one();
            }
            started.elapsed() / calls as u32
        })
        .collect();
    means.sort();
    means[means.len() / 2]
}

/// Times transfers (to one recipient, from one sender holding the supply) in rounds of
/// `calls`: in the VM over an in-memory store, and natively through the SDK's test host (the
/// same SCALE decoding, storage and events, without Wasm).
pub fn vm_against_native(calls: usize) -> VmFigures {
    use phalanx_vm::{CallContext, EntryPoint, MemoryStorage, Vm};
    const ROUNDS: usize = 7;
    const GAS: u64 = 10_000_000;
    let mut vm = Vm::new();
    let hash = vm.prepare(TOKEN_WASM).unwrap();
    let mut storage = MemoryStorage::default();
    let context = CallContext {
        caller: AccountId::from_bytes([1; 32]),
        ..CallContext::test()
    };
    let init = vm.call(
        &hash,
        EntryPoint::Instantiate,
        &context,
        &token_init(),
        GAS,
        &mut storage,
    );
    assert!(init.result.is_ok(), "{init:?}");
    let message = private_token::Command::Transfer {
        to: phalanx_sdk::AccountId([2; 32]),
        amount: 1,
    }
    .encode();
    let transfer = |storage: &mut MemoryStorage| {
        vm.call(&hash, EntryPoint::Execute, &context, &message, GAS, storage)
    };
    let gas = transfer(&mut storage).gas_used;
    let fresh_instance = median_time(ROUNDS, calls, || {
        assert!(transfer(&mut storage).result.is_ok());
    });
    let kept_instance = {
        let mut session = vm.session(&hash, &storage).unwrap();
        median_time(ROUNDS, calls, || {
            let outcome = session.call(EntryPoint::Execute, &context, &message, GAS);
            assert!(outcome.result.is_ok());
        })
    };

    native_token(&message);
    let native = median_time(ROUNDS, calls, run_native_command);
    VmFigures {
        gas,
        fresh_instance,
        kept_instance,
        native,
    }
}
