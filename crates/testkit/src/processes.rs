//! The real `phalanx` binary as child processes on loopback: a node, workers and gatekeepers, a
//! whole devnet, and one-shot CLI calls.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The `phalanx` binary: `PHALANX_BIN` if set, else the one cargo built beside the running test
/// or benchmark (`target/<profile>/phalanx`; cargo builds a package's binaries before its tests
/// and benches run). Two checkouts sharing one `CARGO_TARGET_DIR` overwrite each other's
/// binary there: give each its own target directory, or set `PHALANX_BIN`.
pub fn phalanx_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PHALANX_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/<test>-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("tests run from target/<profile>/deps");
    let binary = profile_dir.join(format!("phalanx{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} does not exist: run the tests of the `phalanx` package, or set PHALANX_BIN",
        binary.display()
    );
    binary
}

/// A `phalanx node` child process; killed with SIGKILL when dropped.
pub struct NodeProcess {
    pub child: Child,
    pub url: String,
}

/// The log filter of the processes started here: `PHALANX_CHILD_LOG` if set (to look inside a
/// test or a benchmark, e.g. `phalanx_node=debug`), else warnings only.
fn child_log() -> String {
    std::env::var("PHALANX_CHILD_LOG").unwrap_or_else(|_| "warn".into())
}

/// Spawns `phalanx ARGS`, drains its stderr, and returns once it printed a line starting with
/// `announce`; gives the rest of that line.
fn spawn_announcing(args: &[&str], announce: &'static str) -> (Child, String) {
    let mut child = Command::new(phalanx_binary())
        .args(args)
        .env("RUST_LOG", child_log())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start phalanx");
    // Keep draining stderr so the child never blocks on a full pipe.
    let stderr = child.stderr.take().expect("stderr is piped");
    let label = args[0].to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix(announce) {
                let _ = tx.send(rest.to_string());
            } else if !line.trim().is_empty() {
                eprintln!("[{}] {line}", label);
            }
        }
    });
    let rest = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("`phalanx {}` did not start", args[0]));
    (child, rest)
}

impl NodeProcess {
    /// Starts a dev node on a free loopback port and waits until it serves RPC.
    pub fn start(data_dir: &Path, block_time: &str) -> NodeProcess {
        Self::start_at(data_dir, block_time, "127.0.0.1:0")
    }

    /// Serving RPC on `rpc_addr` (a restart on the same address, for workers that follow it).
    pub fn start_at(data_dir: &Path, block_time: &str, rpc_addr: &str) -> NodeProcess {
        Self::start_with(data_dir, block_time, rpc_addr, &[])
    }

    /// With `extra` arguments, e.g. `["--metrics-addr", "127.0.0.1:9615"]`.
    pub fn start_with(
        data_dir: &Path,
        block_time: &str,
        rpc_addr: &str,
        extra: &[&str],
    ) -> NodeProcess {
        let dir = data_dir.to_str().expect("utf-8 path");
        let mut args = vec![
            "node",
            "--dev",
            "--rpc-addr",
            rpc_addr,
            "--block-time",
            block_time,
            "--data-dir",
            dir,
        ];
        args.extend_from_slice(extra);
        Self::spawn(&args)
    }

    /// A full node that does not vote, following the chain of the node at `upstream`: the dev
    /// chain's, or the one `genesis` describes.
    pub fn follow(data_dir: &Path, genesis: Option<&Path>, upstream: &str) -> NodeProcess {
        let dir = data_dir.to_str().expect("utf-8 path");
        let mut args = vec!["node", "--follow", upstream, "--data-dir", dir];
        args.extend(["--rpc-addr", "127.0.0.1:0"]);
        match genesis {
            Some(path) => args.extend(["--genesis", path.to_str().expect("utf-8 path")]),
            None => args.push("--dev"),
        }
        Self::spawn(&args)
    }

    /// A validator of a chain of many (`--genesis`, `--validator-key`, `--p2p-addr`), one the
    /// genesis may not name (governance adds it later).
    pub fn validator(
        data_dir: &Path,
        genesis: &Path,
        key_file: &Path,
        p2p_addr: &str,
        block_time: &str,
    ) -> NodeProcess {
        let path = |p: &Path| p.to_str().expect("utf-8 path").to_string();
        let (dir, genesis, key) = (path(data_dir), path(genesis), path(key_file));
        Self::spawn(&[
            "node",
            "--genesis",
            &genesis,
            "--validator-key",
            &key,
            "--p2p-addr",
            p2p_addr,
            "--data-dir",
            &dir,
            "--rpc-addr",
            "127.0.0.1:0",
            "--block-time",
            block_time,
        ])
    }

    /// Runs `phalanx ARGS` (a `node` command) and waits until it serves RPC.
    fn spawn(args: &[&str]) -> NodeProcess {
        let (child, rest) = spawn_announcing(args, "phalanx node: JSON-RPC on ");
        let url = rest
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        NodeProcess { child, url }
    }

