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
mod models;
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
pub use models::*;
pub use shape::ModuleShape;
pub use storage::{
    ContractStorage, MemoryStorage, StorageFailure, StorageSnapshot, StorageWrite, BALANCE_KEY,
    RESERVED_KEY_PREFIX,
};
/// Compiles and runs a tiny contract: whether this machine can run the engine at all (it maps
/// compiled code executable, which an SGX1 enclave cannot). A worker checks before it joins.
pub fn self_test() -> Result<(), VmError> {
    const PROBE: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
        0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // type 0: () -> i32
        0x03, 0x02, 0x01, 0x00, // one function of type 0
        0x05, 0x03, 0x01, 0x00, 0x01, // memory 1
        0x07, 0x2a, 0x04, // four exports
        0x06, b'm', b'e', b'm', b'o', b'r', b'y', 0x02, 0x00, //
        0x0b, b'i', b'n', b's', b't', b'a', b'n', b't', b'i', b'a', b't', b'e', 0x00, 0x00, //
        0x07, b'e', b'x', b'e', b'c', b'u', b't', b'e', 0x00, 0x00, //
        0x05, b'q', b'u', b'e', b'r', b'y', 0x00, 0x00, //
        0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x07, 0x0b, // body: i32.const 7
    ];
    let mut vm = Vm::new();
    let hash = vm.prepare(PROBE)?;
    let outcome = vm.call(
        &hash,
        EntryPoint::Query,
        &CallContext::test(),
        b"",
        1_000_000,
        &mut MemoryStorage::default(),
    );
    match outcome.result {
        Err(CallError::Contract(_)) => Ok(()), // the probe returns 7, a contract error code
        other => Err(VmError::Invalid(format!(
            "the engine's probe did not run as it must: {other:?}"
        ))),
    }
}

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
