//! Gas units a worker executes per second, by kind of work: the figure the per-block gas
//! budget of a cluster (`cluster_block_gas`) is set from. A block's commands must execute
//! within its block time at the *slowest* rate any contract can choose, so the budget is
//! the block time times the worst rate here, halved for headroom.
//!
//! Run: `cargo bench --bench gas_rate` (`PHALANX_GAS_RATE_GAS` sets the gas per run).

use phalanx_vm::{CallContext, EntryPoint, MemoryStorage, Vm};
use std::time::Instant;

fn module(execute_body: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
            (import "env" "sha256" (func $sha256 (param i32 i32 i32)))
            (import "env" "storage_set" (func $set (param i32 i32 i32 i32)))
            (import "env" "storage_get" (func $get (param i32 i32) (result i32)))
            (import "env" "caller" (func $caller (param i32)))
            (memory (export "memory") 16)
            (func (export "instantiate") (result i32) i32.const 0)
            (func (export "query") (result i32) i32.const 0)
            (func (export "execute") (result i32) (local $i i32) {execute_body} i32.const 0))"#
    ))
    .unwrap()
}

fn main() {
    let gas: u64 = std::env::var("PHALANX_GAS_RATE_GAS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000_000);
    let workloads = [
        ("empty loop (br)", "(loop $l (br $l))"),
        (
            "arithmetic loop",
            "(loop $l (local.set $i (i32.add (i32.mul (local.get $i) (i32.const 31)) (i32.const 7))) (br $l))",
        ),
        (
            "memory loop (load + store)",
            "(loop $l (i32.store (i32.and (local.get $i) (i32.const 65532)) (i32.add (i32.load (i32.const 0)) (i32.const 1))) (local.set $i (i32.add (local.get $i) (i32.const 4))) (br $l))",
        ),
        (
            "call loop (caller)",
            "(loop $l (call $caller (i32.const 0)) (br $l))",
        ),
        (
            "sha256 of 64 bytes",
            "(loop $l (call $sha256 (i32.const 0) (i32.const 64) (i32.const 128)) (br $l))",
        ),
        (
            "storage write of 32 bytes",
            "(loop $l (i32.store (i32.const 0) (local.get $i)) (call $set (i32.const 0) (i32.const 32) (i32.const 64) (i32.const 32)) (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l))",
        ),
        (
            "storage read miss",
            "(loop $l (drop (call $get (i32.const 0) (i32.const 32))) (br $l))",
        ),
    ];
    println!("gas_rate: {gas} gas a run, each run until out of gas");
    let mut worst = f64::MAX;
    for (name, body) in workloads {
        let code = module(body);
        let mut vm = Vm::new();
        let hash = vm.prepare(&code).unwrap();
        let mut best = f64::MAX;
        let mut rate = 0.0;
        for _ in 0..3 {
            let mut storage = MemoryStorage::default();
            let started = Instant::now();
            let outcome = vm.call(
                &hash,
                EntryPoint::Execute,
                &CallContext::test(),
                b"",
                gas,
                &mut storage,
            );
            let elapsed = started.elapsed().as_secs_f64();
            assert!(outcome.result.is_err(), "{name} must run out of gas");
            best = best.min(elapsed);
            rate = gas as f64 / best;
        }
        worst = worst.min(rate);
        println!(
            "  {name:<28} {:>7.1} M gas/s ({:.0} ms for {gas} gas)",
            rate / 1e6,
            best * 1e3
        );
    }
    println!(
        "slowest: {:.1} M gas/s -> a 1 s block fits {:.0} M gas at half a core-second",
        worst / 1e6,
        worst / 2e6
    );
}
