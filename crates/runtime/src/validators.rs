//! The validator set in state: its history (genesis set first), and governance's changes to it.
//!
//! A change is scheduled for the first epoch that starts at least `VALIDATOR_SET_DELAY` blocks
//! after the block that makes it, and announced with a `ValidatorSetScheduled` event, from
//! which workers, clients and full nodes follow the set. The node's consensus reads the history
//! to know who votes in each epoch.

use crate::error::{Cause, Refusal};
use crate::state::decode_entry;
use crate::{ChainParams, StateError, StateOverlay, StateReader, TxError};
use parity_scale_codec::Encode;
use phalanx_primitives::validators::{
    MAX_VALIDATORS, MAX_VALIDATOR_ADDRESS_BYTES, VALIDATOR_SET_DELAY,
};
use phalanx_primitives::{
    AccountId, BlockHeight, Event, Validator, ValidatorHistory, ValidatorSet,
};
use std::collections::BTreeSet;

/// Where the history lives. Absent until the first change: the genesis set alone.
pub const HISTORY_KEY: &[u8] = b"validators/history";

/// Why a new validator set is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidatorError {
    #[error("this chain's validators are fixed by its genesis (it sets no blocks_per_epoch)")]
    Fixed,
    #[error("a validator set must name at least one validator")]
    Empty,
    #[error("a validator set names at most {MAX_VALIDATORS} validators, not {0}")]
    TooMany(usize),
    #[error("validator {0} is named twice")]
    Duplicate(AccountId),
    #[error("validator {0} is not an ed25519 key it could vote with")]
    NotAKey(AccountId),
    #[error("validator {account}'s p2p address {address:?} is not host:port of at most {MAX_VALIDATOR_ADDRESS_BYTES} bytes")]
    BadAddress { account: AccountId, address: String },
}

impl Cause for ValidatorError {
    fn cause(&self) -> &'static str {
        match self {
            ValidatorError::Fixed => "validators_fixed",
            ValidatorError::Empty => "no_validators",
            ValidatorError::TooMany(_) => "too_many_validators",
            ValidatorError::Duplicate(_) => "duplicate_validator",
            ValidatorError::NotAKey(_) => "validator_not_a_key",
            ValidatorError::BadAddress { .. } => "bad_validator_address",
        }
    }

    fn refusal(&self) -> Refusal {
        Refusal::InvalidCall
    }
}

/// Every validator set of the chain, as of the state `reader` holds.
pub fn history(
    reader: &impl StateReader,
    params: &ChainParams,
) -> Result<ValidatorHistory, StateError> {
    Ok(decode_entry(reader.get(HISTORY_KEY)?, "validator history")?
        .unwrap_or_else(|| ValidatorHistory::genesis(&params.validators)))
}

/// The first height of the first epoch that starts at least [`VALIDATOR_SET_DELAY`] blocks
/// after `height`, with that epoch's number.
pub fn next_boundary(height: BlockHeight, blocks_per_epoch: u64) -> (u64, BlockHeight) {
    let earliest = height.saturating_add(VALIDATOR_SET_DELAY);
    let epoch = earliest.div_ceil(blocks_per_epoch);
    (epoch, epoch.saturating_mul(blocks_per_epoch))
}

/// Schedules `validators` as the set of the next epoch far enough ahead of block `height`.
pub(crate) fn schedule(
    overlay: &mut StateOverlay<impl StateReader>,
    params: &ChainParams,
    height: BlockHeight,
    validators: &[Validator],
) -> Result<Event, TxError> {
    let blocks_per_epoch = params.blocks_per_epoch.ok_or(ValidatorError::Fixed)?;
    check(validators)?;
    let (epoch, from_height) = next_boundary(height, blocks_per_epoch);
    let set = ValidatorSet {
        epoch,
        from_height,
        validators: validators.to_vec(),
    };
    let mut history = history(overlay, params)?;
    history.schedule(height, set.clone());
    overlay.set(HISTORY_KEY.to_vec(), history.encode());
    Ok(Event::ValidatorSetScheduled { set })
}

