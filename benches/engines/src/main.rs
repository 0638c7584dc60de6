//! Which engine should run contracts: wasmi (the VM's engine until 2026-12-03; wasmtime
//! since) against wasmtime with Cranelift and with Winch, all fuel-metered, on the committed
//! example contracts, beside the same contract compiled natively. One run prints, per engine:
//! time per command (median of batches), compile time of the module, memory per compiled module and per live instance, and the fuel each
//! command burnt, with a check that the fuel is the same on every run and on a second engine.
//!
//! Run: `cargo run --release --manifest-path benches/engines/Cargo.toml`
//! (`PHALANX_ENGINE_CALLS` sets the calls per batch; the machine is noisy, so read the ratios
//! within one run.)

mod engines;
mod host;

use engines::{wasmi_engine, wasmtime_engine, Runner};
use host::MiniHost;
use parity_scale_codec::Encode;
use std::time::{Duration, Instant};

const BATCHES: usize = 15;
const COMPILES: usize = 10;
const MEMORY_SAMPLES: usize = 200;

struct Contract {
    name: &'static str,
    code: Vec<u8>,
    init: Vec<u8>,
    command: Vec<u8>,
}

fn contracts() -> Vec<Contract> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../contracts");
    let read = |path: &str| std::fs::read(format!("{root}/{path}")).expect("committed artifact");
    vec![
        Contract {
            name: "private_token transfer",
            code: read("private_token/private_token.wasm"),
            init: private_token::Init {
                name: "Bench".into(),
                symbol: "BNCH".into(),
                initial_supply: u128::MAX / 2,
                pha_backed: false,
            }
            .encode(),
            command: private_token::Command::Transfer {
                to: phalanx_sdk::AccountId([2; 32]),
                amount: 1,
            }
            .encode(),
        },
        Contract {
            name: "counter increment",
            code: read("counter/counter.wasm"),
            init: counter::Init { start: 0 }.encode(),
            command: counter::Command::Increment { by: 1 }.encode(),
        },
    ]
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Median time per call over batches of `calls`, and every call's fuel.
fn time_calls(runner: &mut dyn Runner, command: &[u8], calls: usize) -> (Duration, Vec<u64>) {
    let mut fuel = Vec::with_capacity(BATCHES * calls);
    let mut batches = Vec::with_capacity(BATCHES);
    for _ in 0..BATCHES {
        let start = Instant::now();
        for _ in 0..calls {
            fuel.push(
                runner
                    .call("execute", command)
                    .expect("the command succeeds"),
            );
        }
        batches.push(start.elapsed() / calls as u32);
    }
    (median(batches), fuel)
}

fn time_vm(contract: &Contract, calls: usize, fresh_engine_fuel: &mut Vec<u64>) -> Duration {
    use phalanx_vm::{CallContext, EntryPoint, MemoryStorage, Vm};
    let mut vm = Vm::new();
    let hash = vm.prepare(&contract.code).expect("valid contract");
    let mut storage = MemoryStorage::default();
    let context = CallContext {
        caller: phalanx_primitives::AccountId::from_bytes([1; 32]),
        ..CallContext::test()
    };
    let call = |entry, input: &[u8], storage: &mut MemoryStorage| {
        let outcome = vm.call(&hash, entry, &context, input, 10_000_000, storage);
        assert!(outcome.result.is_ok(), "{:?}", outcome.result);
        outcome.gas_used
    };
    call(EntryPoint::Instantiate, &contract.init, &mut storage);
    let mut batches = Vec::with_capacity(BATCHES);
    for _ in 0..BATCHES {
        let start = Instant::now();
        for _ in 0..calls {
            fresh_engine_fuel.push(call(EntryPoint::Execute, &contract.command, &mut storage));
        }
        batches.push(start.elapsed() / calls as u32);
    }
    median(batches)
}

/// The VM's real host on one kept instance: a [`phalanx_vm::ContractSession`] per batch, as a
/// worker keeps one per contract for a block.
fn time_vm_session(contract: &Contract, calls: usize, gas: &mut Vec<u64>) -> Duration {
    use phalanx_vm::{CallContext, EntryPoint, MemoryStorage, StorageWrite, Vm};
    let mut vm = Vm::new();
    let hash = vm.prepare(&contract.code).expect("valid contract");
    let mut storage = MemoryStorage::default();
    let context = CallContext {
        caller: phalanx_primitives::AccountId::from_bytes([1; 32]),
        ..CallContext::test()
    };
    let outcome = vm.call(
        &hash,
        EntryPoint::Instantiate,
        &context,
        &contract.init,
        10_000_000,
        &mut storage,
    );
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    let mut batches = Vec::with_capacity(BATCHES);
    for _ in 0..BATCHES {
        let start = Instant::now();
        let writes = {
            let mut session = vm.session(&hash, &storage).expect("prepared");
            for _ in 0..calls {
                let outcome =
                    session.call(EntryPoint::Execute, &context, &contract.command, 10_000_000);
                assert!(outcome.result.is_ok(), "{:?}", outcome.result);
                gas.push(outcome.gas_used);
            }
            session.finish()
        };
        for write in writes {
            match write {
                StorageWrite::Set { key, value } => storage.0.insert(key, value),
                StorageWrite::Remove { key } => storage.0.remove(&key),
            };
        }
        batches.push(start.elapsed() / calls as u32);
    }
    median(batches)
}

