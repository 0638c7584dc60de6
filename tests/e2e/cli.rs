//! The `phalanx` command line as a user drives it, against a real node process.

use phalanx_testkit::{cli_json, phalanx, DevnetProcess, NodeProcess};
use serde_json::Value;

fn json(args: &[&str]) -> Value {
    let output = phalanx(args);
    assert!(
        output.status.success(),
        "phalanx {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        text.trim().lines().count(),
        1,
        "--json prints exactly one line: {text}"
    );
    serde_json::from_str(&text).unwrap()
}

fn failure(args: &[&str]) -> String {
    let output = phalanx(args);
    assert!(!output.status.success(), "phalanx {args:?} should fail");
    String::from_utf8_lossy(&output.stderr).to_string() + &String::from_utf8_lossy(&output.stdout)
}

#[test]
fn keys_balances_and_transfers() {
    let data = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(data.path(), "200ms");
    let password = keys.path().join("password");
    std::fs::write(&password, "hunter2 but longer\n").unwrap();
    let ks = keys.path().to_str().unwrap();
    let pw = password.to_str().unwrap();
    let base = [
        "--rpc",
        node.url.as_str(),
        "--keystore",
        ks,
        "--password-file",
        pw,
    ];
    let run = |extra: &[&str]| json(&[&base[..], &["--json"], extra].concat());

    // Keys: create, show, list; dev names are built in and reserved.
    let created = run(&["key", "new", "carol"]);
    let carol = created["account"].as_str().unwrap().to_string();
    assert!(carol.starts_with("phx1"));
    let key_file = std::fs::read_to_string(keys.path().join("keys/carol.json")).unwrap();
    assert!(key_file.contains("argon2id") && key_file.contains(&carol));
    assert_eq!(run(&["key", "show", "carol"])["account"], carol.as_str());
    let listed = run(&["key", "list"]);
    let names: Vec<&str> = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob", "charlie", "carol"]);
    assert!(failure(&[&base[..], &["key", "new", "alice"]].concat()).contains("built-in dev key"));
    assert!(failure(&[&base[..], &["key", "new", "carol"]].concat()).contains("already exists"));

    // Balances: by dev name, key name or address; amounts as PHA decimals and exact units.
    let alice = run(&["balance", "alice"]);
    assert_eq!(alice["free"], "1000000");
    assert_eq!(alice["free_units"], "1000000000000000000");
    assert_eq!(alice["nonce"], 0);
    assert_eq!(run(&["balance", &carol])["free"], "0");

    // Transfer to the new key, then back from it (decrypting its key file).
    let sent = run(&[
        "transfer", "--from", "alice", "--to", "carol", "--amount", "12.5",
    ]);
    assert_eq!(sent["amount"], "12.5");
    assert!(sent["height"].as_u64().unwrap() > 0);
    let carol_balance = run(&["balance", "carol"]);
    assert_eq!(carol_balance["free"], "12.5");
    let back = run(&[
        "transfer", "--from", "carol", "--to", "bob", "--amount", "2.25",
    ]);
    let fee_units: u128 = back["fee_units"].as_str().unwrap().parse().unwrap();
    let carol_after: u128 = run(&["balance", "carol"])["free_units"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(carol_after, 10_250_000_000_000 - fee_units);

    // The block holding it is verified and printed; so is the head.
    let block = run(&["block", &back["height"].to_string()]);
    assert_eq!(block["transactions"][0]["hash"], back["hash"]);
    assert!(run(&["head"])["height"].as_u64().unwrap() >= back["height"].as_u64().unwrap());

    // Mistakes get clear errors and move nothing.
    let alice_addr = alice["account"].as_str().unwrap();
    let mut typo = alice_addr.to_string();
    let last = typo.pop().unwrap();
    typo.push(if last == 'q' { 'p' } else { 'q' });
    assert!(failure(
        &[
            &base[..],
            &["transfer", "--from", "bob", "--to", &typo, "--amount", "1"]
        ]
        .concat()
    )
    .contains("not a valid address"));
    assert!(failure(
        &[
            &base[..],
            &[
                "transfer",
                "--from",
                "bob",
                "--to",
                "alice",
                "--amount",
                "1.0000000000001"
            ]
        ]
        .concat()
    )
    .contains("12 decimal"));
    let output = phalanx(
        &[
            &base[..],
            &[
                "--json", "transfer", "--from", "bob", "--to", "alice", "--amount", "5000000",
            ],
        ]
        .concat(),
    );
    assert!(!output.status.success());
    let error: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(error["kind"], "InsufficientBalance");
    assert_eq!(error["cause"], "insufficient_balance");
    std::fs::write(&password, "wrong\n").unwrap();
    assert!(failure(
        &[
            &base[..],
            &["transfer", "--from", "carol", "--to", "bob", "--amount", "1"]
        ]
        .concat()
    )
    .contains("cannot unlock key `carol`"));
    assert_eq!(
        run(&["balance", "carol"])["free_units"]
            .as_str()
            .unwrap()
            .parse::<u128>()
            .unwrap(),
        carol_after
    );
}

#[test]
fn devnet_starts_in_one_command_and_prints_its_endpoints() {
    let mut devnet = DevnetProcess::start("200ms");
    let summary = devnet.summary.clone();
    let url = summary["node"]["rpc_http"].as_str().unwrap().to_string();
    let data_dir = summary["data_dir"].as_str().unwrap().to_string();
    assert!(std::path::Path::new(&data_dir).exists());
    // Bob staked 3,000 PHA in charlie's pool, whose two workers compute.
    let stakes = json(&["--rpc", &url, "--json", "pool", "stakes", "bob"]);
    assert_eq!(stakes["stakes"][0]["pool"], 0);
    assert_eq!(stakes["stakes"][0]["shares"], "3000000000000000");
    let bob = json(&["--rpc", &url, "--json", "balance", "bob"]);
    assert!(bob["free"].as_str().unwrap().starts_with("996999.99"));
    let workers = json(&["--rpc", &url, "--json", "worker", "list"]);
    let computing = workers
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["state"] == "computing" && w["pool"] == 0)
        .count();
    assert_eq!(computing, 2, "{workers}");
    // A gatekeeper and two workers in one cluster, both running the three example contracts.
    let contracts = [
        &summary["contracts"]["counter"],
        &summary["contracts"]["private_token"],
        &summary["contracts"]["data_market"],
    ];
    assert!(contracts
        .iter()
        .all(|c| c.as_str().unwrap().starts_with("phx1")));
    assert!(summary["gatekeeper"]["identity"].is_string());
    let workers = summary["workers"].as_array().unwrap();
    assert_eq!(workers.len(), 2);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for worker in workers {
        let worker_url = worker["rpc_http"].as_str().unwrap().to_string();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let status: Value = runtime.block_on(async {
                use jsonrpsee::core::client::ClientT;
                let client = jsonrpsee::http_client::HttpClientBuilder::default()
                    .build(&worker_url)
                    .unwrap();
                client
                    .request("worker_status", jsonrpsee::rpc_params![])
                    .await
                    .unwrap()
            });
            let running = status["contracts"].as_array().unwrap().clone();
            if contracts.iter().all(|c| running.contains(c)) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "worker runs {running:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    // `worker status` shows both workers at the same digests for the three contracts.
    let reports: Vec<Value> = workers
        .iter()
        .map(|w| {
            let url_of_worker = w["rpc_http"].as_str().unwrap();
            json(&["--rpc", &url, "--json", "worker", "status", url_of_worker])
        })
        .collect();
    for report in &reports {
        assert_eq!(report["digests"].as_array().unwrap().len(), 3, "{report}");
        assert!(report["lag"].as_u64().is_some(), "{report}");
    }
    let text = phalanx(&[
        "--rpc",
        &url,
        "worker",
        "status",
        workers[0]["rpc_http"].as_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&text.stdout).to_string();
    assert!(text.contains("synced") && text.contains("digest"), "{text}");
    notifications_and_permits_from_the_command_line(&url, &summary);
    json_messages_through_the_metadata(&url, &summary);
    // SIGTERM stops it cleanly and removes its temporary data directory.
    assert!(devnet.terminate().success());
    assert!(!std::path::Path::new(&data_dir).exists());
}

/// What issue #16 promised a user of the CLI: a transfer's event reaches its recipient alone;
/// a permit lets its grantee read within its scope until the owner revokes it, and once
/// `permit revoke` returns, no worker of the contract honours it any more.
fn notifications_and_permits_from_the_command_line(url: &str, summary: &Value) {
    let token = summary["contracts"]["private_token"].as_str().unwrap();
    let encode = |words: &[&str]| {
        let mut args = vec!["contract", "encode", "private-token"];
        args.extend_from_slice(words);
        String::from_utf8(phalanx(&args).stdout)
            .unwrap()
            .trim()
            .to_string()
    };
    let cli = |args: &[&str]| cli_json(url, args);
    let transfer = encode(&["transfer", "bob", "12"]);
    let sent = cli(&[
        "contract", "command", token, "--from", "alice", "--msg", &transfer,
    ]);
    assert_eq!(sent["ok"], true, "{sent}");
    let events = |who: &str| cli(&["contract", "events", token, "--from", who]);
    let to_bob = events("bob");
    assert_eq!(
        to_bob["notifications"].as_array().unwrap().len(),
        1,
        "{to_bob}"
    );
    let to_charlie = events("charlie");
    assert_eq!(
        to_charlie["notifications"],
        serde_json::json!([]),
        "{to_charlie}"
    );

    let dir = tempfile::tempdir().unwrap();
    let sign = |scope: &str| {
        let permit = cli(&[
            "permit",
            "sign",
            token,
            "--from",
            "bob",
            "--grantee",
            "charlie",
            "--scope",
            scope,
        ]);
        let file = dir.path().join(format!("{scope}.json"));
        std::fs::write(&file, permit.to_string()).unwrap();
        file.to_str().unwrap().to_string()
    };
    let (balance_permit, other_permit) = (sign("balance"), sign("other"));
    let bobs_balance = encode(&["balance", "bob"]);
    let query = |from: &str, permit: &str| {
        let mut args = vec!["--rpc", url, "--json", "contract", "query", token];
        args.extend_from_slice(&["--from", from, "--msg", &bobs_balance, "--permit", permit]);
        phalanx(&args)
    };
    let answered = query("charlie", &balance_permit);
    let answer: Value = serde_json::from_slice(&answered.stdout).unwrap();
    assert_eq!(answer["result"], "12", "{answer}");
    for (from, permit, refusal) in [
        ("alice", &balance_permit, "not the query's signer"),
        ("charlie", &other_permit, "does not cover balances"),
    ] {
        let out = query(from, permit);
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(!out.status.success() && said.contains(refusal), "{said}");
    }
    let revoked = cli(&["permit", "revoke", &balance_permit, "--from", "bob"]);
    assert_eq!(
        revoked["workers_behind"],
        serde_json::json!([]),
        "{revoked}"
    );
    let out = query("charlie", &balance_permit);
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!out.status.success() && said.contains("revoked"), "{said}");
}

/// What issue #17 promised: messages as JSON through the examples' metadata (which the devnet
/// recorded on chain), results and events printed decoded, wrong JSON refused with the path
/// and the type, a hex message that does not decode refused before it is sent.
fn json_messages_through_the_metadata(url: &str, summary: &Value) {
    let token = summary["contracts"]["private_token"].as_str().unwrap();
    let cli = |args: &[&str]| cli_json(url, args);
    let shown = cli(&["contract", "show", token]);
    assert!(shown["metadata_hash"].is_string(), "{shown}");
    let transfer = r#"{"transfer":{"to":"charlie","amount":"40"}}"#;
    let sent = cli(&[
        "contract",
        "command",
        token,
        "--from",
        "alice",
        "--json-msg",
        transfer,
    ]);
    assert_eq!(sent["ok"], true, "{sent}");
    // The result is alice's balance, as a decimal string; her own event decoded beside it.
    assert!(
        sent["result"].as_str().unwrap().parse::<u128>().is_ok(),
        "{sent}"
    );
    let event = &sent["events"][0]["decoded"];
    assert_eq!(event["amount"], "40", "{sent}");
    let charlie = summary["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "charlie")
        .unwrap()["account"]
        .clone();
    assert_eq!(event["to"], charlie, "{sent}");
    let balance = r#"{"balance":{"account":"charlie"}}"#;
    let answer = cli(&[
        "contract",
        "query",
        token,
        "--from",
        "charlie",
        "--json-msg",
        balance,
    ]);
    assert_eq!(answer["result"], "40", "{answer}");
    let notes = cli(&["contract", "events", token, "--from", "charlie"]);
    assert_eq!(
        notes["notifications"][0]["decoded"]["amount"], "40",
        "{notes}"
    );

    let refused = |json_msg: &str| {
        failure(&[
            "--rpc",
            url,
            "contract",
            "command",
            token,
            "--from",
            "alice",
            "--json-msg",
            json_msg,
        ])
    };
    let said = refused(r#"{"transfer":{"to":"charlie","amount":"forty"}}"#);
    assert!(
        said.contains("command.transfer.amount") && said.contains("u128"),
        "{said}"
    );
    let said = refused(r#"{"transfer":{"to":"charlie"}}"#);
    assert!(
        said.contains("command.transfer.amount") && said.contains("missing"),
        "{said}"
    );
    let said = refused(r#"{"transfer":{"to":"charlie","amount":"1","memo":"hi"}}"#);
    assert!(said.contains("unknown field `memo`"), "{said}");
    let said = failure(&[
        "--rpc", url, "contract", "command", token, "--from", "alice", "--msg", "0x0001",
    ]);
    assert!(said.contains("command.transfer.to"), "{said}");
    // The hex path stays for tools, and `contract encode` makes it from JSON.
    let encoded = cli(&["contract", "encode", token, "--json-msg", transfer]);
    let hex_msg = encoded["message"].as_str().unwrap().to_string();
    let sent = cli(&[
        "contract", "command", token, "--from", "alice", "--msg", &hex_msg,
    ]);
    assert_eq!(sent["ok"], true, "{sent}");
}

#[test]
fn hardware_enclaves_refuse_clearly_where_they_cannot_run() {
    let data = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(data.path(), "200ms");
    let samples = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/attestation/tests/samples"
    );
    let collateral = format!("{samples}/sgx_quote_collateral.json");

    // SGX outside Gramine: no sealing key, and the error says where it looked.
    let worker_dir = tempfile::tempdir().unwrap();
    let nowhere = tempfile::tempdir().unwrap();
    let base = |dir: &std::path::Path, attestation: &std::path::Path| {
        vec![
            "worker".to_string(),
            "--node".into(),
            node.url.clone(),
            "--data-dir".into(),
            dir.to_str().unwrap().into(),
            "--rpc-addr".into(),
            "127.0.0.1:0".into(),
            "--tee".into(),
            "sgx".into(),
            "--attestation-dir".into(),
            attestation.to_str().unwrap().into(),
            "--collateral".into(),
            collateral.clone(),
            "--chain-id".into(),
            phalanx_testkit::dev_chain_id(),
        ]
    };
    let args = base(worker_dir.path(), nowhere.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let message = failure(&args);
    assert!(message.contains("SGX sealing key"), "{message}");

    // SGX "inside Gramine" (its files imitated) with a real quote made for other keys: the chain
    // verifies it and refuses the registration; nothing is registered.
    let gramine = tempfile::tempdir().unwrap();
    std::fs::create_dir(gramine.path().join("keys")).unwrap();
    std::fs::write(gramine.path().join("keys/_sgx_mrenclave"), [7u8; 16]).unwrap();
    std::fs::copy(format!("{samples}/sgx_quote"), gramine.path().join("quote")).unwrap();
    let args = base(worker_dir.path(), gramine.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let message = failure(&args);
    assert!(message.contains("attestation"), "{message}");
    assert_eq!(
        std::fs::read(gramine.path().join("user_report_data"))
            .unwrap()
            .len(),
        64,
        "the worker asked Gramine for a quote over its report data"
    );

    // TDX outside a TD: no configfs-tsm to quote with, said plainly.
    let tsm = nowhere.path().join("tsm");
    let chain_id = phalanx_testkit::dev_chain_id();
    let args = [
        "worker",
        "--node",
        &node.url,
        "--data-dir",
        worker_dir.path().to_str().unwrap(),
        "--tee",
        "tdx",
        "--tsm-dir",
        tsm.to_str().unwrap(),
        "--collateral",
        &collateral,
        "--chain-id",
        &chain_id,
    ];
    let message = failure(&args);
    assert!(message.contains("configfs-tsm"), "{message}");
    // And --collateral is required for hardware enclaves.
    let message = failure(&["worker", "--data-dir", "/tmp/x", "--tee", "sgx"]);
    assert!(message.contains("--collateral"), "{message}");
}
