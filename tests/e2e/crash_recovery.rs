//! Crash safety of the node, with real processes.
//!
//! The story this guards against: a node reports a block final, then dies (power cut, OOM kill)
//! before that block reached the disk — or the disk holds half a block, or state from a block
//! whose header is missing. Clients that trusted "final" are then lied to, and a restarted node
//! forks from its own past. So: run a node under load, kill it with SIGKILL at random moments,
//! and after each kill check that every block it had reported final is still there byte for byte,
//! that a full replay from genesis reproduces the head's state root and the stored state, and
//! that the restarted node goes on producing blocks.

use parity_scale_codec::Encode;
use phalanx_client::NodeClient;
use phalanx_crypto::Keypair;
use phalanx_primitives::{Call, Hash};
use phalanx_testkit::{phalanx, NodeProcess};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const CRASHES: usize = 4;

/// Submits batches of signed transfers from the dev accounts until `stop` is set. Errors are
/// expected (the node dies under it) and ignored.
async fn generate_load(url: String, stop: Arc<AtomicBool>) {
    let Ok(client) = NodeClient::connect(&url).await else {
        return;
    };
    let senders = [
        Keypair::dev("alice"),
        Keypair::dev("bob"),
        Keypair::dev("charlie"),
    ];
    let to = Keypair::dev("load-sink").account_id();
    while !stop.load(Ordering::Relaxed) {
        for sender in &senders {
            let Ok(nonce) = client.next_nonce(sender.account_id()).await else {
                return;
            };
            let batch: Vec<_> = (0..40)
                .map(|i| {
                    client.sign(
                        sender,
                        nonce + i,
                        Call::Transfer {
                            to,
                            amount: 1_000 + i as u128,
                        },
                    )
                })
                .collect();
            if client.submit_batch(&batch).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Fetches (and verifies) every block up to the head that was not fetched yet.
async fn record_final_blocks(
    client: &NodeClient,
    seen: &mut BTreeMap<u64, Vec<u8>>,
) -> Result<(), phalanx_client::ClientError> {
    let head = client.head().await?.height;
    let from = seen.keys().next_back().map_or(0, |h| h + 1);
    for height in from..=head {
        let block = client
            .verified_block(height)
            .await?
            .expect("a reported head's ancestors exist");
        seen.insert(height, block.encode());
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_no_final_block_and_replays_to_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("kill timing seed: {seed}");
    let mut rng = seed | 1;
    let mut next_random = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };

    let mut reported: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut transactions_seen = 0usize;
    for crash in 0..CRASHES {
        let mut node = NodeProcess::start(dir.path(), "100ms");
        let client = NodeClient::connect(&node.url).await.unwrap();

        // Everything reported final before the last crash is still there, byte for byte.
        for (height, bytes) in &reported {
            let block = client
                .verified_block(*height)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("final block {height} lost"));
            assert_eq!(
                &block.encode(),
                bytes,
                "final block {height} changed after crash {crash}"
            );
        }
        // And the node goes on from there.
        let restart_head = client.head().await.unwrap().height;
        let deadline = Instant::now() + Duration::from_secs(10);
        while client.head().await.unwrap().height <= restart_head {
            assert!(Instant::now() < deadline, "no new block after restart");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let stop = Arc::new(AtomicBool::new(false));
        let load = tokio::spawn(generate_load(node.url.clone(), stop.clone()));
        let kill_at = Instant::now() + Duration::from_millis(800 + next_random() % 1500);
        while Instant::now() < kill_at {
            if record_final_blocks(&client, &mut reported).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        node.kill_9();
        stop.store(true, Ordering::Relaxed);
        let _ = load.await;

        // Offline: replay everything from genesis and compare roots and the stored state.
        let output = phalanx(&[
            "--json",
            "verify-chain",
            "--data-dir",
            dir.path().to_str().unwrap(),
        ]);
        assert!(
            output.status.success(),
            "verify-chain failed after crash {crash}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(report["ok"], true);
        let head_height = report["head_height"].as_u64().unwrap();
        let max_reported = *reported.keys().next_back().unwrap();
        assert!(
            head_height >= max_reported,
            "head {head_height} is behind reported-final block {max_reported}"
        );
        transactions_seen = report["transactions"].as_u64().unwrap() as usize;
        let root: Hash = report["state_root"].as_str().unwrap().parse().unwrap();
        eprintln!("crash {crash}: head {head_height}, {transactions_seen} transactions replayed, state root {root}");
    }
    assert!(
        transactions_seen > 100,
        "the load generator barely ran ({transactions_seen} transactions)"
    );
}
