//! Load generator: signed PHA transfers per second accepted and finalised by a real node process.
//!
//! Run: `cargo bench --bench transfer_load` (knobs: PHALANX_LOAD_TXS, PHALANX_LOAD_SENDERS,
//! PHALANX_LOAD_CLIENTS, PHALANX_LOAD_BLOCK_TIME). The node runs as its own process on a fresh
//! data directory; this generator funds sender accounts, pre-signs every transfer (signing is the
//! client's cost, not the node's), then submits them in batches over several HTTP connections and
//! waits until the last one is final. Each client owns its own senders so nonces arrive in order.

use phalanx_client::views::TxStatus;
use phalanx_client::NodeClient;
use phalanx_crypto::Keypair;
use phalanx_primitives::amount::UNIT;
use phalanx_primitives::{Call, SignedTransaction};
use phalanx_testkit::knob;
use phalanx_testkit::NodeProcess;
use std::time::{Duration, Instant};

const BATCH: usize = 500;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let total = knob("PHALANX_LOAD_TXS", 60_000);
    let senders_count = knob("PHALANX_LOAD_SENDERS", 64);
    let clients = knob("PHALANX_LOAD_CLIENTS", 4).min(senders_count).max(1);
    let block_time = std::env::var("PHALANX_LOAD_BLOCK_TIME").unwrap_or_else(|_| "1s".into());
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(dir.path(), &block_time);
    let client = NodeClient::connect(&node.url).await.unwrap();

    // Fund the senders from alice, in one batch.
    let alice = Keypair::dev("alice");
    let senders: Vec<Keypair> = (0..senders_count)
        .map(|i| Keypair::dev(&format!("load-{i}")))
        .collect();
    let start_nonce = client.next_nonce(alice.account_id()).await.unwrap();
    let funding: Vec<SignedTransaction> = senders
        .iter()
        .enumerate()
        .map(|(i, s)| {
            client.sign(
                &alice,
                start_nonce + i as u64,
                Call::Transfer {
                    to: s.account_id(),
                    amount: 1_000 * UNIT,
                },
            )
        })
        .collect();
    client.submit_batch(&funding).await.unwrap();
    client
        .wait_for_inclusion(funding.last().unwrap().hash(), Duration::from_secs(30))
        .await
        .unwrap();

    // Pre-sign: each client gets its own senders, round-robin, nonces in order.
    let per_sender = total.div_ceil(senders_count);
    let sink = Keypair::dev("load-sink").account_id();
    let mut work: Vec<Vec<SignedTransaction>> = vec![Vec::new(); clients];
    for round in 0..per_sender as u64 {
        for (i, sender) in senders.iter().enumerate() {
            work[i % clients].push(client.sign(
                sender,
                round,
                Call::Transfer {
                    to: sink,
                    amount: 1 + round as u128,
                },
            ));
        }
    }
    let last_hashes: Vec<_> = work.iter().map(|txs| txs.last().unwrap().hash()).collect();
    let submitted: usize = work.iter().map(Vec::len).sum();
    let first_height = client.head().await.unwrap().height;

    let started = Instant::now();
    let tasks: Vec<_> = work
        .into_iter()
        .map(|txs| {
            let url = node.url.clone();
            tokio::spawn(async move {
                let client = NodeClient::connect(&url).await.unwrap();
                let mut rejected = 0;
                for chunk in txs.chunks(BATCH) {
                    let outcomes = client.submit_batch(chunk).await.unwrap();
                    rejected += outcomes.iter().filter(|o| o.error.is_some()).count();
                }
                rejected
            })
        })
        .collect();
    let mut rejected = 0;
    for task in tasks {
        rejected += task.await.unwrap();
    }
    let accepted_after = started.elapsed();
    for hash in &last_hashes {
        loop {
            if let TxStatus::Included { .. } = client.tx_status(*hash).await.unwrap() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let final_after = started.elapsed();
    let last_height = client.head().await.unwrap().height;

    let accepted = submitted - rejected;
    println!("transfer_load: {submitted} signed transfers from {senders_count} senders over {clients} connections, block time {block_time}");
    println!(
        "  accepted  {accepted} in {:.2}s = {:.0} tx/s ({rejected} rejected)",
        accepted_after.as_secs_f64(),
        accepted as f64 / accepted_after.as_secs_f64()
    );
    println!(
        "  finalized {accepted} in {:.2}s = {:.0} tx/s (blocks {}..={})",
        final_after.as_secs_f64(),
        accepted as f64 / final_after.as_secs_f64(),
        first_height + 1,
        last_height
    );
    assert_eq!(rejected, 0, "the generator sends only valid transfers");
}
