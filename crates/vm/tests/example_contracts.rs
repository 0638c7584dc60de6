//! The committed example contract artifacts, run in the real VM: they validate, behave as their
//! native tests say, and are deterministic — each scenario runs twice in two separate VMs with
//! separate storage, and every result, gas figure, write, event and transfer must be identical.

use parity_scale_codec::{Decode, Encode};
use phalanx_primitives::AccountId;
use phalanx_vm::{CallContext, CallError, CallOutcome, EntryPoint, MemoryStorage, Vm};
use private_token::{Command as TokenCommand, Init as TokenInit, Query as TokenQuery};

const GAS: u64 = 10_000_000;

fn artifact(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../contracts/{name}/{name}.wasm",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn account(n: u8) -> AccountId {
    AccountId::from_bytes([n; 32])
}

/// The context of the `i`th call of a scenario.
fn context(i: usize, caller: u8) -> CallContext {
    CallContext {
        caller: account(caller),
        block_height: 10 + i as u64,
        ..CallContext::test()
    }
}

/// Runs a list of (caller, entry, message) calls on a fresh VM and storage.
fn scenario(code: &[u8], calls: &[(u8, EntryPoint, Vec<u8>)]) -> (Vec<CallOutcome>, MemoryStorage) {
    let mut vm = Vm::new();
    let hash = vm.prepare(code).unwrap();
    let mut storage = MemoryStorage::default();
    let outcomes = calls
        .iter()
        .enumerate()
        .map(|(i, (caller, entry, message))| {
            vm.call(
                &hash,
                *entry,
                &context(i, *caller),
                message,
                GAS,
                &mut storage,
            )
        })
        .collect();
    (outcomes, storage)
}

/// The same calls on one kept instance (a [`phalanx_vm::ContractSession`]), its writes applied
/// at the end, as a worker runs a block's commands to one contract.
fn session_scenario(
    code: &[u8],
    calls: &[(u8, EntryPoint, Vec<u8>)],
) -> (Vec<CallOutcome>, MemoryStorage) {
    let mut vm = Vm::new();
    let hash = vm.prepare(code).unwrap();
    let mut storage = MemoryStorage::default();
    let (outcomes, writes) = {
        let mut session = vm.session(&hash, &storage).unwrap();
        let outcomes = calls
            .iter()
            .enumerate()
            .map(|(i, (caller, entry, message))| {
                session.call(*entry, &context(i, *caller), message, GAS)
            })
            .collect::<Vec<_>>();
        (outcomes, session.finish())
    };
    for write in writes {
        match write {
            phalanx_vm::StorageWrite::Set { key, value } => storage.0.insert(key, value),
            phalanx_vm::StorageWrite::Remove { key } => storage.0.remove(&key),
        };
    }
    (outcomes, storage)
}

fn token_calls() -> Vec<(u8, EntryPoint, Vec<u8>)> {
    let sdk = |n: u8| phalanx_sdk::AccountId([n; 32]);
    vec![
        (
            1,
            EntryPoint::Instantiate,
            TokenInit {
                name: "Secret".into(),
                symbol: "SCRT".into(),
                initial_supply: 1_000,
                pha_backed: false,
            }
            .encode(),
        ),
        (
            1,
            EntryPoint::Execute,
            TokenCommand::Transfer {
                to: sdk(2),
                amount: 300,
            }
            .encode(),
        ),
        (
            2,
            EntryPoint::Execute,
            TokenCommand::Transfer {
                to: sdk(3),
                amount: 301,
            }
            .encode(),
        ),
        (
            2,
            EntryPoint::Execute,
            TokenCommand::Mint {
                to: sdk(2),
                amount: 5,
            }
            .encode(),
        ),
        (
            2,
            EntryPoint::Query,
            TokenQuery::Balance { account: sdk(2) }.encode(),
        ),
        (
            3,
            EntryPoint::Query,
            TokenQuery::Balance { account: sdk(2) }.encode(),
        ),
        (3, EntryPoint::Query, TokenQuery::TotalSupply.encode()),
        (3, EntryPoint::Execute, vec![0xff, 0x00]),
    ]
}

#[test]
fn private_token_keeps_balances_private_and_rolls_back_failures() {
    let (outcomes, storage) = scenario(&artifact("private_token"), &token_calls());
    let ok = |i: usize| u128::decode(&mut &outcomes[i].result.as_ref().unwrap()[..]).unwrap();
    let err = |i: usize| match &outcomes[i].result {
        Err(CallError::Contract(message)) => String::from_utf8(message.clone()).unwrap(),
        other => panic!("call {i}: expected a contract error, got {other:?}"),
    };
    assert!(outcomes[0].result.is_ok());
    assert_eq!(ok(1), 700);
    // Two encrypted events, one per party, nothing public.
    assert_eq!(
        outcomes[1]
            .events
            .iter()
            .map(|e| e.recipient)
            .collect::<Vec<_>>(),
        [Some(account(2)), Some(account(1))]
    );
    assert_eq!(err(2), "insufficient balance");
    assert!(outcomes[2].writes.is_empty() && outcomes[2].events.is_empty());
    assert_eq!(err(3), "only the issuer may mint");
    assert_eq!(ok(4), 300);
    assert_eq!(err(5), "only the owner of an account may read its balance");
    assert_eq!(ok(6), 1_000);
    assert!(err(7).starts_with("malformed message"));
    // Queries write nothing, and every call burnt some gas.
    assert!(outcomes[4..7].iter().all(|o| o.writes.is_empty()));
    assert!(outcomes.iter().all(|o| o.gas_used > 0 && o.gas_used < GAS));
    assert!(!storage.0.is_empty());
}

