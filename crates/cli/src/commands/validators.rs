//! `phalanx devnet --validators N`: a dev chain of N validators on loopback. The devnet process
//! runs validator 0 itself (the node its workers and the CLI talk to); validators 1..N are
//! child `phalanx node` processes, each with its own data directory, key file and ports, so
//! that any of them can be killed and restarted with the command the devnet prints.

use anyhow::{Context as _, Result};
use phalanx_crypto::Keypair;
use phalanx_node::consensus::network::ValidatorNetwork;
use phalanx_primitives::{AccountId, GenesisConfig};
use phalanx_runtime::genesis;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the devnet waits for a child validator's RPC to answer.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The dev key of validator `i` of a many-validator devnet (public: dev chains only).
pub fn dev_validator(i: usize) -> Keypair {
    Keypair::dev(&format!("validator-{i}"))
}

/// One planned validator: its key, where it keeps its data and listens.
pub struct Planned {
    pub key: Keypair,
    pub dir: PathBuf,
    pub rpc: SocketAddr,
    pub p2p: SocketAddr,
}

/// A validator running as a child process (killed when the devnet exits).
pub struct Child {
    pub account: AccountId,
    pub rpc: SocketAddr,
    pub p2p: SocketAddr,
    pub dir: PathBuf,
    pub command: Vec<String>,
    pub process: tokio::process::Child,
}

/// A port on loopback nobody uses now (the devnet must name every address in the genesis
/// before anything listens).
fn free_port(ip: std::net::IpAddr) -> Result<u16> {
    Ok(TcpListener::bind(SocketAddr::new(ip, 0))?
        .local_addr()?
        .port())
}

fn port_or_free(base: SocketAddr, offset: u16) -> Result<SocketAddr> {
    let port = if base.port() == 0 {
        free_port(base.ip())?
    } else {
        base.port().saturating_add(offset)
    };
    Ok(SocketAddr::new(base.ip(), port))
}

/// Plans `n` validators: validator 0 serves RPC at `rpc`, validator i at port + 10 + i; p2p at
/// port + 100 + i (free ports when `rpc`'s port is 0). Returns the genesis naming them.
/// Blocks per consensus epoch of a many-validator devnet: a set change takes effect within
/// `VALIDATOR_SET_DELAY` plus this many blocks.
pub const DEVNET_BLOCKS_PER_EPOCH: u64 = 20;

pub fn plan(data_dir: &Path, rpc: SocketAddr, n: usize) -> Result<(GenesisConfig, Vec<Planned>)> {
    let base = rpc;
    let mut planned = Vec::with_capacity(n);
    for i in 0..n {
        let rpc = if i == 0 {
            rpc
        } else {
            port_or_free(rpc, 10 + i as u16)?
        };
        planned.push(Planned {
            key: dev_validator(i),
            dir: data_dir.join(format!("validator-{i}")),
            rpc,
            p2p: port_or_free(base, 100 + i as u16)?,
        });
    }
    let mut config = genesis::dev_config();
    config.chain_name = format!("phalanx-dev-{n}-validators");
    config.validators = planned.iter().map(|p| p.key.account_id()).collect();
    config.validator_addresses = planned.iter().map(|p| p.p2p.to_string()).collect();
    // Epochs, so that governance (alice is sudo) may change the validators.
    config.blocks_per_epoch = Some(DEVNET_BLOCKS_PER_EPOCH);
    Ok((config, planned))
}

/// The network side of planned validator `p`.
pub fn network(genesis: &GenesisConfig, planned: &[Planned], p: &Planned) -> ValidatorNetwork {
    ValidatorNetwork {
        listen: p.p2p,
        peers: genesis
            .validators
            .iter()
            .copied()
            .zip(planned.iter().map(|q| q.p2p))
            .collect(),
        storage: p.dir.join("node").join("consensus"),
    }
}

/// Writes the genesis file and the validators' key files; returns the genesis path.
pub fn write_files(
    data_dir: &Path,
    genesis: &GenesisConfig,
    planned: &[Planned],
) -> Result<PathBuf> {
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join("genesis.json");
    std::fs::write(&path, serde_json::to_string_pretty(genesis)?)
        .with_context(|| format!("writing {}", path.display()))?;
    for p in planned {
        std::fs::create_dir_all(&p.dir)?;
        std::fs::write(p.dir.join("validator.key"), hex::encode(&p.key.seed()[..]))?;
    }
    Ok(path)
}

/// Starts validators 1.. as child processes and waits until each one's RPC answers.
pub async fn spawn(
    genesis_path: &Path,
    planned: &[Planned],
    block_time: Duration,
) -> Result<Vec<Child>> {
    let exe = std::env::current_exe().context("locating the phalanx binary")?;
    let mut children = Vec::new();
    for p in planned.iter().skip(1) {
        let command: Vec<String> = vec![
            exe.display().to_string(),
            "node".into(),
            "--genesis".into(),
            genesis_path.display().to_string(),
            "--validator-key".into(),
            p.dir.join("validator.key").display().to_string(),
            "--data-dir".into(),
            p.dir.join("node").display().to_string(),
            "--rpc-addr".into(),
            p.rpc.to_string(),
            "--p2p-addr".into(),
            p.p2p.to_string(),
            "--block-time".into(),
            format!("{}ms", block_time.as_millis()),
        ];
        let log = std::fs::File::create(p.dir.join("node.log"))?;
        let process = tokio::process::Command::new(&command[0])
            .args(&command[1..])
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting validator {}", p.key.account_id()))?;
        children.push(Child {
            account: p.key.account_id(),
            rpc: p.rpc,
            p2p: p.p2p,
            dir: p.dir.clone(),
            command,
            process,
        });
    }
    for child in &children {
        let url = format!("http://{}", child.rpc);
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        while phalanx_client::NodeClient::connect(&url).await.is_err() {
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!(
                    "validator {} did not answer at {url}; see {}",
                    child.account,
                    child.dir.join("node.log").display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(children)
}
