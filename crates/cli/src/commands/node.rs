//! `phalanx node`, `phalanx devnet` and `phalanx verify-chain`.

use super::Context;
use crate::args::{NodeArgs, WorkerArgs};
use crate::output::emit;
use anyhow::{bail, Context as _, Result};
use phalanx_crypto::Keypair;
use phalanx_node::consensus::network::ValidatorNetwork;
use phalanx_node::{verify::replay_data_dir, NodeConfig, RunningNode};
use phalanx_primitives::attestation::Role;
use phalanx_primitives::GenesisConfig;
use phalanx_worker::{Tee, WorkerConfig};
use std::path::Path;

pub(super) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,jsonrpsee=warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn read_validator_key(path: &Path) -> Result<Keypair> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading validator key {}", path.display()))?;
    let bytes = hex::decode(text.trim().trim_start_matches("0x"))
        .context("validator key file must hold a hex seed")?;
    let seed: [u8; 32] = bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("validator key must be 32 bytes"))?;
    Ok(Keypair::from_seed(seed))
}

/// Runs until Ctrl-C / SIGTERM (then stops cleanly) or a fatal node error.
pub(super) async fn run_until_signal(mut node: RunningNode) -> Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
        error = node.failed() => return Err(error.into()),
    }
    tracing::info!("stopping");
    node.stop().await?;
    Ok(())
}

/// Reads and checks a genesis file (JSON).
fn read_genesis(path: &Path) -> Result<GenesisConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading genesis {}", path.display()))?;
    let genesis: GenesisConfig = serde_json::from_str(&text)
        .with_context(|| format!("parsing genesis {}", path.display()))?;
    genesis.validate().context("invalid genesis")?;
    Ok(genesis)
}

/// The p2p side of a validator of a chain with many: its listen address and every validator's,
/// from the genesis. `None` for a single-validator chain without `--p2p-addr`.
pub(super) fn validator_network(
    config: &NodeConfig,
    p2p_addr: Option<std::net::SocketAddr>,
) -> Result<Option<ValidatorNetwork>> {
    let genesis = &config.genesis;
    let Some(listen) = p2p_addr else {
        if genesis.validators.len() > 1 {
            bail!(
                "the genesis names {} validators: pass --p2p-addr ADDR to run one of them",
                genesis.validators.len()
            );
        }
        return Ok(None);
    };
    let mut peers = Vec::with_capacity(genesis.validators.len());
    for (validator, address) in genesis.validators.iter().zip(&genesis.validator_addresses) {
        let addr = std::net::ToSocketAddrs::to_socket_addrs(address.as_str())
            .with_context(|| format!("validator {validator}'s address {address}"))?
            .next()
            .ok_or_else(|| {
                anyhow::anyhow!("validator {validator}'s address {address} resolves to nothing")
            })?;
        peers.push((*validator, addr));
    }
    if peers.is_empty() || genesis.validator_addresses.len() != genesis.validators.len() {
        bail!(
            "--p2p-addr needs one address per validator in the genesis (`validator_addresses`): {} validators, {} addresses",
            genesis.validators.len(),
            genesis.validator_addresses.len()
        );
    }
    Ok(Some(ValidatorNetwork {
        listen,
        peers,
        storage: config.data_dir.join("consensus"),
    }))
}

pub async fn run_node(_ctx: &Context, args: NodeArgs) -> Result<()> {
    init_logging();
    let mut config = if args.dev {
        NodeConfig::dev(args.data_dir, args.rpc_addr)
    } else {
        let Some(genesis) = &args.genesis else {
            bail!("pass --dev, or --genesis FILE with --validator-key FILE or --follow URL");
        };
        let genesis = read_genesis(genesis)?;
        let mut config = NodeConfig::dev(args.data_dir, args.rpc_addr);
        config.genesis = genesis;
        match (&args.validator_key, &args.follow) {
            (Some(key), _) => config.validator = read_validator_key(key)?,
            (None, Some(_)) => {}
            (None, None) => bail!("--genesis needs --validator-key FILE, or --follow URL"),
        }
        config
    };
    config.block_time = args.block_time;
    config.metrics_addr = args.metrics_addr;
    if args.follow.is_none() {
        config.network = validator_network(&config, args.p2p_addr)?;
    }
    config.follow = args.follow;
    let config_follow = config.follow.clone();
    let node = RunningNode::start(config).await?;
    let addr = node.rpc_addr();
    if let Some(metrics) = node.metrics_addr() {
        eprintln!("phalanx node: metrics on http://{metrics}/metrics");
    }
    if let Some(upstream) = &config_follow {
        eprintln!("phalanx node: following {upstream} (full node, not voting)");
    }
    eprintln!("phalanx node: JSON-RPC on http://{addr} and ws://{addr}");
    run_until_signal(node).await
}

