//! Attacks on a running cluster that pay for what they do, each with the bound that stops it:
//! contracts that burn all the gas they may, and floods of history queries. The chain keeps its
//! cadence, the workers stay synced, and honest users are served within a block or two.

use parity_scale_codec::Encode;
use phalanx_client::api::NodeApiClient;
use phalanx_client::{ClientError, ContractClient, NodeClient};
use phalanx_crypto::Keypair;
use phalanx_primitives::amount::UNIT;
use phalanx_primitives::economy::Parameter;
use phalanx_primitives::query::{QueryAnswer, QueryRequest};
use phalanx_primitives::{AccountId, Call, Hash, SudoCall};
use phalanx_testkit::cluster::{
    balance_from, deploy_private_token, instantiate_in, submit, synced_height, wait_synced,
};
use phalanx_testkit::{NodeProcess, WorkerProcess};
use rand_core::OsRng;
use std::time::{Duration, Instant};

const CLUSTER: Hash = Hash([0xa7; 32]);

/// These tests measure how a cluster holds up on a shared two-core machine: run one at a time,
/// so that each measures its attack and not the others' (each starts five processes).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().await
}
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
            (func (export "query") (result i32) (loop $l (br $l)) i32.const 0))"#,
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
    let (token, burner) = deploy(&node, &workers, 1_000_000, vec![]).await;
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

/// Alice deploys, in a new cluster of `workers`, a private token (she holds its `supply`) and the
/// burner, then makes `calls` and sets the budgets above; returns the token and the burner.
async fn deploy<'w>(
    node: &NodeClient,
    workers: impl IntoIterator<Item = &'w WorkerProcess>,
    supply: u128,
    calls: Vec<Call>,
) -> (AccountId, AccountId) {
    let members = workers
        .into_iter()
        .map(|w| w.identity.parse().unwrap())
        .collect();
    let init = private_token::Init {
        name: "Token".into(),
        symbol: "TOK".into(),
        initial_supply: supply,
        pha_backed: false,
    };
    let token = deploy_private_token(node, CLUSTER, members, init, b"attack").await;
    let burner = instantiate_in(node, CLUSTER, burner(), b"", b"burner").await;
    set_budgets(node, calls).await;
    (token, burner)
}

/// Sets the budgets above (the maximum first: it must stay within half the block budget at
/// every step), after `calls` from alice.
async fn set_budgets(node: &NodeClient, mut calls: Vec<Call>) {
    let set = |parameter, value: u64| {
        Call::Sudo(SudoCall::SetParameter {
            parameter,
            value: value.into(),
        })
    };
    calls.push(set(Parameter::MaxCommandGas, MAX_COMMAND_GAS));
    calls.push(set(Parameter::ClusterBlockGas, CLUSTER_BLOCK_GAS));
    submit(node, &Keypair::dev("alice"), calls).await;
}

/// The command by which alice sends `amount` of the token to `to`, sealed to the token.
fn token_transfer(token: &ContractClient, to: [u8; 32], amount: u128) -> Call {
    let transfer = private_token::Command::Transfer {
        to: phalanx_sdk::AccountId(to),
        amount,
    };
    token
        .command_call(
            Keypair::dev("alice").account_id(),
            &transfer.encode(),
            1_000_000,
            0,
            &mut OsRng,
        )
        .unwrap()
}

