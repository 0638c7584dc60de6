//! The committed example contract artifacts are what their sources build to.
//!
//! Each `contracts/NAME/NAME.wasm` sits beside `NAME.toolchain.txt`, the toolchain that built it,
//! and `NAME.metadata.json`, its metadata (which names the artifact's code hash).
//! Where that same toolchain is present, this rebuilds every example with `phalanx contract
//! build` into a fresh directory and requires the bytes to match exactly; where it is not, it
//! says so and checks only that the record matches the artifact. (`.ci/run` installs the Debian
//! toolchain, so CI always rebuilds.)

use phalanx_testkit::phalanx;
use std::path::Path;
use std::process::Command;

const EXAMPLES: [&str; 4] = ["counter", "data_market", "private_token", "sealed_auction"];

fn recorded_rustc(record: &str) -> String {
    record
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("cargo:"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn present_rustc(toolchain: &str) -> Option<String> {
    let rustc = if toolchain == "Debian" {
        "/usr/bin/rustc"
    } else {
        "rustc"
    };
    let out = Command::new(rustc).arg("-vV").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn committed_artifacts_match_a_rebuild() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scratch = tempfile::tempdir().unwrap();
    for name in EXAMPLES {
        let dir = root.join("contracts").join(name);
        let committed = std::fs::read(dir.join(format!("{name}.wasm"))).unwrap();
        let record = std::fs::read_to_string(dir.join(format!("{name}.toolchain.txt"))).unwrap();
        let hash = phalanx_primitives::sha256(&committed);
        assert!(
            record.contains(&format!("sha256: {hash}")),
            "{name}: toolchain record does not describe the committed artifact"
        );
        let metadata = std::fs::read_to_string(dir.join(format!("{name}.metadata.json"))).unwrap();
        let metadata = phalanx_client::metadata::Metadata::from_json(&metadata).unwrap();
        assert_eq!(
            metadata.contract.code_hash, hash,
            "{name}: metadata of other code"
        );

        let toolchain = record
            .lines()
            .next()
            .unwrap()
            .trim_start_matches("toolchain: ")
            .to_string();
        if present_rustc(&toolchain).as_deref() != Some(recorded_rustc(&record).as_str()) {
            eprintln!("skipping the rebuild of {name}: the {toolchain} toolchain it was built with is not here");
            continue;
        }
        let out = scratch.path().join(name);
        let output = phalanx(&[
            "--json",
            "contract",
            "build",
            dir.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--target-dir",
            scratch.path().join("target").to_str().unwrap(),
            "--toolchain",
            &toolchain.to_lowercase(),
        ]);
        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let rebuilt = std::fs::read(out.join(format!("{name}.wasm"))).unwrap();
        assert!(rebuilt == committed, "{name}: rebuilt artifact differs from the committed one ({} vs {} bytes); rebuild with `phalanx contract build contracts/{name}` and commit", rebuilt.len(), committed.len());
        let metadata_file = format!("{name}.metadata.json");
        let rebuilt_metadata = std::fs::read_to_string(out.join(&metadata_file)).unwrap();
        assert_eq!(
            rebuilt_metadata,
            std::fs::read_to_string(dir.join(&metadata_file)).unwrap(),
            "{name}: the rebuilt metadata differs from the committed one; rebuild and commit"
        );
    }
}

/// `phalanx contract new` makes a crate that passes its own tests and builds, outside this
/// workspace and without a lock file, into code the chain accepts with its metadata beside it.
#[test]
fn a_scaffolded_contract_tests_and_builds_on_its_own() {
    let scratch = tempfile::tempdir().unwrap();
    let made = phalanx(&[
        "--json",
        "contract",
        "new",
        "tally",
        "--dir",
        scratch.path().to_str().unwrap(),
    ]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let crate_dir = scratch.path().join("tally");
    assert!(!crate_dir.join("Cargo.lock").exists());
    let tested = Command::new("cargo")
        .args(["test", "--quiet"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", scratch.path().join("native"))
        .output()
        .unwrap();
    assert!(
        tested.status.success(),
        "the scaffold's own tests: {}{}",
        String::from_utf8_lossy(&tested.stdout),
        String::from_utf8_lossy(&tested.stderr)
    );
    let built = phalanx(&["--json", "contract", "build", crate_dir.to_str().unwrap()]);
    if !built.status.success() {
        // `--json` reports an error on stdout, as a JSON object; plain output on stderr.
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&built.stdout),
            String::from_utf8_lossy(&built.stderr)
        );
        assert!(
            said.contains("no toolchain that can build"),
            "the scaffold's build: {said}"
        );
        eprintln!("skipping the scaffold's wasm build: no wasm32 toolchain here");
        return;
    }
    let code = std::fs::read(crate_dir.join("tally.wasm")).unwrap();
    phalanx_vm::check_code(&code).expect("the chain's rules accept the code");
    let metadata = std::fs::read_to_string(crate_dir.join("tally.metadata.json")).unwrap();
    let metadata = phalanx_client::metadata::Metadata::from_json(&metadata).unwrap();
    assert_eq!(
        metadata.contract.code_hash,
        phalanx_primitives::sha256(&code)
    );
    let add = serde_json::json!({"add": {"amount": 5}});
    let encoded = metadata
        .encode_message(
            phalanx_client::metadata::MessageKind::Command,
            &add,
            &phalanx_client::metadata::NoNames,
        )
        .unwrap();
    assert_eq!(encoded, vec![0, 5, 0, 0, 0, 0, 0, 0, 0]);
    deploy_as_the_guide_does(&crate_dir, scratch.path());
}

/// docs/writing-contracts.md, section 5, on a devnet: upload (recording the metadata),
/// instantiate, command, query and read the notification, all by JSON.
fn deploy_as_the_guide_does(crate_dir: &Path, scratch: &Path) {
    let devnet = phalanx_testkit::DevnetProcess::start("200ms");
    let rpc = devnet.summary["node"]["rpc_http"]
        .as_str()
        .unwrap()
        .to_string();
    let cluster = devnet.summary["cluster"].as_str().unwrap().to_string();
    // A fresh keystore: the metadata copy `upload` keeps must not come from elsewhere.
    let keystore = scratch.join("keystore");
    let cli = |args: &[&str]| {
        let mut full = vec!["--keystore", keystore.to_str().unwrap()];
        full.extend_from_slice(args);
        phalanx_testkit::cli_json(&rpc, &full)
    };
    let wasm = crate_dir.join("tally.wasm");
    let uploaded = cli(&[
        "contract",
        "upload",
        wasm.to_str().unwrap(),
        "--from",
        "alice",
    ]);
    assert!(uploaded["metadata_hash"].is_string(), "{uploaded}");
    let code_hash = uploaded["code_hash"].as_str().unwrap();
    let made = cli(&[
        "contract",
        "instantiate",
        code_hash,
        "--cluster",
        &cluster,
        "--from",
        "alice",
        "--json-msg",
        r#"{"max_add":100}"#,
    ]);
    let tally = made["contract"].as_str().unwrap();
    let added = cli(&[
        "contract",
        "command",
        tally,
        "--from",
        "bob",
        "--json-msg",
        r#"{"add":{"amount":5}}"#,
    ]);
    assert_eq!(added["result"], 5, "{added}");
    assert_eq!(
        added["events"][0]["decoded"],
        serde_json::json!({"amount": 5, "tally": 5})
    );
    let read = cli(&[
        "contract",
        "query",
        tally,
        "--from",
        "bob",
        "--json-msg",
        r#"{"tally_of":{"account":"bob"}}"#,
    ]);
    assert_eq!(read["result"], 5, "{read}");
    let notes = cli(&["contract", "events", tally, "--from", "bob"]);
    assert_eq!(notes["notifications"][0]["decoded"]["tally"], 5, "{notes}");
    // The guide's two refusals, word for word.
    let refused = |json_msg: &str| {
        let out = phalanx(&[
            "--keystore",
            keystore.to_str().unwrap(),
            "--rpc",
            &rpc,
            "contract",
            "command",
            tally,
            "--from",
            "bob",
            "--json-msg",
            json_msg,
        ]);
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let said = refused(r#"{"add":{"amount":"five"}}"#);
    assert!(
        said.contains(r#"at `command.add.amount`: expected a u64 integer, found "five""#),
        "{said}"
    );
    let said = refused(r#"{"ad":{}}"#);
    assert!(
        said.contains("at `command`: unknown `ad`: expected Command (one of: add)"),
        "{said}"
    );
}
