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

const EXAMPLES: [&str; 3] = ["counter", "data_market", "private_token"];

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
