//! A user's whole confidential journey on a real devnet (node, gatekeeper and two workers as one
//! process on loopback), through the `phalanx` CLI only, with nothing but the node's URL:
//! instantiate a private token with marker strings in its init, command it, query it. Then:
//! - no marker appears in any file of the node's, the gatekeeper's or the workers' data dirs, nor
//!   in anything the node's RPC serves about the chain;
//! - both workers hold the same state digest for every contract at every height;
//! - the same command envelope submitted again is refused as a replay.

use phalanx_client::api::NodeApiClient;
use phalanx_client::{ClientError, ContractClient, NodeClient};
use phalanx_crypto::Keypair;
use phalanx_primitives::{AccountId, Call};
use phalanx_testkit::cli_json as cli;
use phalanx_testkit::cluster::digest;
use phalanx_testkit::{phalanx, DevnetProcess};
use rand_core::OsRng;
use std::path::Path;
use std::time::{Duration, Instant};

const TOKEN_NAME: &str = "MARKERNAME-Q7f3";
const TOKEN_SYMBOL: &str = "MKRSYM-Z3k9";
/// The transfer amount's little-endian bytes spell a marker too.
const AMOUNT_MARKER: &[u8; 10] = b"AMT-MRK!xy";

fn amount() -> u128 {
    let mut bytes = [0u8; 16];
    bytes[..10].copy_from_slice(AMOUNT_MARKER);
    u128::from_le_bytes(bytes)
}

