//! The host API: the functions a contract imports from module `env`.
//!
//! Every function runs in one order: charge the base and the bytes it will touch, read guest
//! memory (bounded by a named limit, every pointer and length checked), do the work, write back.
//! A failed check traps with a [`CallError`] that says what went wrong; nothing is half done.
//! The byte-level ABI is in docs/contract-abi.md.

use crate::gas::cost;
use crate::storage::{PendingWrites, RunStorage};
use crate::vm::{CallContext, ContractEvent, EntryPoint, MessageOut, TransferOut};
use crate::*;
use parity_scale_codec::Encode;
use phalanx_primitives::{AccountId, Signature};
use wasmparser::ValType;
use wasmtime::{Caller, Error, Linker};

/// A host-side reason to stop the call, carried through the engine as the call's error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct HostTrap(pub CallError);

fn trap(error: CallError) -> Error {
    Error::new(HostTrap(error))
}

/// What the host functions work on: the run's storage (see [`crate::ContractSession`]), and the
/// call in progress. [`HostState::begin_call`] sets everything but the storage afresh, so a kept
/// store carries nothing of one call into the next.
pub(crate) struct HostState {
    /// What earlier successful calls of the run wrote, over the storage it started from.
    pub backend: RunStorage,
    pub pending: PendingWrites,
    pub context: CallContext,
    pub entry: EntryPoint,
    pub input: Vec<u8>,
    pub gas: GasSchedule,
    /// Bytes the last variable-length result left for `scratch_read`.
    pub scratch: Vec<u8>,
    pub output: Vec<u8>,
    pub events: Vec<ContractEvent>,
    pub transfers: Vec<TransferOut>,
    pub messages: Vec<MessageOut>,
    pub limits: wasmtime::StoreLimits,
    /// The instance's memory, once it has one (looked up once, not at every host call).
    pub memory: Option<wasmtime::Memory>,
    /// Debug lines (dev chains), for the sender's receipt.
    pub debug: Vec<String>,
    /// The gas the call asked to be charged at least (`pad_gas`): the VM charges it at the end,
    /// after storage deposits, so that what a call costs need not tell which branch it took.
    pub pad_to: u64,
    /// The worker's model runtime, if this VM has one.
    pub models: Option<std::sync::Arc<dyn ModelRuntime>>,
}

impl HostState {
    pub fn new(
        backend: RunStorage,
        gas: GasSchedule,
        models: Option<std::sync::Arc<dyn ModelRuntime>>,
    ) -> Self {
        HostState {
            backend,
            pending: PendingWrites::default(),
            context: CallContext::test(),
            entry: EntryPoint::Query,
            input: Vec::new(),
            gas,
            scratch: Vec::new(),
            output: Vec::new(),
            events: Vec::new(),
            transfers: Vec::new(),
            messages: Vec::new(),
            limits: store_limits(),
            memory: None,
            debug: Vec::new(),
            pad_to: 0,
            models,
        }
    }

    /// Forgets the last call and sets up the next.
    pub fn begin_call(&mut self, entry: EntryPoint, context: &CallContext, input: &[u8]) {
        self.pending = PendingWrites::default();
        self.context.clone_from(context);
        self.entry = entry;
        self.input.clear();
        self.input.extend_from_slice(input);
        self.scratch.clear();
        self.output.clear();
        self.events.clear();
        self.transfers.clear();
        self.messages.clear();
        self.debug.clear();
        self.pad_to = 0;
    }
}

/// What one instance may allocate.
pub(crate) fn store_limits() -> wasmtime::StoreLimits {
    wasmtime::StoreLimitsBuilder::new()
        .memory_size(MAX_MEMORY_PAGES as usize * 65_536)
        .instances(1)
        .memories(1)
        .tables(MAX_TABLES as usize)
        .table_elements(MAX_TABLE_ELEMENTS as usize)
        .build()
}

type Ctx<'c> = Caller<'c, HostState>;

