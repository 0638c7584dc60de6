//! A single-validator dev chain in memory, driven block by block through the runtime: real
//! blocks, headers, finality certificates and events, as a worker would receive them.

use phalanx_attestation::{DevProvider, Enrollment, QuoteProvider};
use phalanx_crypto::{sign_finality, sign_transaction, verify_transactions, Keypair};
use phalanx_executor::{ChainView, Gatekeeper};
use phalanx_primitives::amount::UNIT;
use phalanx_primitives::attestation::{Measurement, Role};
use phalanx_primitives::{AccountId, Block, BlockHeader, Call, EventRecord, Transaction};
use phalanx_runtime::genesis::{self, dev_measurement, DEV_ATTESTATION_KEY};
use phalanx_runtime::{clusters, registry, BlockContext, BlockExecutor, ChainParams, MemoryState};
use rand_core::OsRng;
use std::collections::HashMap;
use x25519_dalek::{PublicKey, StaticSecret};

/// A single-validator chain in memory, producing real blocks with their events.
pub struct MemoryChain {
    pub params: ChainParams,
    pub state: MemoryState,
    pub head: BlockHeader,
    nonces: HashMap<AccountId, u64>,
    /// Every block so far with its events, oldest first.
    pub blocks: Vec<(Block, Vec<EventRecord>)>,
}

impl Default for MemoryChain {
    fn default() -> Self {
        Self::dev()
    }
}

impl MemoryChain {
    /// The dev chain at genesis.
    pub fn dev() -> Self {
        let config = genesis::dev_config();
        let built = genesis::build(&config).unwrap();
        let mut state = MemoryState::default();
        state.apply(&built.write_set);
        MemoryChain {
            params: ChainParams::from_genesis(&config),
            state,
            head: built.header,
            nonces: HashMap::new(),
            blocks: vec![],
        }
    }

    /// A worker's chain view after each block so far, built as a worker builds it.
    pub fn views(&self) -> Vec<ChainView> {
        let config = genesis::dev_config();
        let mut view = ChainView::from_genesis(config.hash(), &config).unwrap();
        let mut views = Vec::new();
        for (block, events) in &self.blocks {
            view.apply(block, events);
            views.push(view.clone());
        }
        views
    }

    /// Lets the gatekeeper answer the last block's events, in the next block.
    pub fn respond(&mut self, gatekeeper: &Gatekeeper, identity: &Keypair) {
        let events = self.blocks.last().unwrap().1.clone();
        let state = self.state.clone();
        let ecdh_of = |worker: &AccountId| {
            registry::worker(&state, worker)
                .unwrap()
                .map(|w| w.ecdh_public)
        };
        let epoch = clusters::key_epoch(&state).unwrap();
        let calls = gatekeeper.respond(&events, epoch, ecdh_of, &mut OsRng);
        assert!(!calls.is_empty());
        self.block(calls.into_iter().map(|call| (identity, call)).collect());
    }

    /// Puts the calls in one block; every one must apply.
    pub fn block(&mut self, calls: Vec<(&Keypair, Call)>) {
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
        let outcome = executor.finish().expect("the block ends");
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
        let certificate = sign_finality(&validator, &header);
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

/// An enclave's keys outside any process: its identity and ECDH key, and its registration.
pub struct TestEnclave {
    pub identity: Keypair,
    pub ecdh: StaticSecret,
}

impl TestEnclave {
    /// A dev identity named `name` and a fresh ECDH key.
    pub fn new(name: &str) -> Self {
        TestEnclave {
            identity: Keypair::dev(name),
            ecdh: StaticSecret::random_from_rng(OsRng),
        }
    }
    pub fn ecdh_public(&self) -> [u8; 32] {
        PublicKey::from(&self.ecdh).to_bytes()
    }
    /// Its registration in `role` with a dev quote, operated by charlie.
    pub fn registration(&self, chain: &MemoryChain, role: Role) -> Call {
        let Measurement::Dev(measurement) = dev_measurement() else {
            unreachable!()
        };
        let provider = DevProvider::new_insecure(Keypair::dev(DEV_ATTESTATION_KEY), measurement);
        let enrollment = Enrollment {
            identity: &self.identity.account_id(),
            ecdh_public: &self.ecdh_public(),
            chain_id: &chain.params.chain_id,
            role,
            operator: &Keypair::dev("charlie").account_id(),
            endpoint: b"",
        };
        let quote = provider.quote(&enrollment.report_data()).unwrap();
        enrollment.register_call(&self.identity, quote)
    }
}
