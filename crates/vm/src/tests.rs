//! VM behaviour on hand-written modules (WAT), each exercising one rule.

use crate::*;

fn module(body: &str) -> Vec<u8> {
    let wat = format!(
        r#"(module
  (import "env" "input" (func $input (result i32)))
  (import "env" "scratch_read" (func $scratch_read (param i32)))
  (import "env" "output" (func $output (param i32 i32)))
  (import "env" "storage_get" (func $storage_get (param i32 i32) (result i32)))
  (import "env" "storage_set" (func $storage_set (param i32 i32 i32 i32)))
  (import "env" "storage_remove" (func $storage_remove (param i32 i32)))
  (import "env" "emit_event" (func $emit_event (param i32 i32)))
  (import "env" "panic" (func $panic (param i32 i32)))
  (import "env" "pad_gas" (func $pad_gas (param i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "key")
  (data (i32.const 16) "value")
  (data (i32.const 32) "boom")
  (data (i32.const 200) "\ffphalanx/size")
  (func (export "instantiate") (result i32) i32.const 0)
  (func (export "query") (result i32) {body})
  (func (export "execute") (result i32) {body}))"#
    );
    wat::parse_str(wat).unwrap()
}

fn run(code: &[u8], entry: EntryPoint, gas: u64, storage: &mut MemoryStorage) -> CallOutcome {
    let mut vm = Vm::new();
    let hash = vm.prepare(code).unwrap();
    vm.call(&hash, entry, &CallContext::test(), b"input!", gas, storage)
}

const WRITE: &str = "(call $storage_set (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 5))";

#[test]
fn successful_call_applies_writes_and_returns_output() {
    let mut storage = MemoryStorage::default();
    let body = format!("{WRITE} (call $emit_event (i32.const 16) (i32.const 5)) (call $output (i32.const 16) (i32.const 5)) i32.const 0");
    let outcome = run(&module(&body), EntryPoint::Execute, 1_000_000, &mut storage);
    assert_eq!(outcome.result, Ok(b"value".to_vec()));
    assert_eq!(storage.0.get(&b"key"[..]), Some(&b"value".to_vec()));
    assert_eq!(
        outcome.writes[0],
        StorageWrite::Set {
            key: b"key".to_vec(),
            value: b"value".to_vec()
        }
    );
    // The contract's storage size, kept by the VM beside its entries: "key" plus "value".
    assert_eq!(outcome.writes.len(), 2);
    assert_eq!(stored_size(&storage), 8);
    assert_eq!(outcome.events.len(), 1);
}

#[test]
fn failures_roll_back_every_write() {
    let cases = [
        (format!("{WRITE} unreachable"), "trap"),
        (
            format!("{WRITE} (call $output (i32.const 32) (i32.const 4)) i32.const 1"),
            "contract error",
        ),
        (
            format!("{WRITE} (call $panic (i32.const 32) (i32.const 4)) i32.const 0"),
            "panic",
        ),
        (
            format!("{WRITE} (loop $l (br $l)) i32.const 0"),
            "out of gas",
        ),
    ];
    for (body, what) in cases {
        let mut storage = MemoryStorage::default();
        let outcome = run(&module(&body), EntryPoint::Execute, 100_000, &mut storage);
        assert!(outcome.result.is_err(), "{what}");
        assert!(storage.0.is_empty(), "{what} left a write behind");
        assert!(outcome.writes.is_empty() && outcome.events.is_empty());
        match (what, outcome.result.unwrap_err()) {
            ("trap", CallError::Trap(_)) => {}
            ("contract error", CallError::Contract(message)) => assert_eq!(message, b"boom"),
            ("panic", CallError::Panic(message)) => assert_eq!(message, "boom"),
            ("out of gas", CallError::OutOfGas) => assert_eq!(outcome.gas_used, 100_000),
            (what, other) => panic!("{what}: unexpected {other:?}"),
        }
    }
}

#[test]
fn the_vm_stays_usable_after_running_out_of_gas() {
    let mut vm = Vm::new();
    let looping = vm
        .prepare(&module("(loop $l (br $l)) i32.const 0"))
        .unwrap();
    let fine = vm
        .prepare(&module(&format!("{WRITE} i32.const 0")))
        .unwrap();
    let mut storage = MemoryStorage::default();
    let ctx = CallContext::test();
    assert_eq!(
        vm.call(
            &looping,
            EntryPoint::Execute,
            &ctx,
            b"",
            50_000,
            &mut storage
        )
        .result,
        Err(CallError::OutOfGas)
    );
    assert!(vm
        .call(&fine, EntryPoint::Execute, &ctx, b"", 50_000, &mut storage)
        .result
        .is_ok());
    assert_eq!(storage.0.len(), 2, "the entry and the VM's size entry");
}

#[test]
fn endless_recursion_traps_at_the_same_depth_and_gas_every_time() {
    // Each frame holds locals, so the native stack runs out long before the gas does.
    let code = wat::parse_str(
        r#"(module
  (memory (export "memory") 1)
  (func $down (param i64) (result i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64)
    (call $down (i64.add (local.get 0) (i64.const 1))))
  (func (export "instantiate") (result i32) i32.const 0)
  (func (export "query") (result i32) i32.const 0)
  (func (export "execute") (result i32) (drop (call $down (i64.const 0))) i32.const 0))"#,
    )
    .unwrap();
    let outcomes: Vec<CallOutcome> = (0..3)
        .map(|_| {
            run(
                &code,
                EntryPoint::Execute,
                1_000_000_000,
                &mut MemoryStorage::default(),
            )
        })
        .collect();
    assert!(
        matches!(&outcomes[0].result, Err(CallError::Trap(m)) if m.contains("call stack exhausted")),
        "{:?}",
        outcomes[0].result
    );
    assert!(
        outcomes[0].gas_used < 1_000_000_000,
        "the stack ran out first"
    );
    assert!(outcomes.iter().all(|o| o == &outcomes[0]), "{outcomes:?}");
    // The VM that ran out of stack goes on serving.
    let mut storage = MemoryStorage::default();
    let fine = run(
        &module(&format!("{WRITE} i32.const 0")),
        EntryPoint::Execute,
        50_000,
        &mut storage,
    );
    assert!(fine.result.is_ok());
}

