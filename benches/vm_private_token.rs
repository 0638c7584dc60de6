//! Commands per second of `private_token` transfers through the contract VM (wasmtime, fuel
//! metering, the committed .wasm) with an in-memory store, against the same contract compiled
//! natively and driven through the same SDK glue (SCALE decode, storage, events). The ratio is
//! the cost of the VM.
//!
//! Run: `cargo bench --bench vm_private_token`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use parity_scale_codec::Encode;
use phalanx_primitives::AccountId;
use phalanx_vm::{CallContext, EntryPoint, MemoryStorage, Vm};
use private_token::Command;

fn transfer_message() -> Vec<u8> {
    Command::Transfer {
        to: phalanx_sdk::AccountId([2; 32]),
        amount: 1,
    }
    .encode()
}

fn vm_transfers(c: &mut Criterion) {
    let code = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/contracts/private_token/private_token.wasm"
    ))
    .unwrap();
    let mut vm = Vm::new();
    let hash = vm.prepare(&code).unwrap();
    let mut storage = MemoryStorage::default();
    let context = CallContext {
        caller: AccountId::from_bytes([1; 32]),
        ..CallContext::test()
    };
    assert!(vm
        .call(
            &hash,
            EntryPoint::Instantiate,
            &context,
            &phalanx_testkit::measure::token_init(),
            10_000_000,
            &mut storage
        )
        .result
        .is_ok());
    let message = transfer_message();
    let gas = vm
        .call(
            &hash,
            EntryPoint::Execute,
            &context,
            &message,
            10_000_000,
            &mut storage,
        )
        .gas_used;
    eprintln!("private_token transfer: {gas} gas");

    let mut group = c.benchmark_group("private_token_transfer");
    group.throughput(Throughput::Elements(1));
    group.bench_function("wasm_vm", |b| {
        b.iter(|| {
            let outcome = vm.call(
                &hash,
                EntryPoint::Execute,
                &context,
                &message,
                10_000_000,
                &mut storage,
            );
            assert!(outcome.result.is_ok());
        })
    });

    phalanx_testkit::measure::native_token(&transfer_message());
    group.bench_function("native", |b| {
        b.iter(phalanx_testkit::measure::run_native_command)
    });
    group.finish();
}

criterion_group!(benches, vm_transfers);
criterion_main!(benches);
