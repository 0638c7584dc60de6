//! `phalanx devnet`: a whole local network in one process — a node, a gatekeeper and two workers
//! in one cluster — with the example contracts deployed, the workers computing in a stake pool,
//! and its endpoints printed.

use super::node::{init_logging, run_until_signal};
use super::validators;
use super::Context;
use crate::args::DevnetArgs;
use crate::output::emit;
use anyhow::{anyhow, bail, Context as _, Result};
use parity_scale_codec::Encode;
use phalanx_client::contract::Instantiation;
use phalanx_client::{ClientError, NodeClient, PublicKey, DEFAULT_INCLUSION_TIMEOUT};
use phalanx_crypto::{Keypair, DEV_ACCOUNT_NAMES};
use phalanx_node::{NodeConfig, RunningNode};
use phalanx_primitives::{sha256, AccountId, Call, Hash, SignedTransaction, SudoCall};
use phalanx_worker::{RunningWorker, Tee, WorkerConfig};
use rand_core::OsRng;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

const COUNTER_WASM: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../contracts/counter/counter.wasm"
));
const PRIVATE_TOKEN_WASM: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../contracts/private_token/private_token.wasm"
));
const DATA_MARKET_WASM: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../contracts/data_market/data_market.wasm"
));
/// Gas reserved for each example's instantiation.
const INSTANTIATE_GAS: u64 = 10_000_000;
/// Salt of the examples' instances, so their addresses are the same on every devnet.
const DEVNET_SALT: &[u8] = b"devnet";
/// How long the devnet waits for the gatekeeper to publish a key.
const KEY_TIMEOUT: Duration = Duration::from_secs(60);

/// The dev cluster's id.
pub fn dev_cluster() -> Hash {
    sha256(b"phalanx-devnet-cluster")
}

/// The devnet's n-th service address after the node's: port + n, or any free port if the node's
/// port is 0. So with the default 9944: gatekeeper 9945, workers 9946 and 9947.
fn service_addr(node: SocketAddr, n: u16) -> SocketAddr {
    let port = if node.port() == 0 {
        0
    } else {
        node.port().saturating_add(n)
    };
    SocketAddr::new(node.ip(), port)
}

fn worker_config(node_url: &str, chain_id: Hash, dir: &Path, rpc_addr: SocketAddr) -> WorkerConfig {
    WorkerConfig {
        node_url: node_url.to_string(),
        chain_id: Some(chain_id),
        data_dir: dir.to_path_buf(),
        rpc_addr,
        tee: Tee::Dev,
        operator: Keypair::dev("charlie"),
        public_url: None,
        checkpoint_every: phalanx_worker::DEFAULT_CHECKPOINT_EVERY,
        keep_checkpoints: phalanx_worker::DEFAULT_KEEP_CHECKPOINTS,
        heartbeat_every: phalanx_worker::DEFAULT_HEARTBEAT_EVERY,
        stale_after: phalanx_worker::DEFAULT_STALE_AFTER,
        metrics_addr: None,
    }
}