#[test]
fn bulk_memory_work_is_paid_per_byte() {
    // One `memory.fill` or `memory.copy` instruction moves a MiB: priced by the bytes, not as one
    // instruction, so a loop of them cannot burn CPU for next to no gas.
    for op in ["memory.fill", "memory.copy"] {
        let body = format!(
            "(drop (memory.grow (i32.const 31))) ({op} (i32.const 0) (i32.const 0) (i32.const 1048576)) i32.const 0"
        );
        let paid = run(
            &module(&body),
            EntryPoint::Execute,
            10_000_000,
            &mut MemoryStorage::default(),
        );
        assert!(paid.result.is_ok(), "{op}: {:?}", paid.result);
        assert!(paid.gas_used > 1_048_576, "{op} cost {}", paid.gas_used);
        let short = run(
            &module(&body),
            EntryPoint::Execute,
            1_000_000,
            &mut MemoryStorage::default(),
        );
        assert_eq!(short.result, Err(CallError::OutOfGas), "{op}");
    }
}

#[test]
fn queries_cannot_write() {
    let mut storage = MemoryStorage::default();
    let outcome = run(
        &module(&format!("{WRITE} i32.const 0")),
        EntryPoint::Query,
        1_000_000,
        &mut storage,
    );
    assert_eq!(outcome.result, Err(CallError::ReadOnly("write storage")));
    assert!(storage.0.is_empty());
    let outcome = run(
        &module("(call $emit_event (i32.const 16) (i32.const 5)) i32.const 0"),
        EntryPoint::Query,
        1_000_000,
        &mut storage,
    );
    assert_eq!(outcome.result, Err(CallError::ReadOnly("emit events")));
}