fn time_native(contract: &Contract, calls: usize) -> Duration {
    use phalanx_sdk::{entry, testing};
    testing::reset();
    testing::with_env(|env| {
        env.caller = phalanx_sdk::AccountId([1; 32]);
        env.input = contract.init.clone();
    });
    let (instantiate, execute): (fn() -> i32, fn() -> i32) = match contract.name {
        "counter increment" => (
            || entry::run(counter::instantiate),
            || entry::run(counter::execute),
        ),
        _ => (
            || entry::run(private_token::instantiate),
            || entry::run(private_token::execute),
        ),
    };
    assert_eq!(instantiate(), 0);
    testing::with_env(|env| env.input = contract.command.clone());
    let mut batches = Vec::with_capacity(BATCHES);
    for _ in 0..BATCHES {
        let start = Instant::now();
        for _ in 0..calls {
            assert_eq!(execute(), 0);
            testing::with_env(|env| {
                env.events.clear();
                env.call = Default::default();
            });
        }
        batches.push(start.elapsed() / calls as u32);
    }
    median(batches)
}

fn host() -> MiniHost {
    MiniHost {
        caller: [1; 32],
        ..MiniHost::default()
    }
}

fn instantiated(mut runner: Box<dyn Runner>, contract: &Contract) -> Box<dyn Runner> {
    runner
        .call("instantiate", &contract.init)
        .expect("instantiates");
    runner
}

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

fn per_item_kib<T>(make: impl FnMut() -> T) -> u64 {
    let before = rss_kib();
    let items: Vec<T> = std::iter::repeat_with(make).take(MEMORY_SAMPLES).collect();
    let after = rss_kib();
    drop(items);
    after.saturating_sub(before) / MEMORY_SAMPLES as u64
}

fn time_compile<T>(mut compile: impl FnMut() -> T) -> Duration {
    median(
        (0..COMPILES)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(compile());
                start.elapsed()
            })
            .collect(),
    )
}

