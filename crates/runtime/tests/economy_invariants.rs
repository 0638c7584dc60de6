//! Invariants of the PHA economy, over random sequences of transactions (issue 7 item 7):
//! the total supply stays exactly 1,000,000,000 PHA (the mining pool counted), no balance
//! wraps, a pool's account holds exactly its stake, and the shares of a pool (held plus waiting
//! in withdrawals) add up to its total. And a simulated two years of emission follows the
//! halving schedule.

mod common;

use common::{dev_registration, Chain};
use phalanx_crypto::Keypair;
use phalanx_primitives::amount::{TOTAL_SUPPLY, UNIT};
use phalanx_primitives::attestation::Role;
use phalanx_primitives::economy::{EconomyParams, Parameter};
use phalanx_primitives::{AccountId, Call, Event, GenesisConfig, SudoCall};
use phalanx_runtime::balances::account_of_key;
use phalanx_runtime::{balances, genesis, governance, staking, tokenomics, TxError};
use proptest::prelude::*;
use std::collections::HashMap;

const FEE: u128 = UNIT / 10;
const PEOPLE: [&str; 4] = ["alice", "bob", "charlie", "dave"];
const WORKERS: [&str; 3] = ["miner-1", "miner-2", "miner-3"];

#[derive(Clone, Debug)]
enum Op {
    Transfer {
        from: usize,
        to: usize,
        amount: u128,
    },
    CreatePool {
        owner: usize,
        commission: u8,
    },
    Deposit {
        who: usize,
        pool: u64,
        amount: u128,
    },
    Withdraw {
        who: usize,
        pool: u64,
        percent: u8,
    },
    Bind {
        pool: u64,
        worker: usize,
    },
    Start {
        worker: usize,
        stake: u128,
    },
    Stop {
        worker: usize,
    },
    Unbind {
        worker: usize,
    },
    Heartbeat {
        worker: usize,
        performance: Option<u32>,
    },
    Propose {
        who: usize,
        call: SudoCall,
    },
    Vote {
        who: usize,
        proposal: u32,
        aye: bool,
        amount: u128,
    },
    Blocks(u8),
}

fn pha(max: u128) -> impl Strategy<Value = u128> {
    (0..=max * 1_000).prop_map(|milli| milli * (UNIT / 1_000))
}

