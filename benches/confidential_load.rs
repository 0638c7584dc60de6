//! Load generator for confidential execution, end to end on a real devnet process (node,
//! gatekeeper and two workers on loopback): `private_token` transfers per second from the client
//! sealing each command to the contract's key, through the chain, to both workers having executed
//! it and its receipt being readable; then the latency of encrypted, signed queries.
//!
//! Run: `cargo bench --bench confidential_load` (knobs: PHALANX_CONF_COMMANDS, default 20,000;
//! PHALANX_CONF_QUERIES, default 2,000; PHALANX_CONF_BLOCK_TIME, default 500ms).

use parity_scale_codec::{Decode, Encode};
use phalanx_client::views::TxStatus;
use phalanx_client::{ContractClient, NodeClient};
use phalanx_crypto::Keypair;
use phalanx_primitives::query::{QueryAnswer, QueryRequest, ReceiptOutcome};
use phalanx_primitives::AccountId;
use phalanx_testkit::knob;
use phalanx_testkit::load::percentile;
use phalanx_testkit::DevnetProcess;
use rand_core::OsRng;
use std::time::{Duration, Instant};

/// Transactions per `tx_submitBatch`.
const BATCH: usize = 1_000;
/// Gas reserved per transfer (one uses about 33,400).
const GAS_LIMIT: u64 = 100_000;

fn sdk_account(account: AccountId) -> phalanx_sdk::AccountId {
    phalanx_sdk::AccountId(*account.as_bytes())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let commands = knob("PHALANX_CONF_COMMANDS", 20_000);
    let queries = knob("PHALANX_CONF_QUERIES", 2_000);
    let block_time =
        std::env::var("PHALANX_CONF_BLOCK_TIME").unwrap_or_else(|_| "500ms".to_string());
    let devnet = DevnetProcess::start(&block_time);
    let summary = &devnet.summary;
    let node = NodeClient::connect(summary["node"]["rpc_http"].as_str().unwrap())
        .await
        .unwrap();
    let token = devnet.contract("private_token");
    let workers = devnet.rpc_urls("workers");
    let contract = ContractClient::open(&node, token).await.unwrap();
    let alice = Keypair::dev("alice");
    // One sender may take half a cluster's block budget, which would bound this run (one
    // sender) below what the pipeline does: raise the budget, so the machine is the bound.
    phalanx_testkit::cluster::raise_cluster_budget(&node).await;

    // Alice (who holds the supply) pays 1 SCRT to each of many recipients.
    let first_nonce = node.next_nonce(alice.account_id()).await.unwrap();
    let started = Instant::now();
    let mut txs = Vec::with_capacity(commands);
    for i in 0..commands {
        let to = AccountId::from_bytes(phalanx_primitives::sha256(&(i as u64).to_le_bytes()).0);
        let message = private_token::Command::Transfer {
            to: sdk_account(to),
            amount: 1,
        }
        .encode();
        let call = contract
            .command_call(alice.account_id(), &message, GAS_LIMIT, 0, &mut OsRng)
            .unwrap();
        txs.push(node.sign(&alice, first_nonce + i as u64, call));
    }
    let sealed_after = started.elapsed();
    for chunk in txs.chunks(BATCH) {
        for outcome in node.submit_batch(chunk).await.unwrap() {
            assert!(outcome.error.is_none(), "{:?}", outcome.error);
        }
    }
    let submitted_after = started.elapsed();
    let last = txs.last().unwrap().hash();
    let last_height = loop {
        if let TxStatus::Included { height, .. } = node.tx_status(last).await.unwrap() {
            break height;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let final_after = started.elapsed();
    for url in &workers {
        while phalanx_testkit::cluster::synced_height(url).await < last_height {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let receipt = contract
        .receipt(&alice, last, Duration::from_secs(10), &mut OsRng)
        .await
        .unwrap();
    let executed_after = started.elapsed();
    assert!(
        matches!(receipt.outcome, ReceiptOutcome::Ok(_)),
        "{receipt:?}"
    );

    println!(
        "confidential_load: {commands} private_token transfers, block time {block_time}, 2 workers"
    );
    println!(
        "  sealed + signed by the client in {:.2}s ({:.0}/s)",
        sealed_after.as_secs_f64(),
        commands as f64 / sealed_after.as_secs_f64()
    );
    println!(
        "  accepted by the node after {:.2}s, final after {:.2}s (block {last_height})",
        submitted_after.as_secs_f64(),
        final_after.as_secs_f64()
    );
    println!(
        "  executed by both workers, last receipt read, after {:.2}s = {:.0} transfers/s end to end",
        executed_after.as_secs_f64(),
        commands as f64 / executed_after.as_secs_f64()
    );

    // Query latency: alice reads her balance, one query at a time, from the first worker.
    let one_worker = ContractClient::open(&node, token)
        .await
        .unwrap()
        .only_worker(&workers[0])
        .unwrap();
    let request = QueryRequest::Contract(
        private_token::Query::Balance {
            account: sdk_account(alice.account_id()),
        }
        .encode(),
    );
    let mut latencies = Vec::with_capacity(queries);
    for _ in 0..queries {
        let asked = Instant::now();
        let answer = one_worker
            .query(&alice, request.clone(), &mut OsRng)
            .await
            .unwrap();
        latencies.push(asked.elapsed());
        let QueryAnswer::Ok(bytes) = answer else {
            panic!("alice was refused: {answer:?}")
        };
        assert_eq!(
            u128::decode(&mut &bytes[..]).unwrap(),
            1_000_000 - commands as u128
        );
    }
    latencies.sort();
    println!(
        "  {queries} encrypted balance queries, one at a time: median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3
    );
}
