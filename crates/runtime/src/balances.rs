//! The balances module: each account's free PHA and nonce.
//!
//! State layout: key `balances/account/` ++ 32-byte account id, value SCALE(`AccountInfo`).
//! An account that never received PHA has no entry and reads as zero.

use crate::{StateError, StateOverlay, StateReader, TxError};
use parity_scale_codec::{Decode, Encode};
use phalanx_primitives::{AccountId, Balance};

const ACCOUNT_PREFIX: &[u8] = b"balances/account/";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct AccountInfo {
    /// Spendable PHA in units.
    pub free: Balance,
    /// Number of transactions this account has signed and the ledger applied.
    pub nonce: u64,
}

pub fn account_key(account: &AccountId) -> Vec<u8> {
    let mut key = Vec::with_capacity(ACCOUNT_PREFIX.len() + 32);
    key.extend_from_slice(ACCOUNT_PREFIX);
    key.extend_from_slice(account.as_bytes());
    key
}

/// The account id in a balances key, or `None` if the key belongs to something else.
pub fn account_of_key(key: &[u8]) -> Option<AccountId> {
    let bytes: [u8; 32] = key.strip_prefix(ACCOUNT_PREFIX)?.try_into().ok()?;
    Some(AccountId::from_bytes(bytes))
}

fn decode_account(bytes: Option<Vec<u8>>) -> Result<AccountInfo, StateError> {
    match bytes {
        None => Ok(AccountInfo::default()),
        Some(bytes) => AccountInfo::decode(&mut &bytes[..])
            .map_err(|e| StateError(format!("corrupt account entry: {e}"))),
    }
}

/// Reads an account, from committed state or from a block being built (an overlay).
pub fn account(state: &impl StateReader, account: &AccountId) -> Result<AccountInfo, StateError> {
    decode_account(state.get(&account_key(account))?)
}

pub(crate) fn write(
    overlay: &mut StateOverlay<impl StateReader>,
    account: &AccountId,
    info: AccountInfo,
) {
    overlay.set(account_key(account), info.encode());
}

/// Adds `amount` to an account. The total supply is far below `Balance::MAX`, so overflow means
/// corrupted state, reported as such.
pub(crate) fn credit(
    overlay: &mut StateOverlay<impl StateReader>,
    account: &AccountId,
    amount: Balance,
) -> Result<(), TxError> {
    let mut info = self::account(overlay, account)?;
    info.free = info
        .free
        .checked_add(amount)
        .ok_or_else(|| StateError(format!("balance of {account} overflows")))?;
    write(overlay, account, info);
    Ok(())
}

/// Takes `amount` from an account, refusing (and changing nothing) if it holds less.
pub(crate) fn debit(
    overlay: &mut StateOverlay<impl StateReader>,
    account: &AccountId,
    amount: Balance,
) -> Result<(), TxError> {
    let mut info = self::account(overlay, account)?;
    info.free = info
        .free
        .checked_sub(amount)
        .ok_or(TxError::InsufficientBalance {
            needed: amount,
            available: info.free,
        })?;
    write(overlay, account, info);
    Ok(())
}

/// Moves `amount` between accounts, or nothing if `from` holds less.
pub(crate) fn transfer(
    overlay: &mut StateOverlay<impl StateReader>,
    from: &AccountId,
    to: &AccountId,
    amount: Balance,
) -> Result<(), TxError> {
    debit(overlay, from, amount)?;
    credit(overlay, to, amount)
}
