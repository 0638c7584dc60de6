//! The sealed-bid auction on a devnet, driven as its README does: only the CLI and JSON
//! messages. Bids stay sealed (a losing amount never appears on chain), every bid costs the same
//! gas, the close pays the seller and refunds the deposits, and each bidder alone reads its
//! result.

use phalanx_primitives::amount::UNIT;
use phalanx_testkit::{cli_json, phalanx, DevnetProcess};
use serde_json::{json, Value};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn free_units(rpc: &str, who: &str) -> u128 {
    cli_json(rpc, &["balance", who])["free_units"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn bids_stay_sealed_and_the_close_pays_everyone_back() {
    let devnet = DevnetProcess::start("200ms");
    let rpc = devnet.summary["node"]["rpc_http"]
        .as_str()
        .unwrap()
        .to_string();
    let cluster = devnet.summary["cluster"].as_str().unwrap().to_string();
    let cli = |args: &[&str]| cli_json(&rpc, args);
    let wasm = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/contracts/sealed_auction/sealed_auction.wasm"
    );

    // Upload: the metadata beside the .wasm is recorded on chain.
    let uploaded = cli(&["contract", "upload", wasm, "--from", "alice"]);
    assert!(uploaded["metadata_hash"].is_string(), "{uploaded}");
    let code_hash = uploaded["code_hash"].as_str().unwrap().to_string();
    let closes_at = now_ms() + 6_000;
    let init = json!({"item": "a painting", "reserve": (10 * UNIT).to_string(), "closes_at_ms": closes_at});
    let instantiated = cli(&[
        "contract",
        "instantiate",
        &code_hash,
        "--cluster",
        &cluster,
        "--from",
        "alice",
        "--json-msg",
        &init.to_string(),
    ]);
    let auction = instantiated["contract"].as_str().unwrap().to_string();

    let bid = |who: &str, amount_pha: u128, deposit_pha: u128| {
        let message = json!({"bid": {"amount": (amount_pha * UNIT).to_string()}});
        phalanx(&[
            "--json",
            "--rpc",
            &rpc,
            "contract",
            "command",
            &auction,
            "--from",
            who,
            "--value",
            &deposit_pha.to_string(),
            "--json-msg",
            &message.to_string(),
        ])
    };
    let receipt = |out: std::process::Output| -> Value {
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!(
                "no JSON: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    };
    let bob = receipt(bid("bob", 30, 40));
    assert_eq!(
        bob["result"],
        json!({"bid": {"amount": (30 * UNIT).to_string(), "deposit": (40 * UNIT).to_string()}}),
        "{bob}"
    );
    let charlie = receipt(bid("charlie", 50, 50));
    assert_eq!(charlie["ok"], true, "{charlie}");
    // Not covered by its deposit: refused, the deposit comes back, and the gas is the same.
    let short = bid("bob", 60, 1);
    assert!(!short.status.success());
    let short = receipt(short);
    assert_eq!(short["ok"], false, "{short}");
    let gas: Vec<&Value> = [&bob, &charlie, &short].map(|r| &r["gas_used"]).to_vec();
    assert!(
        gas.iter().all(|g| *g == gas[0]),
        "every bid pays alike: {gas:?}"
    );

    let status = || {
        cli(&[
            "contract",
            "query",
            &auction,
            "--from",
            "alice",
            "--json-msg",
            "\"status\"",
        ])
    };
    let before = status();
    assert_eq!(before["result"]["status"]["bidders"], 2, "{before}");

    // After the close anyone settles it; one call does for two bidders.
    while now_ms() < closes_at + 500 {
        std::thread::sleep(Duration::from_millis(200));
    }
    let alice_before = free_units(&rpc, "alice");
    let closed = cli(&[
        "contract",
        "command",
        &auction,
        "--from",
        "bob",
        "--json-msg",
        "\"close\"",
    ]);
    assert_eq!(
        closed["result"],
        json!({"settled": {"remaining": 0}}),
        "{closed}"
    );

    // Each bidder reads its own result; nobody else's.
    let bob_notes = cli(&["contract", "events", &auction, "--from", "bob"]);
    assert_eq!(
        bob_notes["notifications"][0]["decoded"],
        json!({"lost": {"your_bid": (30 * UNIT).to_string(), "refund": (40 * UNIT).to_string()}}),
        "{bob_notes}"
    );
    let charlie_notes = cli(&["contract", "events", &auction, "--from", "charlie"]);
    assert_eq!(
        charlie_notes["notifications"][0]["decoded"],
        json!({"won": {"price": (50 * UNIT).to_string(), "refund": "0"}}),
        "{charlie_notes}"
    );
    assert_eq!(
        cli(&["contract", "events", &auction, "--from", "alice"])["notifications"],
        json!([])
    );

    // The payments land: the seller gets the price, bob his deposit back (charlie's deposit
    // was the price: nothing comes back to it).
    let payments = |head: u64| -> Vec<(String, String)> {
        (1..=head)
            .flat_map(|height| {
                let events = cli(&["events", &height.to_string()]);
                events["events"].as_array().cloned().unwrap_or_default()
            })
            .filter(|e| e["event"]["type"] == "transfer" && e["event"]["from"] == auction.as_str())
            .map(|e| {
                let to = e["event"]["to"].as_str().unwrap().to_string();
                (to, e["event"]["amount_units"].as_str().unwrap().to_string())
            })
            .collect()
    };
    let account_of = |name: &str| {
        cli(&["balance", name])["account"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let expected = [
        (account_of("alice"), (50 * UNIT).to_string()),
        (account_of("bob"), (40 * UNIT).to_string()),
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let head = cli(&["head"])["height"].as_u64().unwrap();
        let paid = payments(head);
        if expected.iter().all(|p| paid.contains(p)) {
            // Bob's failed bid's deposit (1 PHA) came back too; nothing else left the auction.
            assert_eq!(paid.len(), 3, "{paid:?}");
            break;
        }
        assert!(Instant::now() < deadline, "payments so far: {paid:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(free_units(&rpc, "alice"), alice_before + 50 * UNIT);
    // The one public event, decoded by the metadata the upload recorded.
    let head = cli(&["head"])["height"].as_u64().unwrap();
    let public: Vec<Value> = (1..=head)
        .flat_map(|height| {
            let events = cli(&["events", &height.to_string()]);
            events["events"].as_array().cloned().unwrap_or_default()
        })
        .filter(|e| {
            e["event"]["type"] == "contract_event" && e["event"]["contract"] == auction.as_str()
        })
        .map(|e| e["event"]["decoded"].clone())
        .collect();
    assert_eq!(
        public,
        vec![json!({"closed": {
            "item": "a painting",
            "winner": account_of("charlie"),
            "price": (50 * UNIT).to_string(),
            "bidders": 2,
        }})]
    );
    let after = status();
    let outcome = &after["result"]["status"]["outcome"];
    assert_eq!(outcome["price"], (50 * UNIT).to_string(), "{after}");

    // The losing amount is nowhere on chain: not in any block, not in any event.
    let head = cli(&["head"])["height"].as_u64().unwrap();
    // As a whole JSON value (amounts are decimal strings), not a part of some hex.
    let losing = format!("\"{}\"", 30 * UNIT);
    for height in 1..=head {
        let block = cli(&["block", &height.to_string()]).to_string();
        let events = cli(&["events", &height.to_string()]).to_string();
        assert!(
            !block.contains(&losing) && !events.contains(&losing),
            "block {height} shows the losing bid"
        );
    }
}
