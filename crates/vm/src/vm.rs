//! The VM: a module cache and the call procedure.

use crate::host::{HostState, HostTrap};
use crate::reuse::Reuse;
use crate::session::ContractSession;
use crate::storage::{apply_writes, ContractStorage, StorageWrite};
use crate::validate::{compile, shared_engine};
use crate::{CallError, GasSchedule, VmError, MODULE_CACHE_CAPACITY};
use phalanx_primitives::{sha256, AccountId, Hash};
use std::collections::HashMap;
use wasmtime::{Engine, InstancePre, Linker, Trap};

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
    pub(crate) fn failed(error: CallError, gas_used: u64) -> Self {
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

/// A compiled module, with what its instantiation costs and how its instances are reused.
pub(crate) struct Prepared {
    /// The compiled module, linked to the host API once (instantiating it is then a copy).
    pub instance_pre: InstancePre<HostState>,
    pub instantiation_gas: u64,
    pub reuse: Reuse,
}

/// Validates, caches and runs contract modules.
pub struct Vm {
    pub(crate) engine: Engine,
    linker: Linker<HostState>,
    modules: HashMap<Hash, Prepared>,
    pub(crate) gas: GasSchedule,
    /// The model runtime contracts reach through `model_run` (a worker's; none in a node).
    pub(crate) models: Option<std::sync::Arc<dyn crate::ModelRuntime>>,
}

impl Default for Vm {
    fn default() -> Self {
        Self::new()
    }
}

impl Vm {
    pub fn new() -> Self {
        Self::with_gas_schedule(GasSchedule::default())
    }

    pub fn with_gas_schedule(gas: GasSchedule) -> Self {
        let engine = shared_engine();
        let linker = crate::host::linker(&engine)
            .expect("the host functions have distinct names and supported signatures");
        Vm {
            engine,
            linker,
            modules: HashMap::new(),
            gas,
            models: None,
        }
    }

    /// Lets contracts run models (`model_run`) through `runtime`.
    pub fn set_models(&mut self, runtime: std::sync::Arc<dyn crate::ModelRuntime>) {
        self.models = Some(runtime);
    }

    /// Validates and compiles `code` (once per code hash) and returns its code hash.
    pub fn prepare(&mut self, code: &[u8]) -> Result<Hash, VmError> {
        let code_hash = sha256(code);
        if !self.modules.contains_key(&code_hash) {
            let (module, shape, reuse) = compile(&self.engine, code)?;
            let instance_pre = self
                .linker
                .instantiate_pre(&module)
                .map_err(|e| VmError::Invalid(e.to_string()))?;
            let prepared = Prepared {
                instance_pre,
                instantiation_gas: shape.instantiation_gas(&self.gas),
                reuse,
            };
            if self.modules.len() >= MODULE_CACHE_CAPACITY {
                // Any victim will do: a miss only costs a recompile, never a different result.
                if let Some(victim) = self.modules.keys().next().copied() {
                    self.modules.remove(&victim);
                }
            }
            self.modules.insert(code_hash, prepared);
        }
        Ok(code_hash)
    }

    pub fn is_prepared(&self, code_hash: &Hash) -> bool {
        self.modules.contains_key(code_hash)
    }

    pub(crate) fn prepared(&self, code_hash: &Hash) -> Result<&Prepared, VmError> {
        self.modules
            .get(code_hash)
            .ok_or(VmError::UnknownCode(*code_hash))
    }

    /// Runs one entry point with at most `gas_limit` fuel, on an instance of its own. Successful
    /// writes are applied to `storage` before this returns; failed calls leave it untouched.
    /// For many calls to one contract, a [`ContractSession`] keeps the instance between them.
    pub fn call(
        &self,
        code_hash: &Hash,
        entry: EntryPoint,
        context: &CallContext,
        input: &[u8],
        gas_limit: u64,
        storage: &mut dyn ContractStorage,
    ) -> CallOutcome {
        let prepared = match self.prepared(code_hash) {
            Ok(prepared) => prepared,
            Err(error) => return CallOutcome::failed(error.into(), 0),
        };
        let (outcome, writes) = {
            let mut session = match ContractSession::new(self, prepared, &*storage, false) {
                Ok(session) => session,
                Err(error) => return CallOutcome::failed(error, 0),
            };
            let outcome = session.call(entry, context, input, gas_limit);
            (outcome, session.finish())
        };
        match apply_writes(storage, &writes) {
            Ok(()) => outcome,
            Err(e) => CallOutcome::failed(CallError::Storage(e.0), outcome.gas_used),
        }
    }

    /// A run of calls to one contract over `storage`, on one kept instance (see
    /// [`ContractSession`]). Nothing reaches `storage` until the caller applies
    /// [`ContractSession::finish`]'s writes.
    pub fn session<'s>(
        &'s self,
        code_hash: &Hash,
        storage: &'s dyn ContractStorage,
    ) -> Result<ContractSession<'s>, CallError> {
        ContractSession::new(self, self.prepared(code_hash)?, storage, true)
    }
}

pub(crate) fn classify(error: wasmtime::Error) -> CallError {
    if let Some(HostTrap(reason)) = error.downcast_ref::<HostTrap>() {
        return reason.clone();
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => CallError::OutOfGas,
        Some(trap) => CallError::Trap(trap.to_string()),
        None => CallError::Trap(error.to_string()),
    }
}