/// Polls `probe` until it yields a key.
async fn published<F, Fut>(what: &str, probe: F) -> Result<PublicKey>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Option<PublicKey>, ClientError>>,
{
    let deadline = Instant::now() + KEY_TIMEOUT;
    loop {
        if let Some(key) = probe().await? {
            return Ok(key);
        }
        if Instant::now() > deadline {
            bail!("the gatekeeper did not publish the key of {what} in time");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn submit_all(client: &NodeClient, txs: &[SignedTransaction]) -> Result<()> {
    for outcome in client.submit_batch(txs).await? {
        if let Some(error) = outcome.error {
            bail!("devnet setup transaction refused: {}", error.message);
        }
    }
    let last = txs.last().ok_or_else(|| anyhow!("nothing to submit"))?;
    client
        .wait_for_inclusion(last.hash(), DEFAULT_INCLUSION_TIMEOUT)
        .await?;
    Ok(())
}

/// The example contracts a devnet runs, all instantiated by alice.
struct Examples {
    counter: AccountId,
    private_token: AccountId,
    data_market: AccountId,
}

/// Creates the dev cluster and deploys the examples.
async fn deploy(client: &NodeClient, workers: Vec<AccountId>) -> Result<Examples> {
    let alice = Keypair::dev("alice");
    let cluster = dev_cluster();
    let mut nonce = client.next_nonce(alice.account_id()).await?;
    let mut next = |call| {
        nonce += 1;
        client.sign(&alice, nonce - 1, call)
    };
    submit_all(
        client,
        &[next(Call::Sudo(SudoCall::CreateCluster {
            cluster,
            workers,
        }))],
    )
    .await?;
    let cluster_key = published("the dev cluster", || client.cluster_key(cluster)).await?;

    let counter_init = counter::Init { start: 0 }.encode();
    let token_init = private_token::Init {
        name: "Secret Token".into(),
        symbol: "SCRT".into(),
        initial_supply: 1_000_000,
        pha_backed: false,
    }
    .encode();
    let mut txs = Vec::new();
    let mut contracts = Vec::new();
    let [counter_metadata, token_metadata, market_metadata] = super::messages::BUILT_IN;
    for (code, metadata, init) in [
        (COUNTER_WASM, counter_metadata, counter_init),
        (PRIVATE_TOKEN_WASM, token_metadata, token_init),
        (
            DATA_MARKET_WASM,
            market_metadata,
            data_market::Init {}.encode(),
        ),
    ] {
        let (contract, instantiate) = Instantiation {
            code_hash: sha256(code),
            cluster,
            cluster_key,
            salt: DEVNET_SALT,
            init: &init,
            gas_limit: INSTANTIATE_GAS,
        }
        .call(client.info().chain_id, alice.account_id(), &mut OsRng)?;
        txs.push(next(Call::UploadCode {
            code: code.to_vec(),
        }));
        // So clients find and trust the schema the CLI has built in.
        txs.push(next(Call::RecordMetadata {
            code_hash: sha256(code),
            metadata_hash: phalanx_client::metadata::Metadata::from_json(metadata)?.hash(),
        }));
        txs.push(next(instantiate));
        contracts.push(contract);
    }
    submit_all(client, &txs).await?;
    for contract in &contracts {
        published(&format!("contract {contract}"), || {
            client.contract_key(*contract)
        })
        .await?;
    }
    Ok(Examples {
        counter: contracts[0],
        private_token: contracts[1],
        data_market: contracts[2],
    })
}

/// PHA charlie and bob stake in the devnet's pool.
const DEVNET_STAKE_PHA: u128 = 3_000;

/// Puts the workers to work: charlie (their operator) creates a pool with a 10% commission,
/// charlie and bob stake in it, and charlie binds the workers and starts them computing (each
/// backed by one deposit's worth) once each has reported its benchmark. Returns the pool's id.
async fn stake(client: &NodeClient, workers: &[AccountId]) -> Result<u64> {
    use phalanx_client::api::NodeApiClient;
    use phalanx_primitives::amount::UNIT;
    let (charlie, bob) = (Keypair::dev("charlie"), Keypair::dev("bob"));
    let pool = client.rpc().pools().await?.len() as u64;
    let amount = DEVNET_STAKE_PHA * UNIT;
    let nonce = client.next_nonce(charlie.account_id()).await?;
    let mut txs = vec![
        client.sign(
            &charlie,
            nonce,
            Call::CreatePool {
                commission_percent: 10,
            },
        ),
        client.sign(&charlie, nonce + 1, Call::Deposit { pool, amount }),
    ];
    for (worker, n) in workers.iter().zip(nonce + 2..) {
        txs.push(client.sign(
            &charlie,
            n,
            Call::BindWorker {
                pool,
                worker: *worker,
            },
        ));
    }
    let bob_nonce = client.next_nonce(bob.account_id()).await?;
    txs.push(client.sign(&bob, bob_nonce, Call::Deposit { pool, amount }));
    submit_all(client, &txs).await?;

    let deadline = Instant::now() + KEY_TIMEOUT;
    while client
        .rpc()
        .economy_workers()
        .await?
        .iter()
        .any(|w| workers.contains(&w.identity) && w.benchmark.is_none())
    {
        if Instant::now() > deadline {
            bail!("the workers did not report their benchmarks in time");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let nonce = client.next_nonce(charlie.account_id()).await?;
    let starts: Vec<_> = workers
        .iter()
        .zip(nonce..)
        .map(|(worker, n)| {
            // Two deposits, one for each of the two workers.
            let stake = amount;
            client.sign(
                &charlie,
                n,
                Call::StartComputing {
                    worker: *worker,
                    stake,
                },
            )
        })
        .collect();
    submit_all(client, &starts).await?;
    Ok(pool)
}

pub async fn run_devnet(ctx: &Context, args: DevnetArgs) -> Result<()> {
    init_logging();
    // With no --data-dir the network lives in a temporary directory removed on exit.
    let temporary = match args.data_dir {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("phalanx-devnet-")
                .tempdir()?,
        ),
    };
    let data_dir = match (&args.data_dir, &temporary) {
        (Some(dir), _) => dir.clone(),
        (None, Some(temp)) => temp.path().to_path_buf(),
        (None, None) => unreachable!("one of the two is set"),
    };
    let mut config = NodeConfig::dev(data_dir.join("node"), args.rpc_addr);
    config.block_time = args.block_time;
    let mut planned = Vec::new();
    let mut genesis_path = None;
    if args.validators > 1 {
        let (genesis, plan) = validators::plan(&data_dir, args.rpc_addr, args.validators.into())?;
        genesis_path = Some(validators::write_files(&data_dir, &genesis, &plan)?);
        config.data_dir = plan[0].dir.join("node");
        config.validator = plan[0].key.clone();
        config.network = Some(validators::network(&genesis, &plan, &plan[0]));
        config.genesis = genesis;
        planned = plan;
    }
    let chain_id = config.genesis.hash();
    let node = RunningNode::start(config).await?;
    let others = match &genesis_path {
        Some(path) => validators::spawn(path, &planned, args.block_time).await?,
        None => Vec::new(),
    };
    let validator_views: Vec<_> = planned
        .iter()
        .take(1)
        .map(|p| serde_json::json!({ "account": p.key.account_id(), "rpc_http": format!("http://{}", node.rpc_addr()), "p2p": p.p2p, "data_dir": p.dir, "in_devnet_process": true }))
        .chain(others.iter().map(|c| serde_json::json!({ "account": c.account, "rpc_http": format!("http://{}", c.rpc), "p2p": c.p2p, "data_dir": c.dir, "pid": c.process.id(), "command": c.command })))
        .collect();
    let addr = node.rpc_addr();
    let url = format!("http://{addr}");

    let gatekeeper = phalanx_gatekeeper::start_gatekeeper(worker_config(
        &url,
        chain_id,
        &data_dir.join("gatekeeper"),
        service_addr(args.rpc_addr, 1),
    ))
    .await
    .context("starting the gatekeeper")?;
    let mut workers: Vec<RunningWorker> = Vec::new();
    for i in 1..=2 {
        let worker = phalanx_worker::start(worker_config(
            &url,
            chain_id,
            &data_dir.join(format!("worker-{i}")),
            service_addr(args.rpc_addr, 1 + i),
        ))
        .await
        .context("starting a worker")?;
        workers.push(worker);
    }
    let client = NodeClient::connect(&url).await?;
    let Examples {
        counter,
        private_token,
        data_market,
    } = deploy(&client, workers.iter().map(|w| w.identity).collect()).await?;
    let identities: Vec<AccountId> = workers.iter().map(|w| w.identity).collect();
    let pool = stake(&client, &identities)
        .await
        .context("staking the workers")?;

    let accounts: Vec<_> = DEV_ACCOUNT_NAMES
        .iter()
        .map(|name| serde_json::json!({ "name": name, "account": Keypair::dev(name).account_id() }))
        .collect();
    let worker_views: Vec<_> =
        workers.iter().map(|w| serde_json::json!({ "identity": w.identity, "rpc_http": format!("http://{}", w.rpc_addr) })).collect();
    let summary = serde_json::json!({
        "chain_id": chain_id,
        "data_dir": data_dir,
        "node": { "rpc_http": url, "rpc_ws": format!("ws://{addr}") },
        "gatekeeper": { "identity": gatekeeper.identity, "rpc_http": format!("http://{}", gatekeeper.rpc_addr) },
        "workers": worker_views,
        "validators": validator_views,
        "genesis": genesis_path,
        "cluster": dev_cluster(),
        "contracts": { "counter": counter, "private_token": private_token, "data_market": data_market },
        "pool": pool,
        "accounts": accounts,
    });
    emit(ctx.json, &summary, || {
        let temporary_note = if temporary.is_some() {
            " (temporary)"
        } else {
            ""
        };
        let mut lines = vec![
            "Phalanx devnet is running (Ctrl-C to stop)".to_string(),
            format!("  chain id       {chain_id}"),
            format!("  data dir       {}{temporary_note}", data_dir.display()),
            format!("  node RPC       http://{addr}  ws://{addr}"),
            format!(
                "  gatekeeper     {}  http://{}",
                gatekeeper.identity, gatekeeper.rpc_addr
            ),
        ];
        lines.extend(
            workers
                .iter()
                .map(|w| format!("  worker         {}  http://{}", w.identity, w.rpc_addr)),
        );
        for view in &validator_views {
            lines.push(format!(
                "  validator      {}  {}  p2p {}",
                view["account"].as_str().unwrap_or_default(),
                view["rpc_http"].as_str().unwrap_or_default(),
                view["p2p"].as_str().unwrap_or_default()
            ));
        }
        lines.push(format!("  cluster        {}", dev_cluster()));
        lines.push(format!("  counter        {counter}"));
        lines.push(format!(
            "  private_token  {private_token} (1,000,000 SCRT held by alice)"
        ));
        lines.push(format!("  data_market    {data_market} (owned by alice)"));
        lines.push(format!(
            "  stake pool     {pool} (charlie's, 10% commission; both workers computing)"
        ));
        lines.push("  dev accounts (1,000,000 PHA each):".to_string());
        lines.extend(
            DEV_ACCOUNT_NAMES
                .iter()
                .map(|n| format!("    {n:<8} {}", Keypair::dev(n).account_id())),
        );
        lines.push(format!(
            "  try: phalanx --rpc http://{addr} transfer --from alice --to bob --amount 12.5"
        ));
        lines.join("\n")
    })?;
    let result = run_until_signal(node).await;
    drop(others);
    gatekeeper.stop().await;
    for worker in workers {
        worker.stop().await;
    }
    result
}