#[test]
fn every_pointer_and_length_is_checked() {
    for body in [
        "(call $storage_set (i32.const 65534) (i32.const 3) (i32.const 16) (i32.const 5)) i32.const 0",
        "(call $storage_set (i32.const -1) (i32.const 3) (i32.const 16) (i32.const 5)) i32.const 0",
        "(call $storage_set (i32.const 0) (i32.const -3) (i32.const 16) (i32.const 5)) i32.const 0",
        "(call $storage_set (i32.const 0) (i32.const 300) (i32.const 16) (i32.const 5)) i32.const 0",
        "(call $output (i32.const 0) (i32.const 100000)) i32.const 0",
        "(drop (call $input)) (call $scratch_read (i32.const 65533)) i32.const 0",
    ] {
        let mut storage = MemoryStorage::default();
        let outcome = run(&module(body), EntryPoint::Execute, 1_000_000, &mut storage);
        assert!(matches!(outcome.result, Err(CallError::Trap(_))), "{body}: {:?}", outcome.result);
    }
}

#[test]
fn input_and_storage_reads_go_through_scratch() {
    let mut storage = MemoryStorage::default();
    storage.0.insert(b"key".to_vec(), b"stored".to_vec());
    // Echo the input, then the stored value, each via scratch into memory at 100 / 200.
    let body = "(drop (call $input)) (call $scratch_read (i32.const 100)) \
                (drop (call $storage_get (i32.const 0) (i32.const 3))) (call $scratch_read (i32.const 200)) \
                (call $output (i32.const 100) (i32.const 6)) \
                (if (i32.ne (call $storage_get (i32.const 16) (i32.const 5)) (i32.const -1)) (then unreachable)) i32.const 0";
    let outcome = run(&module(body), EntryPoint::Execute, 1_000_000, &mut storage);
    assert_eq!(outcome.result, Ok(b"input!".to_vec()));
}

#[test]
fn host_calls_cost_more_for_more_bytes() {
    let gas_for = |len: i32| {
        let body = format!("(call $storage_set (i32.const 0) (i32.const 3) (i32.const 16) (i32.const {len})) i32.const 0");
        run(
            &module(&body),
            EntryPoint::Execute,
            10_000_000,
            &mut MemoryStorage::default(),
        )
        .gas_used
    };
    let schedule = GasSchedule::default();
    // Writing costs per byte, and storing new bytes costs more, once.
    assert_eq!(
        gas_for(105) - gas_for(5),
        100 * (schedule.storage_write_per_byte + schedule.storage_per_new_byte)
    );
}

/// The contract's storage size as the VM recorded it.
fn stored_size(storage: &MemoryStorage) -> u64 {
    let bytes = storage
        .0
        .get(&b"\xffphalanx/size"[..])
        .expect("a size entry");
    u64::from_le_bytes(bytes.as_slice().try_into().unwrap())
}

#[test]
fn storage_growth_is_paid_once_counted_net_and_capped() {
    let mut storage = MemoryStorage::default();
    let set = |len: i32| {
        format!("(call $storage_set (i32.const 0) (i32.const 3) (i32.const 16) (i32.const {len})) i32.const 0")
    };
    let first = run(
        &module(&set(100)),
        EntryPoint::Execute,
        1_000_000,
        &mut storage,
    );
    assert!(first.result.is_ok());
    assert_eq!(stored_size(&storage), 103);
    // The same entry again, same size: no growth, no deposit.
    let again = run(
        &module(&set(100)),
        EntryPoint::Execute,
        1_000_000,
        &mut storage,
    );
    assert!(again.gas_used < first.gas_used - 100 * GasSchedule::default().storage_per_new_byte);
    // Smaller, then removed: the size follows.
    assert!(run(
        &module(&set(10)),
        EntryPoint::Execute,
        1_000_000,
        &mut storage
    )
    .result
    .is_ok());
    assert_eq!(stored_size(&storage), 13);
    let remove = "(call $storage_remove (i32.const 0) (i32.const 3)) i32.const 0";
    assert!(run(
        &module(remove),
        EntryPoint::Execute,
        1_000_000,
        &mut storage
    )
    .result
    .is_ok());
    assert_eq!(stored_size(&storage), 0);
    // Growth the gas cannot pay for is out of gas, and writes nothing.
    let mut empty = MemoryStorage::default();
    let poor = run(
        &module(&set(1000)),
        EntryPoint::Execute,
        200_000,
        &mut empty,
    );
    assert_eq!(poor.result, Err(CallError::OutOfGas));
    assert!(empty.0.is_empty());
    // A contract near the cap cannot pass it.
    let mut full = MemoryStorage::default();
    full.0.insert(
        b"\xffphalanx/size".to_vec(),
        (crate::MAX_CONTRACT_STORAGE_BYTES - 50)
            .to_le_bytes()
            .to_vec(),
    );
    let over = run(
        &module(&set(100)),
        EntryPoint::Execute,
        1_000_000,
        &mut full,
    );
    assert!(
        matches!(over.result, Err(CallError::StorageFull { .. })),
        "{:?}",
        over.result
    );
}

