//! Load generator: the cost of Byzantine fault tolerance. Runs, one after the other in one run,
//! a devnet with the single dev validator and one with four simplex validators (`devnet
//! --validators 4`, three of them their own processes), both at the same block time on loopback,
//! and measures on each:
//! - finality latency: transfers sent one at a time (every 100 ms, to the validators' RPCs in
//!   turn), each timed from submission until the validator it was sent to reports it final;
//! - throughput: pre-signed transfers from many senders submitted in batches over several
//!   connections (to the validators in turn), per second until the last is final.
//!
//! Run: `cargo bench --bench validators` (knobs: PHALANX_BFT_TXS, default 20,000;
//! PHALANX_BFT_SAMPLES, default 60; PHALANX_BFT_BLOCK_TIME, default 500ms). On this 2-core
//! machine the four validators, the devnet's gatekeeper and two workers share the two cores, so
//! compare the two columns of one run, not figures of different days.

use phalanx_client::views::TxStatus;
use phalanx_client::NodeClient;
use phalanx_crypto::Keypair;
use phalanx_primitives::Call;
use phalanx_testkit::knob;
use phalanx_testkit::load::{funded_senders, percentile, presigned_transfers, submit_and_wait};
use phalanx_testkit::DevnetProcess;
use std::time::{Duration, Instant};

/// Senders and connections of the throughput load.
const SENDERS: usize = 64;
const CONNECTIONS: usize = 4;
/// Time between two latency samples.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

struct Figures {
    median: Duration,
    p99: Duration,
    per_second: f64,
    blocks: u64,
    /// CPU a validator process of its own spent per finalized transfer (none for the single
    /// validator, which shares the devnet process with the gatekeeper and workers).
    cpu_per_transfer: Option<Duration>,
}

/// CPU time (user + system) the process `pid` has used so far, from /proc (Linux).
fn cpu_time(pid: u64) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // The kernel's USER_HZ, 100 on every Linux this runs on.
    Duration::from_millis(ticks * 10)
}

/// One transfer from `signer` to `url`, timed until that node reports it final.
async fn timed_transfer(url: String, signer: Keypair, amount: u128) -> Duration {
    let node = NodeClient::connect(&url).await.unwrap();
    let to = Keypair::dev("latency-sink").account_id();
    let nonce = node.next_nonce(signer.account_id()).await.unwrap();
    let tx = node.sign(&signer, nonce, Call::Transfer { to, amount });
    let started = Instant::now();
    let hash = node.submit(&tx).await.unwrap();
    while !matches!(
        node.tx_status(hash).await.unwrap(),
        TxStatus::Included { .. }
    ) {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    started.elapsed()
}

async fn measure(block_time: &str, validators: usize, txs: usize, samples: usize) -> Figures {
    let count = validators.to_string();
    let extra: Vec<&str> = if validators > 1 {
        vec!["--validators", &count]
    } else {
        Vec::new()
    };
    let devnet = DevnetProcess::start_with(block_time, &extra);
    let urls: Vec<String> = if validators > 1 {
        devnet.rpc_urls("validators")
    } else {
        vec![devnet.summary["node"]["rpc_http"]
            .as_str()
            .unwrap()
            .to_string()]
    };
    let client = NodeClient::connect(&urls[0]).await.unwrap();

    // Latency: one transfer at a time per sender, senders taking turns so nonces never clash.
    let signers = funded_senders(&client, "bft-latency", samples).await;
    let mut timers = Vec::new();
    for (i, signer) in signers.into_iter().enumerate() {
        let url = urls[i % urls.len()].clone();
        timers.push(tokio::spawn(timed_transfer(url, signer, 1 + i as u128)));
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
    let mut latencies = Vec::new();
    for timer in timers {
        latencies.push(timer.await.unwrap());
    }
    latencies.sort();

    // Throughput: fresh senders (nonces from 0), so they do not share nonces with the above.
    let senders = funded_senders(&client, "bft-load", SENDERS).await;
    let work = presigned_transfers(&client, &senders, txs, CONNECTIONS);
    let first = client.head().await.unwrap().height;
    let children: Vec<u64> = devnet.summary["validators"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["pid"].as_u64())
        .collect();
    let cpu_before: Vec<Duration> = children.iter().map(|&pid| cpu_time(pid)).collect();
    let outcome = submit_and_wait(&urls, work).await;
    let cpu_spent: Duration = children
        .iter()
        .zip(&cpu_before)
        .map(|(&pid, before)| cpu_time(pid) - *before)
        .sum();
    assert_eq!(outcome.rejected, 0, "the load sends only valid transfers");
    let blocks = client.head().await.unwrap().height - first;
    Figures {
        median: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        per_second: outcome.submitted as f64 / outcome.final_after.as_secs_f64(),
        blocks,
        cpu_per_transfer: (!children.is_empty())
            .then(|| cpu_spent / (children.len() * outcome.submitted) as u32),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let txs = knob("PHALANX_BFT_TXS", 20_000);
    let samples = knob("PHALANX_BFT_SAMPLES", 60).max(1);
    let block_time = std::env::var("PHALANX_BFT_BLOCK_TIME").unwrap_or_else(|_| "500ms".into());
    let one = measure(&block_time, 1, txs, samples).await;
    let four = measure(&block_time, 4, txs, samples).await;
    let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
    println!("validators: {txs} transfers and {samples} latency samples, block time {block_time}");
    println!("                          1 validator   4 validators   ratio (4/1)");
    println!(
        "  finality median         {:>8.0} ms    {:>8.0} ms    {:.2}",
        ms(one.median),
        ms(four.median),
        ms(four.median) / ms(one.median)
    );
    println!(
        "  finality p99            {:>8.0} ms    {:>8.0} ms    {:.2}",
        ms(one.p99),
        ms(four.p99),
        ms(four.p99) / ms(one.p99)
    );
    println!(
        "  transfers final / s     {:>8.0}       {:>8.0}       {:.2}",
        one.per_second,
        four.per_second,
        four.per_second / one.per_second
    );
    println!(
        "  blocks for the load     {:>8}       {:>8}",
        one.blocks, four.blocks
    );
    if let Some(cpu) = four.cpu_per_transfer {
        println!(
            "  CPU per transfer of one validator process: {:.1} us (a validator alone on one core: ~{:.0} transfers/s)",
            cpu.as_secs_f64() * 1e6,
            1.0 / cpu.as_secs_f64()
        );
    }
}
