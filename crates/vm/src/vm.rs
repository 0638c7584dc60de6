//! The VM: a module cache and the call procedure.

use crate::host::{self, HostState, HostTrap};
use crate::storage::{ContractStorage, PendingWrites, StorageWrite};
use crate::validate::{engine_config, validate};
use crate::{
    CallError, GasSchedule, VmError, MAX_CONTRACT_STORAGE_BYTES, MAX_MEMORY_PAGES, MAX_TABLES,
    MAX_TABLE_ELEMENTS, MODULE_CACHE_CAPACITY,
};
use phalanx_primitives::{sha256, AccountId, Hash};
use std::collections::HashMap;
use wasmi::{Engine, Module, ResourceLimiter, Store, StoreLimitsBuilder, TrapCode};

/// Which entry point to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryPoint {
    /// Once, when the contract is created.
    Instantiate,
    /// A command: may change storage, emit events, transfer PHA.
    Execute,
    /// A read-only query: any attempt to change state traps.
    Query,
    /// Tooling only: the metadata a metadata build of a contract describes itself with
    /// (`phalanx contract build`). Read-only like a query; workers never call it.
    Metadata,
}

impl EntryPoint {
    pub fn export_name(self) -> &'static str {
        match self {
            EntryPoint::Instantiate => "instantiate",
            EntryPoint::Execute => "execute",
            EntryPoint::Query => "query",
            EntryPoint::Metadata => "phalanx_metadata",
        }
    }
}

/// What the contract may know about its call. All of it is part of the deterministic input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallContext {
    /// The contract being called.
    pub contract: AccountId,
    /// Who sent the command, or who signed the query.
    pub caller: AccountId,
    pub block_height: u64,
    pub block_time_ms: u64,
    /// Per block and contract, derived by the worker from the contract key; unknown to outsiders.
    pub random_seed: [u8; 32],
    /// PHA (in units) the command carried into the contract's account; 0 for queries.
    pub value: u128,
    /// For a query made under a permit: the permit's scopes (`caller` is then the permit's
    /// owner, on whose behalf its grantee asks). `None` when the caller asks for itself.
    pub scopes: Option<Vec<String>>,
}

impl CallContext {
    /// A fixed context for examples and tests.
    pub fn test() -> Self {
        CallContext {
            contract: AccountId::from_bytes([1; 32]),
            caller: AccountId::from_bytes([2; 32]),
            block_height: 1,
            block_time_ms: 1_767_225_600_000,
            random_seed: [3; 32],
            value: 0,
            scopes: None,
        }
    }
}

/// An event a contract emitted: public, or for one account's eyes (the worker encrypts it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractEvent {
    pub recipient: Option<AccountId>,
    pub data: Vec<u8>,
}

/// PHA the contract asked to pay out of its account; the worker sends it to the chain as egress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferOut {
    pub to: AccountId,
    pub amount: u128,
}

/// A message to another contract; the worker seals it to that contract and sends it to the chain
/// as egress, and the other contract's workers run it as a command whose caller is this contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageOut {
    pub to: AccountId,
    pub payload: Vec<u8>,
    /// Gas the message may burn there, paid from this contract's account.
    pub gas_limit: u64,
}

/// Everything a call did. On failure `writes`, `events`, `transfers` and `messages` are empty
/// and storage is as before; `gas_used` counts what was burnt either way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallOutcome {
    pub result: Result<Vec<u8>, CallError>,
    pub gas_used: u64,
    pub writes: Vec<StorageWrite>,
    pub events: Vec<ContractEvent>,
    pub transfers: Vec<TransferOut>,
    pub messages: Vec<MessageOut>,
    /// What the call wrote with `debug` (dev chains), kept whether it succeeded or not.
    pub debug: Vec<String>,
}

impl CallOutcome {
    fn failed(error: CallError, gas_used: u64) -> Self {
        CallOutcome {
            result: Err(error),
            gas_used,
            writes: vec![],
            events: vec![],
            transfers: vec![],
            messages: vec![],
            debug: vec![],
        }
    }
}

/// Validates, caches and runs contract modules.
pub struct Vm {
    engine: Engine,
    /// Compiled modules with the gas their instantiation costs.
    modules: HashMap<Hash, (Module, u64)>,
    gas: GasSchedule,
}

impl Default for Vm {
    fn default() -> Self {
        Self::new()
    }
}

fn limiter<'s>(state: &'s mut HostState<'_>) -> &'s mut dyn ResourceLimiter {
    &mut state.limits
}

impl Vm {
    pub fn new() -> Self {
        Self::with_gas_schedule(GasSchedule::default())
    }

    pub fn with_gas_schedule(gas: GasSchedule) -> Self {
        Vm {
            engine: Engine::new(&engine_config()),
            modules: HashMap::new(),
            gas,
        }
    }

