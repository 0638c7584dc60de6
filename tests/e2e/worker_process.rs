//! The worker as a real process beside a real node: it registers its (dev) enclave with the chain,
//! follows finalized blocks, and after a kill -9 resumes from its sealed store where it was.

use phalanx_client::api::NodeApiClient;
use phalanx_client::NodeClient;
use phalanx_crypto::Keypair;
use phalanx_primitives::{AccountId, Call, Hash, SudoCall};
use phalanx_testkit::cluster::{wait_synced, worker_status};
use phalanx_testkit::{NodeProcess, WorkerProcess};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_registers_follows_and_resumes_after_kill_9() {
    let node_dir = tempfile::tempdir().unwrap();
    let worker_dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(node_dir.path(), "100ms");
    let client = NodeClient::connect(&node.url).await.unwrap();

    let mut worker = WorkerProcess::start(&node.url, worker_dir.path());
    let identity: AccountId = worker.identity.parse().unwrap();
    let registered = client
        .rpc()
        .worker(identity)
        .await
        .unwrap()
        .expect("the worker registered itself");
    assert_eq!(
        (registered.role.as_str(), registered.tee.as_str()),
        ("worker", "dev")
    );

    // Let the chain grow a little under the worker before killing it.
    let head = client.head().await.unwrap().height + 10;
    let before = wait_synced(&worker.url, head, Duration::from_secs(30)).await;
    eprintln!("worker synced to {before} (node head {head})");
    worker.kill_9();

    // Restarted on the same data dir and address: same identity, no second registration,
    // resumes from the sealed synced height and keeps up with the chain.
    let addr = worker.url.trim_start_matches("http://").to_string();
    let mut worker = WorkerProcess::start_at("worker", &node.url, worker_dir.path(), &addr);
    assert_eq!(worker.identity, identity.to_string());
    assert!(
        worker_status(&worker.url).await["synced_height"]
            .as_u64()
            .unwrap()
            >= before
    );
    let head = client.head().await.unwrap().height + 5;
    wait_synced(&worker.url, head, Duration::from_secs(30)).await;
    assert_eq!(
        registrations(&client, head).await,
        1,
        "registered exactly once"
    );
    assert_eq!(endpoint_on_chain(&client, identity).await, worker.url);

    // Restarted elsewhere: it registers again, so the chain points clients at its new address.
    worker.kill_9();
    let moved = WorkerProcess::start(&node.url, worker_dir.path());
    assert_ne!(moved.url, worker.url);
    assert_eq!(endpoint_on_chain(&client, identity).await, moved.url);
    let head = client.head().await.unwrap().height;
    assert_eq!(registrations(&client, head).await, 2);
}

async fn endpoint_on_chain(client: &NodeClient, identity: AccountId) -> String {
    client
        .rpc()
        .worker(identity)
        .await
        .unwrap()
        .expect("registered")
        .endpoint
}