    /// Kills the process with SIGKILL: no chance to flush or clean up.
    pub fn kill_9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// Runs the `phalanx` CLI and returns its output.
pub fn phalanx(args: &[&str]) -> Output {
    Command::new(phalanx_binary())
        .args(args)
        .output()
        .expect("run phalanx")
}

/// Runs `phalanx --json --rpc RPC ARGS`, asserts it succeeded, and returns the JSON it printed.
pub fn cli_json(rpc: &str, args: &[&str]) -> serde_json::Value {
    let mut full = vec!["--json", "--rpc", rpc];
    full.extend_from_slice(args);
    let out = phalanx(&full);
    assert!(
        out.status.success(),
        "phalanx {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("phalanx {args:?} printed no JSON: {e}"))
}

/// The id of the chain every `phalanx node --dev` runs (its genesis is fixed).
pub fn dev_chain_id() -> String {
    phalanx_runtime::genesis::dev_config().hash().to_string()
}

/// A `phalanx worker` child process; killed with SIGKILL when dropped.
pub struct WorkerProcess {
    pub child: Child,
    pub identity: String,
    pub url: String,
}

impl WorkerProcess {
    pub fn start(node_url: &str, data_dir: &Path) -> WorkerProcess {
        Self::start_as("worker", node_url, data_dir)
    }

    /// `role` is `worker` or `gatekeeper`.
    pub fn start_as(role: &'static str, node_url: &str, data_dir: &Path) -> WorkerProcess {
        Self::start_at(role, node_url, data_dir, "127.0.0.1:0")
    }

    /// Serving its RPC on `rpc_addr`.
    pub fn start_at(
        role: &'static str,
        node_url: &str,
        data_dir: &Path,
        rpc_addr: &str,
    ) -> WorkerProcess {
        Self::start_with(role, node_url, data_dir, rpc_addr, &[])
    }

    /// With `extra` arguments, e.g. `["--checkpoint-every", "5"]`.
    pub fn start_with(
        role: &'static str,
        node_url: &str,
        data_dir: &Path,
        rpc_addr: &str,
        extra: &[&str],
    ) -> WorkerProcess {
        let dir = data_dir.to_str().expect("utf-8 path");
        let mut args = vec![
            role,
            "--node",
            node_url,
            "--data-dir",
            dir,
            "--rpc-addr",
            rpc_addr,
            "--operator",
            "charlie",
        ];
        args.extend_from_slice(extra);
        // Every enclave is pinned to its chain at its first start: the dev chain unless told.
        let chain_id = dev_chain_id();
        if !extra
            .iter()
            .any(|a| *a == "--chain-id" || *a == "--genesis")
        {
            args.extend_from_slice(&["--chain-id", &chain_id]);
        }
        let announce = if role == "gatekeeper" {
            "phalanx gatekeeper: identity "
        } else {
            "phalanx worker: identity "
        };
        let (child, rest) = spawn_announcing(&args, announce);
        // "<identity>, JSON-RPC on <url>"
        let (identity, url) = rest
            .split_once(", JSON-RPC on ")
            .expect("worker announcement");
        WorkerProcess {
            child,
            identity: identity.to_string(),
            url: url.trim().to_string(),
        }
    }

    pub fn kill_9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// A `phalanx --json devnet` child and the summary it printed; stopped with SIGTERM on drop.
pub struct DevnetProcess {
    pub child: Child,
    pub summary: serde_json::Value,
}

impl DevnetProcess {
    /// Starts a devnet on free ports and waits for its summary (printed once it is deployed).
    pub fn start(block_time: &str) -> DevnetProcess {
        Self::start_with(block_time, &[])
    }

    /// With `extra` devnet arguments, e.g. `["--validators", "4"]`.
    pub fn start_with(block_time: &str, extra: &[&str]) -> DevnetProcess {
        let mut child = Command::new(phalanx_binary())
            .args([
                "--json",
                "devnet",
                "--rpc-addr",
                "127.0.0.1:0",
                "--block-time",
                block_time,
            ])
            .args(extra)
            .env("RUST_LOG", child_log())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start phalanx devnet");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout is piped"))
            .read_line(&mut line)
            .expect("devnet summary");
        let summary =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("devnet printed `{line}`: {e}"));
        DevnetProcess { child, summary }
    }

    /// The RPC URLs the summary lists under `key` (`"workers"`, `"validators"`), in order.
    pub fn rpc_urls(&self, key: &str) -> Vec<String> {
        self.summary[key]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| e["rpc_http"].as_str().expect("an rpc_http").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The address of the example contract the devnet deployed as `name`.
    pub fn contract(&self, name: &str) -> phalanx_primitives::AccountId {
        self.summary["contracts"][name]
            .as_str()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no contract {name} in {}", self.summary))
    }

    /// Sends SIGTERM (with the `kill` command, no libc binding needed) and waits for the exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().expect("wait for devnet")
    }
}

impl Drop for DevnetProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.terminate();
        }
    }
}
