//! Four validators as real processes (`phalanx devnet --validators 4`: validator 0 inside the
//! devnet process, 1–3 as `phalanx node` children), under a load of plain transfers and
//! confidential private_token commands sent to the live validators' RPCs in turn:
//! - kill -9 one validator: the chain goes on, and both loads keep being finalized;
//! - kill -9 a second: nothing is finalized any more, and every block that was final is still
//!   there, the same at both live validators;
//! - restart the second with the command the devnet printed: the chain resumes, the restarted
//!   validator syncs the blocks it missed, and at the end the three live validators hold the same
//!   chain (every block checked against the four validators' certificates), every transaction the
//!   load had admitted is in it, and both workers agree on the confidential state.

use parity_scale_codec::Encode;
use phalanx_client::views::TxStatus;
use phalanx_client::{ContractClient, NodeClient};
use phalanx_crypto::Keypair;
use phalanx_primitives::{sha256, AccountId, Call, Hash};
use phalanx_testkit::cluster::{balance_from, chain_at, digest, wait_synced};
use phalanx_testkit::{DevnetProcess, NodeProcess};
use rand_core::OsRng;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BLOCK_TIME: &str = "500ms";
/// Transactions in one batch of either load.
const BATCH: u64 = 4;
/// A batch not final after this long is submitted again, to another live validator.
const RESUBMIT_AFTER: Duration = Duration::from_secs(8);
/// How long the chain is watched for a block while only two validators live.
const STALL_WATCH: Duration = Duration::from_secs(6);

/// The RPC URLs of the validators that are up, shared with the loads.
type Live = Arc<Mutex<Vec<String>>>;

fn live_urls(live: &Live) -> Vec<String> {
    live.lock().unwrap().clone()
}

async fn head_at(url: &str) -> Option<u64> {
    let node = NodeClient::connect(url).await.ok()?;
    node.head().await.ok().map(|h| h.height)
}