fn markers() -> Vec<Vec<u8>> {
    let plain: Vec<Vec<u8>> = vec![
        TOKEN_NAME.into(),
        TOKEN_SYMBOL.into(),
        AMOUNT_MARKER.to_vec(),
    ];
    // Also as hex, the way RPC responses and logs carry bytes.
    let hexed: Vec<Vec<u8>> = plain.iter().map(|m| hex::encode(m).into_bytes()).collect();
    plain.into_iter().chain(hexed).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_token_journey_leaks_nothing_and_workers_agree() {
    let devnet = DevnetProcess::start("200ms");
    let summary = devnet.summary.clone();
    let rpc = summary["node"]["rpc_http"].as_str().unwrap().to_string();
    let data_dir = Path::new(summary["data_dir"].as_str().unwrap()).to_path_buf();
    let cluster = summary["cluster"].as_str().unwrap();
    let wasm = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/contracts/private_token/private_token.wasm"
    );

    // Bob deploys his own private token from the code the devnet already uploaded.
    let upload = cli(&rpc, &["contract", "upload", wasm, "--from", "bob"]);
    assert!(
        upload["height"].is_null(),
        "the devnet uploaded it: {upload}"
    );
    let code_hash = upload["code_hash"].as_str().unwrap();
    let supply = (1u128 << 120).to_string();
    let init = cli(
        &rpc,
        &[
            "contract",
            "encode",
            "private-token",
            "init",
            TOKEN_NAME,
            TOKEN_SYMBOL,
            &supply,
        ],
    );
    let deployed = cli(
        &rpc,
        &[
            "contract",
            "instantiate",
            code_hash,
            "--cluster",
            cluster,
            "--from",
            "bob",
            "--init",
            init["message"].as_str().unwrap(),
            "--salt",
            "bob-token",
        ],
    );
    assert_eq!(deployed["ok"], true, "{deployed}");
    let token = deployed["contract"].as_str().unwrap().to_string();

    // A confidential transfer to alice, and the balance only alice can read.
    let transfer = cli(
        &rpc,
        &[
            "contract",
            "encode",
            "private-token",
            "transfer",
            "alice",
            &amount().to_string(),
        ],
    );
    let sent = cli(
        &rpc,
        &[
            "contract",
            "command",
            &token,
            "--from",
            "bob",
            "--msg",
            transfer["message"].as_str().unwrap(),
        ],
    );
    assert_eq!(sent["ok"], true, "{sent}");
    // The transfer's event for alice reaches alice, as a notification; bob's receipt holds only
    // the one addressed to him, and a third account reads nothing.
    assert_eq!(sent["events"].as_array().unwrap().len(), 1, "{sent}");
    let alice_events = cli(&rpc, &["contract", "events", &token, "--from", "alice"]);
    let notifications = alice_events["notifications"].as_array().unwrap();
    assert_eq!(notifications.len(), 1, "{alice_events}");
    assert_eq!(notifications[0]["seq"], 0);
    assert_eq!(notifications[0]["tx_hash"], sent["hash"]);
    let charlie_events = cli(&rpc, &["contract", "events", &token, "--from", "charlie"]);
    assert_eq!(
        charlie_events["notifications"].as_array().unwrap().len(),
        0,
        "{charlie_events}"
    );
    // A command the contract refuses exits non-zero and says why.
    let too_much = cli(
        &rpc,
        &[
            "contract",
            "encode",
            "private-token",
            "transfer",
            "alice",
            &u128::MAX.to_string(),
        ],
    );
    let refused = phalanx(&[
        "--rpc",
        &rpc,
        "contract",
        "command",
        &token,
        "--from",
        "charlie",
        "--msg",
        too_much["message"].as_str().unwrap(),
    ]);
    assert!(!refused.status.success(), "a failed command exited 0");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("the command failed in the contract"),
        "{said}"
    );
    let balance = cli(
        &rpc,
        &["contract", "encode", "private-token", "balance", "alice"],
    );
    let read = cli(
        &rpc,
        &[
            "contract",
            "query",
            &token,
            "--from",
            "alice",
            "--msg",
            balance["message"].as_str().unwrap(),
        ],
    );
    assert_eq!(read["result"], amount().to_string());
    // A permit from the CLI: alice lets charlie read her balance, then revokes it.
    let permit = cli(
        &rpc,
        &[
            "permit",
            "sign",
            &token,
            "--from",
            "alice",
            "--grantee",
            "charlie",
            "--scope",
            "balance",
            "--expires-in",
            "600",
        ],
    );
    let permit_dir = tempfile::tempdir().unwrap();
    let permit_file = permit_dir.path().join("permit.json");
    std::fs::write(&permit_file, permit.to_string()).unwrap();
    let permit_path = permit_file.to_str().unwrap();
    let by_permit = |rpc: &str| {
        phalanx(&[
            "--json",
            "--rpc",
            rpc,
            "contract",
            "query",
            &token,
            "--from",
            "charlie",
            "--msg",
            balance["message"].as_str().unwrap(),
            "--permit",
            permit_path,
        ])
    };
    let granted = by_permit(&rpc);
    assert!(
        granted.status.success(),
        "{}",
        String::from_utf8_lossy(&granted.stderr)
    );
    let granted: serde_json::Value = serde_json::from_slice(&granted.stdout).unwrap();
    assert_eq!(granted["result"], amount().to_string());
    let revoked = cli(&rpc, &["permit", "revoke", permit_path, "--from", "alice"]);
    assert!(revoked["height"].as_u64().is_some(), "{revoked}");
    let mut refused = by_permit(&rpc);
    for _ in 0..50 {
        if !refused.status.success() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        refused = by_permit(&rpc);
    }
    // With --json the error is JSON on stdout too.
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stdout);
    assert!(said.contains("the owner revoked this permit"), "{said}");
    // The owner's answer carries the marker, in the form the searches below look for.
    assert!(read["output"]
        .as_str()
        .unwrap()
        .contains(&hex::encode(AMOUNT_MARKER)));
    let mut full = vec!["--rpc", rpc.as_str(), "contract", "query", &token];
    full.extend([
        "--from",
        "bob",
        "--msg",
        balance["message"].as_str().unwrap(),
    ]);
    let refused = phalanx(&full);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("only the owner"));

    // More state changes at more heights, for the digest comparison below.
    let node = NodeClient::connect(&rpc).await.unwrap();
    let counter: AccountId = summary["contracts"]["counter"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let counter_client = ContractClient::open(&node, counter).await.unwrap();
    let alice = Keypair::dev("alice");
    for by in 1..=3u64 {
        let message = parity_scale_codec::Encode::encode(&counter::Command::Increment { by });
        let call = counter_client
            .command_call(alice.account_id(), &message, 5_000_000, 0, &mut OsRng)
            .unwrap();
        let nonce = node.next_nonce(alice.account_id()).await.unwrap();
        let hash = node.submit(&node.sign(&alice, nonce, call)).await.unwrap();
        node.wait_for_inclusion(hash, Duration::from_secs(30))
            .await
            .unwrap();
    }

    // The same envelope again, in a new transaction: refused as a replay, nothing changes.
    let token: AccountId = token.parse().unwrap();
    let sent_block = node
        .verified_block(sent["height"].as_u64().unwrap())
        .await
        .unwrap()
        .unwrap();
    let (envelope, gas_limit) = sent_block
        .transactions
        .iter()
        .find_map(|tx| match &tx.transaction.call {
            Call::Command {
                contract,
                envelope,
                gas_limit,
                ..
            } if *contract == token => Some((envelope.clone(), *gas_limit)),
            _ => None,
        })
        .expect("the command is in its block");
    let bob = Keypair::dev("bob");
    let commands_before = node.rpc().contract(token).await.unwrap().unwrap().commands;
    let nonce = node.next_nonce(bob.account_id()).await.unwrap();
    let replay = node
        .submit(&node.sign(
            &bob,
            nonce,
            Call::Command {
                contract: token,
                envelope,
                gas_limit,
                value: 0,
            },
        ))
        .await;
    assert!(
        matches!(&replay, Err(ClientError::Rejected { message, .. }) if message.contains("replay")),
        "{replay:?}"
    );
    assert_eq!(
        node.rpc().contract(token).await.unwrap().unwrap().commands,
        commands_before
    );

    // Both workers, at every height up to one both reached, hold equal digests.
    let head = node.head().await.unwrap().height;
    let workers = devnet.rpc_urls("workers");
    let deadline = Instant::now() + Duration::from_secs(30);
    for url in &workers {
        while phalanx_testkit::cluster::synced_height(url).await < head {
            assert!(
                Instant::now() < deadline,
                "worker {url} did not reach {head}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let private_token: AccountId = summary["contracts"]["private_token"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut distinct = std::collections::HashSet::new();
    for contract in [counter, private_token, token] {
        for height in 1..=head {
            let (a, b) = (
                digest(&workers[0], contract, height).await,
                digest(&workers[1], contract, height).await,
            );
            assert_eq!(a, b, "workers disagree on {contract} at {height}");
            distinct.insert(a.digest);
        }
        assert!(digest(&workers[0], contract, head).await.digest.is_some());
    }
    // Counter: 4 states; tokens: at least 2 each; plus "no state yet".
    assert!(distinct.len() >= 8, "{distinct:?}");

    // Nothing secret in the chain as the node serves it...
    let mut served = String::new();
    for height in 0..=head {
        let block = node.rpc().block(height).await.unwrap();
        let events = node.rpc().events(height).await.unwrap();
        served += &serde_json::to_string(&(block, events)).unwrap();
    }
    served += &serde_json::to_string(&node.rpc().contract(token).await.unwrap()).unwrap();
    for marker in markers() {
        assert!(
            !contains(served.as_bytes(), &marker),
            "the node's RPC serves {}",
            String::from_utf8_lossy(&marker)
        );
    }
    // ...nor in any file of any data dir (node, gatekeeper, both workers).
    let files = files_under(&data_dir);
    assert!(files.len() >= 4, "{files:?}");
    let mut contract_id_seen = false;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for marker in markers() {
            assert!(
                !contains(&bytes, &marker),
                "{} holds {}",
                file.display(),
                String::from_utf8_lossy(&marker)
            );
        }
        contract_id_seen |= contains(&bytes, token.as_bytes());
    }
    // The search does see what is stored in the clear: the contract's id is public.
    assert!(contract_id_seen, "the scan reads the databases");
}
