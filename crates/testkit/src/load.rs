//! Plain-transfer load for benchmarks against running nodes: funded senders, pre-signed
//! transfers (signing is the client's cost, not the node's), submission in batches over
//! several connections, and the wait until the last of each connection's transfers is final.

use phalanx_client::views::TxStatus;
use phalanx_client::NodeClient;
use phalanx_crypto::Keypair;
use phalanx_primitives::amount::UNIT;
use phalanx_primitives::{Call, Hash, SignedTransaction};
use std::time::{Duration, Instant};

/// Transactions per `tx_submitBatch`.
pub const BATCH: usize = 500;

/// `count` fresh sender accounts (dev keys `PREFIX-i`) funded by alice, each with 1,000 PHA;
/// returns once they are final.
pub async fn funded_senders(client: &NodeClient, prefix: &str, count: usize) -> Vec<Keypair> {
    let alice = Keypair::dev("alice");
    let senders: Vec<Keypair> = (0..count)
        .map(|i| Keypair::dev(&format!("{prefix}-{i}")))
        .collect();
    let start_nonce = client.next_nonce(alice.account_id()).await.unwrap();
    let funding: Vec<SignedTransaction> = senders
        .iter()
        .zip(start_nonce..)
        .map(|(s, nonce)| {
            let call = Call::Transfer {
                to: s.account_id(),
                amount: 1_000 * UNIT,
            };
            client.sign(&alice, nonce, call)
        })
        .collect();
    client.submit_batch(&funding).await.unwrap();
    client
        .wait_for_inclusion(funding.last().unwrap().hash(), Duration::from_secs(60))
        .await
        .unwrap();
    senders
}

/// About `total` transfers from `senders` (fresh accounts, nonces from 0), split over
/// `connections` lists: each sender's transfers in one list, in nonce order.
pub fn presigned_transfers(
    client: &NodeClient,
    senders: &[Keypair],
    total: usize,
    connections: usize,
) -> Vec<Vec<SignedTransaction>> {
    let per_sender = total.div_ceil(senders.len());
    let sink = Keypair::dev("load-sink").account_id();
    let mut work: Vec<Vec<SignedTransaction>> = vec![Vec::new(); connections];
    for round in 0..per_sender as u64 {
        for (i, sender) in senders.iter().enumerate() {
            let call = Call::Transfer {
                to: sink,
                amount: 1 + round as u128,
            };
            work[i % connections].push(client.sign(sender, round, call));
        }
    }
    work
}

/// The `p` quantile (0..=1) of `sorted`, which must not be empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// What submitting a load gave.
pub struct LoadOutcome {
    pub submitted: usize,
    pub rejected: usize,
    /// Until the node(s) accepted the last batch.
    pub accepted_after: Duration,
    /// Until the last transfer of every connection was final.
    pub final_after: Duration,
}

/// Submits `work[i]` over its own connection to `urls[i % urls.len()]`, in batches, then waits
/// until each list's last transfer is final at the node it was sent to.
pub async fn submit_and_wait(urls: &[String], work: Vec<Vec<SignedTransaction>>) -> LoadOutcome {
    let submitted = work.iter().map(Vec::len).sum();
    let last: Vec<(String, Hash)> = work
        .iter()
        .enumerate()
        .map(|(i, txs)| (urls[i % urls.len()].clone(), txs.last().unwrap().hash()))
        .collect();
    let started = Instant::now();
    let tasks: Vec<_> = work
        .into_iter()
        .enumerate()
        .map(|(i, txs)| {
            let url = urls[i % urls.len()].clone();
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
    for (url, hash) in last {
        let client = NodeClient::connect(&url).await.unwrap();
        while !matches!(
            client.tx_status(hash).await.unwrap(),
            TxStatus::Included { .. }
        ) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    LoadOutcome {
        submitted,
        rejected,
        accepted_after,
        final_after: started.elapsed(),
    }
}
