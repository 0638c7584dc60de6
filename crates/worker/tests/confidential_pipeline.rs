//! The confidential pipeline without processes: a chain in memory (the real runtime, real signed
//! blocks), the gatekeeper logic holding the master key, and three workers verifying and replaying
//! the same blocks. Two workers of
//! the cluster get its key, run `private_token` on encrypted commands and agree on every receipt
//! and on the state; the third, outside the cluster, never gets a key and runs nothing.

use parity_scale_codec::{Decode, Encode};
use phalanx_crypto::envelope::EnvelopeContext;
use phalanx_crypto::hierarchy::MasterKey;
use phalanx_crypto::sealing::SealingKey;
use phalanx_crypto::verify_next_block;
use phalanx_crypto::{Keypair, Sealer};
use phalanx_executor::{Executor, Gatekeeper, KeyRing, MemoryContractStates, ReceiptOutcome};
use phalanx_primitives::amount::UNIT;
use phalanx_primitives::attestation::Role;
use phalanx_primitives::{AccountId, Call, Envelope, Hash, SudoCall};
use phalanx_runtime::genesis::{self};
use phalanx_runtime::{clusters, contracts};
use phalanx_testkit::{MemoryChain, TestEnclave};
use phalanx_worker::Synced;
use phalanx_worker::WorkerStore;
use private_token::{Command as TokenCommand, Init as TokenInit, Query as TokenQuery};
use rand_core::OsRng;

fn seal(
    to: &[u8; 32],
    epoch: u32,
    chain: &MemoryChain,
    contract: AccountId,
    sender: AccountId,
    plaintext: &[u8],
) -> Envelope {
    let context = EnvelopeContext {
        chain_id: chain.params.chain_id,
        contract,
        sender,
    };
    Sealer::new(&mut OsRng)
        .seal(to, epoch, &context, plaintext, &mut OsRng)
        .unwrap()
}