/// The host functions: name, parameter types, result types. Validation checks imports against
/// this list so a module with a wrong import is refused at upload, not at its first call.
pub(crate) const HOST_FUNCTIONS: &[(&str, &[ValType], &[ValType])] = {
    use ValType::{I32, I64};
    &[
        ("input", &[], &[I32]),
        ("scratch_read", &[I32], &[]),
        ("output", &[I32, I32], &[]),
        ("storage_get", &[I32, I32], &[I32]),
        ("storage_set", &[I32, I32, I32, I32], &[]),
        ("storage_remove", &[I32, I32], &[]),
        ("caller", &[I32], &[]),
        ("self_address", &[I32], &[]),
        ("block_height", &[], &[I64]),
        ("block_time", &[], &[I64]),
        ("random_seed", &[I32], &[]),
        ("emit_event", &[I32, I32], &[]),
        ("emit_event_to", &[I32, I32, I32], &[]),
        ("transfer", &[I32, I32], &[]),
        ("value_received", &[I32], &[]),
        ("balance", &[I32], &[]),
        ("send_message", &[I32, I32, I32, I64], &[]),
        ("sha256", &[I32, I32, I32], &[]),
        ("ed25519_verify", &[I32, I32, I32, I32], &[I32]),
        ("panic", &[I32, I32], &[]),
        ("pad_gas", &[I64], &[]),
        ("permit_scopes", &[], &[I32]),
        ("debug", &[I32, I32], &[]),
        ("model_run", &[I32, I32, I32, I32], &[I32]),
    ]
};

/// A length as the contract declared it, for pricing before it is checked (negative: 0).
fn declared(len: i32) -> usize {
    len.max(0) as usize
}

/// Takes `amount` fuel, or traps with out-of-gas (leaving no fuel).
fn charge(caller: &mut Ctx, amount: u64) -> Result<(), Error> {
    let left = caller.get_fuel()?;
    if left < amount {
        caller.set_fuel(0)?;
        return Err(trap(CallError::OutOfGas));
    }
    caller.set_fuel(left - amount)
}

fn memory(caller: &Ctx) -> Result<wasmtime::Memory, Error> {
    if let Some(memory) = caller.data().memory {
        return Ok(memory);
    }
    // Validation made every contract export one; a caller through `get_export` needs `&mut`.
    Err(trap(CallError::Trap("contract exports no memory".into())))
}

/// Checks a guest (pointer, length) pair against a limit and the memory size.
fn span(
    caller: &Ctx,
    ptr: i32,
    len: i32,
    limit: usize,
    what: &str,
) -> Result<(usize, usize), Error> {
    let bad = |reason: String| trap(CallError::Trap(format!("{what}: {reason}")));
    let (ptr, len) = (
        usize::try_from(ptr).map_err(|_| bad("negative pointer".into()))?,
        usize::try_from(len).map_err(|_| bad("negative length".into()))?,
    );
    if len > limit {
        return Err(bad(format!("{len} bytes exceed the limit of {limit}")));
    }
    let end = ptr
        .checked_add(len)
        .ok_or_else(|| bad("pointer overflow".into()))?;
    if end > memory(caller)?.data_size(caller) {
        return Err(bad(format!("bytes {ptr}..{end} are outside linear memory")));
    }
    Ok((ptr, len))
}

fn read(caller: &Ctx, ptr: i32, len: i32, limit: usize, what: &str) -> Result<Vec<u8>, Error> {
    let (ptr, len) = span(caller, ptr, len, limit, what)?;
    Ok(memory(caller)?.data(caller)[ptr..ptr + len].to_vec())
}

fn read_array<const N: usize>(caller: &Ctx, ptr: i32, what: &str) -> Result<[u8; N], Error> {
    let bytes = read(caller, ptr, N as i32, N, what)?;
    Ok(bytes.try_into().expect("read returned N bytes"))
}

fn write(caller: &mut Ctx, ptr: i32, bytes: &[u8], what: &str) -> Result<(), Error> {
    let (ptr, len) = span(caller, ptr, bytes.len() as i32, usize::MAX, what)?;
    let memory = memory(caller)?;
    memory.data_mut(caller)[ptr..ptr + len].copy_from_slice(bytes);
    Ok(())
}

fn writable(caller: &Ctx, action: &'static str) -> Result<(), Error> {
    match caller.data().entry {
        EntryPoint::Query | EntryPoint::Metadata => Err(trap(CallError::ReadOnly(action))),
        EntryPoint::Instantiate | EntryPoint::Execute => Ok(()),
    }
}

fn storage_failure(e: crate::StorageFailure) -> Error {
    trap(CallError::Storage(e.0))
}

fn input(mut caller: Ctx) -> Result<i32, Error> {
    let len = caller.data().input.len();
    let g = caller.data().gas;
    charge(&mut caller, cost(g.host_call, g.per_byte_copied, len))?;
    let state = caller.data_mut();
    state.scratch.clone_from(&state.input);
    Ok(len as i32)
}

