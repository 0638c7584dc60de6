//! The native test environment: the host API backed by a thread-local [`TestEnv`], so contract
//! logic runs under `cargo test` without Wasm. It mirrors the VM's rules where they matter to
//! logic: [`execute`] rolls storage back when the handler fails, [`query`] forbids writes, and
//! every bound of [`crate::limits`] holds: what the VM would refuse (a 65th event, a key of the
//! VM's, a 17th transfer, more gas than [`set_gas_limit`] allows, storage past its cap) traps,
//! as a panic whose message starts with `trap:` (catch one with [`expect_trap`]); the call's
//! changes are rolled back first. Host calls are charged at the VM's prices ([`gas_used`]:
//! a lower bound of the VM's figure, which adds the Wasm instructions between them).

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
    /// Every line written with `env::debug`, in order (the VM puts a call's in its receipt).
    pub debug: Vec<String>,
    /// Gas a call may use (`None`: no limit); going past it traps, as out of gas in the VM.
    pub gas_limit: Option<u64>,
    /// Gas the current (or last) call's host calls and storage deposit used.
    pub gas_used: u64,
    /// What the current call emitted, transferred and sent, against the per-call bounds.
    pub call: CallCounts,
}

/// What one call did so far, against [`crate::limits`]' per-call bounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallCounts {
    pub events: usize,
    pub transfers: usize,
    pub messages: usize,
    pub debug: usize,
}

impl TestEnv {
    /// Charges `gas` to the current call; past the limit, traps (out of gas).
    pub fn charge(&mut self, gas: u64) {
        self.gas_used = self.gas_used.saturating_add(gas);
        if let Some(limit) = self.gas_limit {
            if self.gas_used > limit {
                trap(&format!(
                    "out of gas ({} used, limit {limit})",
                    self.gas_used
                ));
            }
        }
    }

    fn start_call(&mut self) {
        self.gas_used = 0;
        self.call = CallCounts::default();
    }
}

/// Keys plus values, as the VM counts a contract's storage.
fn storage_bytes(storage: &BTreeMap<Vec<u8>, Vec<u8>>) -> u64 {
    storage
        .iter()
        .map(|(k, v)| (k.len() + v.len()) as u64)
        .sum()
}

/// Ends the call as the VM ends a trapping one: a panic whose message starts with `trap:`.
pub fn trap(reason: &str) -> ! {
    panic!("trap: {reason}")
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
            debug: Vec::new(),
            gas_limit: None,
            gas_used: 0,
            call: CallCounts::default(),
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

/// The gas each later call may use (`None`: no limit).
pub fn set_gas_limit(limit: Option<u64>) {
    with_env(|env| env.gas_limit = limit);
}

/// Gas the last call's host calls (and, for a successful command, its storage deposit) used.
pub fn gas_used() -> u64 {
    with_env(|env| env.gas_used)
}

/// Runs `f`, which must trap (a VM bound crossed, out of gas), and returns the trap's reason.
pub fn expect_trap(f: impl FnOnce()) -> String {
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    let Err(payload) = caught else {
        panic!("expected a trap, and the call returned");
    };
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    match message.strip_prefix("trap: ") {
        Some(reason) => reason.to_string(),
        None => std::panic::resume_unwind(payload),
    }
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
        env.start_call();
        (
            env.storage.clone(),
            env.events.len(),
            env.transfers.len(),
            env.messages.len(),
        )
    });
    let undo = |env: &mut TestEnv| {
        env.value = 0;
        env.balance -= value;
        env.storage = before.0.clone();
        env.events.truncate(before.1);
        env.transfers.truncate(before.2);
        env.messages.truncate(before.3);
        env.receipt_events.clear();
    };
    // What a successful call adds to storage is bounded and paid for at its end, as in the VM.
    let size_before = storage_bytes(&before.0);
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let result = handler();
        if result.is_ok() {
            with_env(|env| {
                let size = storage_bytes(&env.storage);
                if size > crate::limits::MAX_CONTRACT_STORAGE_BYTES {
                    trap(&format!("contract storage would grow to {size} bytes"));
                }
                let added = size.saturating_sub(size_before);
                env.charge(added.saturating_mul(crate::limits::gas::STORAGE_PER_NEW_BYTE));
            });
        }
        result
    }));
    let result = match run {
        Ok(result) => result,
        Err(payload) => {
            // A trap changes nothing, as in the VM; then it goes on to the test.
            with_env(undo);
            std::panic::resume_unwind(payload)
        }
    };
    with_env(|env| {
        env.value = 0;
        if result.is_err() {
            undo(env);
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
        env.start_call();
    });
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(handler));
    with_env(|env| env.read_only = false);
    result.unwrap_or_else(|payload| std::panic::resume_unwind(payload))
}