/// Runs a worker, or a gatekeeper (a worker enclave in the gatekeeper role).
pub async fn run_worker(ctx: &Context, args: WorkerArgs, role: Role) -> Result<()> {
    init_logging();
    let collateral = || args.collateral.clone().unwrap_or_default();
    let tee = match args.tee.as_str() {
        "sgx" => Tee::Sgx {
            attestation_dir: args.attestation_dir.clone(),
            collateral: collateral(),
        },
        "tdx" => Tee::Tdx {
            report_dir: args.tsm_dir.clone(),
            collateral: collateral(),
        },
        _ => Tee::Dev,
    };
    let operator = ctx.keystore.keypair(&args.operator, &ctx.passphrase)?;
    let node_url = args.node.clone();
    let chain_id = match (&args.chain_id, &args.genesis) {
        (Some(id), _) => Some(*id),
        (None, Some(path)) => Some(read_genesis(path)?.hash()),
        (None, None) => None,
    };
    let config = WorkerConfig {
        node_url: args.node,
        chain_id,
        data_dir: args
            .data_dir
            .ok_or_else(|| anyhow::anyhow!("--data-dir is required"))?,
        rpc_addr: args.rpc_addr,
        tee,
        operator,
        public_url: args.public_url,
        checkpoint_every: args.checkpoint_every,
        keep_checkpoints: args.keep_checkpoints,
        heartbeat_every: args.heartbeat_every,
        stale_after: args.stale_after,
        metrics_addr: args.metrics_addr,
    };
    match role {
        Role::Worker => {
            let worker = phalanx_worker::start(config)
                .await
                .context("starting the worker")?;
            serve_until_stopped(worker, "worker", &node_url).await
        }
        Role::Gatekeeper => {
            let gatekeeper = phalanx_gatekeeper::start_gatekeeper(config)
                .await
                .context("starting the gatekeeper")?;
            serve_until_stopped(gatekeeper, "gatekeeper", &node_url).await
        }
    }
}

/// Runs a started enclave process until a signal, or until it fails.
async fn serve_until_stopped<E>(
    mut enclave: phalanx_worker::Running<E>,
    name: &str,
    node_url: &str,
) -> Result<()>
where
    E: From<phalanx_worker::WorkerError> + std::error::Error + Send + Sync + 'static,
{
    if let Some(metrics) = enclave.metrics_addr {
        eprintln!("phalanx {name}: metrics on http://{metrics}/metrics");
    }
    eprintln!(
        "phalanx {name}: identity {}, JSON-RPC on http://{}",
        enclave.identity, enclave.rpc_addr
    );
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let outcome = {
        let progress = super::progress::show_replay_progress(enclave.status(), node_url);
        tokio::pin!(progress);
        tokio::select! {
            _ = tokio::signal::ctrl_c() => Ok(()),
            _ = terminate.recv() => Ok(()),
            _ = &mut progress => Ok(()),
            error = enclave.failed() => Err(error),
        }
    };
    outcome?;
    enclave.stop().await;
    Ok(())
}

pub fn verify_chain(ctx: &Context, data_dir: &Path) -> Result<()> {
    let report =
        replay_data_dir(data_dir).with_context(|| format!("verifying {}", data_dir.display()))?;
    let value = serde_json::json!({
        "ok": true,
        "head_height": report.head_height,
        "head_hash": report.head_hash,
        "state_root": report.state_root,
        "transactions": report.transactions,
        "state_entries": report.state_entries,
    });
    emit(ctx.json, &value, || {
        format!(
            "ok: replayed {} blocks ({} transactions) from genesis; head {} state root {} matches, {} state entries identical",
            report.head_height, report.transactions, report.head_hash, report.state_root, report.state_entries
        )
    })
}