fn scratch_read(mut caller: Ctx, ptr: i32) -> Result<(), Error> {
    let scratch = std::mem::take(&mut caller.data_mut().scratch);
    let g = caller.data().gas;
    charge(
        &mut caller,
        cost(g.host_call, g.per_byte_copied, scratch.len()),
    )?;
    write(&mut caller, ptr, &scratch, "scratch_read")?;
    caller.data_mut().scratch = scratch;
    Ok(())
}

fn output(mut caller: Ctx, ptr: i32, len: i32) -> Result<(), Error> {
    let g = caller.data().gas;
    charge(
        &mut caller,
        cost(g.host_call, g.per_byte_copied, declared(len)),
    )?;
    let limit = match caller.data().entry {
        EntryPoint::Metadata => MAX_METADATA_LEN,
        _ => MAX_OUTPUT_LEN,
    };
    let bytes = read(&caller, ptr, len, limit, "output")?;
    caller.data_mut().output = bytes;
    Ok(())
}

/// A key a contract may use: any but the VM's own (see `storage::STORAGE_SIZE_KEY`).
fn contract_key(caller: &Ctx, ptr: i32, len: i32) -> Result<Vec<u8>, Error> {
    let key = read(caller, ptr, len, MAX_KEY_LEN, "storage key")?;
    if key.starts_with(crate::storage::RESERVED_KEY_PREFIX) {
        return Err(trap(CallError::Trap(
            "storage keys starting with 0xff 'phalanx' are the VM's".into(),
        )));
    }
    Ok(key)
}

/// The value at `key` (the run's writes over its storage), its bytes paid for.
fn read_value(caller: &mut Ctx, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    let state = caller.data();
    let value = state
        .pending
        .get(&state.backend, key)
        .map_err(storage_failure)?;
    if let Some(value) = &value {
        let g = caller.data().gas;
        charge(caller, cost(0, g.storage_read_per_byte, value.len()))?;
    }
    Ok(value)
}

fn storage_get(mut caller: Ctx, key_ptr: i32, key_len: i32) -> Result<i32, Error> {
    let g = caller.data().gas;
    charge(
        &mut caller,
        cost(
            g.host_call + g.storage_read,
            g.per_byte_copied,
            declared(key_len),
        ),
    )?;
    let key = contract_key(&caller, key_ptr, key_len)?;
    match read_value(&mut caller, &key)? {
        None => Ok(-1),
        Some(value) => {
            let len = value.len() as i32;
            caller.data_mut().scratch = value;
            Ok(len)
        }
    }
}

fn storage_set(
    mut caller: Ctx,
    key_ptr: i32,
    key_len: i32,
    value_ptr: i32,
    value_len: i32,
) -> Result<(), Error> {
    writable(&caller, "write storage")?;
    let g = caller.data().gas;
    let bytes = declared(key_len) + declared(value_len);
    charge(
        &mut caller,
        cost(
            g.host_call + g.storage_write,
            g.storage_write_per_byte,
            bytes,
        ),
    )?;
    let key = contract_key(&caller, key_ptr, key_len)?;
    let value = read(
        &caller,
        value_ptr,
        value_len,
        MAX_VALUE_LEN,
        "storage value",
    )?;
    caller.data_mut().pending.set(key, value);
    Ok(())
}

fn storage_remove(mut caller: Ctx, key_ptr: i32, key_len: i32) -> Result<(), Error> {
    writable(&caller, "write storage")?;
    let g = caller.data().gas;
    charge(
        &mut caller,
        cost(
            g.host_call + g.storage_write,
            g.storage_write_per_byte,
            declared(key_len),
        ),
    )?;
    let key = contract_key(&caller, key_ptr, key_len)?;
    caller.data_mut().pending.remove(key);
    Ok(())
}

fn write_fixed(mut caller: Ctx, ptr: i32, bytes: &[u8], what: &str) -> Result<(), Error> {
    let g = caller.data().gas;
    charge(
        &mut caller,
        cost(g.host_call, g.per_byte_copied, bytes.len()),
    )?;
    write(&mut caller, ptr, bytes, what)
}

fn caller_account(caller: Ctx, ptr: i32) -> Result<(), Error> {
    let account = *caller.data().context.caller.as_bytes();
    write_fixed(caller, ptr, &account, "caller")
}

