//! A run of calls to one contract on one kept instance (a worker's commands to a contract in a
//! block), so that the instance, the store and the host linker are made once per run instead of
//! once per call; instantiating was half of a call's time (docs/engine.md).
//!
//! Every call sees exactly what a fresh instance would: after a call that returned, the
//! instance's memory is copied back from its image taken right after instantiation and every
//! mutable global is set back (see `reuse.rs`); after a trap, running out of gas, or a call that
//! grew memory (which cannot shrink), the instance is dropped and the next call makes a new one.
//! Gas is the same as on a fresh instance, instantiation included: the price of an instance is
//! charged on every call, whether or not one was made.
//!
//! Writes of successful calls collect in the run's own layer over the storage it started from:
//! later calls read them, and [`ContractSession::finish`] hands them over, in order, for the
//! caller to apply.

use crate::host::{store_limits, HostState};
use crate::reuse::Reuse;
use crate::storage::{ContractStorage, RunStorage, StorageWrite};

use crate::vm::{classify, Prepared};
use crate::{CallContext, CallError, CallOutcome, EntryPoint, Vm, MAX_CONTRACT_STORAGE_BYTES};
use wasmtime::{Global, Instance, Memory, Store, Val};

/// One contract's instance and storage layer for a run of calls; see the module docs.
pub struct ContractSession<'s> {
    prepared: &'s Prepared,
    /// Whether to keep instances at all: not for a run of one call, which would pay for an
    /// image it never uses.
    keep: bool,
    store: Store<HostState>,
    kept: Option<Kept>,
}

/// An instance that may serve the next call, and what puts it back.
struct Kept {
    instance: Instance,
    memory: Memory,
    image: Vec<u8>,
    globals: Vec<(Global, Val)>,
}

fn new_store(engine: &wasmtime::Engine, state: HostState) -> Store<HostState> {
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limits);
    store
}

impl<'s> ContractSession<'s> {
    pub(crate) fn new(
        vm: &'s Vm,
        prepared: &'s Prepared,
        storage: &'s dyn ContractStorage,
        keep: bool,
    ) -> Result<Self, CallError> {
        let state = HostState::new(
            RunStorage::over(storage.snapshot()),
            vm.gas,
            vm.models.clone(),
        );
        Ok(ContractSession {
            prepared,
            keep,
            store: new_store(&vm.engine, state),
            kept: None,
        })
    }

    /// A write of the host's own, outside any call (a worker's record in the contract's storage
    /// that no contract call makes), in the run's layer with the calls' writes.
    pub fn set(&mut self, key: &[u8], value: &[u8]) -> Result<(), crate::StorageFailure> {
        self.store.data_mut().backend.set(key, value)
    }

    /// The run's writes, in order: apply them to the storage the session was opened over.
    pub fn finish(self) -> Vec<StorageWrite> {
        self.store.into_data().backend.into_writes()
    }

    /// Runs one entry point with at most `gas_limit` fuel; as [`Vm::call`], except that a
    /// successful call's writes go to the run's layer.
    pub fn call(
        &mut self,
        entry: EntryPoint,
        context: &CallContext,
        input: &[u8],
        gas_limit: u64,
    ) -> CallOutcome {
        let instantiation_gas = self.prepared.instantiation_gas;
        // Paid before anything is allocated: a call that cannot afford its instance gets none.
        if instantiation_gas > gas_limit {
            return CallOutcome::failed(CallError::OutOfGas, gas_limit);
        }
        self.store.data_mut().begin_call(entry, context, input);
        self.store.data_mut().limits = store_limits();
        if let Err(e) = self.store.set_fuel(gas_limit - instantiation_gas) {
            return CallOutcome::failed(CallError::Trap(e.to_string()), 0);
        }
        let result = self
            .instance()
            .and_then(|instance| {
                instance.get_typed_func::<(), i32>(&mut self.store, entry.export_name())
            })
            .and_then(|func| func.call(&mut self.store, ()));
        let returned = result.is_ok();
        let fuel_left = self.store.get_fuel().unwrap_or(0);
        let outcome = self.outcome(result, gas_limit, fuel_left);
        if self.keep && !(returned && self.reset()) {
            self.drop_instance();
        }
        outcome
    }

    /// Forgets the instance, and the store that holds it: a store frees nothing until it is
    /// dropped, so a new instance gets a new store (with the run's state moved over).
    fn drop_instance(&mut self) {
        self.kept = None;
        let engine = self.store.engine().clone();
        let placeholder = HostState::new(RunStorage::empty(), self.store.data().gas, None);
        let old = std::mem::replace(&mut self.store, Store::new(&engine, placeholder));
        let mut state = old.into_data();
        state.memory = None;
        self.store = new_store(&engine, state);
    }

