//! A dev chain held in memory, driven block by block through the runtime.
#![allow(dead_code)]

use parity_scale_codec::Decode;
use phalanx_attestation::{DevProvider, Enrollment, QuoteProvider};
use phalanx_crypto::{sign_transaction, verify_transactions, Keypair, VerifiedTransaction};
use phalanx_primitives::attestation::{Measurement, Role};
use phalanx_primitives::{AccountId, Balance, Call, Hash, Transaction};
use phalanx_runtime::balances::{account, account_of_key, AccountInfo};
use phalanx_runtime::genesis::{dev_measurement, DEV_ATTESTATION_KEY};
use phalanx_runtime::{genesis, BlockContext, BlockExecutor, ChainParams, MemoryState, TxError};

/// Timestamp of block 1 of test chains (2026-01-01T00:00:01Z); each block adds a second.
pub const GENESIS_TIME_MS: u64 = 1_767_225_600_000;

pub struct Chain {
    pub params: ChainParams,
    pub state: MemoryState,
    pub root: Hash,
    pub height: u64,
    /// Events of the last block.
    pub events: Vec<phalanx_primitives::EventRecord>,
}

impl Chain {
    pub fn dev() -> Self {
        Chain::with_config(genesis::dev_config())
    }

    /// A chain from `config`; one block a second from its genesis time.
    pub fn with_config(config: phalanx_primitives::GenesisConfig) -> Self {
        let built = genesis::build(&config).unwrap();
        let mut state = MemoryState::default();
        state.apply(&built.write_set);
        Chain {
            params: ChainParams::from_genesis(&config),
            state,
            root: built.header.state_root,
            height: 0,
            events: Vec::new(),
        }
    }

    /// Signs `call` from `from` with `nonce` and `fee`, verified as the node would.
    pub fn signed(
        &self,
        from: &Keypair,
        nonce: u64,
        fee: Balance,
        call: Call,
    ) -> VerifiedTransaction {
        let tx = Transaction {
            chain_id: self.params.chain_id,
            signer: from.account_id(),
            nonce,
            fee,
            call,
        };
        verify_transactions(vec![sign_transaction(from, tx)])
            .remove(0)
            .unwrap()
    }

    pub fn transfer(
        &self,
        from: &Keypair,
        nonce: u64,
        to: AccountId,
        amount: Balance,
        fee: Balance,
    ) -> VerifiedTransaction {
        let tx = Transaction {
            chain_id: self.params.chain_id,
            signer: from.account_id(),
            nonce,
            fee,
            call: Call::Transfer { to, amount },
        };
        verify_transactions(vec![sign_transaction(from, tx)])
            .remove(0)
            .unwrap()
    }

    /// Applies a block of transactions; returns each one's result.
    pub fn block(&mut self, txs: &[VerifiedTransaction]) -> Vec<Result<(), TxError>> {
        self.height += 1;
        let context = BlockContext {
            height: self.height,
            timestamp_ms: 1_767_225_600_000 + self.height * 1_000,
        };
        let mut executor = BlockExecutor::new(&self.state, &self.params, context);
        let results = txs.iter().map(|tx| executor.apply(tx)).collect();
        let outcome = executor.finish().expect("the block ends");
        self.events = outcome.events.clone();
        self.root = outcome.state_root(&self.root);
        self.state.apply(&outcome.write_set);
        results
    }

    pub fn total(&self) -> Balance {
        self.state
            .0
            .iter()
            .filter(|(k, _)| account_of_key(k).is_some())
            .map(|(_, v)| AccountInfo::decode(&mut &v[..]).unwrap().free)
            .sum()
    }

    pub fn balance(&self, who: &Keypair) -> AccountInfo {
        account(&self.state, &who.account_id()).unwrap()
    }
}

/// A `RegisterWorker` call for `identity` with a simulated dev quote the dev chain accepts,
/// registered by `operator`; its ECDH key is `ecdh`.
pub fn dev_registration(
    chain_id: &Hash,
    identity: &Keypair,
    role: Role,
    operator: &AccountId,
    ecdh: [u8; 32],
) -> Call {
    let Measurement::Dev(measurement) = dev_measurement() else {
        unreachable!("the dev measurement is a dev measurement")
    };
    let provider = DevProvider::new_insecure(Keypair::dev(DEV_ATTESTATION_KEY), measurement);
    let enrollment = Enrollment {
        identity: &identity.account_id(),
        ecdh_public: &ecdh,
        chain_id,
        role,
        operator,
        endpoint: b"",
    };
    let quote = provider.quote(&enrollment.report_data()).unwrap();
    enrollment.register_call(identity, quote)
}