/// The largest number of blocks any worker was behind the node, sampled every 100 ms until
/// `done` says stop.
async fn worst_lag(node: &NodeClient, workers: &[String], mut done: impl FnMut() -> bool) -> u64 {
    let mut worst = 0;
    while !done() {
        let head = node.head().await.unwrap().height;
        for url in workers {
            let synced = synced_height(url).await;
            worst = worst.max(head.saturating_sub(synced));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    worst
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contracts_burning_their_whole_gas_delay_no_honest_command() {
    let _alone = one_at_a_time().await;
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
    let submitted_at = node.head().await.unwrap().height;
    let honest = token_transfer(&token, *bob.account_id().as_bytes(), 5);
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
    assert!(lag <= 5, "workers fell {lag} blocks behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_history_queries_leaves_the_workers_synced() {
    let _alone = one_at_a_time().await;
    let cluster = cluster().await;
    let node = &cluster.node;
    let urls: Vec<String> = cluster.workers.iter().map(|w| w.url.clone()).collect();
    let alice = Keypair::dev("alice");
    // Some history to replay.
    let token = ContractClient::open(node, cluster.token).await.unwrap();
    for _ in 0..5 {
        submit(node, &alice, vec![token_transfer(&token, [9; 32], 1)]).await;
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
    assert!(lag <= 5, "workers fell {lag} blocks behind");
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

/// Queries that burn their whole gas, from 16 clients for 8 s: the workers' sync never waits for
/// them (queries run on their own copy of the executor), so the workers stay synced while every
/// such query is answered with its trap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_burning_their_whole_gas_leave_the_workers_synced() {
    let _alone = one_at_a_time().await;
    let cluster = cluster().await;
    let node = &cluster.node;
    let urls: Vec<String> = cluster.workers.iter().map(|w| w.url.clone()).collect();
    let until = Instant::now() + Duration::from_secs(8);
    let mut clients = Vec::new();
    for i in 0..16 {
        let node = node.clone();
        let burner = cluster.burner;
        clients.push(tokio::spawn(async move {
            let burn = ContractClient::open(&node, burner).await.unwrap();
            let who = Keypair::dev(&format!("burning-asker-{i}"));
            let (mut trapped, mut other) = (0, 0);
            while Instant::now() < until {
                match burn
                    .query(&who, QueryRequest::Contract(Vec::new()), &mut OsRng)
                    .await
                {
                    Ok(QueryAnswer::Refused(_)) => trapped += 1,
                    Ok(_) | Err(_) => other += 1,
                }
            }
            (trapped, other)
        }));
    }
    // Blocks keep coming with a command in each now and then, so the sync has work to do.
    let alice = Keypair::dev("alice");
    let token = ContractClient::open(node, cluster.token).await.unwrap();
    let sender = {
        let node = node.clone();
        tokio::spawn(async move {
            while Instant::now() < until {
                submit(&node, &alice, vec![token_transfer(&token, [7; 32], 1)]).await;
            }
        })
    };
    let lag = worst_lag(node, &urls, || Instant::now() >= until).await;
    let (mut trapped, mut other) = (0, 0);
    for client in clients {
        let (t, o) = client.await.unwrap();
        trapped += t;
        other += o;
    }
    sender.await.unwrap();
    eprintln!("burning queries: {trapped} trapped, {other} refused or failed; worst lag {lag}");
    assert!(trapped > 0, "burning queries were run");
    assert!(lag <= 5, "workers fell {lag} blocks behind");
}

/// A loopback address nothing listens on (bound and let go, so the kernel will not hand it out
/// again right away).
fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// Sends one JSON-RPC call over HTTP from `source` (another loopback address); the answer is
/// not read beyond its first bytes.
async fn post_from(source: &str, node: std::net::SocketAddr, body: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(socket) = tokio::net::TcpSocket::new_v4() else {
        return;
    };
    if socket.bind(format!("{source}:0").parse().unwrap()).is_err() {
        return;
    }
    let Ok(Ok(mut stream)) =
        tokio::time::timeout(Duration::from_secs(2), socket.connect(node)).await
    else {
        return;
    };
    let head = format!(
        "POST / HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if stream.write_all(head.as_bytes()).await.is_err()
        || stream.write_all(body.as_bytes()).await.is_err()
    {
        return;
    }
    let mut first = [0u8; 512];
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut first)).await;
}

fn metric(samples: &[(String, f64)], name: &str) -> f64 {
    samples
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no metric {name}"))
}

/// The soak: for `PHALANX_SOAK_SECONDS` (default 40), plain and confidential transfers and
/// queries at a steady rate while attackers run (slowloris, free invalid uploads, loops at the
/// gas maximum, history floods), a worker and then the node are killed -9 and restarted. At the
/// end nothing final is lost, both workers agree on the state, and memory and disk stayed within
/// bounds, as the processes' own metrics say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_with_attackers_and_kill_9() {
    let _alone = one_at_a_time().await;
    let seconds: u64 = std::env::var("PHALANX_SOAK_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let (node_addr, node_metrics) = (free_addr(), free_addr());
    let node_args = ["--metrics-addr", node_metrics.as_str()];
    let mut node_process = NodeProcess::start_with(dirs[0].path(), "200ms", &node_addr, &node_args);
    let url = node_process.url.clone();
    let node = NodeClient::connect(&url).await.unwrap();
    let gatekeeper_metrics = free_addr();
    let _gatekeeper = WorkerProcess::start_with(
        "gatekeeper",
        &url,
        dirs[1].path(),
        "127.0.0.1:0",
        &["--metrics-addr", &gatekeeper_metrics],
    );
    let (a_metrics, b_metrics, b_addr) = (free_addr(), free_addr(), free_addr());
    let a = WorkerProcess::start_with(
        "worker",
        &url,
        dirs[2].path(),
        "127.0.0.1:0",
        &["--metrics-addr", &a_metrics],
    );
    let mut b = WorkerProcess::start_with(
        "worker",
        &url,
        dirs[3].path(),
        &b_addr,
        &["--metrics-addr", &b_metrics],
    );
    let mallory = Keypair::dev("mallory");
    let fund = Call::Transfer {
        to: mallory.account_id(),
        amount: 1_000 * UNIT,
    };
    let (token, burner) = deploy(&node, [&a, &b], 1_000_000_000, vec![fund]).await;

    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let node_socket: std::net::SocketAddr = node_addr.parse().unwrap();
    let mut tasks = Vec::new();
    // Honest load: confidential transfers of 1 token from alice to bob, 4 a second, and plain
    // transfers from charlie, 10 a second. Hashes are kept to check, at the end, which are final.
    let bob = Keypair::dev("bob");
    let bob_sdk = phalanx_sdk::AccountId(*bob.account_id().as_bytes());
    let confidential = {
        let node = node.clone();
        tokio::spawn(async move {
            let alice = Keypair::dev("alice");
            let mut sent = Vec::new();
            let Ok(contract) = ContractClient::open(&node, token).await else {
                return sent;
            };
            while Instant::now() < until {
                let message = private_token::Command::Transfer {
                    to: bob_sdk,
                    amount: 1,
                }
                .encode();
                if let (Ok(call), Ok(nonce)) = (
                    contract.command_call(alice.account_id(), &message, 1_000_000, 0, &mut OsRng),
                    node.next_nonce(alice.account_id()).await,
                ) {
                    let tx = node.sign(&alice, nonce, call);
                    if node.submit(&tx).await.is_ok() {
                        sent.push(tx.hash());
                    }
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            sent
        })
    };
    let plain = {
        let node = node.clone();
        tokio::spawn(async move {
            let charlie = Keypair::dev("charlie");
            let mut sent = Vec::new();
            while Instant::now() < until {
                if let Ok(nonce) = node.next_nonce(charlie.account_id()).await {
                    let tx = node.sign(
                        &charlie,
                        nonce,
                        Call::Transfer {
                            to: Keypair::dev("dave").account_id(),
                            amount: 1,
                        },
                    );
                    if node.submit(&tx).await.is_ok() {
                        sent.push(tx.hash());
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            sent
        })
    };
    // Attackers.
    tasks.push(tokio::spawn(async move {
        // Slowloris: half-sent requests, opened as fast as the node lets them in.
        use tokio::io::AsyncWriteExt;
        let mut held = Vec::new();
        while Instant::now() < until {
            if let Ok(socket) = tokio::net::TcpSocket::new_v4() {
                if socket.bind("127.0.0.2:0".parse().unwrap()).is_ok() {
                    if let Ok(Ok(mut s)) = tokio::time::timeout(
                        Duration::from_millis(200),
                        socket.connect(node_socket),
                    )
                    .await
                    {
                        let _ = s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n").await;
                        held.push(s);
                    }
                }
            }
            if held.len() > 500 {
                held.drain(..250);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }));
    let chain_id = node.info().chain_id;
    tasks.push(tokio::spawn(async move {
        // Invalid uploads, free to send but for the per-peer refusal budget.
        let forger = Keypair::dev("forger");
        let mut salt = 0u64;
        while Instant::now() < until {
            let batch: Vec<String> = (0..16)
                .map(|_| {
                    salt += 1;
                    let mut code = vec![0, b'a', b's', b'm', 1, 0, 0, 0];
                    code.extend_from_slice(&salt.to_le_bytes());
                    let tx = phalanx_primitives::Transaction {
                        chain_id,
                        signer: forger.account_id(),
                        nonce: 0,
                        fee: UNIT,
                        call: Call::UploadCode { code },
                    };
                    format!("0x{}", hex::encode(phalanx_crypto::sign_transaction(&forger, tx).encode()))
                })
                .collect();
            let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tx_submitBatch", "params": [batch]}).to_string();
            post_from("127.0.0.3", node_socket, &body).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }));
    {
        let node = node.clone();
        tasks.push(tokio::spawn(async move {
            // Loops at the gas maximum, a few a second.
            let Ok(burn) = ContractClient::open(&node, burner).await else {
                return;
            };
            while Instant::now() < until {
                if let (Ok(call), Ok(nonce)) = (
                    burn.command_call(mallory.account_id(), b"", MAX_COMMAND_GAS, 0, &mut OsRng),
                    node.next_nonce(mallory.account_id()).await,
                ) {
                    let _ = node.submit(&node.sign(&mallory, nonce, call)).await;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }));
    }
    for i in 0..4 {
        let node = node.clone();
        tasks.push(tokio::spawn(async move {
            // History floods.
            let who = Keypair::dev(&format!("historian-{i}"));
            let Ok(contract) = ContractClient::open(&node, token).await else {
                return;
            };
            let balance = private_token::Query::Balance {
                account: phalanx_sdk::AccountId(*who.account_id().as_bytes()),
            }
            .encode();
            while Instant::now() < until {
                let query = QueryRequest::ContractAt {
                    height: 1,
                    message: balance.clone(),
                };
                let _ = contract.query(&who, query, &mut OsRng).await;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }

    // Chaos: a third in, worker B dies and comes back; two thirds in, the node does.
    tokio::time::sleep(Duration::from_secs(seconds / 3)).await;
    b.kill_9();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let b = WorkerProcess::start_with(
        "worker",
        &url,
        dirs[3].path(),
        &b_addr,
        &["--metrics-addr", &b_metrics],
    );
    tokio::time::sleep(until.saturating_duration_since(Instant::now()) / 2).await;
    let final_before = node.head().await.unwrap();
    node_process.kill_9();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _node_process = NodeProcess::start_with(dirs[0].path(), "200ms", &node_addr, &node_args);
    let node = NodeClient::connect(&url).await.unwrap();
    let kept = node
        .rpc()
        .header(final_before.height)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        kept.hash, final_before.hash,
        "a final block survives kill -9"
    );

    let confidential_sent = confidential.await.unwrap();
    let plain_sent = plain.await.unwrap();
    for task in tasks {
        task.await.unwrap();
    }

    // Everything admitted is final, or was lost with the pool of a killed node (never applied).
    let mut confidential_final = 0;
    for hash in &confidential_sent {
        if matches!(
            node.tx_status(*hash).await.unwrap(),
            phalanx_client::views::TxStatus::Included { .. }
        ) {
            confidential_final += 1;
        }
    }
    let mut plain_final = 0;
    for hash in &plain_sent {
        if matches!(
            node.tx_status(*hash).await.unwrap(),
            phalanx_client::views::TxStatus::Included { .. }
        ) {
            plain_final += 1;
        }
    }
    let head = node.head().await.unwrap().height;
    for url in [&a.url, &b.url] {
        wait_synced(url, head, Duration::from_secs(60)).await;
        assert_eq!(
            balance_from(&node, url, token, &bob).await,
            confidential_final as u128,
            "{url} executed every final confidential transfer, once"
        );
    }
    let digests: Vec<_> = [&a.url, &b.url]
        .iter()
        .map(|url| phalanx_testkit::cluster::digest(url, token, head))
        .collect();
    let digests = futures_join(digests).await;
    assert_eq!(
        digests[0].digest, digests[1].digest,
        "the workers agree at block {head}"
    );

    // Bounds, from the processes' own metrics.
    let node_samples = phalanx_telemetry::scrape(node_metrics.parse().unwrap())
        .await
        .unwrap();
    let node_rss = metric(&node_samples, "phalanx_node_resident_memory_bytes");
    let node_store = metric(&node_samples, "phalanx_node_store_bytes");
    let refusals: f64 = node_samples
        .iter()
        .filter(|(n, _)| n.starts_with("phalanx_node_refusals_total"))
        .map(|(_, v)| *v)
        .sum();
    let mut worker_rss = 0f64;
    let mut worker_store = 0f64;
    for addr in [&a_metrics, &b_metrics, &gatekeeper_metrics] {
        let samples = phalanx_telemetry::scrape(addr.parse().unwrap())
            .await
            .unwrap();
        worker_rss = worker_rss.max(metric(&samples, "phalanx_worker_resident_memory_bytes"));
        let store = metric(&samples, "phalanx_worker_store_bytes");
        assert!(store > 0.0, "{addr} reports the size of its own store");
        worker_store = worker_store.max(store);
        assert_eq!(metric(&samples, "phalanx_worker_node_unreachable"), 0.0);
    }
    eprintln!(
        "soak {seconds} s: {confidential_final}/{} confidential and {plain_final}/{} plain transfers final; \
         node {:.0} MiB resident, store {:.1} MiB, {refusals} refusals since its restart; \
         workers at most {:.0} MiB resident, store {:.1} MiB",
        confidential_sent.len(),
        plain_sent.len(),
        node_rss / 1048576.0,
        node_store / 1048576.0,
        worker_rss / 1048576.0,
        worker_store / 1048576.0,
    );
    assert!(
        confidential_final * 2 >= confidential_sent.len(),
        "most honest commands were final"
    );
    assert!(
        plain_final * 2 >= plain_sent.len(),
        "most honest transfers were final"
    );
    assert!(node_rss < SOAK_MAX_RESIDENT, "node used {node_rss} bytes");
    assert!(
        worker_rss < SOAK_MAX_RESIDENT,
        "a worker used {worker_rss} bytes"
    );
    assert!(node_store < SOAK_MAX_STORE && worker_store < SOAK_MAX_STORE);
}

/// Memory any process of the soak may hold at its end.
const SOAK_MAX_RESIDENT: f64 = 1024.0 * 1024.0 * 1024.0;
/// Disk any store of the soak may take.
const SOAK_MAX_STORE: f64 = 512.0 * 1024.0 * 1024.0;

async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut out = Vec::with_capacity(futures.len());
    for future in futures {
        out.push(future.await);
    }
    out
}
