//! The host API as safe functions with one signature on every target: on `wasm32` they call the
//! VM's `env` imports (ABI in docs/contract-abi.md), elsewhere the native [`crate::testing`] env.

#[cfg(target_arch = "wasm32")]
mod imports {
    #[link(wasm_import_module = "env")]
    extern "C" {
        pub fn input() -> i32;
        pub fn scratch_read(ptr: *mut u8);
        pub fn output(ptr: *const u8, len: i32);
        pub fn storage_get(key_ptr: *const u8, key_len: i32) -> i32;
        pub fn storage_set(key_ptr: *const u8, key_len: i32, value_ptr: *const u8, value_len: i32);
        pub fn storage_remove(key_ptr: *const u8, key_len: i32);
        pub fn caller(out: *mut u8);
        pub fn self_address(out: *mut u8);
        pub fn block_height() -> i64;
        pub fn block_time() -> i64;
        pub fn random_seed(out: *mut u8);
        pub fn emit_event(data_ptr: *const u8, data_len: i32);
        pub fn emit_event_to(account_ptr: *const u8, data_ptr: *const u8, data_len: i32);
        pub fn transfer(to_ptr: *const u8, amount_ptr: *const u8);
        pub fn value_received(out: *mut u8);
        pub fn balance(out: *mut u8);
        pub fn debug(ptr: *const u8, len: i32);
        pub fn send_message(to_ptr: *const u8, data_ptr: *const u8, data_len: i32, gas_limit: i64);
        pub fn sha256(data_ptr: *const u8, data_len: i32, out: *mut u8);
        pub fn ed25519_verify(
            key_ptr: *const u8,
            msg_ptr: *const u8,
            msg_len: i32,
            sig_ptr: *const u8,
        ) -> i32;
        pub fn panic(msg_ptr: *const u8, msg_len: i32);
        pub fn pad_gas(total: i64);
        pub fn permit_scopes() -> i32;
    }
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::imports as host;
    use alloc::vec::Vec;

    // SAFETY (for every `unsafe` block below): the host reads exactly `len` bytes from each
    // pointer and writes exactly the documented number of bytes (32, 64, or the length it
    // returned) to each out-pointer; every pointer here comes from a live Rust slice or array of
    // at least that length, and the host checks all pointers against linear memory anyway.

    fn scratch(len: i32) -> Vec<u8> {
        let mut buffer = alloc::vec![0u8; len as usize];
        unsafe { host::scratch_read(buffer.as_mut_ptr()) };
        buffer
    }

