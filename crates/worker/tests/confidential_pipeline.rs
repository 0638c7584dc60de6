//! The confidential pipeline without processes: a chain in memory (the real runtime, real signed
//! blocks), the gatekeeper logic holding the master key, and three workers verifying and replaying
//! the same blocks. Two workers of
//! the cluster get its key, run `private_token` on encrypted commands and agree on every receipt
//! and on the state; the third, outside the cluster, never gets a key and runs nothing.

use parity_scale_codec::{Decode, Encode};
use phalanx_attestation::{DevProvider, Enrollment, QuoteProvider};
use phalanx_crypto::envelope::EnvelopeContext;
use phalanx_crypto::hierarchy::MasterKey;
use phalanx_crypto::sealing::SealingKey;
use phalanx_crypto::{sign_finality, sign_transaction, verify_transactions, Keypair, Sealer};
use phalanx_primitives::amount::UNIT;
use phalanx_primitives::attestation::{Measurement, Role};
use phalanx_primitives::{
    AccountId, Block, BlockHeader, Call, Envelope, EventRecord, FinalityCertificate, Hash,
    SudoCall, Transaction,
};
use phalanx_runtime::genesis::{self, dev_measurement, DEV_ATTESTATION_KEY};
use phalanx_runtime::{
    clusters, contracts, registry, BlockContext, BlockExecutor, ChainParams, MemoryState,
};
use phalanx_worker::store::WorkerStore;
use phalanx_worker::sync::verify_next_block;
use phalanx_worker::{Executor, Gatekeeper, KeyRing, MemoryContractStates, ReceiptOutcome};
use private_token::{Command as TokenCommand, Init as TokenInit, Query as TokenQuery};
use rand_core::OsRng;
use std::collections::HashMap;
use x25519_dalek::{PublicKey, StaticSecret};

/// A single-validator chain in memory, producing real blocks with their events.
struct TestChain {
    params: ChainParams,
    state: MemoryState,
    head: BlockHeader,
    nonces: HashMap<AccountId, u64>,
    blocks: Vec<(Block, Vec<EventRecord>)>,
}

impl TestChain {
    fn new() -> Self {
        let config = genesis::dev_config();
        let built = genesis::build(&config).unwrap();
        let mut state = MemoryState::default();
        state.apply(&built.write_set);
        TestChain {
            params: ChainParams::from_genesis(&config),
            state,
            head: built.header,
            nonces: HashMap::new(),
            blocks: vec![],
        }
    }

    /// Lets the gatekeeper answer the last block's events, in the next block.
    fn respond(&mut self, gatekeeper: &Gatekeeper, identity: &Keypair) {
        let events = self.blocks.last().unwrap().1.clone();
        let state = self.state.clone();
        let ecdh_of = |worker: &AccountId| {
            registry::worker(&state, worker)
                .unwrap()
                .map(|w| w.ecdh_public)
        };
        let calls = gatekeeper.respond(&events, ecdh_of, &mut OsRng);
        assert!(!calls.is_empty());
        self.block(calls.into_iter().map(|call| (identity, call)).collect());
    }

    /// Puts the calls in one block; every one must apply.
    fn block(&mut self, calls: Vec<(&Keypair, Call)>) {
        let context = BlockContext {
            height: self.head.height + 1,
            timestamp_ms: self.head.timestamp_ms + 1_000,
        };
        let mut executor = BlockExecutor::new(&self.state, &self.params, context);
        let mut included = vec![];
        for (signer, call) in calls {
            let nonce = self.nonces.entry(signer.account_id()).or_default();
            let tx = Transaction {
                chain_id: self.params.chain_id,
                signer: signer.account_id(),
                nonce: *nonce,
                fee: UNIT,
                call,
            };
            let verified = verify_transactions(vec![sign_transaction(signer, tx)])
                .remove(0)
                .unwrap();
            executor.apply(&verified).unwrap();
            *nonce += 1;
            included.push(verified.into_signed());
        }
        let outcome = executor.finish();
        let header = BlockHeader {
            height: context.height,
            parent_hash: self.head.hash(),
            state_root: outcome.state_root(&self.head.state_root),
            transactions_root: Block::transactions_root(&included),
            events_root: outcome.events_root(),
            timestamp_ms: context.timestamp_ms,
            proposer: self.params.validators[0],
        };
        self.state.apply(&outcome.write_set);
        self.head = header.clone();
        let validator = Keypair::dev(genesis::DEV_VALIDATOR);
        let certificate = FinalityCertificate {
            signatures: vec![sign_finality(&validator, &header)],
        };
        self.blocks.push((
            Block {
                header,
                transactions: included,
                certificate,
            },
            outcome.events,
        ));
    }
}

struct Enclave {
    identity: Keypair,
    ecdh: StaticSecret,
}

impl Enclave {
    fn new(name: &str) -> Self {
        Enclave {
            identity: Keypair::dev(name),
            ecdh: StaticSecret::random_from_rng(OsRng),
        }
    }
    fn ecdh_public(&self) -> [u8; 32] {
        PublicKey::from(&self.ecdh).to_bytes()
    }
    fn registration(&self, chain: &TestChain, role: Role) -> Call {
        let Measurement::Dev(measurement) = dev_measurement() else {
            unreachable!()
        };
        let provider = DevProvider::new_insecure(Keypair::dev(DEV_ATTESTATION_KEY), measurement);
        let data = Enrollment {
            identity: &self.identity.account_id(),
            ecdh_public: &self.ecdh_public(),
            chain_id: &chain.params.chain_id,
            role,
            operator: &Keypair::dev("charlie").account_id(),
            endpoint: b"",
        }
        .report_data();
        Call::RegisterWorker {
            identity: self.identity.account_id(),
            ecdh_public: self.ecdh_public(),
            role,
            attestation: Box::new(provider.quote(&data).unwrap()),
            endpoint: vec![],
        }
    }
}

fn seal(
    to: &[u8; 32],
    epoch: u32,
    chain: &TestChain,
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
    let mut chain = TestChain::new();
    let (alice, bob, operator) = (
        Keypair::dev("alice"),
        Keypair::dev("bob"),
        Keypair::dev("charlie"),
    );
    let gatekeeper = Enclave::new("gatekeeper-1");
    let workers = [
        Enclave::new("worker-1"),
        Enclave::new("worker-2"),
        Enclave::new("worker-3"),
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
        let mut receipts = vec![];
        let mut parent = genesis::build(&genesis::dev_config()).unwrap().header;
        for (block, events) in &chain.blocks {
            verify_next_block(&parent, block, &chain.params.validators).unwrap();
            receipts.extend(
                executor
                    .apply_block(block, events, &mut states)
                    .unwrap()
                    .receipts,
            );
            parent = block.header.clone();
        }
        results.push((executor, states, receipts));
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
    assert_eq!(receipts[1].events.len(), 2, "one encrypted event per party");
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
    let (executor, states, _) = &mut results[0];
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
    for (block, events) in &chain.blocks {
        let store = open_store();
        let mut executor = match store.executor_snapshot().unwrap() {
            Some(snapshot) => Executor::restore(chain.params.chain_id, keys(), &snapshot).unwrap(),
            None => Executor::new(chain.params.chain_id, keys()),
        };
        let mut writes = store.begin_block().unwrap();
        let effects = executor.apply_block(block, events, &mut writes).unwrap();
        let snapshot = executor.take_snapshot_if_changed();
        store
            .commit_block(
                writes,
                |c| executor.digest_key(c),
                &effects,
                &block.header,
                snapshot.as_deref(),
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