#[test]
fn cluster_workers_agree_and_outsiders_learn_nothing() {
    let mut chain = MemoryChain::dev();
    let (alice, bob, operator) = (
        Keypair::dev("alice"),
        Keypair::dev("bob"),
        Keypair::dev("charlie"),
    );
    let gatekeeper = TestEnclave::new("gatekeeper-1");
    let workers = [
        TestEnclave::new("worker-1"),
        TestEnclave::new("worker-2"),
        TestEnclave::new("worker-3"),
    ];
    let cluster = Hash([0xc1; 32]);

    // Registration, and a cluster of the first two workers.
    let mut calls = vec![(
        &alice,
        Call::Transfer {
            to: gatekeeper.identity.account_id(),
            amount: 1_000 * UNIT,
        },
    )];
    calls.push((&operator, gatekeeper.registration(&chain, Role::Gatekeeper)));
    for worker in &workers {
        calls.push((&operator, worker.registration(&chain, Role::Worker)));
    }
    // The first gatekeeper declares the master key it generated.
    let gatekeeper_logic = Gatekeeper::new(
        gatekeeper.identity.account_id(),
        chain.params.chain_id,
        MasterKey::generate(0, &mut OsRng),
    );
    calls.push((&gatekeeper.identity, gatekeeper_logic.declaration()));
    chain.block(calls);
    let members = vec![
        workers[0].identity.account_id(),
        workers[1].identity.account_id(),
    ];
    chain.block(vec![(
        &alice,
        Call::Sudo(SudoCall::CreateCluster {
            cluster,
            workers: members.clone(),
        }),
    )]);

    // The gatekeeper answers the chain's events: cluster key published, sent to each member.
    chain.respond(&gatekeeper_logic, &gatekeeper.identity);
    let (cluster_public, _) = clusters::cluster(&chain.state, &cluster)
        .unwrap()
        .unwrap()
        .public_key
        .unwrap();

    // Alice deploys private_token, init encrypted to the cluster key she reads from the chain.
    let code = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contracts/private_token/private_token.wasm"
    ))
    .unwrap();
    let code_hash = phalanx_primitives::sha256(&code);
    let contract = contracts::contract_id(&code_hash, &cluster, &alice.account_id(), b"");
    let init = TokenInit {
        name: "Secret".into(),
        symbol: "SCRT".into(),
        initial_supply: 1_000,
        pha_backed: false,
    }
    .encode();
    let init = seal(
        &cluster_public,
        0,
        &chain,
        contract,
        alice.account_id(),
        &init,
    );
    chain.block(vec![
        (&alice, Call::UploadCode { code }),
        (
            &alice,
            Call::Instantiate {
                code_hash,
                cluster,
                salt: vec![],
                init,
                gas_limit: 10_000_000,
            },
        ),
    ]);
    chain.respond(&gatekeeper_logic, &gatekeeper.identity);
    let (contract_public, _) = contracts::contract(&chain.state, &contract)
        .unwrap()
        .unwrap()
        .public_key
        .unwrap();

    // Commands: a transfer, an overspend, and an envelope encrypted to the wrong key.
    let to_bob = TokenCommand::Transfer {
        to: phalanx_sdk::AccountId(*bob.account_id().as_bytes()),
        amount: 300,
    }
    .encode();
    let overspend = TokenCommand::Transfer {
        to: phalanx_sdk::AccountId(*alice.account_id().as_bytes()),
        amount: 301,
    }
    .encode();
    chain.block(vec![
        (
            &alice,
            Call::Command {
                contract,
                envelope: seal(
                    &contract_public,
                    0,
                    &chain,
                    contract,
                    alice.account_id(),
                    &to_bob,
                ),
                gas_limit: 10_000_000,
                value: 0,
            },
        ),
        (
            &bob,
            Call::Command {
                contract,
                envelope: seal(
                    &contract_public,
                    0,
                    &chain,
                    contract,
                    bob.account_id(),
                    &overspend,
                ),
                gas_limit: 10_000_000,
                value: 0,
            },
        ),
        (
            &bob,
            Call::Command {
                contract,
                envelope: seal(&[9; 32], 0, &chain, contract, bob.account_id(), &overspend),
                gas_limit: 10_000_000,
                value: 0,
            },
        ),
    ]);

    // Every worker replays every block.
    let mut results = vec![];
    for worker in &workers {
        let mut executor = Executor::new(
            chain.params.chain_id,
            KeyRing::new(worker.identity.account_id(), worker.ecdh.clone()),
        );
        let mut states = MemoryContractStates::default();
        let (mut receipts, mut notifications) = (vec![], vec![]);
        let mut parent = genesis::build(&genesis::dev_config()).unwrap().header;
        for ((block, events), view) in chain.blocks.iter().zip(chain.views()) {
            verify_next_block(&parent, block, &chain.params.validators).unwrap();
            let effects = executor
                .apply_block(block, events, &view, &mut states)
                .unwrap();
            receipts.extend(effects.receipts);
            notifications.extend(effects.notifications);
            parent = block.header.clone();
        }
        results.push((executor, states, receipts, notifications));
    }

    // The two members ran the same commands with the same outcomes and reached the same state.
    assert_eq!(results[0].2, results[1].2);
    let digest_key = results[0].0.digest_key(&contract).unwrap();
    assert_eq!(results[1].0.digest_key(&contract), Some(digest_key));
    let digest = results[0].1.digest(&contract, &digest_key);
    assert_eq!(digest, results[1].1.digest(&contract, &digest_key));
    let receipts = &results[0].2;
    assert_eq!(receipts.len(), 4, "instantiate + three commands");
    assert!(matches!(receipts[0].outcome, ReceiptOutcome::Ok(_)));
    assert_eq!(receipts[1].outcome, ReceiptOutcome::Ok(700u128.encode()));
    // One event per party: the sender's in its receipt, each party's as its notification.
    assert_eq!(receipts[1].events.len(), 1, "the sender reads only its own");
    assert_eq!(receipts[1].events[0].0, Some(receipts[1].sender));
    let notified: Vec<_> = results[0].3.iter().map(|n| n.recipient).collect();
    assert_eq!(notified.len(), 2, "{notified:?}");
    assert!(notified.contains(&receipts[1].sender));
    assert_eq!(
        results[0].3, results[1].3,
        "both members keep the same notifications"
    );
    assert_eq!(
        receipts[2].outcome,
        ReceiptOutcome::Failed("contract error: insufficient balance".into())
    );
    assert!(
        matches!(&receipts[3].outcome, ReceiptOutcome::Failed(m) if m.contains("does not decrypt"))
    );
    assert!(receipts.iter().all(|r| r.contract == contract));

    // The outsider holds no key and runs nothing.
    assert!(!results[2].0.keys().serves(&cluster));
    assert!(results[2].2.is_empty() && results[2].1 .0.is_empty());

    // Queries: bob reads his own balance; alice may not read bob's.
    let (executor, states, _, _) = &mut results[0];
    let bob_sdk = phalanx_sdk::AccountId(*bob.account_id().as_bytes());
    let query = TokenQuery::Balance { account: bob_sdk }.encode();
    let answer = executor
        .query(
            &contract,
            bob.account_id(),
            &query,
            chain.head.height,
            chain.head.timestamp_ms,
            states,
        )
        .unwrap();
    assert_eq!(u128::decode(&mut &answer[..]).unwrap(), 300);
    assert!(executor
        .query(
            &contract,
            alice.account_id(),
            &query,
            chain.head.height,
            chain.head.timestamp_ms,
            states
        )
        .is_err());

    // A worker that keeps everything in its sealed store and restarts after every block (its
    // executor restored from the sealed snapshot) reaches the same receipts and answers.
    let member = &workers[0];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("worker.redb");
    let open_store = || WorkerStore::open(&path, SealingKey::from_bytes([5; 32]), [6; 32]).unwrap();
    let keys = || KeyRing::new(member.identity.account_id(), member.ecdh.clone());
    let mut restarted_receipts = vec![];
    for ((block, events), view) in chain.blocks.iter().zip(chain.views()) {
        let store = open_store();
        let mut executor = match store.executor_snapshot().unwrap() {
            Some(snapshot) => Executor::restore(chain.params.chain_id, keys(), &snapshot).unwrap(),
            None => Executor::new(chain.params.chain_id, keys()),
        };
        // As the worker process does: state keys in after a restart and after a block taught
        // the executor something.
        store.install_state_keys(executor.state_keys());
        let mut writes = store.begin_block().unwrap();
        let effects = executor
            .apply_block(block, events, &view, &mut writes)
            .unwrap();
        let snapshot = executor.take_snapshot_if_changed();
        store.install_state_keys(executor.state_keys());
        let synced = Synced {
            header: &block.header,
            executor_snapshot: snapshot.as_deref(),
            view: None,
        };
        store
            .commit_block(
                writes,
                |c| executor.digest_key(c),
                &effects,
                synced,
                &mut OsRng,
            )
            .unwrap();
        restarted_receipts.extend(effects.receipts);
    }
    assert_eq!(restarted_receipts, results[1].2);
    let store = open_store();
    // The sealed store's incremental digest equals the in-memory state's, computed from scratch.
    assert_eq!(
        store.digest_at(&contract, chain.head.height).unwrap(),
        Some(digest)
    );
    assert_eq!(store.digest_at(&contract, 0).unwrap(), None);
    assert_eq!(store.synced().unwrap(), Some(chain.head.clone()));
    assert_eq!(
        store
            .receipt(&restarted_receipts[1].tx_hash)
            .unwrap()
            .as_ref(),
        Some(&restarted_receipts[1])
    );
    let mut executor = Executor::restore(
        chain.params.chain_id,
        keys(),
        &store.executor_snapshot().unwrap().unwrap(),
    )
    .unwrap();
    store.install_state_keys(executor.state_keys());
    let mut view = store.begin_block().unwrap();
    let answer = executor
        .query(
            &contract,
            bob.account_id(),
            &query,
            chain.head.height,
            chain.head.timestamp_ms,
            &mut view,
        )
        .unwrap();
    assert_eq!(u128::decode(&mut &answer[..]).unwrap(), 300);
}