    pub fn input() -> Vec<u8> {
        let len = unsafe { host::input() };
        scratch(len)
    }
    pub fn set_output(bytes: &[u8]) {
        unsafe { host::output(bytes.as_ptr(), bytes.len() as i32) }
    }
    pub fn storage_get(key: &[u8]) -> Option<Vec<u8>> {
        let len = unsafe { host::storage_get(key.as_ptr(), key.len() as i32) };
        (len >= 0).then(|| scratch(len))
    }
    pub fn storage_set(key: &[u8], value: &[u8]) {
        unsafe {
            host::storage_set(
                key.as_ptr(),
                key.len() as i32,
                value.as_ptr(),
                value.len() as i32,
            )
        }
    }
    pub fn storage_remove(key: &[u8]) {
        unsafe { host::storage_remove(key.as_ptr(), key.len() as i32) }
    }
    pub fn caller() -> [u8; 32] {
        let mut out = [0u8; 32];
        unsafe { host::caller(out.as_mut_ptr()) };
        out
    }
    pub fn self_address() -> [u8; 32] {
        let mut out = [0u8; 32];
        unsafe { host::self_address(out.as_mut_ptr()) };
        out
    }
    pub fn block_height() -> u64 {
        unsafe { host::block_height() as u64 }
    }
    pub fn block_time() -> u64 {
        unsafe { host::block_time() as u64 }
    }
    pub fn random_seed() -> [u8; 32] {
        let mut out = [0u8; 32];
        unsafe { host::random_seed(out.as_mut_ptr()) };
        out
    }
    pub fn emit_event(recipient: Option<&[u8; 32]>, data: &[u8]) {
        match recipient {
            None => unsafe { host::emit_event(data.as_ptr(), data.len() as i32) },
            Some(account) => unsafe {
                host::emit_event_to(account.as_ptr(), data.as_ptr(), data.len() as i32)
            },
        }
    }
    pub fn transfer(to: &[u8; 32], amount: u128) {
        let amount = amount.to_le_bytes();
        unsafe { host::transfer(to.as_ptr(), amount.as_ptr()) }
    }
    pub fn value_received() -> u128 {
        let mut out = [0u8; 16];
        unsafe { host::value_received(out.as_mut_ptr()) };
        u128::from_le_bytes(out)
    }
    pub fn balance() -> u128 {
        let mut out = [0u8; 16];
        unsafe { host::balance(out.as_mut_ptr()) };
        u128::from_le_bytes(out)
    }
    pub fn debug(line: &str) {
        unsafe { host::debug(line.as_ptr(), line.len() as i32) }
    }
    pub fn permit_scopes() -> Option<Vec<u8>> {
        let len = unsafe { host::permit_scopes() };
        (len >= 0).then(|| scratch(len))
    }
    pub fn pad_gas(total: u64) {
        // Totals above i64::MAX exceed any gas limit: clamping changes nothing.
        unsafe { host::pad_gas(total.min(i64::MAX as u64) as i64) }
    }
    pub fn send_message(to: &[u8; 32], data: &[u8], gas_limit: u64) {
        // The host refuses a limit above its maximum, so clamping only keeps the sign bit clear.
        let gas = gas_limit.min(i64::MAX as u64) as i64;
        unsafe { host::send_message(to.as_ptr(), data.as_ptr(), data.len() as i32, gas) }
    }
    pub fn sha256(data: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        unsafe { host::sha256(data.as_ptr(), data.len() as i32, out.as_mut_ptr()) };
        out
    }
    pub fn ed25519_verify(key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        unsafe {
            host::ed25519_verify(
                key.as_ptr(),
                message.as_ptr(),
                message.len() as i32,
                signature.as_ptr(),
            ) == 1
        }
    }
    pub fn panic(message: &str) -> ! {
        unsafe { host::panic(message.as_ptr(), message.len() as i32) };
        // The host never returns from `panic`; trap if it somehow did.
        core::arch::wasm32::unreachable()
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    //! The host API against the thread's [`crate::testing::TestEnv`], with the VM's bounds
    //! ([`crate::limits`]) and host prices: what the VM would refuse traps here too (a panic
    //! whose message starts with `trap:`).
    use crate::limits::{self, gas};
    use crate::testing::{trap, with_env, TestEnv};
    use alloc::vec::Vec;

    fn cost(base: u64, per_byte: u64, bytes: usize) -> u64 {
        per_byte.saturating_mul(bytes as u64).saturating_add(base)
    }

    fn check_key(key: &[u8]) {
        if key.len() > limits::MAX_KEY_LEN {
            trap(&alloc::format!(
                "storage key: {} bytes exceed the limit of {}",
                key.len(),
                limits::MAX_KEY_LEN
            ));
        }
        if key.starts_with(limits::RESERVED_KEY_PREFIX) {
            trap("storage keys starting with 0xff 'phalanx' are the VM's");
        }
    }

    fn writable(env: &TestEnv, action: &str) {
        if env.read_only {
            trap(&alloc::format!("a query cannot {action}"));
        }
    }

    /// Counts one more of `what` in this call, trapping past the VM's `limit`.
    fn one_more(count: &mut usize, limit: usize, what: &str) {
        if *count >= limit {
            trap(&alloc::format!("more than {limit} {what} in one call"));
        }
        *count += 1;
    }

    fn bounded(len: usize, limit: usize, what: &str) {
        if len > limit {
            trap(&alloc::format!(
                "{what}: {len} bytes exceed the limit of {limit}"
            ));
        }
    }

    pub fn input() -> Vec<u8> {
        with_env(|env| {
            env.charge(cost(gas::HOST_CALL, gas::PER_BYTE_COPIED, env.input.len()));
            env.input.clone()
        })
    }
    pub fn set_output(bytes: &[u8]) {
        with_env(|env| {
            env.charge(cost(gas::HOST_CALL, gas::PER_BYTE_COPIED, bytes.len()));
            bounded(bytes.len(), limits::MAX_OUTPUT_LEN, "output");
            env.output = bytes.to_vec()
        })
    }
    pub fn storage_get(key: &[u8]) -> Option<Vec<u8>> {
        with_env(|env| {
            env.charge(cost(
                gas::HOST_CALL + gas::STORAGE_READ,
                gas::PER_BYTE_COPIED,
                key.len(),
            ));
            check_key(key);
            let value = env.storage.get(key).cloned();
            if let Some(value) = &value {
                env.charge(cost(0, gas::STORAGE_READ_PER_BYTE, value.len()));
            }
            value
        })
    }
    pub fn storage_set(key: &[u8], value: &[u8]) {
        with_env(|env| {
            writable(env, "write storage");
            let bytes = key.len() + value.len();
            env.charge(cost(
                gas::HOST_CALL + gas::STORAGE_WRITE,
                gas::STORAGE_WRITE_PER_BYTE,
                bytes,
            ));
            check_key(key);
            bounded(value.len(), limits::MAX_VALUE_LEN, "storage value");
            env.storage.insert(key.to_vec(), value.to_vec());
        })
    }
    pub fn storage_remove(key: &[u8]) {
        with_env(|env| {
            writable(env, "write storage");
            env.charge(cost(
                gas::HOST_CALL + gas::STORAGE_WRITE,
                gas::STORAGE_WRITE_PER_BYTE,
                key.len(),
            ));
            check_key(key);
            env.storage.remove(key);
        })
    }
    pub fn caller() -> [u8; 32] {
        with_env(|env| {
            env.charge(cost(gas::HOST_CALL, gas::PER_BYTE_COPIED, 32));
            env.caller.0
        })
    }
    pub fn self_address() -> [u8; 32] {
        with_env(|env| {
            env.charge(cost(gas::HOST_CALL, gas::PER_BYTE_COPIED, 32));
            env.contract.0
        })
    }
    pub fn block_height() -> u64 {
        with_env(|env| {
            env.charge(gas::HOST_CALL);
            env.block_height
        })
    }
    pub fn block_time() -> u64 {
        with_env(|env| {
            env.charge(gas::HOST_CALL);
            env.block_time_ms
        })
    }
    pub fn random_seed() -> [u8; 32] {
        with_env(|env| {
            env.charge(cost(gas::HOST_CALL, gas::PER_BYTE_COPIED, 32));
            env.random_seed
        })
    }
    pub fn emit_event(recipient: Option<&[u8; 32]>, data: &[u8]) {
        with_env(|env| {
            writable(env, "emit events");
            env.charge(cost(
                gas::HOST_CALL + gas::EVENT,
                gas::EVENT_PER_BYTE,
                data.len(),
            ));
            bounded(data.len(), limits::MAX_EVENT_LEN, "event");
            one_more(&mut env.call.events, limits::MAX_EVENTS_PER_CALL, "events");
            env.events
                .push((recipient.map(|r| crate::AccountId(*r)), data.to_vec()));
        })
    }
    pub fn transfer(to: &[u8; 32], amount: u128) {
        with_env(|env| {
            writable(env, "transfer PHA");
            env.charge(gas::HOST_CALL + gas::TRANSFER);
            one_more(
                &mut env.call.transfers,
                limits::MAX_TRANSFERS_PER_CALL,
                "transfers",
            );
            env.transfers.push((crate::AccountId(*to), amount));
        })
    }
    pub fn value_received() -> u128 {
        with_env(|env| {
            env.charge(gas::HOST_CALL);
            env.value
        })
    }
    pub fn balance() -> u128 {
        with_env(|env| {
            env.charge(gas::HOST_CALL + gas::STORAGE_READ);
            env.balance
        })
    }
    pub fn debug(line: &str) {
        with_env(|env| {
            let len = line.len().min(limits::MAX_DEBUG_LINE_LEN);
            env.charge(cost(gas::HOST_CALL + gas::DEBUG, gas::EVENT_PER_BYTE, len));
            if env.call.debug < limits::MAX_DEBUG_LINES_PER_CALL {
                env.call.debug += 1;
                let cut = (0..=len)
                    .rev()
                    .find(|i| line.is_char_boundary(*i))
                    .unwrap_or(0);
                env.debug.push(line[..cut].into());
            }
        })
    }
    pub fn permit_scopes() -> Option<Vec<u8>> {
        use parity_scale_codec::Encode;
        with_env(|env| {
            env.charge(gas::HOST_CALL);
            env.permit_scopes.as_ref().map(|s| s.encode())
        })
    }
    pub fn pad_gas(total: u64) {
        with_env(|env| {
            env.charge(gas::HOST_CALL);
            env.pad_gas = env.pad_gas.max(total)
        })
    }
    pub fn send_message(to: &[u8; 32], data: &[u8], gas_limit: u64) {
        with_env(|env| {
            writable(env, "send messages");
            env.charge(cost(
                gas::HOST_CALL + gas::MESSAGE,
                gas::EVENT_PER_BYTE,
                data.len(),
            ));
            bounded(data.len(), limits::MAX_MESSAGE_LEN, "message");
            if !(1..=limits::MAX_MESSAGE_GAS).contains(&gas_limit) {
                trap(&alloc::format!(
                    "a message's gas limit must be 1 to {}",
                    limits::MAX_MESSAGE_GAS
                ));
            }
            one_more(
                &mut env.call.messages,
                limits::MAX_MESSAGES_PER_CALL,
                "messages",
            );
            env.messages
                .push((crate::AccountId(*to), data.to_vec(), gas_limit));
        })
    }
    pub fn sha256(data: &[u8]) -> [u8; 32] {
        use sha2::Digest;
        with_env(|env| {
            env.charge(cost(
                gas::HOST_CALL + gas::SHA256,
                gas::SHA256_PER_BYTE,
                data.len(),
            ));
            bounded(data.len(), limits::MAX_CRYPTO_INPUT_LEN, "sha256 input");
        });
        sha2::Sha256::digest(data).into()
    }
    pub fn ed25519_verify(key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        with_env(|env| {
            env.charge(cost(
                gas::HOST_CALL + gas::ED25519_VERIFY,
                gas::SHA256_PER_BYTE,
                message.len(),
            ));
            bounded(
                message.len(),
                limits::MAX_CRYPTO_INPUT_LEN,
                "signed message",
            );
        });
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(key) else {
            return false;
        };
        !key.is_weak()
            && key
                .verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature))
                .is_ok()
    }
    pub fn panic(message: &str) -> ! {
        panic!("{message}")
    }
}

pub(crate) use imp::*;
