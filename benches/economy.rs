//! What the economy costs the chain per block: `BlockExecutor::finish` of an empty block (due
//! withdrawals, heartbeat challenges, V updates and the reward split) with N computing workers in
//! pools of 64, on an in-memory state. The work is linear in N; this says how steep.
//!
//! Run: `cargo bench --bench economy`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use phalanx_attestation::{DevProvider, Enrollment, QuoteProvider};
use phalanx_crypto::{sign_transaction, verify_transactions, Keypair, VerifiedTransaction};
use phalanx_primitives::amount::UNIT;
use phalanx_primitives::attestation::{Measurement, Role};
use phalanx_primitives::{Call, Transaction};
use phalanx_runtime::genesis::{self, dev_measurement, DEV_ATTESTATION_KEY};
use phalanx_runtime::{BlockContext, BlockExecutor, ChainParams, MemoryState};
use std::collections::HashMap;

const FEE: u128 = UNIT / 10;
const POOL_SIZE: usize = 64;

/// A dev chain in memory whose N workers all compute.
struct Economy {
    params: ChainParams,
    state: MemoryState,
    height: u64,
    nonces: HashMap<phalanx_primitives::AccountId, u64>,
}

impl Economy {
    fn block(&mut self, txs: Vec<(Keypair, Call)>) {
        self.height += 1;
        let context = BlockContext {
            height: self.height,
            timestamp_ms: 1_767_225_600_000 + self.height * 1_000,
        };
        let signed: Vec<VerifiedTransaction> = txs
            .into_iter()
            .map(|(from, call)| {
                let nonce = self.nonces.entry(from.account_id()).or_default();
                let tx = Transaction {
                    chain_id: self.params.chain_id,
                    signer: from.account_id(),
                    nonce: *nonce,
                    fee: FEE,
                    call,
                };
                *nonce += 1;
                sign_transaction(&from, tx)
            })
            .map(|tx| verify_transactions(vec![tx]).remove(0).unwrap())
            .collect();
        let mut executor = BlockExecutor::new(&self.state, &self.params, context);
        for tx in &signed {
            executor.apply(tx).expect("setup transactions apply");
        }
        let outcome = executor.finish().expect("the block ends");
        self.state.apply(&outcome.write_set);
    }

    fn with_computing_workers(n: usize) -> Economy {
        let config = genesis::dev_config();
        let built = genesis::build(&config).unwrap();
        let mut state = MemoryState::default();
        state.apply(&built.write_set);
        let mut economy = Economy {
            params: ChainParams::from_genesis(&config),
            state,
            height: 0,
            nonces: HashMap::new(),
        };
        let charlie = Keypair::dev("charlie");
        let Measurement::Dev(measurement) = dev_measurement() else {
            unreachable!()
        };
        let provider = DevProvider::new_insecure(Keypair::dev(DEV_ATTESTATION_KEY), measurement);
        let workers: Vec<Keypair> = (0..n)
            .map(|i| Keypair::dev(&format!("bench-worker-{i}")))
            .collect();
        let mut setup = Vec::new();
        for worker in &workers {
            let ecdh = [7; 32];
            let enrollment = Enrollment {
                identity: &worker.account_id(),
                ecdh_public: &ecdh,
                chain_id: &economy.params.chain_id,
                role: Role::Worker,
                operator: &charlie.account_id(),
                endpoint: b"",
            };
            let quote = provider.quote(&enrollment.report_data()).unwrap();
            setup.push((charlie.clone(), enrollment.register_call(worker, quote)));
            setup.push((
                charlie.clone(),
                Call::Transfer {
                    to: worker.account_id(),
                    amount: UNIT,
                },
            ));
        }
        economy.block(setup);
        let beats = workers
            .iter()
            .map(|w| {
                (
                    w.clone(),
                    Call::Heartbeat {
                        performance: Some(1_500),
                        digests: vec![],
                    },
                )
            })
            .collect();
        economy.block(beats);
        let pools = n.div_ceil(POOL_SIZE);
        let stake = 1_000 * UNIT;
        let mut staking = Vec::new();
        for pool in 0..pools as u64 {
            staking.push((
                charlie.clone(),
                Call::CreatePool {
                    commission_percent: 10,
                },
            ));
            let amount = stake * POOL_SIZE as u128;
            staking.push((
                Keypair::dev("private-placement"),
                Call::Deposit { pool, amount },
            ));
        }
        for (i, worker) in workers.iter().enumerate() {
            let pool = (i / POOL_SIZE) as u64;
            staking.push((
                charlie.clone(),
                Call::BindWorker {
                    pool,
                    worker: worker.account_id(),
                },
            ));
            staking.push((
                charlie.clone(),
                Call::StartComputing {
                    worker: worker.account_id(),
                    stake,
                },
            ));
        }
        economy.block(staking);
        economy
    }
}

fn block_end(c: &mut Criterion) {
    let mut group = c.benchmark_group("economy_block_end");
    group.sample_size(20);
    for n in [64usize, 1_024] {
        let economy = Economy::with_computing_workers(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("{n}_computing_workers"), |b| {
            b.iter_batched(
                || (),
                |()| {
                    let context = BlockContext {
                        height: economy.height + 1,
                        timestamp_ms: 1_767_225_600_000 + (economy.height + 1) * 1_000,
                    };
                    let executor = BlockExecutor::new(&economy.state, &economy.params, context);
                    executor.finish().unwrap()
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, block_end);
criterion_main!(benches);
