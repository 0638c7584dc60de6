//! Validator set changes with real processes: `phalanx devnet --validators 4` (epochs of
//! `DEVNET_BLOCKS_PER_EPOCH` blocks, alice as sudo), a fifth `phalanx node` validator started
//! with a key the genesis does not name, and a full node following validator 1.
//! - `phalanx sudo set-validators` adds the fifth: from the epoch the chain names, it signs
//!   certificates, and blocks there verify under the five;
//! - a second change removes validator 3: from its epoch, it signs nothing;
//! - at the end every validator, the full node and the workers hold the same chain, each block
//!   verified against the set of its height, and a transfer is final after each change.

use phalanx_client::NodeClient;
use phalanx_crypto::Keypair;
use phalanx_primitives::{AccountId, Event, GenesisConfig, ValidatorSet};
use phalanx_testkit::cluster::{chain_at, wait_synced};
use phalanx_testkit::{cli_json, phalanx, DevnetProcess, NodeProcess};
use std::time::{Duration, Instant};

const BLOCK_TIME: &str = "500ms";

async fn head_at(url: &str) -> u64 {
    match NodeClient::connect(url).await {
        Ok(node) => node.head().await.map(|h| h.height).unwrap_or(0),
        Err(_) => 0,
    }
}

async fn wait_head(url: &str, height: u64, within: Duration) {
    let deadline = Instant::now() + within;
    while head_at(url).await < height {
        assert!(Instant::now() < deadline, "{url} did not reach {height}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `phalanx sudo set-validators` as alice; returns the set the chain scheduled.
async fn set_validators(
    node: &NodeClient,
    url: &str,
    members: &[(AccountId, String)],
) -> ValidatorSet {
    let mut args = vec![
        "--rpc".to_string(),
        url.to_string(),
        "sudo".to_string(),
        "--from".to_string(),
        "alice".to_string(),
        "set-validators".to_string(),
    ];
    for (account, address) in members {
        args.push("--validator".into());
        args.push(format!("{account}@{address}"));
    }
    let from = node.head().await.unwrap().height;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = phalanx(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The scheduling block's event names the set and its first height.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut height = from;
    loop {
        let head = node.head().await.unwrap().height;
        while height <= head {
            let block = node.verified_block(height).await.unwrap().unwrap();
            for record in node.verified_events(&block.header).await.unwrap() {
                if let Event::ValidatorSetScheduled { set } = record.event {
                    return set;
                }
            }
            height += 1;
        }
        assert!(Instant::now() < deadline, "no ValidatorSetScheduled event");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn free_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn governance_adds_a_fifth_validator_then_removes_one_of_the_four() {
    let devnet = DevnetProcess::start_with(BLOCK_TIME, &["--validators", "4"]);
    let urls = devnet.rpc_urls("validators");
    let genesis_file = devnet.summary["genesis"].as_str().unwrap().to_string();
    let genesis: GenesisConfig =
        serde_json::from_str(&std::fs::read_to_string(&genesis_file).unwrap()).unwrap();
    assert!(
        genesis.blocks_per_epoch.is_some(),
        "a devnet of many has epochs"
    );
    let full_dir = tempfile::tempdir().unwrap();
    let full_node = NodeProcess::follow(
        full_dir.path(),
        Some(std::path::Path::new(&genesis_file)),
        &urls[1],
    );

    // The fifth validator: a key nobody named yet, its own data and p2p port.
    let fifth = Keypair::dev("validator-4");
    let fifth_dir = tempfile::tempdir().unwrap();
    let key_file = fifth_dir.path().join("validator.key");
    std::fs::write(&key_file, hex::encode(&fifth.seed()[..])).unwrap();
    let fifth_p2p = free_port();
    let fifth_node = NodeProcess::validator(
        &fifth_dir.path().join("node"),
        std::path::Path::new(&genesis_file),
        &key_file,
        &fifth_p2p,
        BLOCK_TIME,
    );

    let node = NodeClient::connect(&urls[0]).await.unwrap();
    let mut members: Vec<(AccountId, String)> = genesis
        .validators
        .iter()
        .copied()
        .zip(genesis.validator_addresses.iter().cloned())
        .collect();
    members.push((fifth.account_id(), fifth_p2p.clone()));
    let added = set_validators(&node, &urls[0], &members).await;
    assert_eq!(added.validators.len(), 5);
    let epoch = genesis.blocks_per_epoch.unwrap();
    let signed_by = |block: &phalanx_primitives::Block, who: AccountId| {
        block
            .certificate
            .signatures
            .iter()
            .any(|s| s.validator == who)
    };
    let within = Duration::from_secs(120);
    // Two epochs: it may join its first one late, having fetched the epochs before it.
    wait_head(&urls[0], added.from_height + 2 * epoch, within).await;
    // The fifth votes: some block of its epochs carries its signature; it holds the chain too.
    let mut fifth_signed = false;
    for height in added.from_height..=added.from_height + 2 * epoch {
        let block = node.verified_block(height).await.unwrap().unwrap();
        fifth_signed |= signed_by(&block, fifth.account_id());
    }
    assert!(
        fifth_signed,
        "the fifth validator signed no block of its first epoch"
    );
    wait_head(&fifth_node.url, added.from_height + epoch, within).await;
    let transfer = node
        .transfer(&Keypair::dev("bob"), AccountId::from_bytes([7; 32]), 1)
        .await
        .unwrap();
    assert!(transfer.height >= added.from_height);

    // Remove validator 3 (it keeps running: it stops voting, and follows).
    let removed = genesis.validators[3];
    members.retain(|(account, _)| *account != removed);
    let shrunk = set_validators(&node, &urls[0], &members).await;
    assert_eq!(shrunk.validators.len(), 4);
    assert!(shrunk.from_height > added.from_height);
    wait_head(&urls[0], shrunk.from_height + epoch, within).await;
    for height in shrunk.from_height..=shrunk.from_height + epoch {
        let block = node.verified_block(height).await.unwrap().unwrap();
        assert!(
            !signed_by(&block, removed),
            "removed validator 3 signed block {height}"
        );
    }
    let transfer = node
        .transfer(&Keypair::dev("charlie"), AccountId::from_bytes([8; 32]), 1)
        .await
        .unwrap();
    assert!(transfer.height >= shrunk.from_height);

    // Everyone holds the one chain, each block verified under its own height's set.
    let end = node.head().await.unwrap().height;
    let chain = chain_at(&urls[0], end).await;
    for url in urls[1..].iter().chain([&fifth_node.url, &full_node.url]) {
        wait_head(url, end, within).await;
        assert_eq!(chain_at(url, end).await, chain, "{url} holds another chain");
    }
    let history = node.refresh_validators().await.unwrap();
    assert_eq!(history.sets().len(), 3);
    assert_eq!(history.at(end).accounts().len(), 4);
    for worker in devnet.rpc_urls("workers") {
        // A worker's enclave follows the set from the events of the blocks it verified.
        wait_synced(&worker, end, within).await;
    }
    let listed = cli_json(&urls[0], &["validators"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "{listed}");
    eprintln!(
        "validator_set: the fifth from {} (epoch {}), validator 3 out from {} (epoch {}), end {end}",
        added.from_height, added.epoch, shrunk.from_height, shrunk.epoch
    );
}
