//! Assembles one validator's consensus: simplex (votes, certificates, their repair), marshal
//! (block dissemination, ordering of finalized blocks, backfill of missed ones from peers), the
//! ledger application and the finalizer, over whichever network the caller gives (real
//! authenticated TCP in the node, the simulated one in the deterministic tests).

use super::block::{digest_of, Proposal, MAX_PROPOSAL_BYTES};
use super::epochs::{self, EpochSchemes};
use super::finalizer;
use super::ledger::Ledger;
use crate::running::Shared;
use commonware_broadcast::buffered;
use commonware_consensus::marshal::{self, resolver::p2p as marshal_resolver, standard::Inline};
use commonware_consensus::simplex::{
    self, elector::RoundRobin, scheme::ed25519::Scheme, ForwardPolicy, SkipBudget, SkipPolicy,
};
use commonware_consensus::types::{Epoch, ViewDelta};
use commonware_cryptography::{
    certificate::{Provider as _, Verifier as CertificateVerifier},
    ed25519,
    sha256::Sha256,
    Digested,
};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{buffer::paged::CacheRef, Clock, Handle, Metrics, Spawner, Storage};
use commonware_storage::archive::immutable;
use commonware_utils::{ordered::Set, NZDuration, NZUsize, NZU16, NZU64};
use rand_core_cw::CryptoRng;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a view waits for its leader's proposal before voting to skip it.
pub const LEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a view waits for a notarization and its certification before voting to skip it.
pub const CERTIFICATION_TIMEOUT: Duration = Duration::from_secs(3);
/// How often a validator stuck in a view rebroadcasts its skip vote.
pub const TIMEOUT_RETRY: Duration = Duration::from_secs(5);
/// A leader silent this long, while a quorum is active, is skipped at once.
pub const SKIP_TIMEOUT: Duration = Duration::from_secs(10);
/// Views below the finalized one whose votes and certificates are still kept.
pub const VIEW_RETENTION: u64 = 256;
/// Finalized heights fetched from peers at a time when catching up.
pub const MAX_REPAIR: usize = 64;
/// Finalized blocks handed to the finalizer and not yet committed.
pub const MAX_PENDING_ACKS: usize = 16;
/// Bounded queues between the actors.
const MAILBOX_SIZE: usize = 1024;
/// Blocks of each peer the broadcast buffer keeps.
const BROADCAST_DEQUE: usize = 32;
const PAGE_SIZE: u16 = 4096;
const PAGE_CACHE_PAGES: usize = 4096;
const IO_BUFFER: usize = 1 << 20;

/// The network channels consensus uses, by number (the node registers them in this order).
pub mod channel {
    pub const VOTES: u64 = 0;
    pub const CERTIFICATES: u64 = 1;
    pub const RESOLVER: u64 = 2;
    pub const BACKFILL: u64 = 3;
    pub const BLOCKS: u64 = 4;
    pub const TRANSACTIONS: u64 = 5;
}

/// The largest message any consensus channel carries: a whole block.
pub const MAX_MESSAGE_BYTES: u32 = (MAX_PROPOSAL_BYTES + 64 * 1024) as u32;

/// One validator's identity and the chain it votes on.
pub struct EngineConfig {
    pub signer: ed25519::PrivateKey,
    /// The chain's block 0, as consensus carries it.
    pub genesis: Proposal,
    /// Prefix of the storage partitions (the runtime's storage directory holds them).
    pub partition: String,
}

/// Tells the p2p layer whom to connect with: called with a growing id (the newest scheduled
/// epoch) and every validator of the set in effect and the one scheduled after it (genesis
/// validators with an empty address: the caller knows theirs from the genesis file).
pub type TrackPeers = Box<dyn FnMut(u64, Vec<phalanx_primitives::Validator>) + Send>;

/// The `(sender, receiver)` pair of each channel.
pub struct Channels<S, R> {
    pub votes: (S, R),
    pub certificates: (S, R),
    pub resolver: (S, R),
    pub backfill: (S, R),
    pub blocks: (S, R),
}

/// The signing scheme of `participants`, as `signer` (a validator) sees it.
pub fn scheme(
    signer: ed25519::PrivateKey,
    participants: Set<ed25519::PublicKey>,
) -> Option<Scheme> {
    Scheme::signer(
        phalanx_primitives::CONSENSUS_NAMESPACE,
        participants,
        signer,
    )
}

