//! The master key as the chain knows it: its public key, its epoch, and which gatekeepers hold
//! it. The secret never comes near the chain: the first gatekeeper generates it in its enclave and
//! declares only the public key; every later gatekeeper receives the secret from a holder, sealed
//! to its registered (hence attested) ECDH key, and checks it against the public key declared
//! here. Only holders may publish cluster and contract keys or send key messages.
//!
//! State layout: `keys/master` -> SCALE(MasterKeyInfo).

use crate::clusters::{current_epoch, require_gatekeeper};
use crate::error::{Cause, Refusal};
use crate::state::decode_entry;
use crate::{StateError, StateOverlay, StateReader, TxError};
use parity_scale_codec::{Decode, Encode};
use phalanx_primitives::{AccountId, Envelope, Event};

/// Why a declaration or share of the master key is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MasterKeyError {
    #[error("gatekeeper {0} does not hold the master key")]
    NotHolder(AccountId),
    #[error("the master key is already declared (epoch {epoch}, by {}); a further gatekeeper receives it from a holder", by.map(|a| a.to_string()).unwrap_or_default())]
    AlreadyDeclared { epoch: u32, by: Option<AccountId> },
    #[error("key epoch {epoch} is not the current epoch {current}")]
    NotCurrentEpoch { epoch: u32, current: u32 },
    #[error("gatekeeper {0} already holds the master key")]
    AlreadyHolds(AccountId),
    #[error("key epoch {epoch} is not the master key's epoch {master}")]
    WrongEpoch { epoch: u32, master: u32 },
}

impl Cause for MasterKeyError {
    fn cause(&self) -> &'static str {
        match self {
            MasterKeyError::NotHolder(_) => "not_master_key_holder",
            MasterKeyError::AlreadyDeclared { .. } => "master_key_declared",
            MasterKeyError::NotCurrentEpoch { .. } => "not_current_epoch",
            MasterKeyError::AlreadyHolds(_) => "already_holds_master_key",
            MasterKeyError::WrongEpoch { .. } => "wrong_master_key_epoch",
        }
    }

    fn refusal(&self) -> Refusal {
        match self {
            MasterKeyError::NotHolder(_) => Refusal::NotAuthorized,
            _ => Refusal::InvalidCall,
        }
    }
}

const MASTER_KEY: &[u8] = b"keys/master";

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct MasterKeyInfo {
    pub epoch: u32,
    /// Public key derived from the master secret (see `MasterKey::public_key`).
    pub public_key: [u8; 32],
    /// The gatekeepers holding the secret, the declaring one first.
    pub holders: Vec<AccountId>,
}

/// The master key's public information, from committed state.
pub fn master_key(state: &impl StateReader) -> Result<Option<MasterKeyInfo>, StateError> {
    decode_entry(state.get(MASTER_KEY)?, "master key entry")
}

pub(crate) fn read_info(
    overlay: &StateOverlay<impl StateReader>,
) -> Result<Option<MasterKeyInfo>, TxError> {
    read(overlay)
}

fn read(overlay: &StateOverlay<impl StateReader>) -> Result<Option<MasterKeyInfo>, TxError> {
    Ok(decode_entry(overlay.get(MASTER_KEY)?, "master key entry")?)
}

/// Fails unless `account` is a registered gatekeeper holding the master key.
pub(crate) fn require_holder(
    overlay: &StateOverlay<impl StateReader>,
    account: &AccountId,
) -> Result<(), TxError> {
    require_gatekeeper(overlay, account)?;
    match read(overlay)? {
        Some(info) if info.holders.contains(account) => Ok(()),
        _ => Err(MasterKeyError::NotHolder(*account).into()),
    }
}

pub(crate) fn publish(
    overlay: &mut StateOverlay<impl StateReader>,
    signer: AccountId,
    epoch: u32,
    public_key: [u8; 32],
) -> Result<Event, TxError> {
    require_gatekeeper(overlay, &signer)?;
    if let Some(info) = read(overlay)? {
        return Err(MasterKeyError::AlreadyDeclared {
            epoch: info.epoch,
            by: info.holders.first().copied(),
        }
        .into());
    }
    let current = current_epoch(overlay)?;
    if epoch != current {
        return Err(MasterKeyError::NotCurrentEpoch { epoch, current }.into());
    }
    let info = MasterKeyInfo {
        epoch,
        public_key,
        holders: vec![signer],
    };
    overlay.set(MASTER_KEY.to_vec(), info.encode());
    Ok(Event::MasterKeyPublished {
        gatekeeper: signer,
        epoch,
        public_key,
    })
}

/// A removed gatekeeper no longer counts as holding the key (it may be elected and sent it again).
pub(crate) fn drop_holder(
    overlay: &mut StateOverlay<impl StateReader>,
    identity: &AccountId,
) -> Result<(), TxError> {
    if let Some(mut info) = read(overlay)? {
        info.holders.retain(|h| h != identity);
        overlay.set(MASTER_KEY.to_vec(), info.encode());
    }
    Ok(())
}

/// Records that `signer` handed the master key to `recipient`; the envelope stays in the block,
/// where the recipient reads it. Only the first share to a gatekeeper is accepted.
pub(crate) fn share(
    overlay: &mut StateOverlay<impl StateReader>,
    signer: AccountId,
    recipient: AccountId,
    envelope: &Envelope,
) -> Result<Event, TxError> {
    require_holder(overlay, &signer)?;
    require_gatekeeper(overlay, &recipient)?;
    let mut info =
        read(overlay)?.ok_or_else(|| StateError("holder without a master key".into()))?;
    if info.holders.contains(&recipient) {
        return Err(MasterKeyError::AlreadyHolds(recipient).into());
    }
    if envelope.epoch != info.epoch {
        return Err(MasterKeyError::WrongEpoch {
            epoch: envelope.epoch,
            master: info.epoch,
        }
        .into());
    }
    info.holders.push(recipient);
    let epoch = info.epoch;
    overlay.set(MASTER_KEY.to_vec(), info.encode());
    Ok(Event::MasterKeyShared {
        from: signer,
        to: recipient,
        epoch,
    })
}
