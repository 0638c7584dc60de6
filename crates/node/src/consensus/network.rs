//! A validator on a real network: commonware's tokio runtime on its own threads, authenticated
//! and encrypted TCP between the genesis validators (commonware p2p `lookup`: every peer's key
//! and address are known, nobody else may connect), the engine, and the relay that carries
//! transactions admitted by any validator's RPC to the others (so they reach every proposer).

use super::engine::{self, channel, Channels, EngineConfig, MAX_MESSAGE_BYTES};
use super::ledger::Ledger;
use super::relay;
use crate::running::{NodeError, Shared};
use commonware_codec::DecodeExt;
use commonware_cryptography::{ed25519, ChaCha20Poly1305, Signer as _};
use commonware_p2p::authenticated::lookup;
use commonware_p2p::{Address, AddressableManager as _};
use commonware_runtime::{Quota, Runner as _, Supervisor as _};
use commonware_stream::{
    cups::{self, Cups},
    sake::{self, Sake},
};
use commonware_utils::{ordered::Map, ordered::Set, NZUsize, NZU32};
use phalanx_crypto::Keypair;
use phalanx_primitives::AccountId;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Per-peer message rates of each channel (a peer past its rate is throttled, not served).
const VOTE_RATE: Quota = Quota::per_second(NZU32!(1_000));
const BLOCK_RATE: Quota = Quota::per_second(NZU32!(100));
const BACKFILL_RATE: Quota = Quota::per_second(NZU32!(200));
const TRANSACTION_RATE: Quota = Quota::per_second(NZU32!(200));
/// How far a peer's handshake clock may be ahead of ours, and how old a handshake may be.
const HANDSHAKE_CLOCK_BOUND: Duration = Duration::from_secs(5);
const HANDSHAKE_MAX_AGE: Duration = Duration::from_secs(10);
/// Threads of the consensus runtime (the RPC server has its own).
const CONSENSUS_THREADS: usize = 2;

/// One validator of a many-validator chain.
#[derive(Clone, Debug)]
pub struct ValidatorNetwork {
    /// Where this validator listens for its peers.
    pub listen: SocketAddr,
    /// Every validator's account and p2p address (this one's included), from the genesis.
    pub peers: Vec<(AccountId, SocketAddr)>,
    /// Where the engine keeps its journals and archives.
    pub storage: PathBuf,
}

pub(crate) fn private_key(key: &Keypair) -> ed25519::PrivateKey {
    ed25519::PrivateKey::decode(bytes::Bytes::copy_from_slice(&key.seed()[..]))
        .expect("a 32-byte seed is a private key")
}

pub(crate) fn public_key(account: &AccountId) -> Result<ed25519::PublicKey, NodeError> {
    ed25519::PublicKey::decode(bytes::Bytes::copy_from_slice(account.as_bytes()))
        .map_err(|e| NodeError::Config(format!("validator {account} is not an ed25519 key: {e}")))
}

/// A running validator's consensus thread; dropping `stop` ends it.
pub(crate) struct ConsensusThread {
    pub stop: Option<futures::channel::oneshot::Sender<()>>,
    pub thread: Option<std::thread::JoinHandle<()>>,
}

