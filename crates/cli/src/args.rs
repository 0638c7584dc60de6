//! The command-line grammar.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "phalanx",
    version,
    about = "Phalanx: a confidential smart-contract network"
)]
pub struct Cli {
    /// Node JSON-RPC endpoint.
    #[arg(
        long,
        global = true,
        env = "PHALANX_RPC",
        default_value = "http://127.0.0.1:9944"
    )]
    pub rpc: String,
    /// Print one JSON object instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Directory of key files [default: ~/.phalanx].
    #[arg(long, global = true, env = "PHALANX_KEYSTORE")]
    pub keystore: Option<PathBuf>,
    /// File whose first line is the key files' passphrase (else $PHALANX_PASSWORD, else a prompt).
    #[arg(long, global = true)]
    pub password_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a validator node.
    Node(NodeArgs),
    /// Run a confidential worker: registers its enclave, follows and replays finalized blocks.
    /// `phalanx worker status [URL]` shows a running worker's progress instead.
    Worker(WorkerCommandArgs),
    /// Run a gatekeeper: a worker enclave holding the master key, handing out cluster keys.
    Gatekeeper(WorkerArgs),
    /// Run a whole local network in one process and print its endpoints.
    Devnet(DevnetArgs),
    /// Replay a stopped node's data directory from genesis and check every block and the state.
    VerifyChain {
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Manage keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Show an account's balance and nonce.
    Balance {
        /// An address (phx1…), a dev name or a key name.
        account: String,
    },
    /// Send PHA and wait until the transfer is final.
    Transfer {
        /// Key name (or dev name) that signs and pays.
        #[arg(long)]
        from: String,
        /// Address, dev name or key name.
        #[arg(long)]
        to: String,
        /// Amount in PHA, e.g. 12.5
        #[arg(long)]
        amount: String,
    },
    /// Show a verified block (default: the head).
    Block { height: Option<u64> },
    /// Show the head (newest final block header).
    Head,
    /// The chain's identity: name, chain id (what `worker --chain-id` pins), genesis block,
    /// validators, fees.
    Info,
    /// Every validator set of the chain and the heights it certifies (the genesis set first).
    Validators,
    /// Show the events of a block (default: the head).
    Events { height: Option<u64> },
    /// Build and manage contracts.
    #[command(subcommand)]
    Contract(ContractCommand),
    /// Calls of a dev chain's sudo account (alice); other chains decide them by `propose`.
    Sudo {
        /// Key name (or dev name) of the sudo account.
        #[arg(long, global = true, default_value = "alice")]
        from: String,
        #[command(subcommand)]
        call: SudoCommand,
    },
    /// Stake pools: create, deposit, withdraw, bind and start workers, list.
    #[command(subcommand)]
    Pool(PoolCommand),
    /// The mining pool's emission, and what each pool and worker has earned.
    Rewards,
    /// Propose a privileged call to governance (locks the proposal deposit until the vote ends).
    Propose {
        /// Key name (or dev name) that proposes and locks the deposit (before the call).
        #[arg(long)]
        from: String,
        #[command(subcommand)]
        call: SudoCommand,
    },
    /// Vote on an open proposal, locking PHA until its vote ends.
    Vote {
        proposal: u32,
        /// Key name (or dev name) that votes.
        #[arg(long)]
        from: String,
        /// Vote for (default) ...
        #[arg(long, conflicts_with = "nay")]
        aye: bool,
        /// ... or against.
        #[arg(long)]
        nay: bool,
        /// PHA to lock: the vote's weight.
        #[arg(long)]
        amount: String,
    },
    /// Governance proposals: their calls, votes and outcomes.
    Proposals,
    /// Query permits: let another account query a contract on your behalf, for a while.
    #[command(subcommand)]
    Permit(PermitCommand),
}