#[test]
fn counter_works_in_the_vm() {
    let calls = vec![
        (
            1,
            EntryPoint::Instantiate,
            counter::Init { start: 40 }.encode(),
        ),
        (
            2,
            EntryPoint::Execute,
            counter::Command::Increment { by: 2 }.encode(),
        ),
        (2, EntryPoint::Execute, counter::Command::Reset.encode()),
        (9, EntryPoint::Query, counter::Query::Value.encode()),
    ];
    let (outcomes, _) = scenario(&artifact("counter"), &calls);
    assert_eq!(outcomes[1].result, Ok(42u64.encode()));
    assert_eq!(outcomes[1].events.len(), 1);
    assert_eq!(
        outcomes[2].result,
        Err(CallError::Contract(
            b"only the owner may reset the counter".to_vec()
        ))
    );
    assert_eq!(outcomes[3].result, Ok(42u64.encode()));
}

#[test]
fn every_example_contract_is_deterministic_across_vms() {
    let counter_calls = vec![
        (
            1,
            EntryPoint::Instantiate,
            counter::Init { start: 1 }.encode(),
        ),
        (
            2,
            EntryPoint::Execute,
            counter::Command::Increment { by: 7 }.encode(),
        ),
        (1, EntryPoint::Execute, counter::Command::Reset.encode()),
        (3, EntryPoint::Query, counter::Query::Value.encode()),
    ];
    for (name, calls) in [("private_token", token_calls()), ("counter", counter_calls)] {
        let code = artifact(name);
        let first = scenario(&code, &calls);
        let second = scenario(&code, &calls);
        assert_eq!(first, second, "{name} is not deterministic");
        // One kept instance for all the calls gives every call what a fresh one gave: the
        // same results, gas, writes, events and transfers, and the same storage in the end.
        let kept = session_scenario(&code, &calls);
        assert_eq!(first, kept, "{name} differs on a kept instance");
    }
}

/// Many transfers on one kept instance, some failing, to ever new recipients (the allocator
/// and the stack see different data each call): each costs and does exactly what it does on
/// an instance of its own.
#[test]
fn a_kept_private_token_instance_charges_what_fresh_ones_charge() {
    let sdk = |n: u8| phalanx_sdk::AccountId([n; 32]);
    let mut calls = vec![(
        1,
        EntryPoint::Instantiate,
        TokenInit {
            name: "Token".into(),
            symbol: "TKN".into(),
            initial_supply: 1_000_000,
            pha_backed: false,
        }
        .encode(),
    )];
    for n in 0..40u8 {
        let amount = if n % 7 == 3 {
            10_000_000
        } else {
            1 + u128::from(n)
        };
        calls.push((
            1 + n % 3,
            EntryPoint::Execute,
            TokenCommand::Transfer {
                to: sdk(10 + n),
                amount,
            }
            .encode(),
        ));
        calls.push((
            10 + n,
            EntryPoint::Query,
            TokenQuery::Balance {
                account: sdk(10 + n),
            }
            .encode(),
        ));
    }
    let code = artifact("private_token");
    let fresh = scenario(&code, &calls);
    let kept = session_scenario(&code, &calls);
    assert!(fresh.0.iter().any(|o| o.result.is_err()), "some calls fail");
    assert_eq!(fresh, kept);
}

