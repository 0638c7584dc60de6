//! Deterministic simulations of many validators: commonware's deterministic runtime (one
//! thread, a seeded scheduler and clock) and its simulated network (latency, jitter, loss,
//! partitions), with the real ledger, storage and engine of each validator. A seed replays
//! exactly, so a failure here is reproducible from the seed it prints.

use super::block::digest_of;
use super::block::Proposal;
use super::engine::{self, channel, Channels, EngineConfig, MAX_MESSAGE_BYTES};
use super::ledger::Ledger;
use super::network::private_key;
use crate::running::Shared;
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::simplex::types::{Finalize, Notarize, Proposal as VoteProposal, Vote};
use commonware_cryptography::certificate::Scheme as _;
use commonware_cryptography::sha256::Digest;
use commonware_cryptography::{ed25519, Signer as _};
use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::Spawner as _;
use commonware_runtime::{deterministic, Clock, Quota, Runner, Supervisor as _};
use commonware_utils::{ordered::Set, NZUsize, NZU32};
use phalanx_crypto::{verify_finalized, Keypair};
use phalanx_primitives::sha256;
use phalanx_primitives::{AccountId, GenesisConfig, Hash};
use phalanx_runtime::genesis;
use std::collections::{BTreeMap, HashSet, VecDeque};
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

type SimChannels = Channels<
    simulated::Sender<ed25519::PublicKey, deterministic::Context>,
    simulated::Receiver<ed25519::PublicKey>,
>;

/// Registers the consensus channels of `peer` on the simulated network.
async fn register_channels(
    oracle: &Oracle<ed25519::PublicKey, deterministic::Context>,
    peer: ed25519::PublicKey,
) -> SimChannels {
    let control = oracle.control(peer);
    let register = |n| {
        let control = control.clone();
        async move { control.register(n, QUOTA).await.expect("a free channel") }
    };
    Channels {
        votes: register(channel::VOTES).await,
        certificates: register(channel::CERTIFICATES).await,
        resolver: register(channel::RESOLVER).await,
        backfill: register(channel::BACKFILL).await,
        blocks: register(channel::BLOCKS).await,
    }
}

