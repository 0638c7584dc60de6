//! A confidential setup in memory: a [`MemoryChain`] with a gatekeeper, one worker in a
//! cluster, and `private_token` contracts of alice's with their keys delivered. What executor
//! tests and benchmarks build blocks of encrypted commands on, without processes.

use crate::{MemoryChain, TestEnclave};
use parity_scale_codec::Encode;
use phalanx_crypto::envelope::EnvelopeContext;
use phalanx_crypto::hierarchy::MasterKey;
use phalanx_crypto::{Keypair, Sealer};
use phalanx_executor::{Executor, Gatekeeper, KeyRing};
use phalanx_primitives::amount::UNIT;
use phalanx_primitives::attestation::Role;
use phalanx_primitives::{AccountId, Call, Hash, SudoCall};
use phalanx_runtime::{clusters, contracts};
use rand_core::OsRng;

/// The committed `private_token` artifact.
const TOKEN_WASM: &[u8] = include_bytes!("../../../contracts/private_token/private_token.wasm");

/// Gas a token command may burn (it pads every command to 150,000).
pub const TOKEN_COMMAND_GAS: u64 = 200_000;

pub struct TokenCluster {
    pub chain: MemoryChain,
    pub worker: TestEnclave,
    pub alice: Keypair,
    /// The tokens, each holding `supply` units of alice's.
    pub tokens: Vec<AccountId>,
    /// Each token's public key, which commands are sealed to.
    keys: Vec<[u8; 32]>,
    /// One client session for every command, as a client seals its commands.
    sealer: Sealer,
}

impl TokenCluster {
    /// Blocks 1-4: registrations, the cluster and its key, and `count` tokens instantiated.
    pub fn new(count: usize, supply: u128) -> Self {
        let mut chain = MemoryChain::dev();
        let (alice, operator) = (Keypair::dev("alice"), Keypair::dev("charlie"));
        let gatekeeper = TestEnclave::new("gatekeeper-1");
        let worker = TestEnclave::new("worker-1");
        let cluster = Hash([0xc7; 32]);
        let logic = Gatekeeper::new(
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
            (&gatekeeper.identity, logic.declaration()),
        ]);
        let create = SudoCall::CreateCluster {
            cluster,
            workers: vec![worker.identity.account_id()],
        };
        chain.block(vec![(&alice, Call::Sudo(create))]);
        chain.respond(&logic, &gatekeeper.identity);
        let (cluster_public, _) = clusters::cluster(&chain.state, &cluster)
            .unwrap()
            .unwrap()
            .public_key
            .unwrap();
        let code_hash = phalanx_primitives::sha256(TOKEN_WASM);
        let salt = |i: usize| (i as u64).to_le_bytes().to_vec();
        let tokens: Vec<AccountId> = (0..count)
            .map(|i| contracts::contract_id(&code_hash, &cluster, &alice.account_id(), &salt(i)))
            .collect();
        let init = private_token::Init {
            name: "T".into(),
            symbol: "T".into(),
            initial_supply: supply,
            pha_backed: false,
        }
        .encode();
        let sealer = Sealer::new(&mut OsRng);
        let mut calls = vec![(
            &alice,
            Call::UploadCode {
                code: TOKEN_WASM.to_vec(),
            },
        )];
        for (i, token) in tokens.iter().enumerate() {
            let context = EnvelopeContext {
                chain_id: chain.params.chain_id,
                contract: *token,
                sender: alice.account_id(),
            };
            let init = sealer
                .seal(&cluster_public, 0, &context, &init, &mut OsRng)
                .unwrap();
            calls.push((
                &alice,
                Call::Instantiate {
                    code_hash,
                    cluster,
                    salt: salt(i),
                    init,
                    gas_limit: 10_000_000,
                },
            ));
        }
        chain.block(calls);
        chain.respond(&logic, &gatekeeper.identity);
        let keys = tokens
            .iter()
            .map(|token| {
                let contract = contracts::contract(&chain.state, token).unwrap().unwrap();
                contract.public_key.unwrap().0
            })
            .collect();
        TokenCluster {
            chain,
            worker,
            alice,
            tokens,
            keys,
            sealer,
        }
    }

    /// Alice's command to token `i`: transfer `amount` to `to`, sealed to the token.
    pub fn transfer(&self, i: usize, to: AccountId, amount: u128) -> Call {
        let command = private_token::Command::Transfer {
            to: phalanx_sdk::AccountId(*to.as_bytes()),
            amount,
        }
        .encode();
        let context = EnvelopeContext {
            chain_id: self.chain.params.chain_id,
            contract: self.tokens[i],
            sender: self.alice.account_id(),
        };
        let envelope = self
            .sealer
            .seal(&self.keys[i], 0, &context, &command, &mut OsRng)
            .unwrap();
        Call::Command {
            contract: self.tokens[i],
            envelope,
            gas_limit: TOKEN_COMMAND_GAS,
            value: 0,
        }
    }

    /// Adds a block of alice's `calls`.
    pub fn block(&mut self, calls: Vec<Call>) {
        let alice = Keypair::dev("alice");
        self.chain
            .block(calls.into_iter().map(|call| (&alice, call)).collect());
    }

    /// A fresh executor of the cluster's worker.
    pub fn executor(&self) -> Executor {
        Executor::new(
            self.chain.params.chain_id,
            KeyRing::new(self.worker.identity.account_id(), self.worker.ecdh.clone()),
        )
    }
}