fn sudo_call() -> impl Strategy<Value = SudoCall> {
    prop_oneof![
        (1u128..3_000).prop_map(|v| SudoCall::SetParameter {
            parameter: Parameter::MinStake,
            value: v * UNIT
        }),
        (0u128..=100).prop_map(|v| SudoCall::SetParameter {
            parameter: Parameter::TreasuryRewardPercent,
            value: v
        }),
        (1u128..1_000_000).prop_map(|v| SudoCall::SetParameter {
            parameter: Parameter::RewardBudgetPerBlock,
            value: v * UNIT
        }),
        (0u128..200_000).prop_map(|v| SudoCall::SpendTreasury {
            to: Keypair::dev("dave").account_id(),
            amount: v * UNIT
        }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let person = 0..PEOPLE.len();
    let worker = 0..WORKERS.len();
    prop_oneof![
        (person.clone(), person.clone(), pha(500_000))
            .prop_map(|(from, to, amount)| Op::Transfer { from, to, amount }),
        (prop_oneof![Just(2usize), person.clone()], 0u8..=100)
            .prop_map(|(owner, commission)| Op::CreatePool { owner, commission }),
        (person.clone(), 0u64..3, pha(5_000)).prop_map(|(who, pool, amount)| Op::Deposit {
            who,
            pool,
            amount
        }),
        (0usize..2, 0u64..3, 1u8..=100).prop_map(|(who, pool, percent)| Op::Withdraw {
            who,
            pool,
            percent
        }),
        (0u64..3, worker.clone()).prop_map(|(pool, worker)| Op::Bind { pool, worker }),
        (worker.clone(), pha(3_000)).prop_map(|(worker, stake)| Op::Start { worker, stake }),
        worker.clone().prop_map(|worker| Op::Stop { worker }),
        worker.clone().prop_map(|worker| Op::Unbind { worker }),
        (worker, proptest::option::of(1u32..5_000)).prop_map(|(worker, performance)| {
            Op::Heartbeat {
                worker,
                performance,
            }
        }),
        (person.clone(), sudo_call()).prop_map(|(who, call)| Op::Propose { who, call }),
        (person, 0u32..3, any::<bool>(), pha(200_000)).prop_map(|(who, proposal, aye, amount)| {
            Op::Vote {
                who,
                proposal,
                aye,
                amount,
            }
        }),
        (1u8..6).prop_map(Op::Blocks),
    ]
}

struct Sim {
    chain: Chain,
    nonces: HashMap<AccountId, u64>,
}

impl Sim {
    fn new(economy: EconomyParams) -> Sim {
        let mut config = genesis::dev_config();
        config.economy = economy;
        let mut sim = Sim {
            chain: Chain::with_config(config),
            nonces: HashMap::new(),
        };
        let charlie = Keypair::dev("charlie");
        for (i, name) in WORKERS.iter().enumerate() {
            let worker = Keypair::dev(name);
            let register = dev_registration(
                &sim.chain.params.chain_id,
                &worker,
                Role::Worker,
                &charlie.account_id(),
                [i as u8 + 10; 32],
            );
            sim.apply(&charlie, register).unwrap();
            let fund = Call::Transfer {
                to: worker.account_id(),
                amount: 100 * UNIT,
            };
            sim.apply(&charlie, fund).unwrap();
            let beat = Call::Heartbeat {
                performance: Some(500 + 100 * i as u32),
                digests: vec![],
            };
            sim.apply(&worker, beat).unwrap();
        }
        sim
    }

    fn apply(&mut self, from: &Keypair, call: Call) -> Result<(), TxError> {
        let nonce = *self.nonces.entry(from.account_id()).or_default();
        let tx = self.chain.signed(from, nonce, FEE, call);
        let result = self.chain.block(&[tx]).remove(0);
        if result.is_ok() {
            *self.nonces.get_mut(&from.account_id()).unwrap() += 1;
        }
        result
    }

    fn run(&mut self, op: Op) -> Result<(), TxError> {
        let person = |i: usize| Keypair::dev(PEOPLE[i]);
        let worker = |i: usize| Keypair::dev(WORKERS[i]).account_id();
        let charlie = person(2);
        match op {
            Op::Transfer { from, to, amount } => self.apply(
                &person(from),
                Call::Transfer {
                    to: person(to).account_id(),
                    amount,
                },
            ),
            Op::CreatePool { owner, commission } => self.apply(
                &person(owner),
                Call::CreatePool {
                    commission_percent: commission,
                },
            ),
            Op::Deposit { who, pool, amount } => {
                self.apply(&person(who), Call::Deposit { pool, amount })
            }
            Op::Withdraw { who, pool, percent } => {
                let held =
                    staking::shares(&self.chain.state, pool, &person(who).account_id()).unwrap();
                let shares = held * u128::from(percent) / 100;
                self.apply(&person(who), Call::Withdraw { pool, shares })
            }
            Op::Bind { pool, worker: w } => self.apply(
                &charlie,
                Call::BindWorker {
                    pool,
                    worker: worker(w),
                },
            ),
            Op::Start { worker: w, stake } => self.apply(
                &charlie,
                Call::StartComputing {
                    worker: worker(w),
                    stake,
                },
            ),
            Op::Stop { worker: w } => {
                self.apply(&charlie, Call::StopComputing { worker: worker(w) })
            }
            Op::Unbind { worker: w } => {
                self.apply(&charlie, Call::UnbindWorker { worker: worker(w) })
            }
            Op::Heartbeat {
                worker: w,
                performance,
            } => self.apply(
                &Keypair::dev(WORKERS[w]),
                Call::Heartbeat {
                    performance,
                    digests: vec![],
                },
            ),
            Op::Propose { who, call } => self.apply(&person(who), Call::Propose { call }),
            Op::Vote {
                who,
                proposal,
                aye,
                amount,
            } => self.apply(
                &person(who),
                Call::Vote {
                    proposal,
                    aye,
                    amount,
                },
            ),
            Op::Blocks(n) => {
                for _ in 0..n {
                    self.chain.block(&[]);
                }
                Ok(())
            }
        }
    }

    fn check_invariants(&self) {
        let state = &self.chain.state;
        assert_eq!(self.chain.total(), TOTAL_SUPPLY, "the total supply changed");
        for (key, _) in state.0.iter().filter(|(k, _)| account_of_key(k).is_some()) {
            let who = account_of_key(key).unwrap();
            assert!(
                balances::account(state, &who).unwrap().free <= TOTAL_SUPPLY,
                "a balance wrapped"
            );
        }
        let waiting = staking::withdrawals(state).unwrap();
        for id in 0..staking::pool_count(state).unwrap() {
            let pool = staking::pool(state, id).unwrap().unwrap();
            let held: u128 = shares_of_pool(&self.chain, id);
            let pending: u128 = waiting
                .iter()
                .filter(|w| w.pool == id)
                .map(|w| w.shares)
                .sum();
            assert_eq!(held + pending, pool.total_shares, "pool {id}'s shares");
            let account = balances::account(state, &staking::pool_account(id))
                .unwrap()
                .free;
            assert_eq!(
                account, pool.total_stake,
                "pool {id}'s account against its stake"
            );
            let backing: u128 = pool
                .workers
                .iter()
                .filter_map(|w| staking::mining(state, w).unwrap())
                .filter(|m| m.state != phalanx_primitives::economy::ComputingState::Idle)
                .map(|m| m.stake)
                .sum();
            assert!(
                backing <= pool.total_stake,
                "pool {id} backs more than it holds"
            );
        }
        let mut locked = 0;
        for id in 0..governance::proposal_count(state).unwrap() {
            let p = governance::proposal(state, id).unwrap().unwrap();
            if p.status == governance::ProposalStatus::Voting {
                locked += p.deposit + p.ayes + p.nays;
            }
        }
        let held = balances::account(state, &governance::governance_account())
            .unwrap()
            .free;
        assert_eq!(
            held, locked,
            "the governance account holds exactly the open locks"
        );
    }
}

/// Shares held in pool `id`, summed over its holders' entries in state.
fn shares_of_pool(chain: &Chain, id: u64) -> u128 {
    let accounts: Vec<AccountId> = PEOPLE
        .iter()
        .map(|n| Keypair::dev(n).account_id())
        .collect();
    accounts
        .iter()
        .map(|a| staking::shares(&chain.state, id, a).unwrap())
        .sum()
}

/// Challenges often, with short windows, so random runs see workers go unresponsive and back.
fn busy_economy() -> EconomyParams {
    EconomyParams {
        challenge_one_in_blocks: 4,
        challenge_window_blocks: 2,
        voting_period_blocks: 20,
        enactment_delay_blocks: 1,
        withdraw_cooldown_ms: 3_000,
        ..EconomyParams::dev()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn supply_balances_and_shares_hold_over_random_transactions(ops in proptest::collection::vec(op(), 1..60)) {
        let mut sim = Sim::new(busy_economy());
        // A pool with stake and a bound worker to start from, so that more random calls land.
        let (alice, charlie) = (Keypair::dev("alice"), Keypair::dev("charlie"));
        sim.apply(&charlie, Call::CreatePool { commission_percent: 10 }).unwrap();
        sim.apply(&alice, Call::Deposit { pool: 0, amount: 3_000 * UNIT }).unwrap();
        sim.apply(&charlie, Call::BindWorker { pool: 0, worker: Keypair::dev(WORKERS[0]).account_id() }).unwrap();
        sim.check_invariants();
        for op in ops {
            // Refusals are part of random traffic (the executor drops their changes); only a
            // storage failure is a bug.
            if let Err(TxError::Storage(e)) = sim.run(op) {
                panic!("state failed: {e}");
            }
            sim.check_invariants();
        }
    }
}

/// Two years of one-hour blocks (8,760 a year), three workers in two pools answering every
/// challenge: the mining pool releases each block's budget (less rounding dust of at most a unit
/// per worker), the budget halves after the first year, the treasury gets its percent exactly.
#[test]
fn two_years_of_emission_follow_the_halving_schedule() {
    const YEAR: u64 = 8_760;
    let economy = EconomyParams {
        reward_budget_per_block: 66 * 600 * UNIT,
        halving_interval_blocks: YEAR,
        challenge_one_in_blocks: 50,
        ..EconomyParams::dev()
    };
    let mut sim = Sim::new(economy.clone());
    let (alice, charlie) = (Keypair::dev("alice"), Keypair::dev("charlie"));
    for (pool, workers) in [(0u64, &[0usize, 1][..]), (1, &[2][..])] {
        sim.apply(
            &charlie,
            Call::CreatePool {
                commission_percent: 5,
            },
        )
        .unwrap();
        sim.apply(
            &alice,
            Call::Deposit {
                pool,
                amount: 5_000 * UNIT,
            },
        )
        .unwrap();
        for w in workers {
            sim.apply(
                &charlie,
                Call::BindWorker {
                    pool,
                    worker: Keypair::dev(WORKERS[*w]).account_id(),
                },
            )
            .unwrap();
            sim.apply(
                &charlie,
                Call::StartComputing {
                    worker: Keypair::dev(WORKERS[*w]).account_id(),
                    stake: 2_500 * UNIT,
                },
            )
            .unwrap();
        }
    }
    let mining_pool = GenesisConfig::mining_pool_account();
    let free = |sim: &Sim, who: &AccountId| balances::account(&sim.chain.state, who).unwrap().free;
    let mut emitted_by_year = [0u128; 2];
    let mut expected_by_year = [0u128; 2];
    let mut challenged = Vec::new();
    let first = sim.chain.height + 1;
    for height in first..first + 2 * YEAR {
        let before = free(&sim, &mining_pool);
        // Answer last block's challenges in this one, as a worker process does.
        let answers: Vec<_> = challenged
            .drain(..)
            .map(|worker: AccountId| {
                let keypair = WORKERS
                    .iter()
                    .map(|n| Keypair::dev(n))
                    .find(|k| k.account_id() == worker)
                    .unwrap();
                let nonce = sim.nonces.entry(worker).or_default();
                let tx = sim.chain.signed(
                    &keypair,
                    *nonce,
                    FEE,
                    Call::Heartbeat {
                        performance: None,
                        digests: vec![],
                    },
                );
                *nonce += 1;
                tx
            })
            .collect();
        for result in sim.chain.block(&answers) {
            result.unwrap();
        }
        assert_eq!(sim.chain.height, height);
        let year = ((height - first) / YEAR) as usize;
        emitted_by_year[year] += before - free(&sim, &mining_pool);
        expected_by_year[year] += tokenomics::block_budget(&economy, height);
        for record in &sim.chain.events {
            match &record.event {
                Event::WorkerChallenged { worker, .. } => challenged.push(*worker),
                Event::WorkerUnresponsive { .. } => {
                    panic!("a worker that answers stays responsive")
                }
                Event::RewardsDistributed {
                    to_pools,
                    to_treasury,
                    workers,
                } => {
                    assert_eq!(*workers, 3);
                    let budget = tokenomics::block_budget(&economy, height);
                    assert_eq!(*to_treasury, budget * 20 / 100);
                    assert!(
                        budget - to_treasury - to_pools < 3,
                        "dust is under a unit per worker"
                    );
                }
                _ => {}
            }
        }
    }
    for year in 0..2 {
        let dust = expected_by_year[year] - emitted_by_year[year];
        assert!(
            dust < 3 * YEAR as u128,
            "year {year}: {dust} units not released"
        );
    }
    // First year: 8,760 blocks of 39,600 PHA, from block `first` on (the halving falls on
    // height 8,760, inside it); the second releases about half as much.
    assert!(emitted_by_year[0] > 340_000_000 * UNIT);
    let ratio = emitted_by_year[1] as f64 / emitted_by_year[0] as f64;
    assert!((0.49..0.51).contains(&ratio), "year 2 / year 1 = {ratio}");
    sim.check_invariants();
    assert_eq!(sim.chain.total(), TOTAL_SUPPLY);
}

/// A budget larger than what is left drains the mining pool to exactly zero, never below.
#[test]
fn emission_stops_when_the_mining_pool_is_empty() {
    let economy = EconomyParams {
        reward_budget_per_block: 300_000_000 * UNIT,
        ..EconomyParams::dev()
    };
    let mut sim = Sim::new(economy);
    let (alice, charlie) = (Keypair::dev("alice"), Keypair::dev("charlie"));
    sim.apply(
        &charlie,
        Call::CreatePool {
            commission_percent: 0,
        },
    )
    .unwrap();
    sim.apply(
        &alice,
        Call::Deposit {
            pool: 0,
            amount: 5_000 * UNIT,
        },
    )
    .unwrap();
    let worker = Keypair::dev(WORKERS[0]).account_id();
    sim.apply(&charlie, Call::BindWorker { pool: 0, worker })
        .unwrap();
    sim.apply(
        &charlie,
        Call::StartComputing {
            worker,
            stake: 5_000 * UNIT,
        },
    )
    .unwrap();
    sim.run(Op::Blocks(4)).unwrap();
    let left = balances::account(&sim.chain.state, &GenesisConfig::mining_pool_account())
        .unwrap()
        .free;
    assert!(left < 3, "the mining pool keeps only rounding dust: {left}");
    sim.check_invariants();
}