/// Starts validator `i` with its real ledger, storage and engine; a `spoil` makes it a
/// Byzantine proposer.
async fn start_validator(
    context: &deterministic::Context,
    oracle: &Oracle<ed25519::PublicKey, deterministic::Context>,
    chain: &Chain,
    i: usize,
    spoil: Option<fn(&mut Proposal)>,
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
    let channels = register_channels(oracle, chain.public(i)).await;
    let mut ledger = Ledger::new(
        Arc::clone(&shared),
        chain.keys[i].account_id(),
        Duration::from_millis(500),
    );
    ledger.spoil_proposals = spoil;
    let handle = engine::start(
        context.child("validator").with_attribute("index", i),
        ledger,
        EngineConfig {
            signer: private_key(&chain.keys[i]),
            genesis,
            partition: format!("validator-{i}"),
        },
        oracle.manager(),
        oracle.control(chain.public(i)),
        channels,
        // The simulated network connects every key it was built with.
        Box::new(|_, _| {}),
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
/// against the validators of its height (the genesis set, then what the chain scheduled) from
/// the block alone.
fn check_agreement(validators: &[&Validator], chain: &Chain) -> u64 {
    let top = validators.iter().map(|v| head(v)).max().unwrap_or(0);
    // The genesis validators, and the sets the chain scheduled since (the same in every store
    // that agrees; a different one would show as a different block below).
    let furthest = validators
        .iter()
        .max_by_key(|v| head(v))
        .expect("a validator");
    let state = furthest.shared.store.state_snapshot().expect("reads");
    let history =
        phalanx_runtime::validators::history(&state, &furthest.shared.params).expect("reads");
    assert_eq!(history.at(0).accounts(), chain.validators());
    for height in 1..=top {
        let trusted = history.at(height).accounts();
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

/// Seeds each scenario runs with: `PHALANX_SIM_SEEDS` of them (8 unless set), so a long run can
/// search further (`PHALANX_SIM_SEEDS=500 cargo test -p phalanx-node --lib simulation`).
fn seeds() -> std::ops::RangeInclusive<u64> {
    let count = std::env::var("PHALANX_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    1..=count
}

/// The deterministic runtime replaying `seed`, with a simulated-time bound on the whole run.
fn seeded_runner(seed: u64) -> deterministic::Runner {
    deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_timeout(Some(Duration::from_secs(1_200))),
    )
}

/// Logs as `RUST_LOG` says, into the test's output.
fn log_to_test_output() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
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
    let runner = seeded_runner(seed);
    log_to_test_output();
    runner.start(|context| async move {
        let chain = Chain::new(validators);
        let oracle = network(&context, &chain).await;
        link_all(&oracle, &chain, link).await;
        let mut started = Vec::new();
        for i in 0..running {
            started.push(start_validator(&context, &oracle, &chain, i, None).await);
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
    for seed in seeds() {
        run(seed, 4, 3, lossy.clone(), 8);
    }
}

/// Blocks per epoch of the epoch scenarios: short, so that a run crosses many.
const SIM_EPOCH: u64 = 8;

/// A validator-set change in a chain of epochs of [`SIM_EPOCH`] blocks: `keys` validators run
/// from the start, the first `genesis` of them named by the genesis; the sudo account makes
/// `after` the set in block 1 or so. Runs until every validator of `after` committed `target`
/// blocks, then checks: all agree; the history in state holds the one change, at an epoch's
/// first height far enough ahead; every block is certified by its own epoch's set (verified
/// from the block alone against that history), which crosses epochs on both sides; from the
/// change on no validator outside `after` signs. Returns the change's first height and the
/// validators, for the scenario's own checks.
fn run_set_change(
    seed: u64,
    keys: usize,
    genesis: usize,
    after: &'static [usize],
    target: u64,
) -> (u64, Vec<Validator>, Chain) {
    use phalanx_primitives::validators::VALIDATOR_SET_DELAY;
    let runner = seeded_runner(seed);
    log_to_test_output();
    runner.start(|context| async move {
        let mut chain = Chain::new(keys);
        chain.genesis.validators.truncate(genesis);
        chain.genesis.validator_addresses.truncate(genesis);
        chain.genesis.blocks_per_epoch = Some(SIM_EPOCH);
        let oracle = network(&context, &chain).await;
        link_all(&oracle, &chain, good_link()).await;
        let mut started = Vec::new();
        for i in 0..keys {
            started.push(start_validator(&context, &oracle, &chain, i, None).await);
        }
        let alice = Keypair::dev("alice");
        let validators = after
            .iter()
            .map(|&i| phalanx_primitives::Validator {
                account: chain.keys[i].account_id(),
                p2p_address: format!("127.0.0.1:{}", 1000 + i),
            })
            .collect();
        let change = phalanx_primitives::Transaction {
            chain_id: chain.genesis.hash(),
            signer: alice.account_id(),
            nonce: 0,
            fee: 100_000_000_000,
            call: phalanx_primitives::Call::Sudo(phalanx_primitives::SudoCall::SetValidators {
                validators,
            }),
        };
        let signed = phalanx_crypto::sign_transaction(&alice, change);
        let hex = format!(
            "0x{}",
            hex::encode(parity_scale_codec::Encode::encode(&signed))
        );
        for validator in &started {
            let admitted =
                crate::admission::admit_batch(&validator.shared, std::slice::from_ref(&hex));
            assert!(admitted.results[0].is_ok(), "{:?}", admitted.results[0]);
        }
        while after.iter().map(|&i| head(&started[i])).min() < Some(target) {
            context.sleep(Duration::from_millis(100)).await;
        }
        let top = check_agreement(&started.iter().collect::<Vec<_>>(), &chain);
        assert!(top >= target, "seed {seed}");
        let reference = &started[after[0]];
        let state = reference.shared.store.state_snapshot().expect("reads");
        let history =
            phalanx_runtime::validators::history(&state, &reference.shared.params).expect("reads");
        assert_eq!(history.sets().len(), 2, "seed {seed}: {history:?}");
        let changed = history.sets()[1].clone();
        assert_eq!(changed.from_height % SIM_EPOCH, 0);
        assert!(changed.from_height > VALIDATOR_SET_DELAY);
        assert!(
            top > changed.from_height + 2 * SIM_EPOCH,
            "seed {seed}: crosses epochs after"
        );
        for height in 1..=top {
            let block = reference
                .shared
                .store
                .block(height)
                .expect("reads")
                .expect("committed");
            let set = history.at(height);
            verify_finalized(&block, &set.accounts())
                .unwrap_or_else(|e| panic!("seed {seed}: block {height} under its set: {e}"));
            let finalized = block
                .certificate
                .descendants
                .last()
                .map_or(height, |h| h.height);
            assert_eq!(
                block.certificate.round.epoch,
                finalized / SIM_EPOCH,
                "seed {seed}: block {height}'s round"
            );
            if height >= changed.from_height {
                assert!(
                    block
                        .certificate
                        .signatures
                        .iter()
                        .all(|s| changed.contains(&s.validator)),
                    "seed {seed}: a validator outside the set signed block {height}"
                );
            }
        }
        (changed.from_height, started, chain)
    })
}

#[test]
fn a_removed_validator_stops_voting_at_its_epoch_and_the_rest_go_on_whatever_the_seed() {
    for seed in seeds() {
        let (from, validators, _) = run_set_change(seed, 4, 4, &[0, 1, 2], 48);
        // It still hears the others' votes and certificates of later epochs, so it fetches
        // what they finalize: a full node now (its blocks were checked with the rest).
        assert!(
            head(&validators[3]) >= from,
            "seed {seed}: the removed validator follows without voting"
        );
    }
}

#[test]
fn an_added_validator_follows_then_votes_from_its_epoch_whatever_the_seed() {
    for seed in seeds() {
        let (from, validators, chain) = run_set_change(seed, 5, 4, &[0, 1, 2, 3, 4], 48);
        let added = chain.keys[4].account_id();
        let top = head(&validators[0]);
        let signed = (from..=top)
            .filter_map(|h| validators[0].shared.store.block(h).expect("reads"))
            .filter(|b| {
                b.certificate
                    .signatures
                    .iter()
                    .any(|s| s.validator == added)
            })
            .count();
        assert!(signed > 0, "seed {seed}: the added validator never signed");
        let proposed = (from..=top)
            .filter_map(|h| validators[0].shared.store.block(h).expect("reads"))
            .filter(|b| b.header.proposer == added)
            .count();
        assert!(
            proposed > 0,
            "seed {seed}: the added validator never led a view"
        );
    }
}

/// The Byzantine validator of a scenario (always the last one).
#[derive(Clone, Copy, Debug)]
enum Byzantine {
    /// Runs no engine but [`byzantine_voter`]: equivocates, replays, forges.
    Voter,
    /// Runs the honest engine, but every block it proposes is spoiled by [`spoil`].
    Proposer,
}

/// The chain id of the simulated genesis, for the spoiled proposals' transactions.
static SIM_CHAIN_ID: std::sync::OnceLock<Hash> = std::sync::OnceLock::new();

/// Proposals spoiled so far, to take the four ways in turn.
static SPOILED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Spoils a proposal in one of four ways, in turn, each of which every honest validator must
/// refuse: a transaction with a broken signature (under a matching transactions root), a state
/// root that is not what the block yields, a timestamp a minute ahead, another proposer named.
fn spoil(proposal: &mut Proposal) {
    use phalanx_primitives::{Block, Call, Transaction};
    let header = &mut proposal.header;
    match SPOILED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 4 {
        0 => {
            let alice = Keypair::dev("alice");
            let transaction = Transaction {
                chain_id: SIM_CHAIN_ID.get().copied().unwrap_or_default(),
                signer: alice.account_id(),
                nonce: 0,
                fee: 1_000_000_000,
                call: Call::Transfer {
                    to: AccountId::from_bytes([7; 32]),
                    amount: 1,
                },
            };
            let mut forged = phalanx_crypto::sign_transaction(&alice, transaction);
            forged.signature.0[0] ^= 1;
            proposal.transactions.push(forged);
            header.transactions_root = Block::transactions_root(&proposal.transactions);
        }
        1 => header.state_root = sha256(header.state_root.as_bytes()),
        2 => header.timestamp_ms += 60_000,
        _ => header.proposer = AccountId::from_bytes([7; 32]),
    }
}

/// From this view on, the Byzantine voter also sends votes in its own name signed by a key
/// outside the validator set.
const FORGE_FROM_VIEW: u64 = 12;
/// Messages the Byzantine voter keeps to replay.
const REPLAY_WINDOW: usize = 64;

/// A Byzantine validator's voting. For every proposal it hears a vote on, it votes (notarize or
/// finalize alike) for that proposal to one honest validator and for a conflicting one at the
/// same view to the others, so no single honest validator sees both; it sends every earlier
/// vote again to the same recipients (replays); and from [`FORGE_FROM_VIEW`] it also sends
/// votes in its own name signed by a key outside the validator set.
async fn byzantine_voter(
    scheme: Scheme,
    outsider: Scheme,
    others: Vec<ed25519::PublicKey>,
    (mut sender, mut receiver): (
        impl Sender<PublicKey = ed25519::PublicKey>,
        impl Receiver<PublicKey = ed25519::PublicKey>,
    ),
) {
    use commonware_codec::{DecodeExt as _, Encode as _};
    let me = scheme
        .me()
        .and_then(|m| m.signer())
        .expect("the Byzantine voter is a validator");
    let (first, rest) = others.split_at(1);
    let mut voted: HashSet<(bool, u64)> = HashSet::new();
    let mut sent: VecDeque<(Vec<ed25519::PublicKey>, Vec<u8>)> = VecDeque::new();
    let sign = |finalize: bool, proposal: VoteProposal<Digest>, scheme: &Scheme| {
        if finalize {
            Vote::Finalize(Finalize::sign(scheme, proposal).expect("signs"))
        } else {
            Vote::Notarize(Notarize::sign(scheme, proposal).expect("signs"))
        }
    };
    // The engine multiplexes each epoch's votes on a subchannel (the epoch's number, a varint
    // ahead of the vote): the whole simulation is in epoch 0.
    let framed = |vote: Vec<u8>| [&[0u8][..], &vote].concat();
    while let Ok((_, message)) = receiver.recv().await {
        let Ok((0, message)) = commonware_p2p::utils::mux::parse(message) else {
            continue;
        };
        let Ok(vote) = Vote::<Scheme, Digest>::decode(message) else {
            continue;
        };
        let (finalize, proposal) = match vote {
            Vote::Notarize(n) => (false, n.proposal),
            Vote::Finalize(f) => (true, f.proposal),
            Vote::Nullify(_) => continue,
        };
        let view = proposal.round.view().get();
        if !voted.insert((finalize, view)) {
            continue;
        }
        let twin = VoteProposal::new(
            proposal.round,
            proposal.parent,
            digest_of(&sha256(proposal.payload.as_ref())),
        );
        let mut outgoing = vec![
            (
                first.to_vec(),
                framed(sign(finalize, proposal.clone(), &scheme).encode().to_vec()),
            ),
            (
                rest.to_vec(),
                framed(sign(finalize, twin, &scheme).encode().to_vec()),
            ),
        ];
        if view >= FORGE_FROM_VIEW {
            let mut forged = sign(finalize, proposal, &outsider);
            match &mut forged {
                Vote::Notarize(n) => n.attestation.signer = me,
                Vote::Finalize(f) => f.attestation.signer = me,
                Vote::Nullify(_) => unreachable!("signs only the two kinds"),
            }
            outgoing.push((others.clone(), framed(forged.encode().to_vec())));
        }
        for (to, bytes) in sent.iter().chain(&outgoing) {
            sender.send(Recipients::Some(to.clone()), bytes.clone(), true);
        }
        sent.extend(outgoing);
        while sent.len() > REPLAY_WINDOW {
            sent.pop_front();
        }
    }
}

/// Four validators, the last one Byzantine, over links of `link`, until the three honest ones
/// committed `target` blocks; checks agreement of all four stores and what the scenario needs.
fn run_byzantine(seed: u64, byzantine: Byzantine, link: Link, target: u64) {
    log_to_test_output();
    let runner = seeded_runner(seed);
    runner.start(|context| async move {
        let chain = Chain::new(4);
        let _ = SIM_CHAIN_ID.set(chain.genesis.hash());
        let oracle = network(&context, &chain).await;
        link_all(&oracle, &chain, link).await;
        let mut honest = Vec::new();
        for i in 0..3 {
            honest.push(start_validator(&context, &oracle, &chain, i, None).await);
        }
        let bad = 3;
        let spoiler = match byzantine {
            Byzantine::Proposer => {
                Some(start_validator(&context, &oracle, &chain, bad, Some(spoil)).await)
            }
            Byzantine::Voter => {
                let channels = register_channels(&oracle, chain.public(bad)).await;
                let scheme = engine::scheme(private_key(&chain.keys[bad]), chain.participants())
                    .expect("a validator");
                let outsider = private_key(&Keypair::dev("sim-outsider"));
                let impostors = Set::from_iter_dedup(
                    (0..3)
                        .map(|i| chain.public(i))
                        .chain([outsider.public_key()]),
                );
                let outsider = engine::scheme(outsider, impostors).expect("in its own set");
                let others = (0..3).map(|i| chain.public(i)).collect();
                let Channels {
                    votes,
                    certificates,
                    resolver,
                    backfill,
                    blocks,
                } = channels;
                context.child("byzantine").spawn(move |_| async move {
                    // Held so the peer stays registered on every channel.
                    let _rest = (certificates, resolver, backfill, blocks);
                    byzantine_voter(scheme, outsider, others, votes).await
                });
                None
            }
        };
        while honest.iter().map(head).min() < Some(target) {
            context.sleep(Duration::from_millis(100)).await;
        }
        let mut all: Vec<&Validator> = honest.iter().collect();
        all.extend(spoiler.iter());
        let top = check_agreement(&all, &chain);
        assert!(top >= target, "seed {seed}");
        let byzantine_account = chain.keys[bad].account_id();
        for height in 1..=top {
            let block = honest[0].shared.store.block(height).expect("reads");
            let block = block.expect("committed");
            assert_ne!(
                block.header.proposer, byzantine_account,
                "seed {seed}: a {byzantine:?}'s block {height} is final"
            );
        }
        if let Byzantine::Voter = byzantine {
            // Every honest validator catches the forged votes, in time, and blocks their sender.
            let deadline = context.current() + Duration::from_secs(60);
            loop {
                let blocked = oracle.blocked().await.expect("the network runs");
                let missing: Vec<usize> = (0..3)
                    .filter(|&i| !blocked.contains(&(chain.public(i), chain.public(bad))))
                    .collect();
                if missing.is_empty() {
                    break;
                }
                assert!(
                    context.current() < deadline,
                    "seed {seed}: validators {missing:?} did not block the forger"
                );
                context.sleep(Duration::from_millis(500)).await;
            }
        }
    });
}

#[test]
fn an_equivocating_replaying_forging_validator_breaks_nothing_whatever_the_seed() {
    for seed in seeds() {
        run_byzantine(seed, Byzantine::Voter, good_link(), 16);
    }
}

#[test]
fn spoiled_proposals_are_refused_by_every_honest_validator_whatever_the_seed() {
    for seed in seeds() {
        run_byzantine(seed, Byzantine::Proposer, good_link(), 12);
    }
}

/// Four honest validators split into two pairs (which pairs, by the seed) once they committed
/// `before` blocks: neither side has a quorum, so nothing is finalized while split and nothing
/// final differs; once healed, the chain goes on for `after` more blocks.
fn partition_and_heal(seed: u64, link: Link, before: u64, after: u64) {
    log_to_test_output();
    let runner = seeded_runner(seed);
    runner.start(|context| async move {
        let chain = Chain::new(4);
        let oracle = network(&context, &chain).await;
        link_all(&oracle, &chain, link.clone()).await;
        let mut validators = Vec::new();
        for i in 0..4 {
            validators.push(start_validator(&context, &oracle, &chain, i, None).await);
        }
        while validators.iter().map(head).min() < Some(before) {
            context.sleep(Duration::from_millis(100)).await;
        }
        // The three ways to split four into two pairs: 0 with 1, 2 or 3.
        let partner = 1 + (seed % 3) as usize;
        let side = |i: usize| i == 0 || i == partner;
        let across: Vec<(usize, usize)> = (0..4)
            .flat_map(|a| (0..4).map(move |b| (a, b)))
            .filter(|&(a, b)| side(a) != side(b))
            .collect();
        for &(a, b) in &across {
            oracle
                .remove_link(chain.public(a), chain.public(b))
                .await
                .expect("a link to remove");
        }
        // What was already certified settles; after that the chain stands still.
        context.sleep(Duration::from_secs(5)).await;
        let all: Vec<&Validator> = validators.iter().collect();
        let stalled = check_agreement(&all, &chain);
        context.sleep(Duration::from_secs(30)).await;
        assert_eq!(
            check_agreement(&all, &chain),
            stalled,
            "seed {seed}: a block was finalized without a quorum"
        );
        for &(a, b) in &across {
            oracle
                .add_link(chain.public(a), chain.public(b), link.clone())
                .await
                .expect("a new link");
        }
        while validators.iter().map(head).min() < Some(stalled + after) {
            context.sleep(Duration::from_millis(100)).await;
        }
        check_agreement(&all, &chain);
    });
}

#[test]
fn a_split_network_stops_finalizing_and_goes_on_once_healed_whatever_the_seed() {
    let delayed = Link {
        latency: Duration::from_millis(80),
        jitter: Duration::from_millis(60),
        success_rate: commonware_utils::probability!(0.95),
    };
    for seed in seeds() {
        partition_and_heal(seed, delayed.clone(), 4, 6);
    }
}