/// Starts the validator's consensus on its own thread. `done` receives how it ended.
pub(crate) fn start(
    shared: Arc<Shared>,
    validator: Keypair,
    network: ValidatorNetwork,
    relay_queue: relay::Queue,
    block_time: Duration,
    done: tokio::sync::oneshot::Sender<Result<(), NodeError>>,
) -> Result<ConsensusThread, NodeError> {
    if block_time >= engine::LEADER_TIMEOUT {
        return Err(NodeError::Config(format!(
            "a block time of {block_time:?} is not below the leader timeout of {:?}: every view would time out",
            engine::LEADER_TIMEOUT
        )));
    }
    let signer = private_key(&validator);
    let mut peers = Vec::with_capacity(network.peers.len());
    for (account, addr) in &network.peers {
        peers.push((public_key(account)?, Address::from(*addr)));
    }
    let genesis_set = Set::from_iter_dedup(peers.iter().map(|(k, _)| k.clone()));
    if genesis_set.position(&signer.public_key()).is_none() {
        if shared.params.blocks_per_epoch.is_none() {
            return Err(NodeError::Config(format!(
                "this node's validator key {} is not one of the genesis validators, and this chain's validators never change (its genesis sets no blocks_per_epoch)",
                validator.account_id()
            )));
        }
        tracing::info!(
            validator = %validator.account_id(),
            "not a genesis validator: following the chain until governance makes this key one"
        );
    }
    let genesis_addresses: std::collections::HashMap<AccountId, SocketAddr> =
        network.peers.iter().copied().collect();
    let genesis = shared
        .store
        .block(0)?
        .ok_or_else(|| NodeError::Config("the database holds no genesis block".into()))?
        .into();
    let (stop, stopped) = futures::channel::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("consensus".into())
        .spawn(move || {
            let config = commonware_runtime::tokio::Config::new()
                .with_worker_threads(CONSENSUS_THREADS)
                .with_storage_directory(network.storage.clone())
                .with_catch_panics(false);
            let runner = commonware_runtime::tokio::Runner::new(config);
            let result = runner.start(|context| async move {
                let handshake = Cups::<_, ChaCha20Poly1305>::new(
                    Sake {
                        signer: signer.clone(),
                        synchrony_bound: HANDSHAKE_CLOCK_BOUND,
                        max_handshake_age: HANDSHAKE_MAX_AGE,
                        version: sake::Version::V1,
                    },
                    cups::Version::V1,
                );
                let p2p_config = lookup::Config::local(
                    handshake,
                    &[phalanx_primitives::CONSENSUS_NAMESPACE, b"_P2P"].concat(),
                    network.listen,
                    // The set in effect and the scheduled one, each of at most MAX_VALIDATORS.
                    NZUsize!(2 * phalanx_primitives::validators::MAX_VALIDATORS),
                    MAX_MESSAGE_BYTES,
                    NZUsize!(4_096),
                );
                let (mut p2p, mut oracle) = lookup::Network::new(context.child("p2p"), p2p_config);
                let book: Map<ed25519::PublicKey, Address> = match peers.try_into() {
                    Ok(book) => book,
                    Err(_) => return Err(NodeError::Config("a validator is listed twice".into())),
                };
                let _ = oracle.track(0, book);
                let mut tracker = oracle.clone();
                let track_peers: engine::TrackPeers = Box::new(move |id, validators| {
                    let mut book = Vec::with_capacity(validators.len());
                    for validator in validators {
                        let address = match genesis_addresses.get(&validator.account) {
                            Some(address) if validator.p2p_address.is_empty() => Some(*address),
                            _ => validator.p2p_address.parse::<SocketAddr>().ok(),
                        };
                        match (public_key(&validator.account), address) {
                            (Ok(key), Some(address)) => book.push((key, Address::from(address))),
                            _ => tracing::warn!(
                                validator = %validator.account,
                                address = %validator.p2p_address,
                                "a validator without a usable key and ip:port address is not connected to"
                            ),
                        }
                    }
                    match Map::try_from(book) {
                        Ok(book) => {
                            let _ = tracker.track(id, book);
                        }
                        Err(_) => tracing::warn!("a validator set lists a key twice"),
                    }
                });
                let channels = Channels {
                    votes: p2p.register(channel::VOTES, VOTE_RATE),
                    certificates: p2p.register(channel::CERTIFICATES, VOTE_RATE),
                    resolver: p2p.register(channel::RESOLVER, VOTE_RATE),
                    backfill: p2p.register(channel::BACKFILL, BACKFILL_RATE),
                    blocks: p2p.register(channel::BLOCKS, BLOCK_RATE),
                };
                let transactions = p2p.register(channel::TRANSACTIONS, TRANSACTION_RATE);
                p2p.start();
                relay::start(&context, Arc::clone(&shared), relay_queue, transactions);
                let ledger = Ledger::new(Arc::clone(&shared), validator.account_id(), block_time);
                let consensus = engine::start(
                    context.child("consensus"),
                    ledger,
                    EngineConfig {
                        signer,
                        genesis,
                        partition: "validator".into(),
                    },
                    oracle.clone(),
                    oracle,
                    channels,
                    track_peers,
                )
                .await;
                futures::select! {
                    ended = futures::FutureExt::fuse(consensus) => match ended {
                        Ok(result) => result,
                        Err(e) => Err(NodeError::Producer(format!("consensus stopped: {e}"))),
                    },
                    _ = futures::FutureExt::fuse(stopped) => Ok(()),
                }
            });
            let _ = done.send(result);
        })
        .map_err(|e| NodeError::Producer(e.to_string()))?;
    Ok(ConsensusThread {
        stop: Some(stop),
        thread: Some(thread),
    })
}
