//! Helpers for end-to-end tests: run the real `phalanx` binary as child processes on loopback.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const PHALANX: &str = env!("CARGO_BIN_EXE_phalanx");

/// A `phalanx node` child process; killed with SIGKILL when dropped.
pub struct NodeProcess {
    pub child: Child,
    pub url: String,
}

impl NodeProcess {
    /// Starts a dev node on a free loopback port and waits until it serves RPC.
    pub fn start(data_dir: &Path, block_time: &str) -> NodeProcess {
        let mut child = Command::new(PHALANX)
            .args([
                "node",
                "--dev",
                "--rpc-addr",
                "127.0.0.1:0",
                "--block-time",
                block_time,
                "--data-dir",
            ])
            .arg(data_dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start phalanx node");
        // The node announces its address on stderr; keep draining stderr so it never blocks.
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("phalanx node: JSON-RPC on ") {
                    let url = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    let _ = tx.send(url);
                } else if !line.trim().is_empty() {
                    eprintln!("[node] {line}");
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("node did not announce its RPC address");
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
    Command::new(PHALANX)
        .args(args)
        .output()
        .expect("run phalanx")
}
