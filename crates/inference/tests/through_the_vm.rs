//! A contract runs a model from its own storage through the VM's `model_run` host function,
//! with this crate's runtime plugged in: the seam a worker uses (issue 20, item 3).

use parity_scale_codec::{Decode, Encode};
use phalanx_inference::Models;
use phalanx_sdk::inference::{ElementType, Tensor};
use phalanx_vm::{
    CallContext, EntryPoint, MemoryStorage, Vm, MODEL_NOT_DETERMINISTIC, MODEL_NOT_FOUND,
    MODEL_UNAVAILABLE,
};
use std::sync::Arc;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/breast_cancer");
const GAS: u64 = 50_000_000;

/// `instantiate` stores its input under key "m"; `query` and `execute` run the model at "m" on
/// their input and output the result: the outputs, or the negative code (4 bytes, little
/// endian) followed by the reason.
const CONTRACT: &str = r#"(module
  (import "env" "input" (func $input (result i32)))
  (import "env" "scratch_read" (func $scratch_read (param i32)))
  (import "env" "output" (func $output (param i32 i32)))
  (import "env" "storage_set" (func $storage_set (param i32 i32 i32 i32)))
  (import "env" "model_run" (func $model_run (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 4)
  (data (i32.const 0) "m")
  (func (export "instantiate") (result i32) (local $len i32)
    (local.set $len (call $input))
    (call $scratch_read (i32.const 1024))
    (call $storage_set (i32.const 0) (i32.const 1) (i32.const 1024) (local.get $len))
    i32.const 0)
  (func $run (result i32) (local $len i32) (local $r i32)
    (local.set $len (call $input))
    (call $scratch_read (i32.const 1024))
    (local.set $r (call $model_run (i32.const 0) (i32.const 1) (i32.const 1024) (local.get $len)))
    (if (i32.ge_s (local.get $r) (i32.const 0))
      (then
        (call $scratch_read (i32.const 131072))
        (call $output (i32.const 131072) (local.get $r)))
      (else
        (i32.store (i32.const 131068) (local.get $r))
        (call $scratch_read (i32.const 131072))
        (call $output (i32.const 131068) (i32.const 64))))
    i32.const 0)
  (func (export "execute") (result i32) (call $run))
  (func (export "query") (result i32) (call $run)))"#;

fn deploy(vm: &mut Vm, model: &[u8]) -> (phalanx_primitives::Hash, MemoryStorage) {
    let code = wat::parse_str(CONTRACT).unwrap();
    let hash = vm.prepare(&code).unwrap();
    let mut storage = MemoryStorage::default();
    let made = vm.call(
        &hash,
        EntryPoint::Instantiate,
        &CallContext::test(),
        model,
        GAS,
        &mut storage,
    );
    made.result.expect("instantiate stores the model");
    (hash, storage)
}

fn first_test_row() -> (Vec<f32>, i64) {
    let test = std::fs::read_to_string(format!("{DIR}/test.csv")).unwrap();
    let row: Vec<f64> = test
        .lines()
        .next()
        .unwrap()
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    let reference = std::fs::read_to_string(format!("{DIR}/reference.csv")).unwrap();
    let label: f64 = reference
        .lines()
        .next()
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    (row[..30].iter().map(|v| *v as f32).collect(), label as i64)
}

fn code_of(output: &[u8]) -> i32 {
    i32::from_le_bytes(output[..4].try_into().unwrap())
}

#[test]
fn a_query_runs_the_float_model_and_a_command_is_refused_it() {
    let model = std::fs::read(format!("{DIR}/classifier.onnx")).unwrap();
    let mut vm = Vm::new();
    vm.set_models(Arc::new(Models::new()));
    let (hash, mut storage) = deploy(&mut vm, &model);
    let (features, label) = first_test_row();
    let input = vec![Tensor {
        element: ElementType::F32,
        shape: vec![1, 30],
        data: features.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }]
    .encode();

    let answer = vm.call(
        &hash,
        EntryPoint::Query,
        &CallContext::test(),
        &input,
        GAS,
        &mut storage,
    );
    let outputs = Vec::<Tensor>::decode(&mut &answer.result.unwrap()[..]).unwrap();
    assert_eq!(outputs[0].to_i64().unwrap(), vec![label]);
    let price = Models::new()
        .prepare(&model, &Vec::<Tensor>::decode(&mut &input[..]).unwrap())
        .unwrap()
        .price
        .gas();
    assert!(
        answer.gas_used > price,
        "the run's price ({price}) is part of the gas ({})",
        answer.gas_used
    );

    let command = vm.call(
        &hash,
        EntryPoint::Execute,
        &CallContext::test(),
        &input,
        GAS,
        &mut storage,
    );
    let said = command.result.unwrap();
    assert_eq!(code_of(&said), MODEL_NOT_DETERMINISTIC);
    assert!(String::from_utf8_lossy(&said[4..]).contains("floats"));
}

#[test]
fn a_command_runs_the_integer_model_with_the_same_gas_every_time() {
    let model = std::fs::read(format!("{DIR}/integer.onnx")).unwrap();
    let mut vm = Vm::new();
    vm.set_models(Arc::new(Models::new()));
    let (hash, mut storage) = deploy(&mut vm, &model);
    let (features, _) = first_test_row();
    let expected: i64 = std::fs::read_to_string(format!("{DIR}/integer_reference.csv"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let input = vec![Tensor {
        element: ElementType::I32,
        shape: vec![1, 30],
        data: features
            .iter()
            .flat_map(|v| ((*v as f64 * 256.0).round() as i32).to_le_bytes())
            .collect(),
    }]
    .encode();
    let first = vm.call(
        &hash,
        EntryPoint::Execute,
        &CallContext::test(),
        &input,
        GAS,
        &mut storage,
    );
    // A second VM with a cold cache charges exactly the same.
    let mut cold = Vm::new();
    cold.set_models(Arc::new(Models::new()));
    let (cold_hash, mut cold_storage) = deploy(&mut cold, &model);
    let again = vm.call(
        &hash,
        EntryPoint::Execute,
        &CallContext::test(),
        &input,
        GAS,
        &mut storage,
    );
    let fresh = cold.call(
        &cold_hash,
        EntryPoint::Execute,
        &CallContext::test(),
        &input,
        GAS,
        &mut cold_storage,
    );
    assert_eq!(first.gas_used, again.gas_used);
    assert_eq!(first.gas_used, fresh.gas_used);
    let outputs = Vec::<Tensor>::decode(&mut &first.result.unwrap()[..]).unwrap();
    assert_eq!(outputs[0].to_i64().unwrap(), vec![expected]);
}

#[test]
fn without_a_runtime_or_a_model_the_contract_gets_a_code() {
    let model = std::fs::read(format!("{DIR}/integer.onnx")).unwrap();
    let mut vm = Vm::new();
    let (hash, mut storage) = deploy(&mut vm, &model);
    let input = Vec::<Tensor>::new().encode();
    let said = vm.call(
        &hash,
        EntryPoint::Query,
        &CallContext::test(),
        &input,
        GAS,
        &mut storage,
    );
    assert_eq!(code_of(&said.result.unwrap()), MODEL_UNAVAILABLE);

    vm.set_models(Arc::new(Models::new()));
    let mut empty = MemoryStorage::default();
    let said = vm.call(
        &hash,
        EntryPoint::Query,
        &CallContext::test(),
        &input,
        GAS,
        &mut empty,
    );
    assert_eq!(code_of(&said.result.unwrap()), MODEL_NOT_FOUND);
}

#[test]
fn a_run_without_the_gas_for_its_price_stops_before_it_starts() {
    let model = std::fs::read(format!("{DIR}/classifier.onnx")).unwrap();
    let mut vm = Vm::new();
    vm.set_models(Arc::new(Models::new()));
    let (hash, mut storage) = deploy(&mut vm, &model);
    let input = vec![Tensor {
        element: ElementType::F32,
        shape: vec![1, 30],
        data: vec![0; 120],
    }]
    .encode();
    let said = vm.call(
        &hash,
        EntryPoint::Query,
        &CallContext::test(),
        &input,
        30_000,
        &mut storage,
    );
    assert_eq!(said.result.unwrap_err(), phalanx_vm::CallError::OutOfGas);
}