#[test]
fn the_vms_own_keys_are_out_of_a_contracts_reach() {
    let mut storage = MemoryStorage::default();
    // Memory at 200 holds "\xffphalanx/size".
    let body = "(call $storage_set (i32.const 200) (i32.const 13) (i32.const 16) (i32.const 1)) i32.const 0";
    let outcome = run(&module(body), EntryPoint::Execute, 1_000_000, &mut storage);
    assert!(matches!(outcome.result, Err(CallError::Trap(m)) if m.contains("VM's")));
    assert!(storage.0.is_empty());
}

#[test]
fn modules_outside_the_rules_are_refused() {
    let mut vm = Vm::new();
    let refuse = |vm: &mut Vm, wat: &str| vm.prepare(&wat::parse_str(wat).unwrap()).unwrap_err();
    let exports = r#"(memory (export "memory") 1)
      (func (export "instantiate") (result i32) i32.const 0)
      (func (export "execute") (result i32) i32.const 0)
      (func (export "query") (result i32) i32.const 0)"#;
    assert!(vm
        .prepare(&wat::parse_str(format!("(module {exports})")).unwrap())
        .is_ok());
    // Floats.
    assert!(matches!(
        refuse(
            &mut vm,
            &format!("(module {exports} (func (result f32) f32.const 1.5))")
        ),
        VmError::Invalid(_)
    ));
    // A start function.
    assert_eq!(
        refuse(&mut vm, &format!("(module {exports} (func $s) (start $s))")),
        VmError::StartFunction
    );
    // Proposals the engine could run but uploads may not use: SIMD, atomics on shared memory,
    // a second memory, tail calls, 64-bit memory.
    for refused in [
        format!("(module {exports} (func (drop (v128.const i64x2 0 0))))"),
        r#"(module (memory (export "memory") 1 1 shared)
             (func (export "instantiate") (result i32) i32.const 0)
             (func (export "execute") (result i32) (i32.atomic.load (i32.const 0)))
             (func (export "query") (result i32) i32.const 0))"#
            .to_string(),
        format!("(module {exports} (memory 1))"),
        format!("(module {exports} (func $t (return_call $t)))"),
        r#"(module (memory (export "memory") i64 1)
             (func (export "instantiate") (result i32) i32.const 0)
             (func (export "execute") (result i32) i32.const 0)
             (func (export "query") (result i32) i32.const 0))"#
            .to_string(),
    ] {
        assert!(
            matches!(refuse(&mut vm, &refused), VmError::Invalid(_)),
            "{refused}"
        );
    }
    // Imports outside the host API, or with the wrong signature.
    assert!(matches!(
        refuse(
            &mut vm,
            &format!(r#"(module (import "wasi" "fd_write" (func)) {exports})"#)
        ),
        VmError::UnknownImport { .. }
    ));
    assert!(matches!(
        refuse(
            &mut vm,
            &format!(r#"(module (import "env" "clock" (func)) {exports})"#)
        ),
        VmError::UnknownImport { .. }
    ));
    assert!(matches!(
        refuse(
            &mut vm,
            &format!(r#"(module (import "env" "input" (func (param i32))) {exports})"#)
        ),
        VmError::WrongImportSignature { .. }
    ));
    // Missing entry points or memory; too much memory.
    assert!(matches!(
        refuse(&mut vm, r#"(module (memory (export "memory") 1))"#),
        VmError::MissingExport("instantiate")
    ));
    let big = exports.replace(
        r#"(memory (export "memory") 1)"#,
        r#"(memory (export "memory") 65)"#,
    );
    assert!(matches!(
        refuse(&mut vm, &format!("(module {big})")),
        VmError::MemoryTooLarge { pages: 65 }
    ));
    // Too large, and not Wasm at all.
    assert!(matches!(
        vm.prepare(&vec![0u8; MAX_CODE_SIZE + 1]),
        Err(VmError::CodeTooLarge { .. })
    ));
    assert!(matches!(
        vm.prepare(b"\0asm garbage"),
        Err(VmError::Invalid(_))
    ));
}

#[test]
fn memory_growth_is_capped() {
    let wat = r#"(module (memory (export "memory") 1)
      (func (export "instantiate") (result i32) i32.const 0)
      (func (export "query") (result i32) i32.const 0)
      (func (export "execute") (result i32) (memory.grow (i32.const 100))))"#;
    let mut storage = MemoryStorage::default();
    let outcome = run(
        &wat::parse_str(wat).unwrap(),
        EntryPoint::Execute,
        1_000_000,
        &mut storage,
    );
    // memory.grow returns -1 (refused), which the module returns as its status: a contract error.
    assert_eq!(outcome.result, Err(CallError::Contract(vec![])));
}

#[test]
fn debug_lines_reach_the_outcome_even_of_a_failed_call_and_mark_the_code() {
    let wat = r#"(module
  (import "env" "debug" (func $debug (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "hello")
  (func (export "instantiate") (result i32) i32.const 0)
  (func (export "query") (result i32) i32.const 0)
  (func (export "execute") (result i32)
    (call $debug (i32.const 0) (i32.const 5))
    (call $debug (i32.const 0) (i32.const 5))
    i32.const 1))"#;
    let code = wat::parse_str(wat).unwrap();
    assert!(check(&code).unwrap().uses_debug);
    let mut vm = Vm::new();
    let hash = vm.prepare(&code).unwrap();
    let outcome = vm.call(
        &hash,
        EntryPoint::Execute,
        &CallContext::test(),
        b"",
        1_000_000,
        &mut MemoryStorage::default(),
    );
    assert!(matches!(outcome.result, Err(CallError::Contract(_))));
    assert_eq!(
        outcome.debug,
        vec!["hello".to_string(), "hello".to_string()]
    );
    let without = wat::parse_str(
        r#"(module (memory (export "memory") 1)
             (func (export "instantiate") (result i32) i32.const 0)
             (func (export "execute") (result i32) i32.const 0)
             (func (export "query") (result i32) i32.const 0))"#,
    )
    .unwrap();
    assert!(!check(&without).unwrap().uses_debug);
}

#[test]
fn a_contract_reads_the_balance_its_host_recorded() {
    let wat = r#"(module
  (import "env" "balance" (func $balance (param i32)))
  (import "env" "output" (func $output (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "instantiate") (result i32) i32.const 0)
  (func $read (result i32)
    (call $balance (i32.const 100))
    (call $output (i32.const 100) (i32.const 16))
    i32.const 0)
  (func (export "query") (result i32) (call $read))
  (func (export "execute") (result i32) (call $read)))"#;
    let mut vm = Vm::new();
    let hash = vm.prepare(&wat::parse_str(wat).unwrap()).unwrap();
    let held = 7 * 10u128.pow(12) + 1;
    let mut storage = MemoryStorage::default();
    let context = CallContext::test();
    let read = |vm: &mut Vm, entry, storage: &mut MemoryStorage| {
        vm.call(&hash, entry, &context, b"", 1_000_000, storage)
            .result
    };
    // Nothing recorded yet: nothing held.
    assert_eq!(
        read(&mut vm, EntryPoint::Query, &mut storage),
        Ok(0u128.to_le_bytes().to_vec())
    );
    storage
        .0
        .insert(BALANCE_KEY.to_vec(), held.to_le_bytes().to_vec());
    for entry in [EntryPoint::Execute, EntryPoint::Query] {
        assert_eq!(
            read(&mut vm, entry, &mut storage),
            Ok(held.to_le_bytes().to_vec())
        );
    }
}

#[test]
fn messages_and_value_reach_the_outcome_and_queries_send_none() {
    let wat = r#"(module
  (import "env" "value_received" (func $value_received (param i32)))
  (import "env" "send_message" (func $send_message (param i32 i32 i32 i64)))
  (import "env" "output" (func $output (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "ping")
  (func (export "instantiate") (result i32) i32.const 0)
  (func $send (param $gas i64) (result i32)
    (call $value_received (i32.const 100))
    (call $send_message (i32.const 0) (i32.const 64) (i32.const 4) (local.get $gas))
    (call $output (i32.const 100) (i32.const 16))
    i32.const 0)
  (func (export "query") (result i32) (call $send (i64.const 1000)))
  (func (export "execute") (result i32)
    (call $send (i64.load (i32.const 200)))))"#;
    let code = wat::parse_str(wat).unwrap();
    let mut vm = Vm::new();
    let hash = vm.prepare(&code).unwrap();
    let context = CallContext {
        value: 42,
        scopes: None,
        ..CallContext::test()
    };
    let mut storage = MemoryStorage::default();
    // Memory at 200 is zero: a message with no gas traps and sends nothing.
    let outcome = vm.call(
        &hash,
        EntryPoint::Execute,
        &context,
        b"",
        1_000_000,
        &mut storage,
    );
    assert!(matches!(&outcome.result, Err(CallError::Trap(m)) if m.contains("gas limit")));
    assert!(outcome.messages.is_empty());

    let wat_with_gas = wat.replace("(i64.load (i32.const 200))", "(i64.const 5000)");
    let hash = vm.prepare(&wat::parse_str(wat_with_gas).unwrap()).unwrap();
    let outcome = vm.call(
        &hash,
        EntryPoint::Execute,
        &context,
        b"",
        1_000_000,
        &mut storage,
    );
    assert_eq!(outcome.result, Ok(42u128.to_le_bytes().to_vec()));
    assert_eq!(
        outcome.messages,
        vec![MessageOut {
            to: phalanx_primitives::AccountId::from_bytes([0; 32]),
            payload: b"ping".to_vec(),
            gas_limit: 5000,
        }]
    );
    let query = vm.call(
        &hash,
        EntryPoint::Query,
        &context,
        b"",
        1_000_000,
        &mut storage,
    );
    assert!(matches!(query.result, Err(CallError::ReadOnly(_))));
}

#[test]
fn padded_calls_cost_the_same_whichever_branch_they_take() {
    const PAD: &str = "(call $pad_gas (i64.const 200000))";
    // A write that adds new storage (paid after the call), a cheap success, and a contract error:
    // all padded to the same total.
    let branches = [
        format!("{WRITE} {PAD} i32.const 0"),
        format!("{PAD} i32.const 0"),
        format!("{PAD} i32.const 1"),
    ];
    let used: Vec<u64> = branches
        .iter()
        .map(|body| {
            let mut storage = MemoryStorage::default();
            run(&module(body), EntryPoint::Execute, 1_000_000, &mut storage).gas_used
        })
        .collect();
    assert_eq!(used, vec![200_000; 3]);
    // Unpadded, the same branches differ: what padding hides is real.
    let mut storage = MemoryStorage::default();
    let write = run(
        &module(&format!("{WRITE} i32.const 0")),
        EntryPoint::Execute,
        1_000_000,
        &mut storage,
    );
    let mut storage = MemoryStorage::default();
    let cheap = run(
        &module("i32.const 0"),
        EntryPoint::Execute,
        1_000_000,
        &mut storage,
    );
    assert!(write.gas_used > cheap.gas_used);
    // Never past the limit; a trap is charged what it burnt, not the pad.
    let mut storage = MemoryStorage::default();
    let capped = run(
        &module(&format!("{PAD} i32.const 0")),
        EntryPoint::Execute,
        50_000,
        &mut storage,
    );
    assert_eq!(capped.gas_used, 50_000);
    let mut storage = MemoryStorage::default();
    let trapped = run(
        &module(&format!("{PAD} unreachable")),
        EntryPoint::Execute,
        1_000_000,
        &mut storage,
    );
    assert!(trapped.gas_used < 200_000);
    // A negative total traps.
    let mut storage = MemoryStorage::default();
    let negative = run(
        &module("(call $pad_gas (i64.const -1)) i32.const 0"),
        EntryPoint::Execute,
        1_000_000,
        &mut storage,
    );
    assert!(matches!(negative.result, Err(CallError::Trap(_))));
}

#[test]
fn the_engine_probe_runs_here() {
    self_test().unwrap();
}