    /// Validates and compiles `code` (once per code hash) and returns its code hash.
    pub fn prepare(&mut self, code: &[u8]) -> Result<Hash, VmError> {
        let code_hash = sha256(code);
        if !self.modules.contains_key(&code_hash) {
            let (module, shape) = validate(&self.engine, code)?;
            let module = (module, shape.instantiation_gas(&self.gas));
            if self.modules.len() >= MODULE_CACHE_CAPACITY {
                // Any victim will do: a miss only costs a recompile, never a different result.
                if let Some(victim) = self.modules.keys().next().copied() {
                    self.modules.remove(&victim);
                }
            }
            self.modules.insert(code_hash, module);
        }
        Ok(code_hash)
    }

    pub fn is_prepared(&self, code_hash: &Hash) -> bool {
        self.modules.contains_key(code_hash)
    }

    /// Runs one entry point with at most `gas_limit` fuel. Successful writes are applied to
    /// `storage` before this returns; failed calls leave it untouched.
    pub fn call(
        &mut self,
        code_hash: &Hash,
        entry: EntryPoint,
        context: &CallContext,
        input: &[u8],
        gas_limit: u64,
        storage: &mut dyn ContractStorage,
    ) -> CallOutcome {
        let Some((module, instantiation_gas)) = self.modules.get(code_hash) else {
            return CallOutcome::failed(VmError::UnknownCode(*code_hash).into(), 0);
        };
        // Paid before anything is allocated: a call that cannot afford its instance gets none.
        if *instantiation_gas > gas_limit {
            return CallOutcome::failed(CallError::OutOfGas, gas_limit);
        }
        let limits = StoreLimitsBuilder::new()
            .memory_size(MAX_MEMORY_PAGES as usize * 65_536)
            .instances(1)
            .memories(1)
            .tables(MAX_TABLES as usize)
            .table_elements(MAX_TABLE_ELEMENTS as usize)
            .build();
        let state = HostState {
            backend: &*storage,
            pending: PendingWrites::default(),
            context,
            entry,
            input,
            gas: &self.gas,
            scratch: Vec::new(),
            output: Vec::new(),
            events: Vec::new(),
            transfers: Vec::new(),
            messages: Vec::new(),
            limits,
            debug: Vec::new(),
            pad_to: 0,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(limiter);
        if let Err(e) = store.set_fuel(gas_limit - instantiation_gas) {
            return CallOutcome::failed(CallError::Trap(e.to_string()), 0);
        }
        let result = match host::linker(&self.engine) {
            Ok(linker) => linker
                .instantiate_and_start(&mut store, module)
                .and_then(|instance| {
                    instance.get_typed_func::<(), i32>(&store, entry.export_name())
                })
                .and_then(|func| func.call(&mut store, ())),
            Err(e) => return CallOutcome::failed(CallError::Trap(e.to_string()), 0),
        };
        let fuel_left = store.get_fuel().unwrap_or(0);
        let gas_used = gas_limit.saturating_sub(fuel_left);
        let HostState {
            mut pending,
            output,
            events,
            transfers,
            messages,
            pad_to,
            debug,
            ..
        } = store.into_data();
        // A padded call costs at least what it asked, never more than its limit.
        let padded = |gas_used: u64| gas_used.max(pad_to.min(gas_limit));
        let mut outcome = match result {
            Ok(0) => {
                // What the call adds to storage is paid for here, and bounded, before any of
                // it reaches the backend (a failure leaves storage untouched).
                let (before, after) = match pending.sizes(&*storage) {
                    Ok(sizes) => sizes,
                    Err(e) => return CallOutcome::failed(CallError::Storage(e.0), gas_used),
                };
                if after > MAX_CONTRACT_STORAGE_BYTES {
                    return CallOutcome::failed(CallError::StorageFull { size: after }, gas_used);
                }
                let deposit = after
                    .saturating_sub(before)
                    .saturating_mul(self.gas.storage_per_new_byte);
                if deposit > fuel_left {
                    return CallOutcome::failed(CallError::OutOfGas, gas_limit);
                }
                if after != before {
                    pending.record_size(after);
                }
                let gas_used = padded(gas_used + deposit);
                match pending.apply(storage) {
                    Ok(writes) => CallOutcome {
                        result: Ok(output),
                        gas_used,
                        writes,
                        events,
                        transfers,
                        messages,
                        debug: Vec::new(),
                    },
                    Err(e) => CallOutcome::failed(CallError::Storage(e.0), gas_used),
                }
            }
            Ok(_) => CallOutcome::failed(CallError::Contract(output), padded(gas_used)),
            Err(error) => match classify(error) {
                // Running out burns the whole limit, whatever fraction of an instruction was left.
                CallError::OutOfGas => CallOutcome::failed(CallError::OutOfGas, gas_limit),
                other => CallOutcome::failed(other, gas_used),
            },
        };
        outcome.debug = debug;
        outcome
    }
}

fn classify(error: wasmi::Error) -> CallError {
    if let Some(HostTrap(reason)) = error.downcast_ref::<HostTrap>() {
        return reason.clone();
    }
    match error.as_trap_code() {
        Some(TrapCode::OutOfFuel) => CallError::OutOfGas,
        Some(code) => CallError::Trap(code.to_string()),
        None => CallError::Trap(error.to_string()),
    }
}
