//! A worker killed with -9 at random moments under load — mid-block, mid-commit, mid-checkpoint —
//! and sometimes restarted with its store damaged or gone, always comes back to exactly the state
//! of a worker that never stopped: their keyed state digests agree at every height.

use parity_scale_codec::Encode;
use phalanx_client::{ContractClient, NodeClient};
use phalanx_crypto::Keypair;
use phalanx_primitives::{sha256, AccountId, Call, Hash, SudoCall};
use phalanx_testkit::cluster::{
    balance_from, deploy_private_token, digest, submit, wait_synced, worker_status,
};
use phalanx_testkit::{NodeProcess, WorkerProcess};
use rand_core::{OsRng, RngCore};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Kill-and-restart rounds; every third one also damages the store.
const ROUNDS: usize = 9;

/// Puts garbage in the middle of the store file, or removes it.
fn damage(store: &std::path::Path, round: usize) {
    if round.is_multiple_of(2) {
        std::fs::remove_file(store).unwrap();
    } else {
        let mut bytes = std::fs::read(store).unwrap();
        let (middle, len) = (bytes.len() / 2, bytes.len());
        for b in &mut bytes[middle..(middle + 4096).min(len)] {
            *b ^= 0x5a;
        }
        bytes.truncate(bytes.len() * 3 / 4);
        std::fs::write(store, bytes).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_at_random_reaches_the_same_state_as_one_that_never_stopped() {
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let node_process = NodeProcess::start(dirs[0].path(), "100ms");
    let node = NodeClient::connect(&node_process.url).await.unwrap();
    let _gatekeeper = WorkerProcess::start_as("gatekeeper", &node_process.url, dirs[1].path());
    let steady = WorkerProcess::start(&node_process.url, dirs[2].path());
    let checkpointing = ["--checkpoint-every", "5"];
    let mut victim = WorkerProcess::start_with(
        "worker",
        &node_process.url,
        dirs[3].path(),
        "127.0.0.1:0",
        &checkpointing,
    );
    let victim_addr = victim.url.trim_start_matches("http://").to_string();

    // A cluster of the two workers running a private token.
    let cluster = Hash([0xd1; 32]);
    let members = vec![
        steady.identity.parse().unwrap(),
        victim.identity.parse().unwrap(),
    ];
    let token = deploy_private_token(
        &node,
        cluster,
        members,
        private_token::Init {
            name: "Recovery".into(),
            symbol: "RCV".into(),
            initial_supply: 1_000_000_000,
            pha_backed: false,
        },
        b"recovery",
    )
    .await;

    // Load: transfers to fresh recipients, so state keeps growing, until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        let url = node_process.url.clone();
        tokio::spawn(async move {
            let node = NodeClient::connect(&url).await.unwrap();
            let contract = ContractClient::open(&node, token).await.unwrap();
            let alice = Keypair::dev("alice");
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let nonce = node.next_nonce(alice.account_id()).await.unwrap();
                let txs: Vec<_> = (0..20u64)
                    .map(|i| {
                        let to = AccountId::from_bytes(sha256(&(sent + i).to_le_bytes()).0);
                        let message = private_token::Command::Transfer {
                            to: phalanx_sdk::AccountId(*to.as_bytes()),
                            amount: 1 + i as u128,
                        }
                        .encode();
                        let call = contract
                            .command_call(alice.account_id(), &message, 200_000, 0, &mut OsRng)
                            .unwrap();
                        node.sign(&alice, nonce + i, call)
                    })
                    .collect();
                node.submit_batch(&txs).await.unwrap();
                sent += 20;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            sent
        })
    };

    let store = dirs[3].path().join("worker.redb");
    let mut restored = 0;
    for round in 0..ROUNDS {
        tokio::time::sleep(Duration::from_millis(200 + OsRng.next_u64() % 1000)).await;
        victim.kill_9();
        let damaged = round % 3 == 2;
        if damaged {
            damage(&store, round);
        }
        victim = WorkerProcess::start_with(
            "worker",
            &node_process.url,
            dirs[3].path(),
            &victim_addr,
            &checkpointing,
        );
        let report = worker_status(&victim.url).await;
        if damaged {
            assert!(
                report["restored_from"].is_u64(),
                "round {round}: a damaged store is rebuilt from a checkpoint: {report}"
            );
            restored += 1;
        } else {
            assert!(report["restored_from"].is_null(), "round {round}: {report}");
        }
    }
    stop.store(true, Ordering::Relaxed);
    let sent = load.await.unwrap();
    assert_eq!(restored, ROUNDS / 3);

    // Both workers, at every height, hold the same state.
    let head = node.head().await.unwrap().height;
    wait_synced(&steady.url, head, Duration::from_secs(60)).await;
    wait_synced(&victim.url, head, Duration::from_secs(60)).await;
    let mut changes = 0;
    let mut previous = None;
    for height in 1..=head {
        let (a, b) = (
            digest(&steady.url, token, height).await,
            digest(&victim.url, token, height).await,
        );
        assert_eq!(a, b, "the workers disagree at height {height}");
        changes += usize::from(a.digest != previous);
        previous = a.digest;
    }
    eprintln!("{sent} transfers, {changes} state changes over {head} blocks, {restored} restores");
    assert!(changes > 10, "the load changed the state at many heights");
    let last = worker_status(&victim.url).await["last_checkpoint"]
        .as_u64()
        .unwrap();
    assert!(
        last + 5 > head.saturating_sub(5),
        "checkpoints keep up: {last} vs {head}"
    );
}

/// A worker added to a cluster that already ran commands rebuilds the cluster's contracts by
/// replaying their history from the chain, and from then on agrees with the cluster at every
/// height and answers queries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_added_to_a_busy_cluster_replays_its_history() {
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let node_process = NodeProcess::start(dirs[0].path(), "100ms");
    let node = NodeClient::connect(&node_process.url).await.unwrap();
    let _gatekeeper = WorkerProcess::start_as("gatekeeper", &node_process.url, dirs[1].path());
    let first = WorkerProcess::start(&node_process.url, dirs[2].path());
    let alice = Keypair::dev("alice");
    let cluster = Hash([0xd2; 32]);
    let token = deploy_private_token(
        &node,
        cluster,
        vec![first.identity.parse().unwrap()],
        private_token::Init {
            name: "Late".into(),
            symbol: "LTE".into(),
            initial_supply: 1_000,
            pha_backed: false,
        },
        b"late",
    )
    .await;
    let contract = ContractClient::open(&node, token).await.unwrap();
    let bob = Keypair::dev("bob").account_id();
    for amount in [10u128, 20, 30] {
        let message = private_token::Command::Transfer {
            to: phalanx_sdk::AccountId(*bob.as_bytes()),
            amount,
        }
        .encode();
        let call = contract
            .command_call(alice.account_id(), &message, 200_000, 0, &mut OsRng)
            .unwrap();
        submit(&node, &alice, vec![call]).await;
    }

    // A second worker joins the cluster now.
    let late = WorkerProcess::start(&node_process.url, dirs[3].path());
    submit(
        &node,
        &alice,
        vec![Call::Sudo(SudoCall::AddToCluster {
            cluster,
            worker: late.identity.parse().unwrap(),
        })],
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !worker_status(&late.url).await["contracts"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!(token.to_string()))
    {
        assert!(
            Instant::now() < deadline,
            "the late worker never ran the token"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let head = node.head().await.unwrap().height;
    wait_synced(&first.url, head, Duration::from_secs(60)).await;
    wait_synced(&late.url, head, Duration::from_secs(60)).await;
    for height in 1..=head {
        assert_eq!(
            digest(&first.url, token, height).await,
            digest(&late.url, token, height).await,
            "disagree at {height}"
        );
    }
    // Bob reads his balance from the late worker.
    let bob_keys = Keypair::dev("bob");
    assert_eq!(balance_from(&node, &late.url, token, &bob_keys).await, 60);
}

/// Every event the chain holds between `from` and the head.
async fn events_since(node: &NodeClient, from: u64) -> Vec<phalanx_primitives::Event> {
    let head = node.head().await.unwrap().height;
    let mut all = Vec::new();
    for height in from..=head {
        let block = node.verified_block(height).await.unwrap().unwrap();
        all.extend(
            node.verified_events(&block.header)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.event),
        );
    }
    all
}

/// Workers report keyed state digests in heartbeats; when one worker's store is corrupted, the
/// chain sees its digest disagree with the cluster's and says so in a `StateDivergence` event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_worker_is_caught_by_its_heartbeat() {
    use phalanx_primitives::Event;
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let node_process = NodeProcess::start(dirs[0].path(), "100ms");
    let node = NodeClient::connect(&node_process.url).await.unwrap();
    let _gatekeeper = WorkerProcess::start_as("gatekeeper", &node_process.url, dirs[1].path());
    let beating = ["--heartbeat-every", "5"];
    let honest = WorkerProcess::start_with(
        "worker",
        &node_process.url,
        dirs[2].path(),
        "127.0.0.1:0",
        &beating,
    );
    let mut suspect = WorkerProcess::start_with(
        "worker",
        &node_process.url,
        dirs[3].path(),
        "127.0.0.1:0",
        &beating,
    );
    let (honest_id, suspect_id): (AccountId, AccountId) = (
        honest.identity.parse().unwrap(),
        suspect.identity.parse().unwrap(),
    );
    let cluster = Hash([0xd3; 32]);
    let token = deploy_private_token(
        &node,
        cluster,
        vec![honest_id, suspect_id],
        private_token::Init {
            name: "Watched".into(),
            symbol: "WCH".into(),
            initial_supply: 1_000,
            pha_backed: false,
        },
        b"watched",
    )
    .await;

    // Both report the token's digest, and agree. (A heartbeat with no reports may come before
    // a worker ran the instantiation; corrupting that worker's store would then find no token.)
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let events = events_since(&node, 1).await;
        let reporters: std::collections::HashSet<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Heartbeat { worker, reports } if *reports > 0 => Some(*worker),
                _ => None,
            })
            .collect();
        assert!(!events
            .iter()
            .any(|e| matches!(e, Event::StateDivergence { .. })));
        if reporters.contains(&honest_id) && reporters.contains(&suspect_id) {
            break;
        }
        assert!(Instant::now() < deadline, "no heartbeats from both workers");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Corrupt the suspect's store: an entry no command wrote, sealed properly by its own enclave
    // (what a bug or tampering inside would look like), then restart it.
    suspect.kill_9();
    {
        use phalanx_executor::{ContractStates, Executor, KeyRing};
        use phalanx_worker::Enclave;
        use phalanx_worker::{Synced, WorkerStore};
        let enclave = Enclave::open_dev(dirs[3].path(), &mut OsRng).unwrap();
        let store = WorkerStore::open(
            &dirs[3].path().join("worker.redb"),
            enclave.sealing_key(),
            enclave.tag_key(),
        )
        .unwrap();
        let keys = KeyRing::new(enclave.identity.account_id(), enclave.ecdh.clone());
        let executor = Executor::restore(
            node.info().chain_id,
            keys,
            &store.executor_snapshot().unwrap().unwrap(),
        )
        .unwrap();
        store.install_state_keys(executor.state_keys());
        let synced = store.synced().unwrap().unwrap();
        let mut writes = store.begin_block().unwrap();
        writes.storage(&token).set(b"corrupted", b"1").unwrap();
        store
            .commit_block(
                writes,
                |c| executor.digest_key(c),
                &Default::default(),
                Synced {
                    header: &synced,
                    executor_snapshot: None,
                    view: None,
                },
                &mut OsRng,
            )
            .unwrap();
    }
    let from = node.head().await.unwrap().height;
    let _suspect = WorkerProcess::start_with(
        "worker",
        &node_process.url,
        dirs[3].path(),
        "127.0.0.1:0",
        &beating,
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let diverged = events_since(&node, from)
            .await
            .into_iter()
            .find_map(|e| match e {
                Event::StateDivergence {
                    contract,
                    worker,
                    other_worker,
                    ..
                } => Some((contract, worker, other_worker)),
                _ => None,
            });
        if let Some((contract, worker, other)) = diverged {
            assert_eq!(contract, token);
            assert!([worker, other].contains(&suspect_id) && [worker, other].contains(&honest_id));
            break;
        }
        assert!(Instant::now() < deadline, "no divergence reported");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