/// Waits until the node at `url` has finalized `height`, for at most `within`.
async fn wait_head(url: &str, height: u64, within: Duration) -> u64 {
    let deadline = Instant::now() + within;
    loop {
        let head = head_at(url).await.unwrap_or(0);
        if head >= height {
            return head;
        }
        assert!(
            Instant::now() < deadline,
            "{url} stuck at {head}, wanted {height}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One stream of load: `signer` sends batches made by `batch` to the live validators in turn,
/// each batch final before the next; gives the hashes of every batch that was admitted whole.
/// Finishes its batch in flight after `stop`.
async fn load<F>(
    signer: Keypair,
    live: Live,
    stop: Arc<AtomicBool>,
    finalized: Arc<AtomicU64>,
    batch: F,
) -> Vec<Hash>
where
    F: Fn(u64) -> Vec<Call>,
{
    let mut sent = Vec::new();
    let mut round = 0u64;
    let mut last_height = 0;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let urls = live_urls(&live);
        let url = &urls[round as usize % urls.len()];
        let Ok(node) = NodeClient::connect(url).await else {
            continue;
        };
        // This validator must have committed our last batch before it counts our nonce.
        if head_at(url).await.unwrap_or(0) < last_height {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let Ok(nonce) = node.next_nonce(signer.account_id()).await else {
            continue;
        };
        let txs: Vec<_> = batch(round)
            .into_iter()
            .zip(nonce..)
            .map(|(call, n)| node.sign(&signer, n, call))
            .collect();
        match node.submit_batch(&txs).await {
            Ok(outcomes) if outcomes.iter().all(|o| o.error.is_none()) => {}
            _ => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        }
        sent.extend(txs.iter().map(|tx| tx.hash()));
        let last = txs.last().unwrap().hash();
        let mut submitted_at = Instant::now();
        'wait: loop {
            for url in live_urls(&live) {
                let Ok(node) = NodeClient::connect(&url).await else {
                    continue;
                };
                if let Ok(TxStatus::Included { height, .. }) = node.tx_status(last).await {
                    last_height = height;
                    break 'wait;
                }
            }
            if submitted_at.elapsed() > RESUBMIT_AFTER {
                // Its validator may have died before relaying it: hand it to another.
                let urls = live_urls(&live);
                if let Ok(node) = NodeClient::connect(&urls[round as usize % urls.len()]).await {
                    let _ = node.submit_batch(&txs).await;
                }
                submitted_at = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        finalized.fetch_add(txs.len() as u64, Ordering::Relaxed);
    }
    sent
}

/// A restarted validator process, killed with the test.
struct Restarted(Child);

impl Drop for Restarted {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn kill_9(pid: u64) {
    let status = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -9 {pid}");
}

/// Waits until `counter` has grown by `by` since `from`, for at most `within`.
async fn wait_grown(counter: &AtomicU64, from: u64, by: u64, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    while counter.load(Ordering::Relaxed) < from + by {
        assert!(Instant::now() < deadline, "{what}: no progress");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_survive_one_crash_stall_at_two_and_resume_with_nothing_final_lost() {
    let devnet = DevnetProcess::start_with(BLOCK_TIME, &["--validators", "4"]);
    let summary = devnet.summary.clone();
    let validators = summary["validators"].as_array().unwrap().clone();
    assert_eq!(validators.len(), 4, "{summary}");
    let urls = devnet.rpc_urls("validators");
    let genesis_file = summary["genesis"].as_str().unwrap().to_string();
    let full_dir = tempfile::tempdir().unwrap();
    let full_node = NodeProcess::follow(
        full_dir.path(),
        Some(std::path::Path::new(&genesis_file)),
        &urls[1],
    );
    let mut load_targets = urls.clone();
    load_targets.push(full_node.url.clone());
    let live: Live = Arc::new(Mutex::new(load_targets));
    let primary = urls[0].clone();
    let node = NodeClient::connect(&primary).await.unwrap();
    assert_eq!(node.info().validators.len(), 4);
    let token = devnet.contract("private_token");
    let workers = devnet.rpc_urls("workers");
    let alice = Keypair::dev("alice");
    let start_height = node.head().await.unwrap().height;
    wait_synced(&workers[0], start_height, Duration::from_secs(30)).await;
    let alice_before = balance_from(&node, &workers[0], token, &alice).await;

    // The loads: bob's transfers to fresh accounts, alice's confidential token transfers.
    let stop = Arc::new(AtomicBool::new(false));
    let transfers_final = Arc::new(AtomicU64::new(0));
    let commands_final = Arc::new(AtomicU64::new(0));
    let transfers = tokio::spawn(load(
        Keypair::dev("bob"),
        live.clone(),
        stop.clone(),
        transfers_final.clone(),
        |round| {
            (0..BATCH)
                .map(|i| Call::Transfer {
                    to: AccountId::from_bytes(sha256(&(round * BATCH + i).to_le_bytes()).0),
                    amount: 1_000,
                })
                .collect()
        },
    ));
    let contract = ContractClient::open(&node, token).await.unwrap();
    let alice_id = alice.account_id();
    let commands = tokio::spawn(load(
        alice.clone(),
        live.clone(),
        stop.clone(),
        commands_final.clone(),
        move |round| {
            (0..BATCH)
                .map(|i| {
                    let to = sha256(&(round * BATCH + i).to_be_bytes()).0;
                    let message = private_token::Command::Transfer {
                        to: phalanx_sdk::AccountId(to),
                        amount: 1,
                    }
                    .encode();
                    contract
                        .command_call(alice_id, &message, 200_000, 0, &mut OsRng)
                        .unwrap()
                })
                .collect()
        },
    ));
    let both_grow = |within: Duration, what: &'static str| {
        let (t, c) = (transfers_final.clone(), commands_final.clone());
        async move {
            let (t0, c0) = (t.load(Ordering::Relaxed), c.load(Ordering::Relaxed));
            wait_grown(&t, t0, 2 * BATCH, within, what).await;
            wait_grown(&c, c0, 2 * BATCH, within, what).await;
        }
    };
    both_grow(Duration::from_secs(30), "four validators").await;

    // One validator killed: the chain goes on, both loads are finalized.
    kill_9(validators[3]["pid"].as_u64().unwrap());
    live.lock().unwrap().retain(|u| *u != urls[3]);
    let at_first_kill = node.head().await.unwrap().height;
    wait_head(&primary, at_first_kill + 6, Duration::from_secs(30)).await;
    both_grow(Duration::from_secs(30), "three validators").await;

    // A second one killed: two of four cannot form a quorum.
    kill_9(validators[2]["pid"].as_u64().unwrap());
    live.lock().unwrap().retain(|u| *u != urls[2]);
    // What was in flight settles; then both live validators agree on the head, and it stays.
    let deadline = Instant::now() + Duration::from_secs(15);
    let stalled = loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (a, b) = (head_at(&urls[0]).await, head_at(&urls[1]).await);
        if let (Some(a), Some(b)) = (a, b) {
            if a == b {
                break a;
            }
        }
        assert!(Instant::now() < deadline, "heads {a:?} and {b:?} differ");
    };
    tokio::time::sleep(STALL_WATCH).await;
    for url in &urls[..2] {
        assert_eq!(
            head_at(url).await,
            Some(stalled),
            "{url} finalized a block with two of four validators"
        );
    }
    let final_before = chain_at(&urls[0], stalled).await;
    assert_eq!(chain_at(&urls[1], stalled).await, final_before);
    assert!(stalled > at_first_kill + 6);

    // The second one restarted with its own command: the chain resumes and it catches up.
    let command: Vec<String> = validators[2]["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    let log_path =
        std::path::Path::new(validators[2]["data_dir"].as_str().unwrap()).join("node.log");
    let log = std::fs::OpenOptions::new()
        .append(true)
        .open(&log_path)
        .unwrap();
    let _restarted = Restarted(
        Command::new(&command[0])
            .args(&command[1..])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while head_at(&urls[2]).await.is_none() {
        assert!(
            Instant::now() < deadline,
            "the restarted validator does not answer; see {}",
            log_path.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    live.lock().unwrap().push(urls[2].clone());
    wait_head(&primary, stalled + 6, Duration::from_secs(60)).await;
    both_grow(Duration::from_secs(60), "after the restart").await;
    // A transfer given to the full node alone reaches the validators and is final everywhere.
    let full = NodeClient::connect(&full_node.url).await.unwrap();
    let via_full_node = full
        .transfer(&Keypair::dev("charlie"), AccountId::from_bytes([5; 32]), 1)
        .await
        .unwrap();

    // The end: every admitted transaction final, the same chain at all three, workers agreeing.
    stop.store(true, Ordering::Relaxed);
    let within = Duration::from_secs(120);
    let sent_transfers = tokio::time::timeout(within, transfers)
        .await
        .unwrap()
        .unwrap();
    let sent_commands = tokio::time::timeout(within, commands)
        .await
        .unwrap()
        .unwrap();
    let end = node.head().await.unwrap().height;
    for url in &urls[1..3] {
        wait_head(url, end, Duration::from_secs(30)).await;
    }
    let chain = chain_at(&urls[0], end).await;
    assert_eq!(
        &chain[..final_before.len()],
        &final_before[..],
        "a final block changed"
    );
    wait_head(&full_node.url, end, Duration::from_secs(30)).await;
    for url in urls[1..3].iter().chain([&full_node.url]) {
        assert_eq!(chain_at(url, end).await, chain, "{url} holds another chain");
    }
    // The last of them may be final after `end`, while these are being asked.
    let mut last_included = end;
    for hash in sent_transfers
        .iter()
        .chain(&sent_commands)
        .chain([&via_full_node.hash])
    {
        let mut at = Vec::new();
        for url in urls[..3].iter().chain([&full_node.url]) {
            let node = NodeClient::connect(url).await.unwrap();
            match node.tx_status(*hash).await.unwrap() {
                TxStatus::Included {
                    height, block_hash, ..
                } => at.push((height, block_hash)),
                other => panic!("{hash} at {url}: {other:?}"),
            }
        }
        assert!(at.windows(2).all(|w| w[0] == w[1]), "{hash}: {at:?}");
        last_included = last_included.max(at[0].0);
    }

    eprintln!(
        "validators: started at {start_height}, first kill at {at_first_kill}, stalled at \
         {stalled}, ended at {end}; {} transfers and {} commands admitted",
        sent_transfers.len(),
        sent_commands.len()
    );

    // Each included command moved one token unit out of alice's balance.
    let mut commands_in_chain = 0u128;
    for height in start_height + 1..=last_included {
        let block = node.verified_block(height).await.unwrap().unwrap();
        commands_in_chain += block
            .transactions
            .iter()
            .filter(|tx| {
                tx.transaction.signer == alice.account_id()
                    && matches!(tx.transaction.call, Call::Command { contract, .. } if contract == token)
            })
            .count() as u128;
    }
    assert!(commands_in_chain >= sent_commands.len() as u128);
    for worker in &workers {
        wait_synced(worker, end, Duration::from_secs(60)).await;
    }
    let (d0, d1) = (
        digest(&workers[0], token, end).await,
        digest(&workers[1], token, end).await,
    );
    assert!(d0.digest.is_some());
    assert_eq!(d0.digest, d1.digest, "the workers disagree at {end}");
    for worker in &workers {
        assert_eq!(
            balance_from(&node, worker, token, &alice).await,
            alice_before - commands_in_chain
        );
    }
}
