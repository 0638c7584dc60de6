//! Consensus epochs: which validators vote in each, as the committed ledger state says.
//!
//! A chain whose genesis sets `blocks_per_epoch` runs one simplex instance per epoch of that
//! many blocks (commonware's fixed epocher: the last block of an epoch is re-proposed until it
//! is final, and the next epoch starts from it). The participants of epoch `e` are the
//! validator set in effect at its first height, from the `ValidatorHistory` in state, which only
//! finalized blocks wrote. An epoch's set is *settled* once the committed head is close enough
//! to it that no later block can still change it (a change is scheduled
//! `VALIDATOR_SET_DELAY` blocks ahead); until then no scheme is given out for it.

use super::ledger::account_of;
use crate::running::Shared;
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::types::{Epoch, Epocher, FixedEpocher};
use commonware_cryptography::certificate::{Provider, Scoped};
use commonware_cryptography::{ed25519, Signer as _};
use commonware_utils::ordered::Set;
use phalanx_primitives::validators::VALIDATOR_SET_DELAY;
use phalanx_primitives::ValidatorSet;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Blocks per epoch of a chain whose validators never change: epoch 0 never ends.
const FIXED_SET_EPOCH: u64 = u64::MAX / 2;

/// The chain's epochs.
pub(crate) fn epocher(shared: &Shared) -> FixedEpocher {
    let blocks = shared.params.blocks_per_epoch.unwrap_or(FIXED_SET_EPOCH);
    FixedEpocher::new(std::num::NonZeroU64::new(blocks).expect("genesis checked the epoch length"))
}

/// The first height of `epoch`.
pub(crate) fn first_height(shared: &Shared, epoch: Epoch) -> u64 {
    epocher(shared)
        .first(epoch)
        .map(|h| h.get())
        .unwrap_or(u64::MAX)
}

/// The last height of `epoch`.
pub(crate) fn last_height(shared: &Shared, epoch: Epoch) -> u64 {
    epocher(shared)
        .last(epoch)
        .map(|h| h.get())
        .unwrap_or(u64::MAX)
}

/// The epoch of block `height`.
pub(crate) fn epoch_of(shared: &Shared, height: u64) -> Epoch {
    epocher(shared)
        .containing(commonware_consensus::types::Height::new(height))
        .map(|info| info.epoch())
        .unwrap_or(Epoch::zero())
}

/// An epoch's scheme and its participants in the engine's order.
type EpochScheme = (Scoped<Scheme>, Set<ed25519::PublicKey>);

/// Signing schemes per epoch, for this validator: a full scheme where it is a participant, a
/// verifier elsewhere. Cached once settled: one scheme per validator set (the epochs of one set
/// share it, so a peer asking about every past epoch costs a few bytes an epoch, not a scheme).
#[derive(Clone)]
pub(crate) struct EpochSchemes {
    shared: Arc<Shared>,
    signer: ed25519::PrivateKey,
    settled: Arc<Mutex<Settled>>,
}

#[derive(Default)]
struct Settled {
    /// Each settled epoch's set, by the set's first height.
    epochs: BTreeMap<Epoch, u64>,
    /// Each set's scheme, by its first height.
    schemes: BTreeMap<u64, EpochScheme>,
}

impl EpochSchemes {
    pub(crate) fn new(shared: Arc<Shared>, signer: ed25519::PrivateKey) -> Self {
        EpochSchemes {
            shared,
            signer,
            settled: Arc::default(),
        }
    }

    /// The validator set of `epoch`, once settled.
    pub(crate) fn set(&self, epoch: Epoch) -> Option<ValidatorSet> {
        let head = self.shared.head_height();
        let first = first_height(&self.shared, epoch);
        if head.saturating_add(VALIDATOR_SET_DELAY) < first {
            return None;
        }
        let state = self.shared.store.state_snapshot().ok()?;
        let history = phalanx_runtime::validators::history(&state, &self.shared.params).ok()?;
        Some(history.at(first).clone())
    }

    /// The participants of `epoch`, once settled, in the engine's order.
    pub(crate) fn participants(&self, epoch: Epoch) -> Option<Set<ed25519::PublicKey>> {
        self.scoped_with_participants(epoch).map(|(_, p)| p)
    }

    /// Whether this validator votes in `epoch` (`None`: not settled yet).
    pub(crate) fn votes_in(&self, epoch: Epoch) -> Option<bool> {
        let me = account_of(&self.signer.public_key());
        self.set(epoch).map(|set| set.contains(&me))
    }

    fn scoped_with_participants(&self, epoch: Epoch) -> Option<EpochScheme> {
        let mut settled = self.settled.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = settled
            .epochs
            .get(&epoch)
            .and_then(|f| settled.schemes.get(f))
        {
            return Some(found.clone());
        }
        let set = self.set(epoch)?;
        if let Some(found) = settled.schemes.get(&set.from_height).cloned() {
            settled.epochs.insert(epoch, set.from_height);
            return Some(found);
        }
        let keys = set
            .validators
            .iter()
            .filter_map(|v| super::network::public_key(&v.account).ok());
        let participants = Set::from_iter_dedup(keys);
        let scoped = match Scheme::signer(
            phalanx_primitives::CONSENSUS_NAMESPACE,
            participants.clone(),
            self.signer.clone(),
        ) {
            Some(scheme) => Scoped::scheme(Arc::new(scheme)),
            None => Scoped::verifier(Arc::new(Scheme::verifier(
                phalanx_primitives::CONSENSUS_NAMESPACE,
                participants.clone(),
            ))),
        };
        settled.epochs.insert(epoch, set.from_height);
        settled
            .schemes
            .insert(set.from_height, (scoped.clone(), participants.clone()));
        Some((scoped, participants))
    }
}

impl Provider for EpochSchemes {
    type Scope = Epoch;
    type Scheme = Scheme;

    fn scoped(&self, epoch: Epoch) -> Option<Scoped<Scheme>> {
        self.scoped_with_participants(epoch).map(|(s, _)| s)
    }
}