/// For a query under a permit, its scopes as SCALE `Vec<String>` in scratch (returns the length);
/// -1 when the caller asks for itself.
fn permit_scopes(mut caller: Ctx) -> Result<i32, Error> {
    let g = caller.data().gas;
    let Some(scopes) = caller.data().context.scopes.as_ref().map(Encode::encode) else {
        charge(&mut caller, g.host_call)?;
        return Ok(-1);
    };
    charge(
        &mut caller,
        cost(g.host_call, g.per_byte_copied, scopes.len()),
    )?;
    let len = scopes.len() as i32;
    caller.data_mut().scratch = scopes;
    Ok(len)
}

fn self_address(caller: Ctx, ptr: i32) -> Result<(), Error> {
    let account = *caller.data().context.contract.as_bytes();
    write_fixed(caller, ptr, &account, "self_address")
}

fn random_seed(caller: Ctx, ptr: i32) -> Result<(), Error> {
    let seed = caller.data().context.random_seed;
    write_fixed(caller, ptr, &seed, "random_seed")
}

fn block_height(mut caller: Ctx) -> Result<i64, Error> {
    let g = caller.data().gas.host_call;
    charge(&mut caller, g)?;
    Ok(caller.data().context.block_height as i64)
}

fn block_time(mut caller: Ctx) -> Result<i64, Error> {
    let g = caller.data().gas.host_call;
    charge(&mut caller, g)?;
    Ok(caller.data().context.block_time_ms as i64)
}

fn push_event(
    mut caller: Ctx,
    recipient: Option<AccountId>,
    data_ptr: i32,
    data_len: i32,
) -> Result<(), Error> {
    writable(&caller, "emit events")?;
    let g = caller.data().gas;
    charge(
        &mut caller,
        cost(g.host_call + g.event, g.event_per_byte, declared(data_len)),
    )?;
    let data = read(&caller, data_ptr, data_len, MAX_EVENT_LEN, "event")?;
    if caller.data().events.len() >= MAX_EVENTS_PER_CALL {
        return Err(trap(CallError::Trap(format!(
            "more than {MAX_EVENTS_PER_CALL} events in one call"
        ))));
    }
    caller
        .data_mut()
        .events
        .push(ContractEvent { recipient, data });
    Ok(())
}

fn emit_event(caller: Ctx, data_ptr: i32, data_len: i32) -> Result<(), Error> {
    push_event(caller, None, data_ptr, data_len)
}

fn emit_event_to(caller: Ctx, account_ptr: i32, data_ptr: i32, data_len: i32) -> Result<(), Error> {
    let account = AccountId::from_bytes(read_array::<32>(&caller, account_ptr, "event recipient")?);
    push_event(caller, Some(account), data_ptr, data_len)
}

fn transfer(mut caller: Ctx, to_ptr: i32, amount_ptr: i32) -> Result<(), Error> {
    writable(&caller, "transfer PHA")?;
    let g = caller.data().gas;
    charge(&mut caller, g.host_call + g.transfer)?;
    let to = AccountId::from_bytes(read_array::<32>(&caller, to_ptr, "transfer recipient")?);
    let amount = u128::from_le_bytes(read_array::<16>(&caller, amount_ptr, "transfer amount")?);
    if caller.data().transfers.len() >= MAX_TRANSFERS_PER_CALL {
        return Err(trap(CallError::Trap(format!(
            "more than {MAX_TRANSFERS_PER_CALL} transfers in one call"
        ))));
    }
    caller.data_mut().transfers.push(TransferOut { to, amount });
    Ok(())
}

fn value_received(mut caller: Ctx, out_ptr: i32) -> Result<(), Error> {
    let g = caller.data().gas.host_call;
    charge(&mut caller, g)?;
    let value = caller.data().context.value;
    write(&mut caller, out_ptr, &value.to_le_bytes(), "value")
}

/// The PHA the contract's own account holds (see [`BALANCE_KEY`]), as 16 little-endian bytes
/// at `out_ptr`.
fn balance(mut caller: Ctx, out_ptr: i32) -> Result<(), Error> {
    let g = caller.data().gas;
    charge(&mut caller, g.host_call + g.storage_read)?;
    let state = caller.data();
    let stored = state
        .pending
        .get(&state.backend, BALANCE_KEY)
        .map_err(storage_failure)?;
    let balance = match stored.as_deref().map(<[u8; 16]>::try_from) {
        None => 0,
        Some(Ok(bytes)) => u128::from_le_bytes(bytes),
        Some(Err(_)) => {
            let corrupt = StorageFailure("the stored balance is not 16 bytes".into());
            return Err(storage_failure(corrupt));
        }
    };
    write(&mut caller, out_ptr, &balance.to_le_bytes(), "balance")
}

