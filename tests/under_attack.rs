//! Attacks on a running cluster that pay for what they do, each with the bound that stops it:
//! contracts that burn all the gas they may, and floods of history queries. The chain keeps its
//! cadence, the workers stay synced, and honest users are served within a block or two.

mod common;

use common::cluster::{
    balance_from, deploy_private_token, instantiate_in, submit, wait_synced, worker_status,
};
use common::{NodeProcess, WorkerProcess};
use parity_scale_codec::Encode;
use phalanx_client::{ClientError, ContractClient, NodeClient};
use phalanx_crypto::Keypair;
use phalanx_primitives::amount::UNIT;
use phalanx_primitives::economy::Parameter;
use phalanx_primitives::query::{QueryAnswer, QueryRequest};
use phalanx_primitives::{AccountId, Call, Hash, SudoCall};
use rand_core::OsRng;
use std::time::{Duration, Instant};

const CLUSTER: Hash = Hash([0xa7; 32]);
/// Set for the test's 100 ms blocks on a busy machine: two workers, a gatekeeper and the node on
/// two cores run the slowest contract code at ~70 M gas/s each (debug build), so a cluster's
/// block is at most ~90 ms of it and one sender's half of that.
const CLUSTER_BLOCK_GAS: u64 = 6_000_000;
const MAX_COMMAND_GAS: u64 = 3_000_000;

/// A contract whose every command loops until its gas runs out.
fn burner() -> Vec<u8> {
    wat::parse_str(
        r#"(module
            (memory (export "memory") 1)
            (func (export "instantiate") (result i32) i32.const 0)
            (func (export "execute") (result i32) (loop $l (br $l)) i32.const 0)
            (func (export "query") (result i32) i32.const 0))"#,
    )
    .unwrap()
}

struct Cluster {
    _node: NodeProcess,
    node: NodeClient,
    _gatekeeper: WorkerProcess,
    workers: Vec<WorkerProcess>,
    token: AccountId,
    burner: AccountId,
    _dirs: Vec<tempfile::TempDir>,
}

/// A node with 100 ms blocks, a gatekeeper, two workers in one cluster running a private token
/// (alice holds its supply) and the burner, and the budgets above.
async fn cluster() -> Cluster {
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let node_process = NodeProcess::start(dirs[0].path(), "100ms");
    let node = NodeClient::connect(&node_process.url).await.unwrap();
    let gatekeeper = WorkerProcess::start_as("gatekeeper", &node_process.url, dirs[1].path());
    let workers = vec![
        WorkerProcess::start(&node_process.url, dirs[2].path()),
        WorkerProcess::start(&node_process.url, dirs[3].path()),
    ];
    let members = workers
        .iter()
        .map(|w| w.identity.parse().unwrap())
        .collect();
    let token = deploy_private_token(
        &node,
        CLUSTER,
        members,
        private_token::Init {
            name: "Token".into(),
            symbol: "TOK".into(),
            initial_supply: 1_000_000,
            pha_backed: false,
        },
        b"attack",
    )
    .await;
    let burner = instantiate_in(&node, CLUSTER, burner(), b"", b"burner").await;
    // Then the budgets (the maximum first: it must stay within half the block budget).
    let set = |parameter, value: u64| {
        Call::Sudo(SudoCall::SetParameter {
            parameter,
            value: value.into(),
        })
    };
    submit(
        &node,
        &Keypair::dev("alice"),
        vec![
            set(Parameter::MaxCommandGas, MAX_COMMAND_GAS),
            set(Parameter::ClusterBlockGas, CLUSTER_BLOCK_GAS),
        ],
    )
    .await;
    Cluster {
        _node: node_process,
        node,
        _gatekeeper: gatekeeper,
        workers,
        token,
        burner,
        _dirs: dirs,
    }
}

