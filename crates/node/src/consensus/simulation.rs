//! Deterministic simulations of many validators: commonware's deterministic runtime (one
//! thread, a seeded scheduler and clock) and its simulated network (latency, jitter, loss,
//! partitions), with the real ledger, storage and engine of each validator. A seed replays
//! exactly, so a failure here is reproducible from the seed it prints.

use super::block::Proposal;
use super::engine::{self, channel, Channels, EngineConfig, MAX_MESSAGE_BYTES};
use super::ledger::Ledger;
use super::network::private_key;
use crate::running::Shared;
use commonware_cryptography::{ed25519, Signer as _};
use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_runtime::{deterministic, Clock, Quota, Runner, Supervisor as _};
use commonware_utils::{ordered::Set, NZUsize, NZU32};
use phalanx_crypto::{verify_finalized, Keypair};
use phalanx_primitives::{AccountId, GenesisConfig, Hash};
use phalanx_runtime::genesis;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const QUOTA: Quota = Quota::per_second(NZU32!(10_000));

/// The validators of a simulated chain: keys, genesis, data directories.
struct Chain {
    keys: Vec<Keypair>,
    genesis: GenesisConfig,
    dirs: Vec<tempfile::TempDir>,
}

impl Chain {
    fn new(validators: usize) -> Self {
        let keys: Vec<Keypair> = (0..validators)
            .map(|i| Keypair::dev(&format!("sim-validator-{i}")))
            .collect();
        let mut genesis = genesis::dev_config();
        genesis.validators = keys.iter().map(Keypair::account_id).collect();
        // The simulated network routes by key; the addresses only satisfy the genesis rules.
        genesis.validator_addresses = (0..validators)
            .map(|i| format!("127.0.0.1:{}", 1000 + i))
            .collect();
        // The simulated clock starts at the Unix epoch.
        genesis.timestamp_ms = 0;
        let dirs = (0..validators)
            .map(|_| tempfile::tempdir().expect("a temporary directory"))
            .collect();
        Chain {
            keys,
            genesis,
            dirs,
        }
    }

    fn public(&self, i: usize) -> ed25519::PublicKey {
        private_key(&self.keys[i]).public_key()
    }

    fn participants(&self) -> Set<ed25519::PublicKey> {
        Set::from_iter_dedup((0..self.keys.len()).map(|i| self.public(i)))
    }

    fn validators(&self) -> Vec<AccountId> {
        self.genesis.validators.clone()
    }
}

/// A running validator: its shared ledger state and the handle of its consensus.
struct Validator {
    shared: Arc<Shared>,
    // Held so the validator runs for the whole test.
    _consensus: commonware_runtime::Handle<Result<(), crate::running::NodeError>>,
}

async fn start_validator(
    context: &deterministic::Context,
    oracle: &Oracle<ed25519::PublicKey, deterministic::Context>,
    chain: &Chain,
    i: usize,
) -> Validator {
    let (shared, _) = Shared::open(&chain.genesis, chain.dirs[i].path(), 10_000)
        .expect("the validator's database opens");
    let shared = Arc::new(shared);
    let genesis: Proposal = shared
        .store
        .block(0)
        .expect("reads")
        .expect("genesis is stored")
        .into();
    let control = oracle.control(chain.public(i));
    let register = |n| {
        let control = control.clone();
        async move { control.register(n, QUOTA).await.expect("a free channel") }
    };
    let channels = Channels {
        votes: register(channel::VOTES).await,
        certificates: register(channel::CERTIFICATES).await,
        resolver: register(channel::RESOLVER).await,
        backfill: register(channel::BACKFILL).await,
        blocks: register(channel::BLOCKS).await,
    };
    let ledger = Ledger::new(
        Arc::clone(&shared),
        chain.keys[i].account_id(),
        Duration::from_millis(500),
    );
    let handle = engine::start(
        context.child("validator").with_attribute("index", i),
        ledger,
        EngineConfig {
            signer: private_key(&chain.keys[i]),
            participants: chain.participants(),
            genesis,
            partition: format!("validator-{i}"),
        },
        oracle.manager(),
        control,
        channels,
    )
    .await;
    Validator {
        shared,
        _consensus: handle,
    }
}

async fn network(
    context: &deterministic::Context,
    chain: &Chain,
) -> Oracle<ed25519::PublicKey, deterministic::Context> {
    let peers: Vec<_> = (0..chain.keys.len()).map(|i| chain.public(i)).collect();
    let (network, oracle) = Network::new_with_peers(
        context.child("network"),
        simulated::Config {
            max_size: MAX_MESSAGE_BYTES,
            max_peers_per_set: NZUsize!(peers.len()),
            disconnect_on_block: true,
            tracked_peer_sets: NZUsize!(1),
        },
        peers.clone(),
    )
    .await;
    network.start();
    oracle
}

async fn link_all(
    oracle: &Oracle<ed25519::PublicKey, deterministic::Context>,
    chain: &Chain,
    link: Link,
) {
    for a in 0..chain.keys.len() {
        for b in 0..chain.keys.len() {
            if a != b {
                oracle
                    .add_link(chain.public(a), chain.public(b), link.clone())
                    .await
                    .expect("a new link");
            }
        }
    }
}

fn head(validator: &Validator) -> u64 {
    validator.shared.head.read().expect("not poisoned").height
}

/// Checks the safety invariants over what the validators committed: at each height every
/// validator holds the same block (so the same state root), and its certificate verifies
/// against the genesis validators from the block alone.
fn check_agreement(validators: &[&Validator], chain: &Chain) -> u64 {
    let top = validators.iter().map(|v| head(v)).max().unwrap_or(0);
    let trusted = chain.validators();
    for height in 1..=top {
        let mut seen: BTreeMap<Hash, usize> = BTreeMap::new();
        for validator in validators {
            if let Some(block) = validator.shared.store.block(height).expect("reads") {
                verify_finalized(&block, &trusted)
                    .unwrap_or_else(|e| panic!("block {height} does not verify: {e}"));
                *seen.entry(block.hash()).or_default() += 1;
            }
        }
        assert!(
            seen.len() <= 1,
            "two different blocks final at height {height}: {seen:?}"
        );
    }
    top
}

fn good_link() -> Link {
    Link {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        success_rate: commonware_utils::probability!(1.0),
    }
}

/// Runs `running` of `chain`'s validators (the others crashed before the start) over links of
/// `link` until every running one committed `target` blocks; checks agreement.
fn run(seed: u64, validators: usize, running: usize, link: Link, target: u64) {
    let runner = deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_timeout(Some(Duration::from_secs(1_200))),
    );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    runner.start(|context| async move {
        let chain = Chain::new(validators);
        let oracle = network(&context, &chain).await;
        link_all(&oracle, &chain, link).await;
        let mut started = Vec::new();
        for i in 0..running {
            started.push(start_validator(&context, &oracle, &chain, i).await);
        }
        while started.iter().map(head).min() < Some(target) {
            context.sleep(Duration::from_millis(100)).await;
        }
        let top = check_agreement(&started.iter().collect::<Vec<_>>(), &chain);
        assert!(top >= target, "seed {seed}");
    });
}

#[test]
fn four_validators_finalize_the_same_chain() {
    run(1, 4, 4, good_link(), 10);
}

#[test]
fn three_of_four_keep_finalizing_over_lossy_links_whatever_the_seed() {
    let lossy = Link {
        latency: Duration::from_millis(50),
        jitter: Duration::from_millis(40),
        success_rate: commonware_utils::probability!(0.9),
    };
    for seed in 1..=3 {
        run(seed, 4, 3, lossy.clone(), 8);
    }
}