/// Asks that the call be charged at least `total` gas in all (the largest asked counts). Charged
/// when the call ends, whether it succeeds or returns a contract error; a trap charges what it
/// burnt, as always.
fn pad_gas(mut caller: Ctx, total: i64) -> Result<(), Error> {
    let g = caller.data().gas.host_call;
    charge(&mut caller, g)?;
    let total = u64::try_from(total)
        .map_err(|_| trap(CallError::Trap("pad_gas: a negative total".into())))?;
    let state = caller.data_mut();
    state.pad_to = state.pad_to.max(total);
    Ok(())
}

fn send_message(
    mut caller: Ctx,
    to_ptr: i32,
    data_ptr: i32,
    data_len: i32,
    gas_limit: i64,
) -> Result<(), Error> {
    writable(&caller, "send a message")?;
    let g = caller.data().gas;
    charge(
        &mut caller,
        cost(
            g.host_call + g.message,
            g.event_per_byte,
            declared(data_len),
        ),
    )?;
    let to = AccountId::from_bytes(read_array::<32>(&caller, to_ptr, "message recipient")?);
    let payload = read(&caller, data_ptr, data_len, MAX_MESSAGE_LEN, "message")?;
    let gas_limit = u64::try_from(gas_limit)
        .ok()
        .filter(|gas| (1..=MAX_MESSAGE_GAS).contains(gas))
        .ok_or_else(|| {
            trap(CallError::Trap(format!(
                "a message's gas limit must be 1 to {MAX_MESSAGE_GAS}"
            )))
        })?;
    if caller.data().messages.len() >= MAX_MESSAGES_PER_CALL {
        return Err(trap(CallError::Trap(format!(
            "more than {MAX_MESSAGES_PER_CALL} messages in one call"
        ))));
    }
    caller.data_mut().messages.push(MessageOut {
        to,
        payload,
        gas_limit,
    });
    Ok(())
}

fn sha256(mut caller: Ctx, data_ptr: i32, data_len: i32, out_ptr: i32) -> Result<(), Error> {
    let g = caller.data().gas;
    charge(
        &mut caller,
        cost(
            g.host_call + g.sha256,
            g.sha256_per_byte,
            declared(data_len),
        ),
    )?;
    let data = read(
        &caller,
        data_ptr,
        data_len,
        MAX_CRYPTO_INPUT_LEN,
        "sha256 input",
    )?;
    write(
        &mut caller,
        out_ptr,
        &phalanx_primitives::sha256(&data).0,
        "sha256 output",
    )
}

fn ed25519_verify(
    mut caller: Ctx,
    key_ptr: i32,
    msg_ptr: i32,
    msg_len: i32,
    sig_ptr: i32,
) -> Result<i32, Error> {
    let g = caller.data().gas;
    charge(
        &mut caller,
        cost(
            g.host_call + g.ed25519_verify,
            g.sha256_per_byte,
            declared(msg_len),
        ),
    )?;
    let key = AccountId::from_bytes(read_array::<32>(&caller, key_ptr, "public key")?);
    let message = read(
        &caller,
        msg_ptr,
        msg_len,
        MAX_CRYPTO_INPUT_LEN,
        "signed message",
    )?;
    let signature = Signature(read_array::<64>(&caller, sig_ptr, "signature")?);
    Ok(phalanx_crypto::verify_signature(&key, &message, &signature).is_ok() as i32)
}

fn panic(mut caller: Ctx, msg_ptr: i32, msg_len: i32) -> Result<(), Error> {
    let g = caller.data().gas.host_call;
    charge(&mut caller, g)?;
    let len = msg_len.clamp(0, MAX_PANIC_MESSAGE_LEN as i32);
    let message = read(
        &caller,
        msg_ptr,
        len,
        MAX_PANIC_MESSAGE_LEN,
        "panic message",
    )?;
    Err(trap(CallError::Panic(
        String::from_utf8_lossy(&message).into_owned(),
    )))
}

