//! Who certifies which blocks: the validator set of every height, as the genesis set it and
//! governance changed it since.
//!
//! A chain whose genesis sets `blocks_per_epoch` runs in consensus epochs of that many blocks
//! (epoch `e` holds heights `e * len .. (e + 1) * len`); a set change takes effect at the first
//! height of an epoch, named when it is scheduled, at least [`VALIDATOR_SET_DELAY`] blocks
//! ahead. The runtime keeps the [`ValidatorHistory`] in state; everyone else who checks
//! finality (workers, clients, full nodes) builds the same history from the
//! `ValidatorSetScheduled` events of blocks it verified under the set before, so the genesis it
//! pinned is all it ever has to trust.

use crate::{AccountId, BlockHeight, Event, EventRecord};
use parity_scale_codec::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Most validators one set may name (votes and certificates grow with it).
pub const MAX_VALIDATORS: usize = 64;
/// Longest p2p address (`host:port`) a validator may announce.
pub const MAX_VALIDATOR_ADDRESS_BYTES: usize = 256;
/// Fewest blocks between the block that schedules a set and the set's first height: time for
/// new validators to connect, and for followers that fetch blocks ahead to learn the set before
/// they check blocks under it.
pub const VALIDATOR_SET_DELAY: u64 = 16;
/// Shortest epoch a genesis may set (an epoch's last block is re-proposed to close it).
pub const MIN_BLOCKS_PER_EPOCH: u64 = 4;

/// One validator: its account (the ed25519 key it votes with) and where its peers reach it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Validator {
    pub account: AccountId,
    /// `host:port`; empty for the genesis validators, whose addresses are in the genesis file
    /// (outside the chain id, so that operators may move).
    #[serde(default)]
    pub p2p_address: String,
}

/// The validators of one run of epochs, from `from_height` until the next set's.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct ValidatorSet {
    /// The consensus epoch of `from_height`.
    pub epoch: u64,
    pub from_height: BlockHeight,
    pub validators: Vec<Validator>,
}

impl ValidatorSet {
    pub fn accounts(&self) -> Vec<AccountId> {
        self.validators.iter().map(|v| v.account).collect()
    }

    pub fn contains(&self, account: &AccountId) -> bool {
        self.validators.iter().any(|v| v.account == *account)
    }
}

/// Every set the chain had, has and scheduled, oldest first: never empty, the first the
/// genesis set (epoch 0, from height 0), `from_height` strictly increasing. In JSON, the list
/// of its sets (checked when read).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(try_from = "Vec<ValidatorSet>", into = "Vec<ValidatorSet>")]
pub struct ValidatorHistory {
    sets: Vec<ValidatorSet>,
}

/// Why a history (received from a node) is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    #[error("a validator history names no set")]
    Empty,
    #[error("a validator history does not start at height 0")]
    NoGenesisSet,
    #[error("validator sets out of order at height {0}")]
    OutOfOrder(BlockHeight),
}

impl TryFrom<Vec<ValidatorSet>> for ValidatorHistory {
    type Error = HistoryError;
    fn try_from(sets: Vec<ValidatorSet>) -> Result<Self, HistoryError> {
        Self::from_sets(sets)
    }
}

impl From<ValidatorHistory> for Vec<ValidatorSet> {
    fn from(history: ValidatorHistory) -> Self {
        history.sets
    }
}

impl ValidatorHistory {
    /// The history of a chain that has only had its genesis validators.
    pub fn genesis(accounts: &[AccountId]) -> Self {
        let validators = accounts
            .iter()
            .map(|account| Validator {
                account: *account,
                p2p_address: String::new(),
            })
            .collect();
        ValidatorHistory {
            sets: vec![ValidatorSet {
                epoch: 0,
                from_height: 0,
                validators,
            }],
        }
    }

    /// A history from its sets, checked to be one.
    pub fn from_sets(sets: Vec<ValidatorSet>) -> Result<Self, HistoryError> {
        let first = sets.first().ok_or(HistoryError::Empty)?;
        if first.from_height != 0 {
            return Err(HistoryError::NoGenesisSet);
        }
        for pair in sets.windows(2) {
            if pair[1].from_height <= pair[0].from_height || pair[1].epoch <= pair[0].epoch {
                return Err(HistoryError::OutOfOrder(pair[1].from_height));
            }
        }
        Ok(ValidatorHistory { sets })
    }

    pub fn sets(&self) -> &[ValidatorSet] {
        &self.sets
    }

    /// The set whose certificates make block `height` final.
    pub fn at(&self, height: BlockHeight) -> &ValidatorSet {
        let index = self.sets.partition_point(|set| set.from_height <= height);
        // The first set starts at 0, so at least one is at or below any height.
        &self.sets[index.saturating_sub(1)]
    }

    /// The set of consensus epoch `epoch`.
    pub fn of_epoch(&self, epoch: u64) -> &ValidatorSet {
        let index = self.sets.partition_point(|set| set.epoch <= epoch);
        &self.sets[index.saturating_sub(1)]
    }