fn check(validators: &[Validator]) -> Result<(), ValidatorError> {
    if validators.is_empty() {
        return Err(ValidatorError::Empty);
    }
    if validators.len() > MAX_VALIDATORS {
        return Err(ValidatorError::TooMany(validators.len()));
    }
    let mut seen = BTreeSet::new();
    for validator in validators {
        if !seen.insert(validator.account) {
            return Err(ValidatorError::Duplicate(validator.account));
        }
        if !phalanx_crypto::is_verifying_key(&validator.account) {
            return Err(ValidatorError::NotAKey(validator.account));
        }
        if !is_host_port(&validator.p2p_address) {
            return Err(ValidatorError::BadAddress {
                account: validator.account,
                address: validator.p2p_address.clone(),
            });
        }
    }
    Ok(())
}

/// `host:port` with a non-empty host of printable ASCII and a port number.
fn is_host_port(address: &str) -> bool {
    if address.len() > MAX_VALIDATOR_ADDRESS_BYTES {
        return false;
    }
    let Some((host, port)) = address.rsplit_once(':') else {
        return false;
    };
    !host.is_empty() && host.bytes().all(|b| b.is_ascii_graphic()) && port.parse::<u16>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryState;
    use phalanx_crypto::Keypair;

    fn params(blocks_per_epoch: Option<u64>) -> ChainParams {
        let mut config = crate::genesis::dev_config();
        config.blocks_per_epoch = blocks_per_epoch;
        ChainParams::from_genesis(&config)
    }

    fn validator(name: &str, address: &str) -> Validator {
        Validator {
            account: Keypair::dev(name).account_id(),
            p2p_address: address.into(),
        }
    }

    #[test]
    fn a_change_takes_effect_at_the_first_epoch_far_enough_ahead() {
        assert_eq!(next_boundary(0, 10), (2, 20));
        assert_eq!(next_boundary(4, 10), (2, 20));
        assert_eq!(next_boundary(5, 10), (3, 30));
        assert_eq!(next_boundary(4, 100), (1, 100));
        let params = params(Some(10));
        let state = MemoryState::default();
        let mut overlay = StateOverlay::new(&state);
        let event = schedule(&mut overlay, &params, 7, &[validator("v", "127.0.0.1:1")]).unwrap();
        let Event::ValidatorSetScheduled { set } = event else {
            panic!("{event:?}");
        };
        assert_eq!((set.epoch, set.from_height), (3, 30));
        let history = history(&overlay, &params).unwrap();
        assert_eq!(history.at(29).accounts(), params.validators);
        assert_eq!(history.at(30), &set);
    }

    #[test]
    fn bad_sets_are_refused_and_fixed_chains_refuse_all() {
        let state = MemoryState::default();
        let mut overlay = StateOverlay::new(&state);
        let good = [validator("v", "127.0.0.1:1")];
        let fixed = schedule(&mut overlay, &params(None), 1, &good).unwrap_err();
        assert_eq!(fixed, TxError::Validators(ValidatorError::Fixed));
        let params = params(Some(10));
        let mut refused = |set: &[Validator]| match schedule(&mut overlay, &params, 1, set) {
            Err(TxError::Validators(e)) => e.cause(),
            other => panic!("{other:?}"),
        };
        assert_eq!(refused(&[]), "no_validators");
        let many: Vec<Validator> = (0..=MAX_VALIDATORS)
            .map(|i| validator(&format!("v{i}"), "h:1"))
            .collect();
        assert_eq!(refused(&many), "too_many_validators");
        assert_eq!(
            refused(&[good[0].clone(), good[0].clone()]),
            "duplicate_validator"
        );
        let not_a_key = Validator {
            account: AccountId::from_bytes([0; 32]),
            p2p_address: "h:1".into(),
        };
        assert_eq!(refused(&[not_a_key]), "validator_not_a_key");
        for address in [
            "",
            "host",
            ":1",
            "h:port",
            "h:70000",
            "a b:1",
            &"h".repeat(300),
        ] {
            assert_eq!(
                refused(&[validator("v", address)]),
                "bad_validator_address",
                "{address}"
            );
        }
    }
}