/// The largest number of blocks any worker was behind the node, sampled every 100 ms until
/// `done` says stop.
async fn worst_lag(node: &NodeClient, workers: &[String], mut done: impl FnMut() -> bool) -> u64 {
    let mut worst = 0;
    while !done() {
        let head = node.head().await.unwrap().height;
        for url in workers {
            let synced = worker_status(url).await["synced_height"].as_u64().unwrap();
            worst = worst.max(head.saturating_sub(synced));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    worst
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contracts_burning_their_whole_gas_delay_no_honest_command() {
    let cluster = cluster().await;
    let node = &cluster.node;
    let urls: Vec<String> = cluster.workers.iter().map(|w| w.url.clone()).collect();
    let burn = ContractClient::open(node, cluster.burner).await.unwrap();
    let mallory = Keypair::dev("mallory");
    let alice = Keypair::dev("alice");
    submit(
        node,
        &alice,
        vec![Call::Transfer {
            to: mallory.account_id(),
            amount: 1_000 * UNIT,
        }],
    )
    .await;

    // A command may not reserve more than the chain's maximum.
    let greedy = burn
        .command_call(mallory.account_id(), b"", 1_000_000_000, 0, &mut OsRng)
        .unwrap();
    let nonce = node.next_nonce(mallory.account_id()).await.unwrap();
    match node.submit(&node.sign(&mallory, nonce, greedy)).await {
        Err(ClientError::Rejected { kind, .. }) => assert_eq!(kind, "GasLimitTooHigh"),
        other => panic!("a 10^9-gas command was {other:?}"),
    }

    // Twenty loops at the maximum: four blocks' whole budget, from one account.
    let loops: Vec<Call> = (0..20)
        .map(|_| {
            burn.command_call(mallory.account_id(), b"", MAX_COMMAND_GAS, 0, &mut OsRng)
                .unwrap()
        })
        .collect();
    let txs: Vec<_> = loops
        .into_iter()
        .zip(nonce..)
        .map(|(call, n)| node.sign(&mallory, n, call))
        .collect();
    for outcome in node.submit_batch(&txs).await.unwrap() {
        assert!(outcome.error.is_none(), "{:?}", outcome.error);
    }
    let last_loop = txs.last().unwrap().hash();

    // Right after them, an honest transfer in the same cluster.
    let token = ContractClient::open(node, cluster.token).await.unwrap();
    let bob = Keypair::dev("bob");
    let transfer = private_token::Command::Transfer {
        to: phalanx_sdk::AccountId(*bob.account_id().as_bytes()),
        amount: 5,
    };
    let submitted_at = node.head().await.unwrap().height;
    let honest = token
        .command_call(
            alice.account_id(),
            &transfer.encode(),
            1_000_000,
            0,
            &mut OsRng,
        )
        .unwrap();
    let honest_tx = node.sign(
        &alice,
        node.next_nonce(alice.account_id()).await.unwrap(),
        honest,
    );
    node.submit(&honest_tx).await.unwrap();
    let included = node
        .wait_for_inclusion(honest_tx.hash(), Duration::from_secs(30))
        .await
        .unwrap();
    assert!(
        included.height <= submitted_at + 2,
        "the honest transfer waited from block {submitted_at} to {}",
        included.height
    );
    // Executed by both workers without waiting behind the loops.
    for url in &urls {
        wait_synced(url, included.height, Duration::from_secs(5)).await;
        assert_eq!(balance_from(node, url, cluster.token, &bob).await, 5);
    }

    // The loops drain a few a block, while the workers keep up with every block.
    let loops_done = node.clone();
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = finished.clone();
    let waiter = tokio::spawn(async move {
        let at = loops_done
            .wait_for_inclusion(last_loop, Duration::from_secs(60))
            .await
            .unwrap();
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        at.height
    });
    let lag = worst_lag(node, &urls, || {
        finished.load(std::sync::atomic::Ordering::SeqCst)
    })
    .await;
    let last_height = waiter.await.unwrap();
    eprintln!(
        "honest transfer in block {} (submitted at {submitted_at}); loops done in block {last_height}; worst lag {lag}",
        included.height
    );
    assert!(
        last_height >= included.height + 5,
        "one sender gets half a block"
    );
    assert!(lag <= 3, "workers fell {lag} blocks behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_history_queries_leaves_the_workers_synced() {
    let cluster = cluster().await;
    let node = &cluster.node;
    let urls: Vec<String> = cluster.workers.iter().map(|w| w.url.clone()).collect();
    let alice = Keypair::dev("alice");
    // Some history to replay.
    let token = ContractClient::open(node, cluster.token).await.unwrap();
    for _ in 0..5 {
        let transfer = private_token::Command::Transfer {
            to: phalanx_sdk::AccountId([9; 32]),
            amount: 1,
        };
        let call = token
            .command_call(
                alice.account_id(),
                &transfer.encode(),
                1_000_000,
                0,
                &mut OsRng,
            )
            .unwrap();
        submit(node, &alice, vec![call]).await;
    }
    let head = node.head().await.unwrap().height;

    // 24 clients at once, each asking as of the earliest block again and again for 8 s.
    let until = Instant::now() + Duration::from_secs(8);
    let mut clients = Vec::new();
    for i in 0..24 {
        let node = node.clone();
        let contract = cluster.token;
        clients.push(tokio::spawn(async move {
            let token = ContractClient::open(&node, contract).await.unwrap();
            let who = Keypair::dev(&format!("asker-{i}"));
            let balance = private_token::Query::Balance {
                account: phalanx_sdk::AccountId(*who.account_id().as_bytes()),
            }
            .encode();
            let (mut answered, mut refused) = (0, 0);
            while Instant::now() < until {
                let query = QueryRequest::ContractAt {
                    height: 1,
                    message: balance.clone(),
                };
                match token.query(&who, query, &mut OsRng).await {
                    Ok(QueryAnswer::Ok(_)) => answered += 1,
                    Ok(_) | Err(_) => refused += 1,
                }
            }
            (answered, refused)
        }));
    }
    let lag = worst_lag(node, &urls, || Instant::now() >= until).await;
    let (mut answered, mut refused) = (0, 0);
    for client in clients {
        let (a, r) = client.await.unwrap();
        answered += a;
        refused += r;
    }
    eprintln!("history flood: {answered} answered, {refused} refused; worst lag {lag}");
    assert!(refused > 0, "the flood met its limits");
    assert!(lag <= 3, "workers fell {lag} blocks behind");
    // And a live query is answered right after.
    let target = node.head().await.unwrap().height.max(head);
    for url in &urls {
        wait_synced(url, target, Duration::from_secs(5)).await;
        assert_eq!(
            balance_from(node, url, cluster.token, &alice).await,
            1_000_000 - 5
        );
    }
}