fn archive_config<C>(
    partition: &str,
    name: &str,
    page_cache: &CacheRef,
    codec_config: C,
) -> immutable::Config<C> {
    let part = |suffix: &str| format!("{partition}-{name}-{suffix}");
    immutable::Config {
        metadata_partition: part("metadata"),
        freezer_table_partition: part("freezer-table"),
        freezer_table_initial_size: 1024,
        freezer_table_resize_frequency: 10,
        freezer_table_resize_chunk_size: 1024,
        freezer_key_partition: part("freezer-key"),
        freezer_key_page_cache: page_cache.clone(),
        freezer_value_partition: part("freezer-value"),
        freezer_value_target_size: 64 * 1024 * 1024,
        freezer_value_compression: None,
        ordinal_partition: part("ordinal"),
        items_per_section: NZU64!(4096),
        codec_config,
        replay_buffer: NZUsize!(IO_BUFFER),
        freezer_key_write_buffer: NZUsize!(IO_BUFFER),
        freezer_value_write_buffer: NZUsize!(IO_BUFFER),
        ordinal_write_buffer: NZUsize!(IO_BUFFER),
    }
}

/// Starts the validator's consensus actors; the handle resolves when the finalizer stops (on
/// a fatal error, which it logs) or the runtime stops.
pub(crate) async fn start<E, P, B, S, R>(
    runtime: E,
    ledger: Ledger,
    config: EngineConfig,
    peers: P,
    blocker: B,
    channels: Channels<S, R>,
    mut track_peers: TrackPeers,
) -> Handle<Result<(), crate::running::NodeError>>
where
    E: Clock + CryptoRng + Spawner + Storage + Metrics,
    P: Provider<PublicKey = ed25519::PublicKey>,
    B: Blocker<PublicKey = ed25519::PublicKey>,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
{
    use commonware_cryptography::Signer as _;
    let me = config.signer.public_key();
    let shared = Arc::clone(ledger.shared());
    let schemes = EpochSchemes::new(Arc::clone(&shared), config.signer.clone());
    let page_cache = CacheRef::new(NZU16!(PAGE_SIZE), NZUsize!(PAGE_CACHE_PAGES));
    let mailbox_size: NonZeroUsize = NZUsize!(MAILBOX_SIZE);

    let (resolver_receiver, resolver) = marshal_resolver::init(
        runtime.child("marshal_resolver"),
        marshal_resolver::Config {
            public_key: me.clone(),
            peer_provider: peers.clone(),
            blocker: blocker.clone(),
            mailbox_size,
            fetch_timeout: NZDuration!(Duration::from_secs(2)),
            fetch_retry_delay: Duration::from_millis(200),
            priority_requests: false,
            priority_responses: false,
        },
        channels.backfill,
    );
    let (broadcast, buffer) = buffered::Engine::new(
        runtime.child("broadcast"),
        buffered::Config {
            public_key: me.clone(),
            mailbox_size,
            deque_size: BROADCAST_DEQUE,
            priority: false,
            codec_config: (),
            peer_provider: peers.clone(),
            strategy: Sequential,
        },
    );
    broadcast.start(channels.blocks);

    let finalizations = immutable::Archive::init(
        runtime.child("finalizations"),
        archive_config(
            &config.partition,
            "finalizations",
            &page_cache,
            <Scheme as CertificateVerifier>::certificate_codec_config_unbounded(),
        ),
    )
    .await
    .expect("the finalizations archive opens");
    let blocks = immutable::Archive::init(
        runtime.child("blocks"),
        archive_config(&config.partition, "blocks", &page_cache, ()),
    )
    .await
    .expect("the blocks archive opens");

    let (marshal_actor, marshal, _floor) = marshal::core::Actor::init(
        runtime.child("marshal"),
        finalizations,
        blocks,
        marshal::Config {
            provider: schemes.clone(),
            epocher: epochs::epocher(&shared),
            start: marshal::Start::Genesis(Digested::precomputed(
                config.genesis.clone(),
                digest_of(&config.genesis.hash()),
            )),
            partition_prefix: format!("{}-marshal", config.partition),
            mailbox_size,
            view_retention: ViewDelta::new(VIEW_RETENTION),
            prunable_items_per_section: NZU64!(4096),
            page_cache: page_cache.clone(),
            replay_buffer: NZUsize!(IO_BUFFER),
            key_write_buffer: NZUsize!(IO_BUFFER),
            value_write_buffer: NZUsize!(IO_BUFFER),
            block_codec_config: (),
            max_repair: NZUsize!(MAX_REPAIR),
            max_pending_acks: NZUsize!(MAX_PENDING_ACKS),
            strategy: Sequential,
        },
    )
    .await;
    let (deliveries, queue) = finalizer::channel();
    marshal_actor.start(deliveries, buffer, (resolver_receiver, resolver));

    let wrapper = Inline::new(
        runtime.child("application"),
        ledger.clone(),
        marshal.clone(),
        epochs::epocher(&shared),
    );
    let (partition, genesis_digest) = (config.partition.clone(), digest_of(&config.genesis.hash()));
    let (epoch_shared, epoch_schemes, epoch_marshal) =
        (Arc::clone(&shared), schemes.clone(), marshal.clone());
    let shared_for_peers = Arc::clone(&shared);
    // One simplex instance per epoch, each on its own subchannels (numbered by epoch) of the
    // vote, certificate and resolver channels, from the last block of the epoch before (the
    // genesis for epoch 0); the next starts once the current epoch's last block is committed.
    // A validator outside an epoch's set runs no instance for it and follows what its peers
    // finalize. Messages for a later epoch mean this validator is behind: marshal is told to
    // fetch the current epoch's last block from their sender.
    let epochs = runtime.child("epochs").spawn(move |runtime| async move {
        use commonware_p2p::utils::mux::{Builder as _, Muxer};
        let (shared, schemes, marshal) = (epoch_shared, epoch_schemes, epoch_marshal);
        let (votes, certificates, resolver) =
            (channels.votes, channels.certificates, channels.resolver);
        let (mux, mut votes, votes_elsewhere) =
            Muxer::builder(runtime.child("votes_mux"), votes.0, votes.1)
                .with_backup()
                .build();
        mux.start();
        let (mux, mut certificates, certificates_elsewhere) = Muxer::builder(
            runtime.child("certificates_mux"),
            certificates.0,
            certificates.1,
        )
        .with_backup()
        .build();
        mux.start();
        let (mux, mut resolver) =
            Muxer::new(runtime.child("resolver_mux"), resolver.0, resolver.1);
        mux.start();
        let current = Arc::new(AtomicU64::new(0));
        for elsewhere in [votes_elsewhere, certificates_elsewhere] {
            let (current, marshal, shared) =
                (Arc::clone(&current), marshal.clone(), Arc::clone(&shared));
            runtime
                .child("later_epochs")
                .spawn(move |_| later_epochs(elsewhere, current, marshal, shared));
        }

        let head = shared.head_height();
        // The epoch of the next block to commit.
        let mut epoch = epochs::epoch_of(&shared, head + 1);
        // The caller tracked the genesis validators as peer set 0.
        let mut tracked = 0;
        let mut track_new_sets = move || {
            let head = shared_for_peers.head_height();
            let Ok(state) = shared_for_peers.store.state_snapshot() else {
                return;
            };
            let Ok(history) = phalanx_runtime::validators::history(&state, &shared_for_peers.params)
            else {
                return;
            };
            let newest = history.sets().last().expect("never empty");
            if newest.epoch > tracked {
                let mut peers = history.at(head + 1).validators.clone();
                for validator in &newest.validators {
                    if !peers.iter().any(|p| p.account == validator.account) {
                        peers.push(validator.clone());
                    }
                }
                tracked = newest.epoch;
                track_peers(tracked, peers);
            }
        };
        loop {
            track_new_sets();
            current.store(epoch.get(), Ordering::Relaxed);
            let last = epochs::last_height(&shared, epoch);
            let engine = match schemes.votes_in(epoch) {
                Some(true) => {
                    let Some(scheme) = schemes.scoped(epoch).and_then(|s| s.into_scheme()) else {
                        return Err(fatal(format!(
                            "no signing scheme for epoch {epoch}, which this validator votes in"
                        )));
                    };
                    let floor = match epoch.previous() {
                        None => genesis_digest,
                        Some(previous) => {
                            let boundary = epochs::last_height(&shared, previous);
                            match shared.store.block(boundary) {
                                Ok(Some(block)) => digest_of(&block.hash()),
                                _ => {
                                    return Err(fatal(format!(
                                        "epoch {epoch} starts after block {boundary}, which is not committed"
                                    )));
                                }
                            }
                        }
                    };
                    let channel = epoch.get();
                    let (Ok(v), Ok(c), Ok(r)) = (
                        votes.register(channel).await,
                        certificates.register(channel).await,
                        resolver.register(channel).await,
                    ) else {
                        return Err(fatal(format!(
                            "the consensus channels closed before epoch {epoch}"
                        )));
                    };
                    tracing::info!(%epoch, first = epochs::first_height(&shared, epoch), last, "voting in epoch");
                    let engine = simplex::Engine::new(
                        runtime.child("simplex").with_attribute("epoch", epoch.get()),
                        simplex::Config {
                            scheme: (*scheme).clone(),
                            elector: RoundRobin::<Sha256>::default(),
                            blocker: blocker.clone(),
                            automaton: wrapper.clone(),
                            relay: wrapper.clone(),
                            reporter: wrapper.clone(),
                            strategy: Sequential,
                            partition: format!("{partition}-simplex-{}", epoch.get()),
                            mailbox_size,
                            epoch,
                            floor: simplex::Floor::Genesis(floor),
                            replay_buffer: NZUsize!(IO_BUFFER),
                            write_buffer: NZUsize!(IO_BUFFER),
                            page_cache: page_cache.clone(),
                            leader_timeout: LEADER_TIMEOUT,
                            certification_timeout: CERTIFICATION_TIMEOUT,
                            timeout_retry: TIMEOUT_RETRY,
                            view_retention: ViewDelta::new(VIEW_RETENTION),
                            skip: SkipPolicy::Enabled {
                                timeout: SKIP_TIMEOUT,
                                budget: SkipBudget::Participants,
                            },
                            fetch_timeout: NZDuration!(Duration::from_secs(1)),
                            fetch_retry_delay: Duration::from_millis(200),
                            forward: ForwardPolicy::Disabled,
                            track_historical_votes: false,
                        },
                    );
                    Some(engine.start(v, c, r))
                }
                Some(false) => {
                    tracing::warn!(%epoch, "this node's key is not a validator of this epoch: it no longer votes");
                    None
                }
                None => {
                    runtime.sleep(EPOCH_POLL).await;
                    continue;
                }
            };
            // Until this epoch's last block is committed.
            while shared.head_height() < last {
                runtime.sleep(EPOCH_POLL).await;
                track_new_sets();
            }
            if let Some(engine) = engine {
                engine.abort();
            }
            epoch = epoch.next();
        }
    });

    let finalizer = runtime
        .child("finalizer")
        .spawn(move |runtime| finalizer::run(runtime, ledger, marshal, schemes, queue));
    // Either task failing stops consensus, with its error.
    runtime.child("consensus").spawn(move |_| async move {
        use futures::FutureExt as _;
        let ended = futures::select! {
            ended = epochs.fuse() => ended,
            ended = finalizer.fuse() => ended,
        };
        ended.unwrap_or_else(|e| Err(fatal(format!("a consensus task stopped: {e}"))))
    })
}

fn fatal(reason: String) -> crate::running::NodeError {
    crate::running::NodeError::Producer(reason)
}

/// How often the epoch runner looks whether the current epoch's last block is committed.
const EPOCH_POLL: Duration = Duration::from_millis(50);

/// Messages for epochs after the current one: fetch the current epoch's last block from
/// their sender (this validator is behind).
async fn later_epochs(
    mut elsewhere: commonware_utils::channel::mpsc::Receiver<(
        u64,
        commonware_p2p::Message<ed25519::PublicKey>,
    )>,
    current: Arc<AtomicU64>,
    marshal: finalizer::Marshal,
    shared: Arc<Shared>,
) {
    while let Some((their_epoch, (from, _))) = elsewhere.recv().await {
        let ours = Epoch::new(current.load(Ordering::Relaxed));
        if their_epoch <= ours.get() {
            continue;
        }
        let boundary = epochs::last_height(&shared, ours);
        marshal.hint_finalized(
            commonware_consensus::types::Height::new(boundary),
            commonware_utils::vec::NonEmptyVec::new(from),
        );
    }
}