/// A contract that, given a 32-byte account, sends it "ping" with 100,000 gas; given anything
/// else (a message), remembers its caller. Its query answers the remembered caller.
const PINGER: &str = r#"(module
  (import "env" "input" (func $input (result i32)))
  (import "env" "scratch_read" (func $scratch_read (param i32)))
  (import "env" "caller" (func $caller (param i32)))
  (import "env" "send_message" (func $send_message (param i32 i32 i32 i64)))
  (import "env" "storage_set" (func $storage_set (param i32 i32 i32 i32)))
  (import "env" "storage_get" (func $storage_get (param i32 i32) (result i32)))
  (import "env" "output" (func $output (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "from")
  (data (i32.const 8) "ping")
  (func (export "instantiate") (result i32) i32.const 0)
  (func (export "execute") (result i32)
    (local $len i32)
    (local.set $len (call $input))
    (call $scratch_read (i32.const 64))
    (if (i32.eq (local.get $len) (i32.const 32))
      (then (call $send_message (i32.const 64) (i32.const 8) (i32.const 4) (i64.const 100000)))
      (else
        (call $caller (i32.const 128))
        (call $storage_set (i32.const 0) (i32.const 4) (i32.const 128) (i32.const 32))))
    i32.const 0)
  (func (export "query") (result i32)
    (drop (call $storage_get (i32.const 0) (i32.const 4)))
    (call $scratch_read (i32.const 128))
    (call $output (i32.const 128) (i32.const 32))
    i32.const 0))"#;

#[test]
fn a_message_from_one_contract_runs_in_the_other_as_its_caller() {
    use phalanx_executor::{message_id, Output};
    use phalanx_primitives::ContractOutput;
    let mut chain = MemoryChain::dev();
    let (alice, operator) = (Keypair::dev("alice"), Keypair::dev("charlie"));
    let gatekeeper = TestEnclave::new("gatekeeper-1");
    let worker = TestEnclave::new("worker-1");
    let cluster = Hash([0xc2; 32]);
    let gatekeeper_logic = Gatekeeper::new(
        gatekeeper.identity.account_id(),
        chain.params.chain_id,
        MasterKey::generate(0, &mut OsRng),
    );
    let fund = |to: AccountId| Call::Transfer {
        to,
        amount: 1_000 * UNIT,
    };
    chain.block(vec![
        (&alice, fund(gatekeeper.identity.account_id())),
        (&alice, fund(worker.identity.account_id())),
        (&operator, gatekeeper.registration(&chain, Role::Gatekeeper)),
        (&operator, worker.registration(&chain, Role::Worker)),
        (&gatekeeper.identity, gatekeeper_logic.declaration()),
    ]);
    let create = SudoCall::CreateCluster {
        cluster,
        workers: vec![worker.identity.account_id()],
    };
    chain.block(vec![(&alice, Call::Sudo(create))]);
    chain.respond(&gatekeeper_logic, &gatekeeper.identity);
    let cluster_public = clusters::cluster(&chain.state, &cluster)
        .unwrap()
        .unwrap()
        .public_key
        .unwrap()
        .0;

    // Two pingers; the sender's account holds PHA for the message's gas.
    let code = wat::parse_str(PINGER).unwrap();
    let code_hash = phalanx_primitives::sha256(&code);
    let [sender, receiver] = [b"a", b"b"]
        .map(|salt| contracts::contract_id(&code_hash, &cluster, &alice.account_id(), salt));
    let instantiate = |contract, salt: &[u8]| Call::Instantiate {
        code_hash,
        cluster,
        salt: salt.to_vec(),
        init: seal(
            &cluster_public,
            0,
            &chain,
            contract,
            alice.account_id(),
            b"",
        ),
        gas_limit: 1_000_000,
    };
    let calls = vec![
        (&alice, Call::UploadCode { code }),
        (&alice, instantiate(sender, b"a")),
        (&alice, instantiate(receiver, b"b")),
        (&alice, fund(sender)),
    ];
    chain.block(calls);
    chain.respond(&gatekeeper_logic, &gatekeeper.identity);
    let public_key = |contract| {
        contracts::contract(&chain.state, &contract)
            .unwrap()
            .unwrap()
            .public_key
            .unwrap()
            .0
    };
    let (sender_key, receiver_key) = (public_key(sender), public_key(receiver));
    let ping = seal(
        &sender_key,
        0,
        &chain,
        sender,
        alice.account_id(),
        receiver.as_bytes(),
    );
    let command = Call::Command {
        contract: sender,
        envelope: ping,
        gas_limit: 1_000_000,
        value: 0,
    };
    chain.block(vec![(&alice, command)]);

    // The worker runs the blocks so far: the sender's command produced one output, a message.
    let mut executor = Executor::new(
        chain.params.chain_id,
        KeyRing::new(worker.identity.account_id(), worker.ecdh.clone()),
    );
    let mut states = MemoryContractStates::default();
    let mut outputs = vec![];
    for ((block, events), view) in chain.blocks.iter().zip(chain.views()) {
        outputs.extend(
            executor
                .apply_block(block, events, &view, &mut states)
                .unwrap()
                .outputs,
        );
    }
    let (settlements, others): (Vec<_>, Vec<_>) = outputs
        .into_iter()
        .partition(|(_, output)| matches!(output, Output::Settle { .. }));
    assert_eq!(
        others,
        vec![(
            sender,
            Output::Message {
                to: receiver,
                payload: b"ping".to_vec(),
                gas_limit: 100_000,
            }
        )]
    );
    // Each block's gas per contract: alice gets back what the runs did not use, and what they
    // used (at the dev gas price of 1,000 units) is the fee.
    let gas_price = phalanx_runtime::tokenomics::params(&chain.state)
        .unwrap()
        .gas_price;
    let prepaid = [1_000_000u128, 1_000_000, 1_000_000].map(|gas| gas * gas_price);
    assert_eq!(settlements.len(), prepaid.len());
    for ((_, settlement), prepaid) in settlements.iter().zip(prepaid) {
        let Output::Settle { refunds, fees } = settlement else {
            unreachable!()
        };
        assert_eq!(refunds.len(), 1);
        assert_eq!(refunds[0].0, alice.account_id());
        assert_eq!(refunds[0].1 + fees, prepaid);
        assert!(*fees > 0 && fees % gas_price == 0);
    }

    // It sends it as egress, sealed to the receiver from the sender; the chain orders it and
    // the receiver runs it with the sending contract as its caller.
    let envelope = seal(&receiver_key, 0, &chain, receiver, sender, b"ping");
    let egress = Call::Egress {
        contract: sender,
        first_seq: 0,
        outputs: vec![ContractOutput::Message {
            to: receiver,
            envelope,
            gas_limit: 100_000,
        }],
    };
    chain.block(vec![(&worker.identity, egress)]);
    let (block, events) = chain.blocks.last().unwrap();
    let view = chain.views().pop().unwrap();
    let effects = executor
        .apply_block(block, events, &view, &mut states)
        .unwrap();
    assert_eq!(effects.accepted, vec![(sender, 1)]);
    assert_eq!(effects.receipts.len(), 1);
    let receipt = &effects.receipts[0];
    assert_eq!(receipt.tx_hash, message_id(&sender, 0));
    assert_eq!((receipt.contract, receipt.sender), (receiver, sender));
    assert!(
        matches!(receipt.outcome, ReceiptOutcome::Ok(_)),
        "{receipt:?}"
    );
    let remembered = executor
        .query(
            &receiver,
            alice.account_id(),
            b"",
            block.header.height,
            0,
            &mut states,
        )
        .unwrap();
    assert_eq!(remembered, sender.as_bytes().to_vec());
    // The receiver's workers settle the message's gas, paid back to the sending contract.
    let Some((settled, Output::Settle { refunds, fees })) = effects.outputs.last() else {
        panic!("{:?}", effects.outputs)
    };
    assert_eq!(*settled, receiver);
    assert_eq!(refunds[0].0, sender);
    assert_eq!(refunds[0].1 + fees, 100_000 * gas_price);
}

/// Commands to four contracts, interleaved in one block, some failing: the worker runs each
/// contract's commands together on one kept instance, the contracts on several threads, yet
/// every receipt, output and balance is what running them one by one in block order gives, on
/// one thread or four, and receipts come in block order.
#[test]
fn interleaved_commands_to_many_contracts_run_as_in_block_order_on_any_threads() {
    let mut setup = phalanx_testkit::TokenCluster::new(4, 1_000);
    let bob = Keypair::dev("bob").account_id();
    // A, B, A (overspends), B, A, ...: the balances each success returns say the order held.
    let plan = [
        (0, 100),
        (1, 10),
        (0, 5_000),
        (1, 20),
        (0, 1),
        (2, 7),
        (3, 8),
        (2, 9),
        (3, 2_000),
    ];
    let commands = plan
        .iter()
        .map(|&(i, amount)| setup.transfer(i, bob, amount))
        .collect();
    setup.block(commands);

    let replay = |threads: usize| {
        let mut executor = setup.executor();
        executor.set_threads(threads);
        let mut states = MemoryContractStates::default();
        let mut effects = vec![];
        let chain = &setup.chain;
        for ((block, events), view) in chain.blocks.iter().zip(chain.views()) {
            let block_effects = executor
                .apply_block(block, events, &view, &mut states)
                .unwrap();
            effects.push((block_effects.receipts, block_effects.outputs));
        }
        (effects, states)
    };
    let (one, one_state) = replay(1);
    let (four, four_state) = replay(4);
    assert_eq!(
        one, four,
        "receipts and outputs do not depend on the threads"
    );
    assert_eq!(one_state, four_state);
    let receipts = one.last().unwrap().0.clone();
    let (last, _) = setup.chain.blocks.last().unwrap();
    let hashes: Vec<Hash> = last.transactions.iter().map(|tx| tx.hash()).collect();
    assert_eq!(
        receipts.iter().map(|r| r.tx_hash).collect::<Vec<_>>(),
        hashes,
        "receipts in block order"
    );
    let contracts: Vec<AccountId> = receipts.iter().map(|r| r.contract).collect();
    assert_eq!(contracts, plan.map(|(i, _)| setup.tokens[i]));
    let outcomes: Vec<ReceiptOutcome> = receipts.into_iter().map(|r| r.outcome).collect();
    let insufficient = || ReceiptOutcome::Failed("contract error: insufficient balance".into());
    assert_eq!(
        outcomes,
        [
            ReceiptOutcome::Ok(900u128.encode()),
            ReceiptOutcome::Ok(990u128.encode()),
            insufficient(),
            ReceiptOutcome::Ok(970u128.encode()),
            ReceiptOutcome::Ok(899u128.encode()),
            ReceiptOutcome::Ok(993u128.encode()),
            ReceiptOutcome::Ok(992u128.encode()),
            ReceiptOutcome::Ok(984u128.encode()),
            insufficient(),
        ]
    );
}
