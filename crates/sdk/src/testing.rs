//! The native test environment: the host API backed by a thread-local [`TestEnv`], so contract
//! logic runs under `cargo test` without Wasm. It mirrors the VM's rules where they matter to
//! logic: [`execute`] rolls storage back when the handler fails, [`query`] forbids writes.

use crate::AccountId;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// Everything the host would provide or record.
#[derive(Clone, Debug)]
pub struct TestEnv {
    pub storage: BTreeMap<Vec<u8>, Vec<u8>>,
    pub caller: AccountId,
    pub contract: AccountId,
    pub block_height: u64,
    pub block_time_ms: u64,
    pub random_seed: [u8; 32],
    pub input: Vec<u8>,
    pub output: Vec<u8>,
    /// Events, each with its recipient (`None`: public).
    pub events: Vec<(Option<AccountId>, Vec<u8>)>,
    /// What the last successful command's receipt holds, as its sender reads it: the public
    /// events and those addressed to the sender.
    pub receipt_events: Vec<(Option<AccountId>, Vec<u8>)>,
    /// Every event addressed to an account by a successful command, per account, in order: what
    /// that account reads with a notification query (numbered from 0 by position).
    pub notifications: BTreeMap<AccountId, Vec<Vec<u8>>>,
    pub transfers: Vec<(AccountId, u128)>,
    /// Messages to other contracts: recipient, payload, gas limit.
    pub messages: Vec<(AccountId, Vec<u8>, u64)>,
    /// PHA the current command carried.
    pub value: u128,
    /// PHA the contract's account holds (`env::balance`): [`execute_with_value`] adds the
    /// command's value before the handler runs; after it, a failed command's value goes back
    /// and a successful one's transfers go out, as once the chain has ordered them.
    pub balance: u128,
    /// The most gas a call asked to be charged (`env::pad_gas`), until the next `execute`.
    pub pad_gas: u64,
    /// The scopes of the permit the current query runs under ([`query_with_permit`]).
    pub permit_scopes: Option<Vec<String>>,
    pub read_only: bool,
}

impl Default for TestEnv {
    fn default() -> Self {
        TestEnv {
            storage: BTreeMap::new(),
            caller: account(1),
            contract: account(255),
            block_height: 1,
            block_time_ms: 1_767_225_600_000,
            random_seed: [7; 32],
            input: Vec::new(),
            output: Vec::new(),
            events: Vec::new(),
            receipt_events: Vec::new(),
            notifications: BTreeMap::new(),
            transfers: Vec::new(),
            messages: Vec::new(),
            value: 0,
            balance: 0,
            pad_gas: 0,
            permit_scopes: None,
            read_only: false,
        }
    }
}

thread_local! {
    static ENV: RefCell<TestEnv> = RefCell::new(TestEnv::default());
}

/// A distinct test account.
pub fn account(n: u8) -> AccountId {
    AccountId([n; 32])
}

/// Runs `f` on this thread's environment.
pub fn with_env<R>(f: impl FnOnce(&mut TestEnv) -> R) -> R {
    ENV.with(|env| f(&mut env.borrow_mut()))
}

/// Starts over with an empty environment.
pub fn reset() {
    with_env(|env| *env = TestEnv::default());
}

pub fn set_caller(caller: AccountId) {
    with_env(|env| env.caller = caller);
}

/// Sets the PHA the contract's account holds (PHA sent to it outside a command, say).
pub fn set_balance(units: u128) {
    with_env(|env| env.balance = units);
}

pub fn set_block(height: u64, time_ms: u64) {
    with_env(|env| {
        env.block_height = height;
        env.block_time_ms = time_ms;
    });
}

/// Calls a command handler as `caller`, like the VM: on `Err`, storage, events, transfers and
/// messages are restored to what they were.
pub fn execute<R, E>(caller: AccountId, handler: impl FnOnce() -> Result<R, E>) -> Result<R, E> {
    execute_with_value(caller, 0, handler)
}

/// [`execute`] for a command that carried `value` PHA into the contract's account.
pub fn execute_with_value<R, E>(
    caller: AccountId,
    value: u128,
    handler: impl FnOnce() -> Result<R, E>,
) -> Result<R, E> {
    let before = with_env(|env| {
        env.caller = caller;
        env.value = value;
        env.balance += value;
        env.pad_gas = 0;
        (
            env.storage.clone(),
            env.events.len(),
            env.transfers.len(),
            env.messages.len(),
        )
    });
    let result = handler();
    with_env(|env| {
        env.value = 0;
        if result.is_err() {
            env.balance -= value;
            env.storage = before.0;
            env.events.truncate(before.1);
            env.transfers.truncate(before.2);
            env.messages.truncate(before.3);
            env.receipt_events.clear();
        } else {
            // Each payment lands in order; one the account cannot cover fails, as on chain.
            for (_, amount) in &env.transfers[before.2..] {
                if let Some(left) = env.balance.checked_sub(*amount) {
                    env.balance = left;
                }
            }
            // As the workers do: the sender's receipt keeps the public events and its own; each
            // addressed event goes to its recipient alone.
            let emitted = env.events[before.1..].to_vec();
            env.receipt_events = emitted
                .iter()
                .filter(|(to, _)| to.is_none_or(|to| to == caller))
                .cloned()
                .collect();
            for (to, data) in emitted {
                if let Some(to) = to {
                    env.notifications.entry(to).or_default().push(data);
                }
            }
        }
    });
    result
}

/// Calls a query handler as `caller`; any write panics, as it traps in the VM.
pub fn query<R>(caller: AccountId, handler: impl FnOnce() -> R) -> R {
    with_env(|env| {
        env.caller = caller;
        env.read_only = true;
    });
    let result = handler();
    with_env(|env| env.read_only = false);
    result
}

/// Calls a query handler as `owner`'s permit grantee would: the caller is `owner`, and the
/// contract sees `scopes`, as in the VM.
pub fn query_with_permit<R>(owner: AccountId, scopes: &[&str], handler: impl FnOnce() -> R) -> R {
    with_env(|env| env.permit_scopes = Some(scopes.iter().map(|s| s.to_string()).collect()));
    let result = query(owner, handler);
    with_env(|env| env.permit_scopes = None);
    result
}

/// Takes the events emitted so far.
pub fn take_events() -> Vec<(Option<AccountId>, Vec<u8>)> {
    with_env(|env| std::mem::take(&mut env.events))
}

/// The events the last successful command's sender reads in its receipt (public ones and those
/// addressed to it).
pub fn receipt_events() -> Vec<(Option<AccountId>, Vec<u8>)> {
    with_env(|env| env.receipt_events.clone())
}

/// The events addressed to `account` so far, in order: its notifications.
pub fn notifications(account: &AccountId) -> Vec<Vec<u8>> {
    with_env(|env| env.notifications.get(account).cloned().unwrap_or_default())
}

/// Takes the messages sent so far: recipient, payload, gas limit.
pub fn take_messages() -> Vec<(AccountId, Vec<u8>, u64)> {
    with_env(|env| std::mem::take(&mut env.messages))
}

/// Takes the transfers requested so far.
pub fn take_transfers() -> Vec<(AccountId, u128)> {
    with_env(|env| std::mem::take(&mut env.transfers))
}