    /// The kept instance, or a new one (kept if its module allows).
    fn instance(&mut self) -> wasmtime::Result<Instance> {
        if let Some(kept) = &self.kept {
            return Ok(kept.instance);
        }
        if self.store.data().memory.is_some() {
            // An instance not kept: the store is replaced so that it does not pile up.
            self.drop_instance();
        }
        let instance = self.prepared.instance_pre.instantiate(&mut self.store)?;
        let memory = instance.get_memory(&mut self.store, "memory");
        self.store.data_mut().memory = memory;
        if let (true, Reuse::Reset { globals }, Some(memory)) =
            (self.keep, &self.prepared.reuse, memory)
        {
            let globals: Option<Vec<(Global, Val)>> = globals
                .iter()
                .map(|name| {
                    let global = instance.get_global(&mut self.store, name)?;
                    Some((global, global.get(&mut self.store)))
                })
                .collect();
            if let Some(globals) = globals {
                self.kept = Some(Kept {
                    instance,
                    memory,
                    image: memory.data(&self.store).to_vec(),
                    globals,
                });
            }
        }
        Ok(instance)
    }

    /// Puts the kept instance back as instantiation left it; false if there is none to keep
    /// (a module never reused) or it cannot be put back.
    fn reset(&mut self) -> bool {
        let Some(kept) = &self.kept else {
            return false;
        };
        let data = kept.memory.data_mut(&mut self.store);
        if data.len() != kept.image.len() {
            return false;
        }
        data.copy_from_slice(&kept.image);
        kept.globals
            .iter()
            .all(|(global, value)| global.set(&mut self.store, *value).is_ok())
    }

