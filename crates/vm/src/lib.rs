//! `vm`: validates contract Wasm modules and runs their `instantiate`, `execute` and `query`
//! entry points in wasmtime (Cranelift, code compiled once per code hash) with fuel metering,
//! over a storage the caller provides. Why this engine: docs/engine.md.
//!
//! It is pure: no sockets, no disk, no clock, no randomness. Time, caller, block height and the
//! random seed come in through [`CallContext`]; storage through [`ContractStorage`]. The same
//! module, state, context and input give the same output, gas, writes, events and transfers,
//! in any process, every time: floats, threads and SIMD are refused at upload, fuel counts Wasm
//! operators the same way on every machine, and every worker runs the one engine [`ENGINE`]
//! names (the chain's genesis names it too). It must never read anything but its inputs, and
//! never let one caller's instance state reach the next (`session.rs`).
//!
//! A call that traps, runs out of gas or returns an error changes no storage: writes are buffered
//! and applied only when the contract returns success. The ABI is in `docs/contract-abi.md`.
//!
//! ```
//! use phalanx_vm::{CallContext, EntryPoint, MemoryStorage, Vm};
//! let wat = r#"(module
//!   (import "env" "output" (func $output (param i32 i32)))
//!   (memory (export "memory") 1)
//!   (data (i32.const 0) "hi")
//!   (func (export "instantiate") (result i32) i32.const 0)
//!   (func (export "execute") (result i32) (call $output (i32.const 0) (i32.const 2)) i32.const 0)
//!   (func (export "query") (result i32) i32.const 0))"#;
//! let code = wat::parse_str(wat).unwrap();
//! let mut vm = Vm::new();
//! let code_hash = vm.prepare(&code).unwrap();
//! let mut storage = MemoryStorage::default();
//! let outcome = vm.call(&code_hash, EntryPoint::Execute, &CallContext::test(), b"", 100_000, &mut storage);
//! assert_eq!(outcome.result.unwrap(), b"hi");
//! assert!(outcome.gas_used > 0);
//! ```
#![forbid(unsafe_code)]

mod error;
mod gas;
mod host;
mod limits;
mod reuse;
mod session;
mod shape;
mod storage;
mod validate;
mod verdicts;
mod vm;

pub use error::{CallError, VmError};
pub use gas::GasSchedule;
pub use limits::*;
pub use shape::ModuleShape;
pub use storage::{
    ContractStorage, MemoryStorage, StorageFailure, StorageSnapshot, StorageWrite, BALANCE_KEY,
    RESERVED_KEY_PREFIX,
};
/// Runs the metadata entry point of a contract's metadata build (see `phalanx_sdk::metadata`)
/// and returns what it wrote: SCALE-encoded `ContractMetadata`.
pub fn read_metadata(code: &[u8]) -> Result<Vec<u8>, CallError> {
    let mut vm = Vm::new();
    let hash = vm.prepare(code)?;
    let outcome = vm.call(
        &hash,
        EntryPoint::Metadata,
        &CallContext::test(),
        b"",
        METADATA_GAS,
        &mut MemoryStorage::default(),
    );
    outcome.result
}
pub use reuse::RESERVED_EXPORT_PREFIX;
/// The engine this VM runs contracts on, as a chain's genesis names it. The wasmtime version is
/// pinned exactly in Cargo.toml; changing it, its compiler or its configuration changes gas, so
/// it changes this name too (and makes a new chain, or a chain upgrade).
pub const ENGINE: &str = phalanx_primitives::genesis::CONTRACT_ENGINE;
pub use session::ContractSession;
pub use verdicts::{check, check_code, CheckedCode, CODE_VERDICT_CAPACITY};
pub use vm::{CallContext, CallOutcome, ContractEvent, EntryPoint, MessageOut, TransferOut, Vm};

#[cfg(test)]
mod tests;
