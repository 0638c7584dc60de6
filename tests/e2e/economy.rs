//! The PHA economy with real processes, driven through the CLI: a node, a gatekeeper mixing
//! challenge randomness, and two workers that run their benchmark and report it. Charlie (their
//! operator) creates a pool, bob and charlie stake, the workers compute and earn; a worker killed
//! with SIGKILL misses its heartbeat challenge and is marked unresponsive while the other keeps
//! answering and earning; a governance proposal pays from the treasury once voted through; bob's
//! withdrawal is paid after the cool-down, with his share of the rewards.

use phalanx_testkit::cli_json as cli;
use phalanx_testkit::{phalanx, NodeProcess, WorkerProcess};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Polls `probe` every 200 ms until it returns Some, for at most `within`.
fn wait_for<T>(what: &str, within: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn worker_entry(rpc: &str, identity: &str) -> Value {
    cli(rpc, &["worker", "list"])
        .as_array()
        .expect("a list")
        .iter()
        .find(|w| w["identity"] == identity)
        .cloned()
        .unwrap_or_else(|| panic!("worker {identity} is not listed"))
}

fn units(value: &Value) -> u128 {
    value
        .as_str()
        .expect("units as a string")
        .parse()
        .expect("units")
}

fn free_units(rpc: &str, who: &str) -> u128 {
    units(&cli(rpc, &["balance", who])["free_units"])
}

#[test]
fn pools_compute_earn_answer_challenges_and_governance_decides() {
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let node = NodeProcess::start(dirs[0].path(), "200ms");
    let rpc = node.url.as_str();
    let _gatekeeper = WorkerProcess::start_as("gatekeeper", rpc, dirs[1].path());
    let steady = WorkerProcess::start(rpc, dirs[2].path());
    let mut doomed = WorkerProcess::start(rpc, dirs[3].path());
    let identities = [steady.identity.clone(), doomed.identity.clone()];
    let workers = [identities[0].as_str(), identities[1].as_str()];

    // Challenge often, with a short window, so that the test sees both outcomes quickly.
    cli(rpc, &["sudo", "set-param", "challenge_one_in_blocks", "4"]);
    cli(rpc, &["sudo", "set-param", "challenge_window_blocks", "5"]);

    cli(
        rpc,
        &["pool", "create", "--from", "charlie", "--commission", "10"],
    );
    for from in ["bob", "charlie"] {
        cli(
            rpc,
            &["pool", "deposit", "0", "--from", from, "--amount", "2000"],
        );
    }
    for worker in workers {
        cli(
            rpc,
            &["pool", "bind", "0", "--worker", worker, "--from", "charlie"],
        );
    }
    // Each worker ran its benchmark in the enclave and reported it in its first heartbeat.
    for worker in workers {
        wait_for("a benchmark", Duration::from_secs(30), || {
            worker_entry(rpc, worker)["benchmark"].as_u64()
        });
    }
    // Below the minimum stake, a worker may not compute.
    let refused = phalanx(&[
        "--rpc", rpc, "pool", "start", workers[0], "--stake", "999", "--from", "charlie",
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("minimum stake"));
    for worker in workers {
        cli(
            rpc,
            &[
                "pool", "start", worker, "--stake", "2000", "--from", "charlie",
            ],
        );
    }
    for worker in workers {
        let entry = worker_entry(rpc, worker);
        assert_eq!(entry["state"], "computing");
        assert_eq!(entry["pool"], 0);
        assert!(
            units(&entry["v_units"]) > 3_000 * 10u128.pow(12),
            "V = 1.5 × (2000 + C)"
        );
        assert!(entry["performance"].as_u64().unwrap() > 0);
        assert_eq!(entry["confidence_percent"], 100);
    }

    // Rewards flow: the mining pool releases, the pool's stake grows, both workers earn.
    let emission = wait_for("rewards", Duration::from_secs(20), || {
        let rewards = cli(rpc, &["rewards"]);
        let earning = rewards["workers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| units(&w["rewards_units"]) > 0)
            .count();
        (earning == 2).then_some(rewards["emission"].clone())
    });
    assert!(units(&emission["emitted_units"]) > 0);

    // The killed worker cannot answer its next challenge: it becomes unresponsive and stops
    // earning; the live one answers every challenge and keeps computing.
    doomed.kill_9();
    wait_for(
        "the killed worker to be unresponsive",
        Duration::from_secs(60),
        || (worker_entry(rpc, workers[1])["state"] == "unresponsive").then_some(()),
    );
    let frozen = units(&worker_entry(rpc, workers[1])["rewards_units"]);
    let before = units(&worker_entry(rpc, workers[0])["rewards_units"]);
    std::thread::sleep(Duration::from_secs(2));
    let live = worker_entry(rpc, workers[0]);
    assert_eq!(
        live["state"], "computing",
        "the live worker answers its challenges"
    );
    assert!(units(&live["rewards_units"]) > before);
    let dead = worker_entry(rpc, workers[1]);
    assert_eq!(
        units(&dead["rewards_units"]),
        frozen,
        "an unresponsive worker earns nothing"
    );

    // Governance: bob proposes paying dave 5 PHA from the treasury; alice and bob vote it through.
    let dave = phalanx_crypto::Keypair::dev("dave")
        .account_id()
        .to_string();
    cli(
        rpc,
        &[
            "propose", "--from", "bob", "spend", "--to", &dave, "--amount", "5",
        ],
    );
    cli(rpc, &["vote", "0", "--from", "alice", "--amount", "60000"]);
    cli(
        rpc,
        &[
            "vote", "0", "--from", "charlie", "--nay", "--amount", "10000",
        ],
    );
    cli(rpc, &["vote", "0", "--from", "bob", "--amount", "50000"]);
    let outcome = wait_for("the proposal's enactment", Duration::from_secs(30), || {
        let proposal = cli(rpc, &["proposals"])[0].clone();
        (proposal["status"] != "voting" && proposal["status"] != "passed").then_some(proposal)
    });
    assert_eq!(outcome["status"], "enacted", "{outcome}");
    assert_eq!(free_units(rpc, &dave), 5 * 10u128.pow(12));

    // Bob withdraws everything; after the cool-down (5 s on dev chains) he is paid his shares'
    // worth, rewards included.
    let bob_before = free_units(rpc, "bob");
    cli(rpc, &["pool", "withdraw", "0", "--from", "bob", "--all"]);
    let stakes = cli(rpc, &["pool", "stakes", "bob"]);
    assert_eq!(stakes["withdrawals"].as_array().unwrap().len(), 1);
    wait_for("the withdrawal", Duration::from_secs(30), || {
        let stakes = cli(rpc, &["pool", "stakes", "bob"]);
        stakes["withdrawals"]
            .as_array()
            .unwrap()
            .is_empty()
            .then_some(())
    });
    // (Less the withdrawal's fee, far below a block's rewards.)
    let paid = free_units(rpc, "bob") - bob_before;
    assert!(
        paid > 2_000 * 10u128.pow(12),
        "bob got back more than his 2,000 PHA: {paid}"
    );
}