#[test]
fn running_out_of_gas_mid_contract_changes_nothing() {
    let code = artifact("private_token");
    let mut vm = Vm::new();
    let hash = vm.prepare(&code).unwrap();
    let mut storage = MemoryStorage::default();
    let ctx = CallContext {
        caller: account(1),
        ..CallContext::test()
    };
    let init = TokenInit {
        name: "T".into(),
        symbol: "T".into(),
        initial_supply: 10,
        pha_backed: false,
    }
    .encode();
    assert!(vm
        .call(
            &hash,
            EntryPoint::Instantiate,
            &ctx,
            &init,
            GAS,
            &mut storage
        )
        .result
        .is_ok());
    let before = storage.clone();
    let transfer = TokenCommand::Transfer {
        to: phalanx_sdk::AccountId([2; 32]),
        amount: 1,
    }
    .encode();
    let needed = vm
        .call(
            &hash,
            EntryPoint::Execute,
            &ctx,
            &transfer,
            GAS,
            &mut before.clone(),
        )
        .gas_used;
    // The token pads every command to COMMAND_GAS, charged up to the limit: what the call
    // really burns is the smallest limit it succeeds with.
    assert_eq!(needed, private_token::COMMAND_GAS);
    let succeeds = |vm: &mut Vm, limit| {
        vm.call(
            &hash,
            EntryPoint::Execute,
            &ctx,
            &transfer,
            limit,
            &mut before.clone(),
        )
        .result
        .is_ok()
    };
    let (mut low, mut high) = (1, needed);
    while low < high {
        let mid = low + (high - low) / 2;
        if succeeds(&mut vm, mid) {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    let needed = low;
    // Every limit short of what the call needs fails cleanly, at a spread of points.
    for limit in (1..needed).step_by((needed / 25).max(1) as usize) {
        let outcome = vm.call(
            &hash,
            EntryPoint::Execute,
            &ctx,
            &transfer,
            limit,
            &mut storage,
        );
        assert_eq!(outcome.result, Err(CallError::OutOfGas), "limit {limit}");
        assert_eq!(outcome.gas_used, limit);
        assert_eq!(storage, before);
    }
    assert!(vm
        .call(
            &hash,
            EntryPoint::Execute,
            &ctx,
            &transfer,
            needed,
            &mut storage
        )
        .result
        .is_ok());
}

/// The SDK's native test environment enforces the VM's bounds and prices: its constants
/// (`phalanx_sdk::limits`) must be the VM's own.
mod sdk_limits {
    use phalanx_sdk::limits as sdk;
    use phalanx_vm::GasSchedule;

    #[test]
    fn the_sdk_states_the_vms_bounds() {
        assert_eq!(sdk::MAX_KEY_LEN, phalanx_vm::MAX_KEY_LEN);
        assert_eq!(sdk::MAX_VALUE_LEN, phalanx_vm::MAX_VALUE_LEN);
        assert_eq!(
            sdk::MAX_CONTRACT_STORAGE_BYTES,
            phalanx_vm::MAX_CONTRACT_STORAGE_BYTES
        );
        assert_eq!(sdk::MAX_OUTPUT_LEN, phalanx_vm::MAX_OUTPUT_LEN);
        assert_eq!(sdk::MAX_EVENT_LEN, phalanx_vm::MAX_EVENT_LEN);
        assert_eq!(sdk::MAX_EVENTS_PER_CALL, phalanx_vm::MAX_EVENTS_PER_CALL);
        assert_eq!(
            sdk::MAX_TRANSFERS_PER_CALL,
            phalanx_vm::MAX_TRANSFERS_PER_CALL
        );
        assert_eq!(
            sdk::MAX_MESSAGES_PER_CALL,
            phalanx_vm::MAX_MESSAGES_PER_CALL
        );
        assert_eq!(sdk::MAX_MESSAGE_LEN, phalanx_vm::MAX_MESSAGE_LEN);
        assert_eq!(sdk::MAX_MESSAGE_GAS, phalanx_vm::MAX_MESSAGE_GAS);
        assert_eq!(sdk::MAX_CRYPTO_INPUT_LEN, phalanx_vm::MAX_CRYPTO_INPUT_LEN);
        assert_eq!(sdk::MAX_DEBUG_LINE_LEN, phalanx_vm::MAX_DEBUG_LINE_LEN);
        assert_eq!(
            sdk::MAX_DEBUG_LINES_PER_CALL,
            phalanx_vm::MAX_DEBUG_LINES_PER_CALL
        );
        assert_eq!(sdk::RESERVED_KEY_PREFIX, phalanx_vm::RESERVED_KEY_PREFIX);
    }

    #[test]
    fn the_sdk_charges_the_vms_host_prices() {
        let g = GasSchedule::default();
        let pairs = [
            (sdk::gas::HOST_CALL, g.host_call),
            (sdk::gas::PER_BYTE_COPIED, g.per_byte_copied),
            (sdk::gas::STORAGE_READ, g.storage_read),
            (sdk::gas::STORAGE_READ_PER_BYTE, g.storage_read_per_byte),
            (sdk::gas::STORAGE_WRITE, g.storage_write),
            (sdk::gas::STORAGE_WRITE_PER_BYTE, g.storage_write_per_byte),
            (sdk::gas::EVENT, g.event),
            (sdk::gas::EVENT_PER_BYTE, g.event_per_byte),
            (sdk::gas::TRANSFER, g.transfer),
            (sdk::gas::MESSAGE, g.message),
            (sdk::gas::SHA256, g.sha256),
            (sdk::gas::SHA256_PER_BYTE, g.sha256_per_byte),
            (sdk::gas::ED25519_VERIFY, g.ed25519_verify),
            (sdk::gas::DEBUG, g.debug),
            (sdk::gas::STORAGE_PER_NEW_BYTE, g.storage_per_new_byte),
        ];
        for (i, (ours, vms)) in pairs.iter().enumerate() {
            assert_eq!(ours, vms, "price {i} of the list differs");
        }
    }
}