fn constant(fuel: &[u64]) -> String {
    let first = fuel[0];
    if fuel.iter().all(|f| *f == first) {
        format!("{first} (all {} equal)", fuel.len())
    } else {
        let (min, max) = (fuel.iter().min().unwrap(), fuel.iter().max().unwrap());
        format!("VARIES {min}..{max}")
    }
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let calls: usize = std::env::var("PHALANX_ENGINE_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let wasmi = wasmi_engine::engine();
    let cranelift = wasmtime_engine::engine(wasmtime::Strategy::Cranelift);
    let winch = wasmtime_engine::engine(wasmtime::Strategy::Winch);
    let pooled = wasmtime_engine::engine_with(wasmtime::Strategy::Cranelift, true);

    for contract in contracts() {
        println!(
            "\n## {} ({} bytes of Wasm)",
            contract.name,
            contract.code.len()
        );
        let native = time_native(&contract, calls);
        let mut vm_fuel = Vec::new();
        let vm = time_vm(&contract, calls, &mut vm_fuel);
        let mut session_gas = Vec::new();
        let session = time_vm_session(&contract, calls, &mut session_gas);

        let wasmi_module = wasmi_engine::compile(&wasmi, &contract.code);
        let cranelift_module = wasmtime_engine::compile(&cranelift, &contract.code);
        let winch_module = wasmtime_engine::compile(&winch, &contract.code);
        let pooled_module = wasmtime_engine::compile(&pooled, &contract.code);
        let mut runners: Vec<(&str, Box<dyn Runner>, Duration, u64, u64)> = vec![
            (
                "wasmi, instance kept",
                Box::new(wasmi_engine::Kept::new(&wasmi, &wasmi_module, host())),
                time_compile(|| wasmi_engine::compile(&wasmi, &contract.code)),
                per_item_kib(|| wasmi_engine::compile(&wasmi, &contract.code)),
                per_item_kib(|| wasmi_engine::Kept::new(&wasmi, &wasmi_module, host())),
            ),
            (
                "wasmi, instance kept, memory reset after each call",
                Box::new(wasmi_engine::Kept::with_reset(
                    &wasmi,
                    &wasmi_module,
                    host(),
                    true,
                )),
                Duration::ZERO,
                0,
                0,
            ),
            (
                "wasmi, fresh instance (linker kept)",
                Box::new(wasmi_engine::Fresh::new(&wasmi, &wasmi_module, host())),
                Duration::ZERO,
                0,
                0,
            ),
            (
                "wasmtime cranelift, instance kept",
                Box::new(wasmtime_engine::Kept::new(
                    &cranelift,
                    &cranelift_module,
                    host(),
                )),
                time_compile(|| wasmtime_engine::compile(&cranelift, &contract.code)),
                per_item_kib(|| wasmtime_engine::compile(&cranelift, &contract.code)),
                per_item_kib(|| wasmtime_engine::Kept::new(&cranelift, &cranelift_module, host())),
            ),
            (
                "wasmtime cranelift, instance kept, memory reset after each call",
                Box::new(wasmtime_engine::Kept::with_reset(
                    &cranelift,
                    &cranelift_module,
                    host(),
                    true,
                )),
                Duration::ZERO,
                0,
                0,
            ),
            (
                "wasmtime cranelift, fresh instance",
                Box::new(wasmtime_engine::Fresh::new(
                    &cranelift,
                    &cranelift_module,
                    host(),
                )),
                Duration::ZERO,
                0,
                0,
            ),
            (
                "wasmtime cranelift, fresh pooled copy-on-write instance",
                Box::new(wasmtime_engine::Fresh::new(&pooled, &pooled_module, host())),
                Duration::ZERO,
                0,
                0,
            ),
            (
                "wasmtime winch, instance kept",
                Box::new(wasmtime_engine::Kept::new(&winch, &winch_module, host())),
                time_compile(|| wasmtime_engine::compile(&winch, &contract.code)),
                per_item_kib(|| wasmtime_engine::compile(&winch, &contract.code)),
                per_item_kib(|| wasmtime_engine::Kept::new(&winch, &winch_module, host())),
            ),
        ];

        println!(
            "| engine | µs per command | × native | fuel per command | compile ms | KiB per module | KiB per instance |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- |");
        let native_us = micros(native);
        println!("| native (same SDK glue) | {native_us:.2} | 1.0 | - | - | - | - |");
        let vm_us = micros(vm);
        println!(
            "| phalanx_vm, a fresh instance per call (wasmtime Cranelift, real host: gas, checks, pending writes) | {vm_us:.2} | {:.1} | {} (gas) | - | - | - |",
            vm_us / native_us,
            constant(&vm_fuel)
        );
        let session_us = micros(session);
        println!(
            "| phalanx_vm session (wasmtime Cranelift, real host, one kept instance reset after each call) | {session_us:.2} | {:.1} | {} (gas) | - | - | - |",
            session_us / native_us,
            constant(&session_gas)
        );
        let mut fuel_by_engine = Vec::new();
        for (name, runner, compile, module_kib, instance_kib) in runners.iter_mut() {
            let mut runner =
                instantiated(std::mem::replace(runner, Box::new(Placeholder)), &contract);
            let (per_call, fuel) = time_calls(runner.as_mut(), &contract.command, calls);
            let us = micros(per_call);
            let compile = if compile.is_zero() {
                "-".to_string()
            } else {
                format!("{:.2}", compile.as_secs_f64() * 1e3)
            };
            println!(
                "| {name} | {us:.2} | {:.1} | {} | {compile} | {module_kib} | {instance_kib} |",
                us / native_us,
                constant(&fuel),
            );
            fuel_by_engine.push((name.to_string(), fuel[0]));
        }

        // The same calls on engines made afresh give the same fuel: nothing carries over from
        // an engine's history (caches, tiering) into what a command is charged.
        let again = |mut runner: Box<dyn Runner>| {
            let mut runner_fuel = Vec::new();
            runner
                .call("instantiate", &contract.init)
                .expect("instantiates");
            for _ in 0..10 {
                runner_fuel.push(runner.call("execute", &contract.command).expect("runs"));
            }
            runner_fuel
        };
        let wasmi2 = wasmi_engine::engine();
        let m = wasmi_engine::compile(&wasmi2, &contract.code);
        let w = again(Box::new(wasmi_engine::Kept::new(&wasmi2, &m, host())));
        let c2 = wasmtime_engine::engine(wasmtime::Strategy::Cranelift);
        let m = wasmtime_engine::compile(&c2, &contract.code);
        let c = again(Box::new(wasmtime_engine::Kept::new(&c2, &m, host())));
        let k2 = wasmtime_engine::engine(wasmtime::Strategy::Winch);
        let m = wasmtime_engine::compile(&k2, &contract.code);
        let k = again(Box::new(wasmtime_engine::Kept::new(&k2, &m, host())));
        println!(
            "fuel on a second engine, first 10 commands: wasmi {}, cranelift {}, winch {}",
            constant(&w),
            constant(&c),
            constant(&k)
        );
        println!(
            "fuel per command by engine: {}",
            fuel_by_engine
                .iter()
                .map(|(name, fuel)| format!("{name}: {fuel}"))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
}

/// Stands in for a runner while it is being measured.
struct Placeholder;

impl Runner for Placeholder {
    fn call(&mut self, _: &str, _: &[u8]) -> Result<u64, String> {
        Err("placeholder".into())
    }
}