/// How many WorkerRegistered events the chain holds up to `head`.
async fn registrations(client: &NodeClient, head: u64) -> usize {
    let mut count = 0;
    for height in 1..=head {
        let block = client.verified_block(height).await.unwrap().unwrap();
        let events = client.verified_events(&block.header).await.unwrap();
        count += events
            .iter()
            .filter(|r| matches!(r.event, phalanx_primitives::Event::WorkerRegistered { .. }))
            .count();
    }
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gatekeeper_hands_cluster_keys_to_members_only() {
    let dirs: Vec<_> = (0..5).map(|_| tempfile::tempdir().unwrap()).collect();
    let node = NodeProcess::start(dirs[0].path(), "100ms");
    let client = NodeClient::connect(&node.url).await.unwrap();
    let gatekeeper = WorkerProcess::start_as("gatekeeper", &node.url, dirs[1].path());
    let workers: Vec<_> = (2..5)
        .map(|i| WorkerProcess::start(&node.url, dirs[i].path()))
        .collect();
    let gatekeeper_id: AccountId = gatekeeper.identity.parse().unwrap();
    assert_eq!(
        client
            .rpc()
            .worker(gatekeeper_id)
            .await
            .unwrap()
            .unwrap()
            .role,
        "gatekeeper"
    );

    // Sudo makes a cluster of the first two workers.
    let cluster = Hash([0xc1; 32]);
    let members: Vec<AccountId> = workers[..2]
        .iter()
        .map(|w| w.identity.parse().unwrap())
        .collect();
    let alice = Keypair::dev("alice");
    let nonce = client.next_nonce(alice.account_id()).await.unwrap();
    let create = client.sign(
        &alice,
        nonce,
        Call::Sudo(SudoCall::CreateCluster {
            cluster,
            workers: members,
        }),
    );
    let included = submit_and_wait(&client, &create).await;

    // Both members receive the cluster key through the chain; the third worker does not.
    for member in &workers[..2] {
        wait_for_cluster_key(&member.url, cluster).await;
    }
    let outsider = &workers[2];
    wait_synced(&outsider.url, included.height + 3, Duration::from_secs(30)).await;
    assert_eq!(
        worker_status(&outsider.url).await["clusters"],
        serde_json::json!([])
    );
}

async fn submit_and_wait(
    client: &NodeClient,
    tx: &phalanx_primitives::SignedTransaction,
) -> phalanx_client::Included {
    client
        .wait_for_inclusion(client.submit(tx).await.unwrap(), Duration::from_secs(30))
        .await
        .unwrap()
}

/// Waits until the worker at `url` reports holding `cluster`'s key.
async fn wait_for_cluster_key(url: &str, cluster: Hash) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let clusters = worker_status(url).await["clusters"].clone();
        if clusters
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == &serde_json::json!(cluster.to_string()))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "worker never got the key of {cluster}: {clusters}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_until_holds_master_key(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while worker_status(url).await["holds_master_key"] != true {
        assert!(
            Instant::now() < deadline,
            "gatekeeper at {url} never got the master key"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_gatekeeper_receives_the_master_key_and_carries_on_alone() {
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let node = NodeProcess::start(dirs[0].path(), "100ms");
    let client = NodeClient::connect(&node.url).await.unwrap();
    let mut first = WorkerProcess::start_as("gatekeeper", &node.url, dirs[1].path());
    wait_until_holds_master_key(&first.url).await;
    let declared = client.rpc().master_key().await.unwrap().unwrap();
    assert_eq!(declared.holders, vec![first.identity.parse().unwrap()]);

    // The second gatekeeper finds a key declared and registers; once governance (sudo, on a
    // dev chain) elects it, it gets the key from the first.
    let mut second = WorkerProcess::start_as("gatekeeper", &node.url, dirs[2].path());
    let second_id: AccountId = second.identity.parse().unwrap();
    while client.rpc().worker(second_id).await.unwrap().is_none() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let alice = Keypair::dev("alice");
    let nonce = client.next_nonce(alice.account_id()).await.unwrap();
    let elect = client.sign(
        &alice,
        nonce,
        Call::Sudo(SudoCall::ElectGatekeeper {
            identity: second_id,
        }),
    );
    submit_and_wait(&client, &elect).await;
    wait_until_holds_master_key(&second.url).await;
    let after = client.rpc().master_key().await.unwrap().unwrap();
    assert_eq!(after.public_key, declared.public_key, "the same key");
    assert_eq!(after.holders[1], second_id);

    // With the first gatekeeper gone (and the second restarted from its sealed key), a new
    // cluster still gets its keys: the second derives the same ones.
    first.kill_9();
    second.kill_9();
    let second = WorkerProcess::start_as("gatekeeper", &node.url, dirs[2].path());
    assert_eq!(worker_status(&second.url).await["holds_master_key"], true);
    let worker = WorkerProcess::start(&node.url, dirs[3].path());
    let cluster = Hash([0xc3; 32]);
    let nonce = client.next_nonce(alice.account_id()).await.unwrap();
    let create = client.sign(
        &alice,
        nonce,
        Call::Sudo(SudoCall::CreateCluster {
            cluster,
            workers: vec![worker.identity.parse().unwrap()],
        }),
    );
    submit_and_wait(&client, &create).await;
    wait_for_cluster_key(&worker.url, cluster).await;
    let holders = client.rpc().master_key().await.unwrap().unwrap().holders;
    assert_eq!(holders, vec![first.identity.parse().unwrap(), second_id]);
}

/// A TDX enclave has no hardware sealing key: it gets its sealing root from a gatekeeper process
/// found through the chain, after the gatekeeper verified its quote against the chain's policy.
/// (A dev quote stands in for the TDX one; the dev chain's policy accepts it, exactly as a
/// production chain's accepts an allow-listed TD.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tdx_enclave_gets_a_stable_sealing_root_from_a_gatekeeper() {
    use phalanx_attestation::{dev_measurement, DevProvider};
    use phalanx_worker::sealing_root;
    use phalanx_worker::Enclave;
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let node = NodeProcess::start(dirs[0].path(), "100ms");
    let client = NodeClient::connect(&node.url).await.unwrap();
    let gatekeeper = WorkerProcess::start_as("gatekeeper", &node.url, dirs[1].path());
    wait_until_holds_master_key(&gatekeeper.url).await;

    let allowed = DevProvider::new_insecure(Keypair::dev("dev-attestation"), dev_measurement());
    let root = sealing_root(&client, client.info().chain_id, dirs[2].path(), &allowed)
        .await
        .unwrap();
    let again = sealing_root(&client, client.info().chain_id, dirs[2].path(), &allowed)
        .await
        .unwrap();
    assert_eq!(
        *root, *again,
        "the same enclave gets the same root on every start"
    );
    let enclave = Enclave::open_with_root(dirs[2].path(), *root, &mut rand_core::OsRng).unwrap();
    let reopened = Enclave::open_with_root(dirs[2].path(), *again, &mut rand_core::OsRng).unwrap();
    assert_eq!(
        enclave.identity.account_id(),
        reopened.identity.account_id()
    );

    // An enclave whose measurement the chain does not allow gets nothing.
    let unknown = DevProvider::new_insecure(Keypair::dev("dev-attestation"), [0xee; 32]);
    let refused = sealing_root(&client, client.info().chain_id, dirs[2].path(), &unknown)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(refused.contains("allow-list"), "{refused}");
}