/// Calls a query handler as `owner`'s permit grantee would: the caller is `owner`, and the
/// contract sees `scopes`, as in the VM.
pub fn query_with_permit<R>(owner: AccountId, scopes: &[&str], handler: impl FnOnce() -> R) -> R {
    with_env(|env| env.permit_scopes = Some(scopes.iter().map(|s| s.to_string()).collect()));
    let result = query(owner, handler);
    with_env(|env| env.permit_scopes = None);
    result
}

/// Takes the lines written with `env::debug` so far.
pub fn take_debug() -> Vec<String> {
    with_env(|env| std::mem::take(&mut env.debug))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env;
    use crate::limits::{self, gas};
    use crate::storage::Item;

    static VALUE: Item<u64> = Item::new(b"value");

    #[test]
    fn what_the_vm_refuses_traps_and_changes_nothing() {
        reset();
        let too_many_events = expect_trap(|| {
            let _ = execute(account(1), || -> Result<(), ()> {
                VALUE.set(&1);
                for _ in 0..=limits::MAX_EVENTS_PER_CALL {
                    env::emit_event(&1u8);
                }
                Ok(())
            });
        });
        assert!(
            too_many_events.contains("more than 64 events"),
            "{too_many_events}"
        );
        assert_eq!(VALUE.get(), None, "a trapped call writes nothing");
        assert!(take_events().is_empty());

        let reserved = expect_trap(|| {
            let _ = execute(account(1), || -> Result<(), ()> {
                crate::sys::storage_set(b"\xffphalanx/balance", &[1]);
                Ok(())
            });
        });
        assert!(reserved.contains("are the VM's"), "{reserved}");
        let big = expect_trap(|| {
            let _ = execute(account(1), || -> Result<(), ()> {
                env::emit_event(&vec![0u8; limits::MAX_EVENT_LEN + 1]);
                Ok(())
            });
        });
        assert!(big.contains("exceed the limit"), "{big}");
        let transfers = expect_trap(|| {
            let _ = execute(account(1), || -> Result<(), ()> {
                for _ in 0..=limits::MAX_TRANSFERS_PER_CALL {
                    env::transfer(&account(2), 1);
                }
                Ok(())
            });
        });
        assert!(transfers.contains("transfers in one call"), "{transfers}");
        assert!(take_transfers().is_empty());
        let write_in_query = expect_trap(|| query(account(1), || VALUE.set(&3)));
        assert!(
            write_in_query.contains("a query cannot"),
            "{write_in_query}"
        );
    }

    #[test]
    fn host_calls_and_new_storage_cost_the_vms_gas() {
        reset();
        execute(account(1), || -> Result<(), ()> {
            VALUE.set(&7);
            Ok(())
        })
        .unwrap();
        assert!(take_debug().is_empty());
        // One write of the key and an 8-byte value, and those bytes' deposit.
        let bytes = (b"value".len() + 8) as u64;
        let expected = gas::HOST_CALL
            + gas::STORAGE_WRITE
            + gas::STORAGE_WRITE_PER_BYTE * bytes
            + gas::STORAGE_PER_NEW_BYTE * bytes;
        assert_eq!(gas_used(), expected);
        // Rewriting the same bytes pays the write again but no deposit; below even the write's
        // price it is out of gas, and undone.
        set_gas_limit(Some(gas::HOST_CALL + gas::STORAGE_WRITE));
        let out_of_gas = expect_trap(|| {
            let _ = execute(account(1), || -> Result<(), ()> {
                VALUE.set(&8);
                Ok(())
            });
        });
        assert!(out_of_gas.contains("out of gas"), "{out_of_gas}");
        set_gas_limit(None);
        assert_eq!(VALUE.get(), Some(7));
    }

    #[test]
    fn debug_lines_are_kept_even_when_the_call_fails() {
        reset();
        let failed = execute(account(1), || -> Result<(), ()> {
            crate::debug!("value is {}", 7);
            Err(())
        });
        assert!(failed.is_err());
        assert_eq!(take_debug(), vec!["value is 7".to_string()]);
        let long = "é".repeat(limits::MAX_DEBUG_LINE_LEN);
        let _ = execute(account(1), || -> Result<(), ()> {
            for _ in 0..=limits::MAX_DEBUG_LINES_PER_CALL {
                env::debug(&long);
            }
            Ok(())
        });
        let lines = take_debug();
        assert_eq!(lines.len(), limits::MAX_DEBUG_LINES_PER_CALL);
        assert!(lines[0].len() <= limits::MAX_DEBUG_LINE_LEN);
    }
}