    /// What the call did: its effects if it succeeded (its writes moved to the run's layer).
    fn outcome(
        &mut self,
        result: wasmtime::Result<i32>,
        gas_limit: u64,
        fuel_left: u64,
    ) -> CallOutcome {
        let gas_used = gas_limit.saturating_sub(fuel_left);
        let storage_per_new_byte = self.store.data().gas.storage_per_new_byte;
        let state = self.store.data_mut();
        let mut pending = std::mem::take(&mut state.pending);
        let output = std::mem::take(&mut state.output);
        let events = std::mem::take(&mut state.events);
        let transfers = std::mem::take(&mut state.transfers);
        let messages = std::mem::take(&mut state.messages);
        let debug = std::mem::take(&mut state.debug);
        let pad_to = state.pad_to;
        // A padded call costs at least what it asked, never more than its limit.
        let padded = |gas_used: u64| gas_used.max(pad_to.min(gas_limit));
        let mut outcome = match result {
            Ok(0) => {
                // What the call adds to storage is paid for here, and bounded, before any of
                // it reaches the run's layer (a failure leaves storage untouched).
                let (before, after) = match pending.sizes(&state.backend) {
                    Ok(sizes) => sizes,
                    Err(e) => return CallOutcome::failed(CallError::Storage(e.0), gas_used),
                };
                if after > MAX_CONTRACT_STORAGE_BYTES {
                    return CallOutcome::failed(CallError::StorageFull { size: after }, gas_used);
                }
                let deposit = after
                    .saturating_sub(before)
                    .saturating_mul(storage_per_new_byte);
                if deposit > fuel_left {
                    return CallOutcome::failed(CallError::OutOfGas, gas_limit);
                }
                if after != before {
                    pending.record_size(after);
                }
                let gas_used = padded(gas_used + deposit);
                match pending.apply(&mut state.backend) {
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

#[cfg(test)]
mod tests {
    use crate::*;

    /// A contract that counts its calls in a global (which it does not export) and in memory,
    /// grows memory when asked (input `g`), traps when asked (input `t`), and answers with its
    /// counts and memory size: on a fresh instance always 1, 1 and its size then.
    fn hostile() -> Vec<u8> {
        wat::parse_str(
            r#"(module
  (import "env" "input" (func $input (result i32)))
  (import "env" "scratch_read" (func $scratch_read (param i32)))
  (import "env" "output" (func $output (param i32 i32)))
  (memory (export "memory") 1)
  (global $calls (mut i32) (i32.const 0))
  (func (export "instantiate") (result i32) i32.const 0)
  (func (export "query") (result i32) i32.const 0)
  (func (export "execute") (result i32)
    (drop (call $input))
    (call $scratch_read (i32.const 64))
    (if (i32.eq (i32.load8_u (i32.const 64)) (i32.const 116)) (then unreachable))
    (if (i32.eq (i32.load8_u (i32.const 64)) (i32.const 103))
      (then (drop (memory.grow (i32.const 1)))))
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.store (i32.const 100) (i32.add (i32.load (i32.const 100)) (i32.const 1)))
    (i32.store (i32.const 0) (global.get $calls))
    (i32.store (i32.const 4) (i32.load (i32.const 100)))
    (i32.store (i32.const 8) (memory.size))
    (call $output (i32.const 0) (i32.const 12))
    i32.const 0))"#,
        )
        .unwrap()
    }

    fn answer(outcome: &CallOutcome) -> Option<[u32; 3]> {
        let bytes = outcome.result.as_ref().ok()?;
        let word = |i: usize| u32::from_le_bytes(bytes[i * 4..i * 4 + 4].try_into().unwrap());
        Some([word(0), word(1), word(2)])
    }

    #[test]
    fn no_call_sees_what_an_earlier_caller_left_in_globals_or_memory() {
        let mut vm = Vm::new();
        let hash = vm.prepare(&hostile()).unwrap();
        let storage = MemoryStorage::default();
        let mut session = vm.session(&hash, &storage).unwrap();
        let inputs: [&[u8]; 7] = [b"a", b"b", b"t", b"c", b"g", b"d", b"e"];
        let mut seen = Vec::new();
        for input in inputs {
            let outcome = session.call(EntryPoint::Execute, &CallContext::test(), input, 100_000);
            seen.push(answer(&outcome));
        }
        let fresh: Vec<_> = inputs
            .iter()
            .map(|input| {
                let mut storage = MemoryStorage::default();
                let outcome = vm.call(
                    &hash,
                    EntryPoint::Execute,
                    &CallContext::test(),
                    input,
                    100_000,
                    &mut storage,
                );
                answer(&outcome)
            })
            .collect();
        assert_eq!(seen, fresh);
        assert_eq!(
            seen,
            [
                Some([1, 1, 1]),
                Some([1, 1, 1]),
                None, // the trap: its instance is dropped
                Some([1, 1, 1]),
                Some([1, 1, 2]), // grew: dropped too, since memory cannot shrink
                Some([1, 1, 1]),
                Some([1, 1, 1]),
            ]
        );
    }

    #[test]
    fn a_module_that_writes_tables_gets_a_fresh_instance_every_call() {
        let code = wat::parse_str(
            r#"(module
  (import "env" "output" (func $output (param i32 i32)))
  (memory (export "memory") 1)
  (table 2 funcref)
  (elem declare func $one)
  (func $one (result i32) i32.const 1)
  (func (export "instantiate") (result i32) i32.const 0)
  (func (export "query") (result i32) i32.const 0)
  (func (export "execute") (result i32)
    (i32.store (i32.const 0) (ref.is_null (table.get 0 (i32.const 1))))
    (table.set 0 (i32.const 1) (ref.func $one))
    (call $output (i32.const 0) (i32.const 4))
    i32.const 0))"#,
        )
        .unwrap();
        let mut vm = Vm::new();
        let hash = vm.prepare(&code).unwrap();
        let storage = MemoryStorage::default();
        let mut session = vm.session(&hash, &storage).unwrap();
        for _ in 0..3 {
            let outcome = session.call(EntryPoint::Execute, &CallContext::test(), b"", 100_000);
            assert_eq!(
                outcome.result,
                Ok(1u32.to_le_bytes().to_vec()),
                "the slot is empty"
            );
        }
    }

    #[test]
    fn later_calls_read_earlier_writes_and_nothing_reaches_storage_before_finish() {
        let code = wat::parse_str(
            r#"(module
  (import "env" "storage_get" (func $get (param i32 i32) (result i32)))
  (import "env" "scratch_read" (func $scratch_read (param i32)))
  (import "env" "storage_set" (func $set (param i32 i32 i32 i32)))
  (import "env" "output" (func $output (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "n")
  (func (export "instantiate") (result i32) i32.const 0)
  (func (export "query") (result i32) i32.const 0)
  (func (export "execute") (result i32)
    (if (i32.ge_s (call $get (i32.const 0) (i32.const 1)) (i32.const 0))
      (then (call $scratch_read (i32.const 8))))
    (i32.store (i32.const 8) (i32.add (i32.load (i32.const 8)) (i32.const 1)))
    (call $set (i32.const 0) (i32.const 1) (i32.const 8) (i32.const 4))
    (call $output (i32.const 8) (i32.const 4))
    i32.const 0))"#,
        )
        .unwrap();
        let mut vm = Vm::new();
        let hash = vm.prepare(&code).unwrap();
        let storage = MemoryStorage::default();
        let writes = {
            let mut session = vm.session(&hash, &storage).unwrap();
            for n in 1..=3u32 {
                let outcome =
                    session.call(EntryPoint::Execute, &CallContext::test(), b"", 1_000_000);
                assert_eq!(outcome.result, Ok(n.to_le_bytes().to_vec()));
            }
            session.finish()
        };
        assert!(storage.0.is_empty(), "the session wrote nothing below it");
        // The counter three times, and the contract's storage size once (it grew only once).
        assert_eq!(writes.len(), 4);
    }
}