/// Opens `count` connections from `source` (another loopback address) that each send half a
/// request head and then nothing, and keeps opening them until `until`.
async fn slowloris(node_addr: std::net::SocketAddr, source: &str, until: Instant) -> usize {
    use tokio::io::AsyncWriteExt;
    let mut opened = 0;
    let mut held = Vec::new();
    while Instant::now() < until {
        let Ok(socket) = tokio::net::TcpSocket::new_v4() else {
            break;
        };
        if socket.bind(format!("{source}:0").parse().unwrap()).is_err() {
            break;
        }
        if let Ok(Ok(mut stream)) =
            tokio::time::timeout(Duration::from_millis(200), socket.connect(node_addr)).await
        {
            if stream
                .write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
                .await
                .is_ok()
            {
                opened += 1;
                held.push(stream);
            }
        }
        if held.len() > 2_000 {
            held.drain(..1_000);
        }
        tokio::task::yield_now().await;
    }
    opened
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enclaves_ride_out_a_connection_flood_and_a_node_restart() {
    let node_dir = tempfile::tempdir().unwrap();
    let worker_dir = tempfile::tempdir().unwrap();
    let gatekeeper_dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut node = NodeProcess::start_at(node_dir.path(), "100ms", &addr);
    let client = NodeClient::connect(&node.url).await.unwrap();
    let gatekeeper = WorkerProcess::start_as("gatekeeper", &node.url, gatekeeper_dir.path());
    let worker = WorkerProcess::start(&node.url, worker_dir.path());

    // Slowloris from two addresses for ten seconds: the enclaves never fall behind.
    let until = Instant::now() + Duration::from_secs(10);
    let node_addr: std::net::SocketAddr = addr.parse().unwrap();
    let flood = tokio::spawn(async move {
        let a = tokio::spawn(slowloris(node_addr, "127.0.0.2", until));
        let b = tokio::spawn(slowloris(node_addr, "127.0.0.3", until));
        a.await.unwrap() + b.await.unwrap()
    });
    let mut worst_lag = 0;
    while Instant::now() < until {
        let head = client.head().await.unwrap().height;
        for url in [&worker.url, &gatekeeper.url] {
            let synced = worker_status(url).await["synced_height"].as_u64().unwrap();
            worst_lag = worst_lag.max(head.saturating_sub(synced));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let opened = flood.await.unwrap();
    eprintln!("{opened} half-sent requests opened; worst lag {worst_lag} blocks");
    assert!(opened > 1_000, "the flood ran ({opened} connections)");
    assert!(
        worst_lag <= 10,
        "enclaves stayed synced (worst lag {worst_lag} blocks)"
    );

    // The node goes away: both say so, and keep their state.
    let before = client.head().await.unwrap().height;
    wait_synced(&worker.url, before, Duration::from_secs(30)).await;
    node.kill_9();
    for url in [&worker.url, &gatekeeper.url] {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let status = worker_status(url).await;
            if status["node_unreachable_since_ms"].is_u64() {
                assert!(status["node_error"].is_string());
                break;
            }
            assert!(Instant::now() < deadline, "{url} never noticed: {status}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let printed = phalanx_testkit::phalanx(&["--rpc", &node.url, "worker", "status", &worker.url]);
    let printed = String::from_utf8_lossy(&printed.stdout).to_string();
    assert!(printed.contains("NODE UNREACHABLE since"), "{printed}");

    // Back on the same address after a while: they resume on their own.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _node = NodeProcess::start_at(node_dir.path(), "100ms", &addr);
    let client = NodeClient::connect(&format!("http://{addr}"))
        .await
        .unwrap();
    let target = client.head().await.unwrap().height + 5;
    for url in [&worker.url, &gatekeeper.url] {
        let synced = wait_synced(url, target, Duration::from_secs(60)).await;
        assert!(synced > before);
        let status = worker_status(url).await;
        assert!(status["node_unreachable_since_ms"].is_null(), "{status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_operator_starts_several_workers_at_once() {
    let node_dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(node_dir.path(), "100ms");
    let client = NodeClient::connect(&node.url).await.unwrap();
    // Four enclaves of charlie's, started together: each registration and funding pays from
    // charlie's account, so they race for its nonces.
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let workers: Vec<WorkerProcess> = std::thread::scope(|scope| {
        let started: Vec<_> = dirs
            .iter()
            .map(|dir| {
                let url = node.url.clone();
                scope.spawn(move || WorkerProcess::start(&url, dir.path()))
            })
            .collect();
        started.into_iter().map(|s| s.join().unwrap()).collect()
    });
    for worker in &workers {
        let identity: AccountId = worker.identity.parse().unwrap();
        let registered = client.rpc().worker(identity).await.unwrap();
        assert_eq!(
            registered.expect("registered").endpoint,
            worker.url,
            "every worker registered itself"
        );
    }
}
