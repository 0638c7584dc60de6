//! The contract's view of the world: who calls, when, and the effects it may have.

use crate::codec::{Decode, Encode};
use crate::{sys, AccountId, Balance};
use alloc::string::String;
use alloc::vec::Vec;

/// The account that sent this command or signed this query.
pub fn caller() -> AccountId {
    AccountId(sys::caller())
}

/// This contract's own account (where PHA sent to it is held).
pub fn self_address() -> AccountId {
    AccountId(sys::self_address())
}

pub fn block_height() -> u64 {
    sys::block_height()
}

/// Timestamp of the block that ordered this command, in milliseconds since the Unix epoch.
pub fn block_time_ms() -> u64 {
    sys::block_time()
}

/// A seed derived per block from the contract's key: the same on every worker, unknowable to
/// anyone outside the enclave. Mix in your own domain before use.
pub fn random_seed() -> [u8; 32] {
    sys::random_seed()
}

/// Emits an event everyone can read.
pub fn emit_event<T: Encode>(event: &T) {
    sys::emit_event(None, &event.encode())
}

/// Emits an event only `recipient` can read: the workers keep it sealed as `recipient`'s
/// notification, read with a query only `recipient` can sign (`phalanx contract events`). The
/// command's sender sees it in its receipt only if it is the recipient.
pub fn emit_event_to<T: Encode>(recipient: &AccountId, event: &T) {
    sys::emit_event(Some(&recipient.0), &event.encode())
}

/// For a query made under a permit, the scopes the permit's owner granted (the caller is then
/// the owner, on whose behalf the grantee asks); `None` when the caller asks for itself.
pub fn permit_scopes() -> Option<Vec<String>> {
    sys::permit_scopes().and_then(|bytes| Vec::<String>::decode(&mut &bytes[..]).ok())
}

/// Whether the caller may ask for `scope`: always when it asks for itself, and under a permit
/// only if the permit names `scope`. A query handler guards each kind of answer with it:
/// `ensure!(env::allows("balance"), "the permit does not cover balances")`.
pub fn allows(scope: &str) -> bool {
    match permit_scopes() {
        None => true,
        Some(scopes) => scopes.iter().any(|granted| granted == scope),
    }
}

/// Asks that this call be charged at least `total` gas, whatever it did: charged when the call
/// ends (after what new storage costs), whether it succeeds or returns an error. Call it on
/// every path of a command with one total per message kind, at least the most that kind can
/// use, and the gas the chain sees (in the payer's refund) no longer tells which branch the
/// command took. A call that traps is charged what it burnt, as always.
pub fn pad_gas(total: u64) {
    sys::pad_gas(total)
}

/// Pays `amount` of the contract's PHA to `to` once the command succeeds (sent by the worker
/// to the chain as egress).
pub fn transfer(to: &AccountId, amount: Balance) {
    sys::transfer(&to.0, amount)
}

/// PHA (in units) this command carried into the contract's account. If the command fails, the
/// worker pays it back to the sender.
pub fn value_received() -> Balance {
    sys::value_received()
}

/// PHA (in units) this contract's own account holds, as the ledger state the call runs against
/// says: for a command, at the end of the block that ordered it (this command's value and the
/// values of the block's other commands included); for a query, at the block the worker has
/// synced to. Payments this contract makes ([`transfer`], a failed command's refund, a
/// message's gas) leave the account only when the chain orders them, some blocks later, so a
/// contract that pays out keeps its own count of what it owes beside this figure.
pub fn balance() -> Balance {
    sys::balance()
}

/// Writes a line into the sender's receipt (whether the call succeeds or fails), charged like
/// an event: for developing on a dev chain. Only chains whose genesis allows debug output take
/// code that calls it; elsewhere its upload is refused, so remove the calls (or put them behind
/// a feature) before deploying. See also [`crate::debug!`].
pub fn debug(line: &str) {
    sys::debug(line)
}

/// Sends `message` to another contract once this command succeeds: the worker seals it to that
/// contract and the chain orders it; there it runs as a command whose caller is this contract,
/// with up to `gas_limit` gas paid from this contract's PHA.
pub fn send_message<T: Encode>(to: &AccountId, message: &T, gas_limit: u64) {
    sys::send_message(&to.0, &message.encode(), gas_limit)
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    sys::sha256(data)
}

/// Checks an ed25519 signature (strictly: non-canonical signatures and weak keys fail).
pub fn ed25519_verify(signer: &AccountId, message: &[u8], signature: &[u8; 64]) -> bool {
    sys::ed25519_verify(&signer.0, message, signature)
}