    /// The set scheduled after block `height`, not yet in effect there.
    pub fn pending(&self, height: BlockHeight) -> Option<&ValidatorSet> {
        self.sets.last().filter(|set| set.from_height > height)
    }

    /// Records `set`, scheduled by block `height`: it replaces a set scheduled earlier that is
    /// not yet in effect after `height`. `set.from_height` must be above `height` (the runtime
    /// makes it so; followers only pass sets from verified events).
    pub fn schedule(&mut self, height: BlockHeight, set: ValidatorSet) {
        while self.sets.len() > 1 && self.sets.last().is_some_and(|s| s.from_height > height) {
            self.sets.pop();
        }
        if set.from_height > height && set.from_height > self.at(height).from_height {
            self.sets.push(set);
        }
    }

    /// Follows the `ValidatorSetScheduled` events of verified block `height`. Returns whether
    /// the history changed.
    pub fn observe(&mut self, height: BlockHeight, events: &[EventRecord]) -> bool {
        let mut changed = false;
        for record in events {
            if let Event::ValidatorSetScheduled { set } = &record.event {
                self.schedule(height, set.clone());
                changed = true;
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(n: u8) -> AccountId {
        AccountId::from_bytes([n; 32])
    }

    fn set(epoch: u64, from_height: u64, members: &[u8]) -> ValidatorSet {
        ValidatorSet {
            epoch,
            from_height,
            validators: members
                .iter()
                .map(|n| Validator {
                    account: account(*n),
                    p2p_address: format!("127.0.0.1:{n}"),
                })
                .collect(),
        }
    }

    #[test]
    fn each_height_has_the_set_in_effect_there() {
        let mut history = ValidatorHistory::genesis(&[account(1), account(2)]);
        history.schedule(10, set(3, 30, &[1, 2, 3]));
        assert_eq!(history.at(0).epoch, 0);
        assert_eq!(history.at(29).accounts(), vec![account(1), account(2)]);
        assert_eq!(history.at(30).epoch, 3);
        assert_eq!(history.at(u64::MAX).epoch, 3);
        assert_eq!(history.of_epoch(2).epoch, 0);
        assert_eq!(history.of_epoch(4).epoch, 3);
        assert_eq!(history.pending(29).map(|s| s.epoch), Some(3));
        assert_eq!(history.pending(30), None);
    }

    #[test]
    fn a_later_schedule_replaces_a_pending_one_but_not_one_in_effect() {
        let mut history = ValidatorHistory::genesis(&[account(1)]);
        history.schedule(10, set(3, 30, &[1, 2]));
        history.schedule(20, set(4, 40, &[1, 3]));
        assert_eq!(history.sets().len(), 2);
        assert_eq!(
            history.at(35).epoch,
            0,
            "the replaced set never took effect"
        );
        assert_eq!(history.at(40).accounts(), vec![account(1), account(3)]);
        history.schedule(50, set(6, 60, &[3]));
        assert_eq!(history.sets().len(), 3, "the set in effect stays");
        assert_eq!(history.at(45).epoch, 4);
    }

    proptest::proptest! {
        /// Whatever is scheduled when, the set of a height already passed never changes, and
        /// the history stays one (what a follower would accept from a node).
        #[test]
        fn no_schedule_changes_the_set_of_a_height_already_passed(
            steps in proptest::collection::vec((0u64..30, 1u64..60), 1..40)
        ) {
            const EPOCH: u64 = 10;
            let mut history = ValidatorHistory::genesis(&[account(1)]);
            let mut height = 0;
            for (i, (advance, ahead)) in steps.into_iter().enumerate() {
                height += advance;
                let before: Vec<ValidatorSet> = (0..=height).map(|h| history.at(h).clone()).collect();
                let from = (height + ahead).div_ceil(EPOCH) * EPOCH;
                history.schedule(height, set(from / EPOCH, from, &[(i % 250) as u8 + 2]));
                for (h, set) in before.iter().enumerate() {
                    proptest::prop_assert_eq!(history.at(h as u64), set);
                }
                proptest::prop_assert_eq!(history.at(from).from_height, from);
                proptest::prop_assert!(ValidatorHistory::from_sets(history.sets().to_vec()).is_ok());
            }
        }
    }

    #[test]
    fn received_histories_are_checked() {
        assert_eq!(
            ValidatorHistory::from_sets(vec![]),
            Err(HistoryError::Empty)
        );
        assert_eq!(
            ValidatorHistory::from_sets(vec![set(1, 5, &[1])]),
            Err(HistoryError::NoGenesisSet)
        );
        assert_eq!(
            ValidatorHistory::from_sets(vec![set(0, 0, &[1]), set(2, 20, &[2]), set(1, 10, &[3])]),
            Err(HistoryError::OutOfOrder(10))
        );
        let ok = ValidatorHistory::from_sets(vec![set(0, 0, &[1]), set(2, 20, &[2])]).unwrap();
        assert_eq!(ok.at(20).epoch, 2);
    }
}