#[derive(Subcommand, Debug)]
pub enum PermitCommand {
    /// Sign, off chain, a permit letting `--grantee` query `CONTRACT` as `--from` for the
    /// scopes named (the contract decides what each covers: `balance` for private_token,
    /// `read` and `earnings` for data_market); prints it as JSON (keep it in a file).
    Sign {
        contract: String,
        /// The owner: key name (or dev name) that signs the permit.
        #[arg(long)]
        from: String,
        /// Who may query with it (name or address).
        #[arg(long)]
        grantee: String,
        /// A query kind the permit covers (repeat for more).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// How long it holds, in seconds.
        #[arg(long, default_value_t = 24 * 3600)]
        expires_in: u64,
    },
    /// Revoke a permit you signed (a confidential command; workers refuse the permit once its
    /// block is final).
    Revoke {
        /// The permit's JSON file, as `permit sign` printed it.
        file: PathBuf,
        /// The owner who signed it.
        #[arg(long)]
        from: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PoolCommand {
    /// Create a stake pool owned by `--from`.
    Create {
        #[arg(long)]
        from: String,
        /// Percent of the pool's rewards its owner keeps.
        #[arg(long, default_value_t = 10)]
        commission: u8,
    },
    /// Deposit PHA into a pool for shares.
    Deposit {
        pool: u64,
        #[arg(long)]
        from: String,
        /// PHA, e.g. 1500
        #[arg(long)]
        amount: String,
    },
    /// Withdraw shares: paid as PHA after the cool-down, at the share price then.
    Withdraw {
        pool: u64,
        #[arg(long)]
        from: String,
        /// Shares (a decimal like PHA; a first deposit gets one share per PHA).
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        shares: Option<String>,
        /// All of `--from`'s shares in the pool.
        #[arg(long)]
        all: bool,
    },
    /// Bind a worker you operate to your pool.
    Bind {
        pool: u64,
        /// The worker's identity (phx1…).
        #[arg(long)]
        worker: String,
        /// The pool's owner (also the worker's operator).
        #[arg(long)]
        from: String,
    },
    /// Start a bound worker computing, backed by `--stake` of the pool's PHA (at least the
    /// minimum stake; the pool's computing workers together back no more than it holds).
    Start {
        worker: String,
        #[arg(long)]
        from: String,
        /// PHA, e.g. 3000
        #[arg(long)]
        stake: String,
    },
    /// Stop a worker computing.
    Stop {
        worker: String,
        #[arg(long)]
        from: String,
    },
    /// Release a worker that is not computing from your pool (it may then bind elsewhere).
    Unbind {
        worker: String,
        #[arg(long)]
        from: String,
    },
    /// Every pool: owner, commission, stake, shares, workers.
    List,
    /// An account's shares in each pool and its waiting withdrawals.
    Stakes { account: String },
}

/// What a confidential query needs, now or as of a block.
#[derive(Args, Debug)]
pub struct QueryArgs {
    pub contract: String,
    #[arg(long)]
    pub from: String,
    #[command(flatten)]
    pub message: crate::commands::MessageArgs,
    /// Ask this worker instead of those the chain lists.
    #[arg(long)]
    pub worker: Option<String>,
    /// Refuse an answer about the contract's state now that a worker computed more than this
    /// many blocks behind the node's head (a cloned or isolated worker's old state).
    #[arg(long, default_value_t = phalanx_client::contract::DEFAULT_MAX_ANSWER_LAG)]
    pub max_lag: u64,
    /// Ask as the owner of this permit (its JSON file, from `permit sign`), which must name
    /// `--from` as its grantee.
    #[arg(long)]
    pub permit: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum SudoCommand {
    /// Create a cluster (32-byte hex id) of registered workers.
    CreateCluster {
        cluster: String,
        /// A registered worker's identity (phx1…); repeat for more.
        #[arg(long = "worker", required = true)]
        workers: Vec<String>,
    },
    /// Add a registered worker to a cluster; it replays the cluster's history.
    AddToCluster {
        cluster: String,
        #[arg(long)]
        worker: String,
    },
    /// Deregister a worker: it leaves its clusters and gets no key from now on.
    RemoveWorker { worker: String },
    /// Start a new key epoch: gatekeepers publish new cluster and contract keys and send the new
    /// cluster keys to the current members only.
    RotateMasterKey,
    /// Change an economy parameter, e.g. `set-param min_stake 2000` (amounts in PHA).
    SetParam { name: String, value: String },
    /// Pay from the treasury.
    Spend {
        #[arg(long)]
        to: String,
        /// PHA
        #[arg(long)]
        amount: String,
    },
    /// Let a registered gatekeeper enclave act as a gatekeeper (it then receives the master key).
    ElectGatekeeper { identity: String },
    /// Stop a gatekeeper acting as one.
    RemoveGatekeeper { identity: String },
    /// Allow enclaves with this measurement (e.g. sgx:HEX, tdx:HEX, dev:HEX) to register.
    AddMeasurement { measurement: String },
    /// Stop allowing this measurement.
    RemoveMeasurement { measurement: String },
    /// Make these the validators, from the first epoch far enough ahead (chains with epochs
    /// only): each `ACCOUNT@HOST:PORT` (a name or phx1… address, and where its peers reach it).
    /// Name every validator of the new set, the ones that stay too.
    SetValidators {
        #[arg(long = "validator", required = true)]
        validators: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ContractCommand {
    /// Create a contract crate (message enums, a native test, a README) that builds anywhere.
    New {
        /// The crate's name: lowercase letters, digits and `_`.
        name: String,
        /// Where to create it [default: the current directory].
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The SDK to depend on, by path [default: this CLI's checkout's crates/sdk].
        #[arg(long, conflicts_with = "sdk_version")]
        sdk_path: Option<PathBuf>,
        /// The SDK to depend on, by crates.io version.
        #[arg(long)]
        sdk_version: Option<String>,
    },
    /// Build a contract crate into a reproducible .wasm (written beside it unless --out).
    Build {
        /// Directory of the contract crate.
        path: PathBuf,
        /// Where to write NAME.wasm and NAME.toolchain.txt [default: PATH].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Cargo target directory [default: <workspace>/target/contracts].
        #[arg(long)]
        target_dir: Option<PathBuf>,
        /// Force a toolchain route [default: rustup if it has the wasm32 target, else debian].
        #[arg(long, value_enum)]
        toolchain: Option<crate::commands::Toolchain>,
    },
    /// Upload contract code (a .wasm file); prints its code hash. With the metadata beside it
    /// (NAME.metadata.json) or given, records the metadata's hash on chain and keeps a copy
    /// for later commands.
    Upload {
        /// The .wasm file.
        path: PathBuf,
        /// Key name (or dev name) that signs and pays.
        #[arg(long)]
        from: String,
        /// The code's metadata [default: NAME.metadata.json beside the .wasm, if there].
        #[arg(long, conflicts_with = "no_metadata")]
        metadata: Option<PathBuf>,
        /// Upload the code alone, recording no metadata.
        #[arg(long)]
        no_metadata: bool,
    },
    /// Instantiate uploaded code into a cluster; waits for its key and its init's receipt.
    Instantiate {
        /// The code hash (hex) from `contract upload`.
        code_hash: String,
        /// The cluster (hex) whose workers run the contract.
        #[arg(long)]
        cluster: String,
        /// Key name (or dev name) that signs, pays and deploys.
        #[arg(long)]
        from: String,
        /// The init message (`--json-msg`, or hex with `--msg`; none: empty).
        #[command(flatten)]
        message: crate::commands::MessageArgs,
        /// Makes the contract's address unique among instances of the same code by this deployer.
        #[arg(long, default_value = "")]
        salt: String,
        #[arg(long, default_value_t = 10_000_000)]
        gas: u64,
        /// Read the init's receipt from this worker instead of those the chain lists.
        #[arg(long)]
        worker: Option<String>,
    },
    /// Show a contract: code, cluster, key, commands so far, and its workers' endpoints.
    Show { contract: String },
    /// Send a confidential command (encrypted to the contract's key) and wait for its receipt.
    Command {
        contract: String,
        /// Key name (or dev name) that signs, pays and is the caller.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        message: crate::commands::MessageArgs,
        #[arg(long, default_value_t = 10_000_000)]
        gas: u64,
        /// PHA to send with the command into the contract's account (e.g. "2.5"); paid back
        /// if the command fails.
        #[arg(long, default_value = "0")]
        value: String,
        /// Read the receipt from this worker instead of those the chain lists.
        #[arg(long)]
        worker: Option<String>,
    },
    /// Ask a worker a confidential query, signed by `--from`; only the answer's holder can read it.
    Query(QueryArgs),
    /// Ask a confidential query against the contract's state as of an earlier block: the worker
    /// rebuilds that state from its checkpoints and the chain; the contract's own rules decide
    /// who may ask (a private_token balance: its owner only).
    History {
        /// The block height to answer as of.
        #[arg(long)]
        at: u64,
        #[command(flatten)]
        query: QueryArgs,
    },
    /// The events a contract addressed to `--from` (its notifications), read from a worker with
    /// a query signed by `--from`: nobody else can read them.
    Events {
        contract: String,
        /// Key name (or dev name) whose notifications to read; it signs the query.
        #[arg(long)]
        from: String,
        /// The first notification number to show.
        #[arg(long, default_value_t = 0)]
        since: u64,
        /// Keep printing new ones as they come (until Ctrl-C).
        #[arg(long)]
        follow: bool,
        /// Ask this worker instead of those the chain lists.
        #[arg(long)]
        worker: Option<String>,
        /// The contract's metadata, to print events decoded [default: found by code hash].
        #[arg(long)]
        metadata: Option<PathBuf>,
    },
    /// Encode a message as hex: JSON through a contract's metadata (`--json-msg` with
    /// `--metadata FILE`, or a deployed contract's address or name), or the example contracts'
    /// words, e.g. `private-token transfer bob 12`, `private-token balance alice`,
    /// `counter increment 5`.
    Encode {
        /// A deployed contract (address or key name), or `private-token` / `counter` for words.
        contract: Option<String>,
        /// The message and its arguments (words for the examples).
        message: Vec<String>,
        /// The message as JSON (or @FILE), encoded through the metadata.
        #[arg(long)]
        json_msg: Option<String>,
        /// The metadata file to encode by.
        #[arg(long)]
        metadata: Option<PathBuf>,
        /// Which message `--json-msg` is.
        #[arg(long, value_enum, default_value = "command")]
        kind: crate::commands::MessageKindArg,
    },
}

#[derive(Args, Debug)]
pub struct NodeArgs {
    /// Use the built-in dev genesis and the dev validator key.
    #[arg(long, conflicts_with_all = ["genesis", "validator_key"])]
    pub dev: bool,
    /// Genesis file (JSON), for a non-dev chain (with --validator-key, or --follow).
    #[arg(long)]
    pub genesis: Option<PathBuf>,
    /// File holding the validator's 32-byte ed25519 seed as hex, for a non-dev chain.
    #[arg(long)]
    pub validator_key: Option<PathBuf>,
    #[arg(long)]
    pub data_dir: PathBuf,
    #[arg(long, default_value = "127.0.0.1:9944")]
    pub rpc_addr: SocketAddr,
    /// Time between blocks, e.g. 1s or 250ms.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub block_time: Duration,
    /// Serve Prometheus metrics at http://ADDR/metrics (off unless given).
    #[arg(long)]
    pub metrics_addr: Option<SocketAddr>,
    /// Where this validator listens for the other validators (chains of many validators; the
    /// genesis names every validator's address).
    #[arg(long, conflicts_with = "follow")]
    pub p2p_addr: Option<SocketAddr>,
    /// Run a full node that does not vote: follow the finalized chain of the node at this RPC
    /// URL (every block checked against the genesis validators and re-executed here) and
    /// forward submitted transactions to it.
    #[arg(long, conflicts_with = "validator_key")]
    pub follow: Option<String>,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct WorkerCommandArgs {
    #[command(subcommand)]
    pub command: Option<WorkerCommand>,
    #[command(flatten)]
    pub run: WorkerArgs,
}

#[derive(Subcommand, Debug)]
pub enum WorkerCommand {
    /// Every registered worker: operator, pool, V, P, confidence and computing state.
    List,
    /// A running worker's height, lag behind the node, checkpoints, contracts and their digests.
    Status {
        /// The worker's RPC endpoint.
        #[arg(default_value = "http://127.0.0.1:9946")]
        worker: String,
    },
}

#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// The node to follow. It is not trusted: blocks are checked against the pinned genesis.
    #[arg(long, default_value = "http://127.0.0.1:9944")]
    pub node: String,
    /// The chain this enclave belongs to (0x-hex genesis hash, as `phalanx info` prints it):
    /// needed at the first start, recorded in the sealed store, checked at every later start.
    #[arg(long, conflicts_with = "genesis")]
    pub chain_id: Option<phalanx_primitives::Hash>,
    /// The chain's genesis file (JSON), whose hash pins the chain instead of --chain-id.
    #[arg(long)]
    pub genesis: Option<PathBuf>,
    #[arg(long, required = true)]
    pub data_dir: Option<PathBuf>,
    /// Where the worker serves its JSON-RPC (status and confidential queries).
    #[arg(long, default_value = "127.0.0.1:9950")]
    pub rpc_addr: SocketAddr,
    /// The URL clients reach that RPC at, published on chain [default: http://RPC_ADDR].
    #[arg(long)]
    pub public_url: Option<String>,
    /// Write a sealed checkpoint after every this many blocks (0: never).
    #[arg(long, default_value_t = phalanx_worker::DEFAULT_CHECKPOINT_EVERY)]
    pub checkpoint_every: u64,
    /// How many checkpoints to keep; restores and history queries start from them.
    #[arg(long, default_value_t = phalanx_worker::DEFAULT_KEEP_CHECKPOINTS)]
    pub keep_checkpoints: usize,
    /// Report this worker's state digests on chain after every this many blocks (0: never).
    #[arg(long, default_value_t = phalanx_worker::DEFAULT_HEARTBEAT_EVERY)]
    pub heartbeat_every: u64,
    /// Answer queries about state "stale" once no new final block came for this long (a worker
    /// cut off from the chain must not serve what a revoked permit or an expired grant guards).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub stale_after: Duration,
    /// Enclave kind: dev (simulated, insecure), sgx (under Gramine) or tdx.
    #[arg(long, default_value = "dev", value_parser = ["dev", "sgx", "tdx"])]
    pub tee: String,
    /// SGX: Gramine's attestation directory (quotes and the sealing key).
    #[arg(long, default_value = "/dev/attestation")]
    pub attestation_dir: PathBuf,
    /// TDX: the configfs-tsm report directory.
    #[arg(long, default_value = "/sys/kernel/config/tsm/report")]
    pub tsm_dir: PathBuf,
    /// SGX/TDX: the quote collateral (JSON from a PCCS), sent with the quote for the chain to check.
    #[arg(long, required_if_eq_any = [("tee", "sgx"), ("tee", "tdx")])]
    pub collateral: Option<PathBuf>,
    /// Key name (or dev name) of the operator that pays for the registration.
    #[arg(long, default_value = "charlie")]
    pub operator: String,
    /// Serve Prometheus metrics at http://ADDR/metrics (off unless given).
    #[arg(long)]
    pub metrics_addr: Option<SocketAddr>,
}

#[derive(Args, Debug)]
pub struct DevnetArgs {
    /// Where the network keeps its data [default: a fresh temporary directory].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[arg(long, default_value = "127.0.0.1:9944")]
    pub rpc_addr: SocketAddr,
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub block_time: Duration,
    /// Validators of the chain: 1 runs the single dev validator; more run a simplex chain, the
    /// first in this process, the others as child `phalanx node` processes.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub validators: u16,
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Create a key, stored encrypted under a passphrase.
    New { name: String },
    /// List the dev keys and the stored keys.
    List,
    /// Show a key's account.
    Show { name: String },
}

/// Parses `250ms`, `1s`, `1.5s` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("`{text}` is not a duration (e.g. 1s, 250ms)");
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 0.001)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number.parse().map_err(|_| invalid())?;
    if !value.is_finite() || value <= 0.0 || value * scale > 3600.0 {
        return Err(invalid());
    }
    Ok(Duration::from_secs_f64(value * scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn grammar_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
