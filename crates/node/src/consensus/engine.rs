//! Assembles one validator's consensus: simplex (votes, certificates, their repair), marshal
//! (block dissemination, ordering of finalized blocks, backfill of missed ones from peers), the
//! ledger application and the finalizer, over whichever network the caller gives (real
//! authenticated TCP in the node, the simulated one in the deterministic tests).

use super::block::{digest_of, Proposal, MAX_PROPOSAL_BYTES};
use super::finalizer;
use super::ledger::Ledger;
use commonware_broadcast::buffered;
use commonware_consensus::marshal::{self, resolver::p2p as marshal_resolver, standard::Inline};
use commonware_consensus::simplex::{
    self, elector::RoundRobin, scheme::ed25519::Scheme, ForwardPolicy, SkipBudget, SkipPolicy,
};
use commonware_consensus::types::{Epoch, FixedEpocher, ViewDelta};
use commonware_cryptography::{
    certificate::{ConstantProvider, Verifier as CertificateVerifier},
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
use std::time::Duration;

/// The chain's single consensus epoch. Validator set changes will start new epochs; until then
/// every height is in epoch 0.
pub const EPOCH: Epoch = Epoch::zero();

/// Blocks per epoch: large enough that epoch 0 never ends.
const BLOCKS_PER_EPOCH: u64 = u64::MAX / 2;

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
    pub participants: Set<ed25519::PublicKey>,
    /// The chain's block 0, as consensus carries it.
    pub genesis: Proposal,
    /// Prefix of the storage partitions (the runtime's storage directory holds them).
    pub partition: String,
}

/// The `(sender, receiver)` pair of each channel.
pub struct Channels<S, R> {
    pub votes: (S, R),
    pub certificates: (S, R),
    pub resolver: (S, R),
    pub backfill: (S, R),
    pub blocks: (S, R),
}

fn epocher() -> FixedEpocher {
    FixedEpocher::new(std::num::NonZeroU64::new(BLOCKS_PER_EPOCH).expect("not zero"))
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
    let scheme = scheme(config.signer.clone(), config.participants.clone())
        .expect("the validator is one of the participants (checked at start)");
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
            provider: ConstantProvider::new(scheme.clone()),
            epocher: epocher(),
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
        epocher(),
    );
    let engine = simplex::Engine::new(
        runtime.child("simplex"),
        simplex::Config {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker,
            automaton: wrapper.clone(),
            relay: wrapper.clone(),
            reporter: wrapper,
            strategy: Sequential,
            partition: format!("{}-simplex", config.partition),
            mailbox_size,
            epoch: EPOCH,
            floor: simplex::Floor::Genesis(digest_of(&config.genesis.hash())),
            replay_buffer: NZUsize!(IO_BUFFER),
            write_buffer: NZUsize!(IO_BUFFER),
            page_cache,
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
    engine.start(channels.votes, channels.certificates, channels.resolver);

    let participants = config.participants;
    runtime
        .child("finalizer")
        .spawn(move |runtime| finalizer::run(runtime, ledger, marshal, participants, queue))
}