/// A line for the sender's receipt, on dev chains (code importing it is refused elsewhere).
/// Charged like an event; cut at `MAX_DEBUG_LINE_LEN`, and beyond `MAX_DEBUG_LINES_PER_CALL`
/// lines dropped.
fn debug(mut caller: Ctx, ptr: i32, len: i32) -> Result<(), Error> {
    let g = caller.data().gas;
    let len = len.clamp(0, MAX_DEBUG_LINE_LEN as i32);
    charge(
        &mut caller,
        cost(g.host_call + g.debug, g.event_per_byte, declared(len)),
    )?;
    if caller.data().debug.len() >= MAX_DEBUG_LINES_PER_CALL {
        return Ok(());
    }
    let line = read(&caller, ptr, len, MAX_DEBUG_LINE_LEN, "debug line")?;
    caller
        .data_mut()
        .debug
        .push(String::from_utf8_lossy(&line).into_owned());
    Ok(())
}

/// Runs the model stored at a key of the contract's own storage on SCALE `Vec<Tensor>` inputs:
/// the outputs' length (outputs in scratch), or a negative `MODEL_*` code with the reason in
/// scratch. Gas: the call, the bytes read, then the runtime's price, charged before the run.
fn model_run(
    mut caller: Ctx,
    key_ptr: i32,
    key_len: i32,
    input_ptr: i32,
    input_len: i32,
) -> Result<i32, Error> {
    let g = caller.data().gas;
    charge(
        &mut caller,
        cost(
            g.host_call + g.storage_read,
            g.per_byte_copied,
            declared(key_len) + declared(input_len),
        ),
    )?;
    let key = contract_key(&caller, key_ptr, key_len)?;
    let inputs = read(
        &caller,
        input_ptr,
        input_len,
        MAX_MODEL_INPUT_LEN,
        "model input",
    )?;
    let refuse = |caller: &mut Ctx, code: i32, reason: String| {
        caller.data_mut().scratch = reason.into_bytes();
        Ok(code)
    };
    let Some(runtime) = caller.data().models.clone() else {
        return refuse(
            &mut caller,
            MODEL_UNAVAILABLE,
            "this VM runs no models".into(),
        );
    };
    let Some(model) = read_value(&mut caller, &key)? else {
        return Ok(MODEL_NOT_FOUND);
    };
    let run = match runtime.price(&model, &inputs) {
        Ok(run) => run,
        Err(reason) => return refuse(&mut caller, MODEL_REFUSED, reason),
    };
    let in_command = matches!(
        caller.data().entry,
        EntryPoint::Instantiate | EntryPoint::Execute
    );
    if in_command && !run.deterministic {
        return refuse(
            &mut caller,
            MODEL_NOT_DETERMINISTIC,
            "this model computes with floats: run it in a query (a command's result must be the same on every worker)".into(),
        );
    }
    charge(&mut caller, run.gas)?;
    match runtime.run(run) {
        Ok(outputs) => {
            let len = outputs.len() as i32;
            caller.data_mut().scratch = outputs;
            Ok(len)
        }
        Err(reason) => refuse(&mut caller, MODEL_REFUSED, reason),
    }
}

/// A linker with every host function, for one call's state type.
pub(crate) fn linker(engine: &wasmtime::Engine) -> Result<Linker<HostState>, Error> {
    let mut linker = Linker::new(engine);
    linker
        .func_wrap("env", "input", input)?
        .func_wrap("env", "scratch_read", scratch_read)?
        .func_wrap("env", "output", output)?
        .func_wrap("env", "storage_get", storage_get)?
        .func_wrap("env", "storage_set", storage_set)?
        .func_wrap("env", "storage_remove", storage_remove)?
        .func_wrap("env", "caller", caller_account)?
        .func_wrap("env", "self_address", self_address)?
        .func_wrap("env", "block_height", block_height)?
        .func_wrap("env", "block_time", block_time)?
        .func_wrap("env", "random_seed", random_seed)?
        .func_wrap("env", "emit_event", emit_event)?
        .func_wrap("env", "emit_event_to", emit_event_to)?
        .func_wrap("env", "transfer", transfer)?
        .func_wrap("env", "value_received", value_received)?
        .func_wrap("env", "balance", balance)?
        .func_wrap("env", "pad_gas", pad_gas)?
        .func_wrap("env", "permit_scopes", permit_scopes)?
        .func_wrap("env", "debug", debug)?
        .func_wrap("env", "model_run", model_run)?
        .func_wrap("env", "send_message", send_message)?
        .func_wrap("env", "sha256", sha256)?
        .func_wrap("env", "ed25519_verify", ed25519_verify)?
        .func_wrap("env", "panic", panic)?;
    Ok(linker)
}
