//! The PHA economy on a dev chain: stake pools, computation rewards, heartbeat challenges and
//! governance, driven block by block through the runtime.

mod common;

use common::{dev_registration, Chain};
use phalanx_crypto::Keypair;
use phalanx_primitives::amount::{TOTAL_SUPPLY, UNIT};
use phalanx_primitives::attestation::Role;
use phalanx_primitives::economy::{ComputingState, Parameter};
use phalanx_primitives::{AccountId, Call, Event, GenesisConfig, Phase, SudoCall};
use phalanx_runtime::Refusal;
use phalanx_runtime::{balances, governance, registry, staking, tokenomics, TxError};
use std::collections::HashMap;

const FEE: u128 = UNIT / 10;

struct Net {
    chain: Chain,
    nonces: HashMap<AccountId, u64>,
    /// Every end-of-block event so far.
    log: Vec<Event>,
}

fn dev(name: &str) -> Keypair {
    Keypair::dev(name)
}

impl Net {
    fn new() -> Net {
        Net {
            chain: Chain::dev(),
            nonces: HashMap::new(),
            log: Vec::new(),
        }
    }

    /// One block holding one transaction.
    fn send(&mut self, from: &Keypair, call: Call) -> Result<(), TxError> {
        let nonce = *self.nonces.entry(from.account_id()).or_default();
        let tx = self.chain.signed(from, nonce, FEE, call);
        let result = self.chain.block(&[tx]).remove(0);
        self.log.extend(self.end_of_block_events());
        if result.is_ok() {
            *self.nonces.get_mut(&from.account_id()).unwrap() += 1;
        }
        result
    }

    fn propose(&mut self, from: &Keypair, call: SudoCall) -> Result<(), TxError> {
        self.send(from, Call::Propose { call })
    }

    fn vote(
        &mut self,
        from: &Keypair,
        proposal: u32,
        aye: bool,
        amount: u128,
    ) -> Result<(), TxError> {
        self.send(
            from,
            Call::Vote {
                proposal,
                aye,
                amount,
            },
        )
    }

    fn sudo(&mut self, call: SudoCall) {
        self.send(&dev("alice"), Call::Sudo(call)).unwrap();
    }

    fn empty_blocks(&mut self, n: u64) {
        for _ in 0..n {
            self.chain.block(&[]);
            self.log.extend(self.end_of_block_events());
        }
    }

    fn free(&self, who: &AccountId) -> u128 {
        balances::account(&self.chain.state, who).unwrap().free
    }

    fn end_of_block_events(&self) -> Vec<Event> {
        self.chain
            .events
            .iter()
            .filter(|r| r.phase == Phase::Finalization)
            .map(|r| r.event.clone())
            .collect()
    }

    /// Charlie operates `worker`, registered, funded and reporting benchmark `performance`.
    fn worker(&mut self, name: &str, performance: u32) -> Keypair {
        let worker = dev(name);
        let charlie = dev("charlie");
        let call = dev_registration(
            &self.chain.params.chain_id,
            &worker,
            Role::Worker,
            &charlie.account_id(),
            [9; 32],
        );
        self.send(&charlie, call).unwrap();
        let fund = Call::Transfer {
            to: worker.account_id(),
            amount: 10 * UNIT,
        };
        self.send(&charlie, fund).unwrap();
        self.heartbeat(&worker, Some(performance));
        worker
    }

    /// Charlie's pool 0 (no commission) with `worker` bound and alice's `deposit` in it.
    fn pool_of(&mut self, worker: &Keypair, deposit: u128) {
        let charlie = dev("charlie");
        let create = Call::CreatePool {
            commission_percent: 0,
        };
        self.send(&charlie, create).unwrap();
        let bind = Call::BindWorker {
            pool: 0,
            worker: worker.account_id(),
        };
        self.send(&charlie, bind).unwrap();
        let deposit = Call::Deposit {
            pool: 0,
            amount: deposit,
        };
        self.send(&dev("alice"), deposit).unwrap();
    }

    fn heartbeat(&mut self, worker: &Keypair, performance: Option<u32>) {
        let beat = Call::Heartbeat {
            performance,
            digests: vec![],
        };
        self.send(worker, beat).unwrap();
    }

    fn mining(&self, worker: &Keypair) -> staking::MiningInfo {
        staking::mining(&self.chain.state, &worker.account_id())
            .unwrap()
            .unwrap()
    }
}

#[test]
fn a_pool_computes_and_earns_for_its_owner_delegators_and_the_treasury() {
    let mut net = Net::new();
    let (alice, bob, charlie) = (dev("alice"), dev("bob"), dev("charlie"));
    let worker = net.worker("miner-1", 500);

    net.send(
        &charlie,
        Call::CreatePool {
            commission_percent: 10,
        },
    )
    .unwrap();
    let pool = 0;
    // Only the operator's own pool may bind it.
    net.send(
        &bob,
        Call::CreatePool {
            commission_percent: 0,
        },
    )
    .unwrap();
    assert!(matches!(
        net.send(
            &bob,
            Call::BindWorker {
                pool: 1,
                worker: worker.account_id()
            }
        ),
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized)
    ));
    net.send(
        &charlie,
        Call::BindWorker {
            pool,
            worker: worker.account_id(),
        },
    )
    .unwrap();

    // Below the minimum stake (1,000 PHA on dev chains) it may not compute.
    net.send(
        &alice,
        Call::Deposit {
            pool,
            amount: 600 * UNIT,
        },
    )
    .unwrap();
    let start = Call::StartComputing {
        worker: worker.account_id(),
        stake: 1_200 * UNIT,
    };
    assert!(matches!(
        net.send(&charlie, start.clone()),
        Err(ref e) if e.refusal() == Some(Refusal::InvalidCall) && e.to_string().contains("not backing a worker")
    ));
    net.send(
        &bob,
        Call::Deposit {
            pool,
            amount: 600 * UNIT,
        },
    )
    .unwrap();
    let too_little = Call::StartComputing {
        worker: worker.account_id(),
        stake: 999 * UNIT,
    };
    assert!(matches!(
        net.send(&charlie, too_little),
        Err(ref e) if e.refusal() == Some(Refusal::InvalidCall) && e.to_string().contains("minimum stake")
    ));
    assert!(matches!(
        net.send(&bob, start.clone()),
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized)
    ));

    let treasury = GenesisConfig::treasury_account();
    let mining_pool = GenesisConfig::mining_pool_account();
    net.send(&charlie, start).unwrap();
    assert_eq!(net.mining(&worker).state, ComputingState::Computing);
    // V = 1.5 × (1,200 stake + 0.3 × 500) = 2,025 PHA (and it grew once since, at the block's end).
    assert!(net.chain.events.iter().any(|r| r.event
        == Event::ComputingStarted {
            pool,
            worker: worker.account_id(),
            v: 2_025 * UNIT,
            performance: 500
        }));
    let shares_before = staking::pool(&net.chain.state, pool).unwrap().unwrap();
    assert_eq!(shares_before.total_shares, 1_200 * UNIT);

    let stake_before = staking::pool(&net.chain.state, pool)
        .unwrap()
        .unwrap()
        .total_stake;
    let (charlie_before, treasury_before, mined_before) = (
        net.free(&charlie.account_id()),
        net.free(&treasury),
        net.free(&mining_pool),
    );
    net.empty_blocks(1);
    let params = tokenomics::params(&net.chain.state).unwrap();
    let budget = tokenomics::block_budget(&params, net.chain.height);
    assert_eq!(budget, 66 * UNIT);
    let events = net.end_of_block_events();
    assert!(events.contains(&Event::RewardsDistributed {
        to_pools: 52_800_000_000_000,
        to_treasury: 13_200_000_000_000,
        workers: 1,
    }));
    assert_eq!(mined_before - net.free(&mining_pool), 66 * UNIT);
    assert_eq!(net.free(&treasury) - treasury_before, 13_200_000_000_000);
    // 10% commission to the owner, the rest to the stake: a share is now worth more.
    assert_eq!(
        net.free(&charlie.account_id()) - charlie_before,
        5_280_000_000_000
    );
    let after = staking::pool(&net.chain.state, pool).unwrap().unwrap();
    assert_eq!(after.total_stake, stake_before + 47_520_000_000_000);
    assert_eq!(after.total_shares, 1_200 * UNIT);
    assert_eq!(net.free(&staking::pool_account(pool)), after.total_stake);
    // V grew while responsive.
    assert!(net.mining(&worker).v > 2_025 * UNIT);
    assert_eq!(net.chain.total(), TOTAL_SUPPLY);
}

#[test]
fn withdrawals_wait_for_the_cooldown_and_stop_workers_left_without_stake() {
    let mut net = Net::new();
    let (alice, charlie) = (dev("alice"), dev("charlie"));
    let worker = net.worker("miner-1", 500);
    net.pool_of(&worker, 1_000 * UNIT);
    net.send(
        &charlie,
        Call::StartComputing {
            worker: worker.account_id(),
            stake: 1_000 * UNIT,
        },
    )
    .unwrap();

    // More shares than alice holds are refused; half of hers wait.
    assert!(matches!(
        net.send(
            &alice,
            Call::Withdraw {
                pool: 0,
                shares: 1_001 * UNIT
            }
        ),
        Err(ref e) if e.refusal() == Some(Refusal::InvalidCall)
    ));
    let before = net.free(&alice.account_id());
    net.send(
        &alice,
        Call::Withdraw {
            pool: 0,
            shares: 500 * UNIT,
        },
    )
    .unwrap();
    assert_eq!(
        staking::shares(&net.chain.state, 0, &alice.account_id()).unwrap(),
        500 * UNIT
    );
    // Dev cool-down: 5 s, one block a second. Nothing is paid before it ends.
    net.empty_blocks(3);
    assert_eq!(net.free(&alice.account_id()), before - FEE);
    net.empty_blocks(2);
    let withdrawn = net
        .end_of_block_events()
        .into_iter()
        .find_map(|e| match e {
            Event::Withdrawn { amount, .. } => Some(amount),
            _ => None,
        })
        .expect("paid once the cool-down ended");
    // Paid at the share price of the block: more than deposited, since rewards accrued.
    assert!(withdrawn > 500 * UNIT);
    assert_eq!(net.free(&alice.account_id()), before - FEE + withdrawn);
    // The pool now holds less than its worker's stake: it stopped.
    assert!(net
        .end_of_block_events()
        .iter()
        .any(|e| matches!(e, Event::ComputingStopped { .. })));
    assert_eq!(net.mining(&worker).state, ComputingState::Idle);
    let pool = staking::pool(&net.chain.state, 0).unwrap().unwrap();
    assert_eq!(pool.total_shares, 500 * UNIT);
    assert_eq!(net.free(&staking::pool_account(0)), pool.total_stake);
    assert_eq!(net.chain.total(), TOTAL_SUPPLY);
}

#[test]
fn a_worker_that_misses_its_challenge_earns_nothing_and_loses_v_until_it_answers() {
    let mut net = Net::new();
    let charlie = dev("charlie");
    let worker = net.worker("miner-1", 500);
    net.pool_of(&worker, 2_000 * UNIT);
    // Challenge every computing worker at every chance, with a two-block window.
    net.sudo(SudoCall::SetParameter {
        parameter: Parameter::ChallengeOneInBlocks,
        value: 1,
    });
    net.sudo(SudoCall::SetParameter {
        parameter: Parameter::ChallengeWindowBlocks,
        value: 2,
    });
    net.send(
        &charlie,
        Call::StartComputing {
            worker: worker.account_id(),
            stake: 2_000 * UNIT,
        },
    )
    .unwrap();
    let challenge = net
        .mining(&worker)
        .challenge_deadline
        .expect("challenged at once");
    assert!(net
        .end_of_block_events()
        .contains(&Event::WorkerChallenged {
            worker: worker.account_id(),
            deadline: challenge,
        }));

    // Silence past the deadline: unresponsive.
    while net.chain.height <= challenge {
        net.empty_blocks(1);
    }
    assert!(net
        .end_of_block_events()
        .contains(&Event::WorkerUnresponsive {
            worker: worker.account_id()
        }));
    assert_eq!(net.mining(&worker).state, ComputingState::Unresponsive);
    let v_cut_from = net.mining(&worker).v;
    let stake = staking::pool(&net.chain.state, 0)
        .unwrap()
        .unwrap()
        .total_stake;
    net.empty_blocks(3);
    assert!(net.mining(&worker).v < v_cut_from, "V is cut each block");
    assert_eq!(
        staking::pool(&net.chain.state, 0)
            .unwrap()
            .unwrap()
            .total_stake,
        stake,
        "no rewards"
    );
    assert!(!net
        .end_of_block_events()
        .iter()
        .any(|e| matches!(e, Event::RewardsDistributed { .. })));

    // A heartbeat brings it back; it earns again.
    net.heartbeat(&worker, None);
    assert!(net.chain.events.iter().any(|r| r.event
        == Event::WorkerResponsive {
            worker: worker.account_id()
        }));
    assert!(net
        .end_of_block_events()
        .iter()
        .any(|e| matches!(e, Event::RewardsDistributed { workers: 1, .. })));
    assert_eq!(net.chain.total(), TOTAL_SUPPLY);
}

#[test]
fn only_master_key_holders_mix_randomness_once_a_block() {
    let mut net = Net::new();
    let gatekeeper = dev("gatekeeper-1");
    let charlie = dev("charlie");
    net.send(
        &dev("alice"),
        Call::Transfer {
            to: gatekeeper.account_id(),
            amount: 10 * UNIT,
        },
    )
    .unwrap();
    let value = phalanx_primitives::Hash([5; 32]);
    assert!(matches!(
        net.send(&gatekeeper, Call::Randomness { value }),
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized)
    ));
    let register = dev_registration(
        &net.chain.params.chain_id,
        &gatekeeper,
        Role::Gatekeeper,
        &charlie.account_id(),
        [3; 32],
    );
    net.send(&charlie, register).unwrap();
    // The first gatekeeper of a chain is elected by registering.
    assert_eq!(
        registry::gatekeepers(&net.chain.state).unwrap(),
        vec![gatekeeper.account_id()]
    );
    net.send(
        &gatekeeper,
        Call::PublishMasterKey {
            epoch: 0,
            public_key: [8; 32],
        },
    )
    .unwrap();
    let before = phalanx_runtime::mining::seed(&net.chain.state).unwrap();
    net.send(&gatekeeper, Call::Randomness { value }).unwrap();
    assert_ne!(
        phalanx_runtime::mining::seed(&net.chain.state).unwrap(),
        before
    );
    // Twice in one block: the second is refused.
    let n = net.nonces[&gatekeeper.account_id()];
    let txs = [
        net.chain
            .signed(&gatekeeper, n, FEE, Call::Randomness { value }),
        net.chain
            .signed(&gatekeeper, n + 1, FEE, Call::Randomness { value }),
    ];
    let results = net.chain.block(&txs);
    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(ref e) if e.refusal() == Some(Refusal::InvalidCall)));
}

/// Votes `aye` from alice and bob (1M PHA each on dev chains) with `amount` each.
fn pass(net: &mut Net, proposal: u32, amount: u128) {
    for voter in ["alice", "bob"] {
        net.vote(&dev(voter), proposal, true, amount).unwrap();
    }
}

#[test]
fn governance_enacts_what_passes_after_the_delay_and_returns_every_lock() {
    let mut net = Net::new();
    let (alice, bob, charlie) = (dev("alice"), dev("bob"), dev("charlie"));
    let set = SudoCall::SetParameter {
        parameter: Parameter::MinStake,
        value: 2_000 * UNIT,
    };
    // Only sudo may call directly.
    assert!(matches!(
        net.send(&bob, Call::Sudo(set.clone())),
        Err(TxError::NotSudo)
    ));

    let bob_before = net.free(&bob.account_id());
    net.propose(&bob, set).unwrap();
    let proposal = governance::proposal(&net.chain.state, 0).unwrap().unwrap();
    assert_eq!(proposal.deposit, 100 * UNIT);
    // A second vote by the same account is refused.
    pass(&mut net, 0, 60_000 * UNIT);
    assert!(matches!(
        net.vote(&alice, 0, false, UNIT),
        Err(ref e) if e.refusal() == Some(Refusal::InvalidCall)
    ));
    net.vote(&charlie, 0, false, 10_000 * UNIT).unwrap();
    let locked = net.free(&governance::governance_account());
    assert_eq!(locked, 100 * UNIT + 130_000 * UNIT);

    while net.chain.height < proposal.voting_ends {
        net.empty_blocks(1);
    }
    let closed = net.end_of_block_events();
    let enact_at = match &closed[..] {
        [Event::ProposalPassed {
            proposal: 0,
            ayes,
            nays,
            enact_at,
        }] => {
            assert_eq!((*ayes, *nays), (120_000 * UNIT, 10_000 * UNIT));
            *enact_at
        }
        other => panic!("expected the proposal to pass: {other:?}"),
    };
    // Every lock and the deposit are back.
    assert_eq!(net.free(&governance::governance_account()), 0);
    assert_eq!(net.free(&bob.account_id()), bob_before - 2 * FEE);
    assert_eq!(
        tokenomics::params(&net.chain.state).unwrap().min_stake,
        1_000 * UNIT
    );
    while net.chain.height < enact_at {
        net.empty_blocks(1);
    }
    assert_eq!(
        net.end_of_block_events(),
        vec![
            Event::ProposalEnacted { proposal: 0 },
            Event::ParameterChanged {
                parameter: Parameter::MinStake,
                value: 2_000 * UNIT
            }
        ]
    );
    assert_eq!(
        tokenomics::params(&net.chain.state).unwrap().min_stake,
        2_000 * UNIT
    );
    assert_eq!(net.chain.total(), TOTAL_SUPPLY);
}

#[test]
fn governance_rejects_without_quorum_or_approval_and_a_failing_call_changes_nothing() {
    let mut net = Net::new();
    let (alice, bob) = (dev("alice"), dev("bob"));
    let dave = dev("dave").account_id();
    let spend = |amount| SudoCall::SpendTreasury { to: dave, amount };

    // 0: below the quorum (100,000 PHA on dev chains).
    net.propose(&bob, spend(5 * UNIT)).unwrap();
    net.vote(&alice, 0, true, 99_999 * UNIT).unwrap();
    // 1: quorum, but only half ayes.
    net.propose(&bob, spend(5 * UNIT)).unwrap();
    net.vote(&alice, 1, true, 60_000 * UNIT).unwrap();
    net.vote(&bob, 1, false, 60_000 * UNIT).unwrap();
    // 2: passes, but asks more than the treasury holds.
    net.propose(&bob, spend(TOTAL_SUPPLY)).unwrap();
    pass(&mut net, 2, 60_000 * UNIT);
    // 3: passes and pays.
    net.propose(&bob, spend(5 * UNIT)).unwrap();
    pass(&mut net, 3, 60_000 * UNIT);

    net.empty_blocks(20);
    let outcomes = net.log.clone();
    let rejected: Vec<u32> = outcomes
        .iter()
        .filter_map(|e| match e {
            Event::ProposalRejected { proposal, .. } => Some(*proposal),
            _ => None,
        })
        .collect();
    assert_eq!(rejected, vec![0, 1]);
    assert!(outcomes
        .iter()
        .any(|e| matches!(e, Event::ProposalFailed { proposal: 2, .. })));
    assert!(outcomes.contains(&Event::ProposalEnacted { proposal: 3 }));
    assert!(outcomes.contains(&Event::TreasurySpent {
        to: dave,
        amount: 5 * UNIT
    }));
    assert_eq!(net.free(&dave), 5 * UNIT);
    assert_eq!(net.free(&governance::governance_account()), 0);
    let statuses: Vec<_> = (0..4)
        .map(|id| {
            governance::proposal(&net.chain.state, id)
                .unwrap()
                .unwrap()
                .status
        })
        .collect();
    use governance::ProposalStatus::*;
    assert_eq!(statuses, vec![Rejected, Rejected, Failed, Enacted]);
    assert_eq!(net.chain.total(), TOTAL_SUPPLY);
}

#[test]
fn a_second_gatekeeper_acts_only_once_elected_and_not_after_removal() {
    let mut net = Net::new();
    let charlie = dev("charlie");
    let (first, second) = (dev("gatekeeper-1"), dev("gatekeeper-2"));
    for (gk, ecdh) in [(&first, [3; 32]), (&second, [4; 32])] {
        net.send(
            &dev("alice"),
            Call::Transfer {
                to: gk.account_id(),
                amount: 10 * UNIT,
            },
        )
        .unwrap();
        let call = dev_registration(
            &net.chain.params.chain_id,
            gk,
            Role::Gatekeeper,
            &charlie.account_id(),
            ecdh,
        );
        net.send(&charlie, call).unwrap();
    }
    let publish = Call::PublishMasterKey {
        epoch: 0,
        public_key: [8; 32],
    };
    assert!(matches!(
        net.send(&second, publish.clone()),
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized)
    ));
    net.sudo(SudoCall::ElectGatekeeper {
        identity: second.account_id(),
    });
    net.send(&second, publish).unwrap();
    net.sudo(SudoCall::RemoveGatekeeper {
        identity: second.account_id(),
    });
    assert!(matches!(
        net.send(
            &second,
            Call::Randomness {
                value: phalanx_primitives::Hash([1; 32])
            }
        ),
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized)
    ));
    assert_eq!(
        registry::gatekeepers(&net.chain.state).unwrap(),
        vec![first.account_id()]
    );
    // Nor is it listed as holding the master key any more.
    let holders = phalanx_runtime::master_key::master_key(&net.chain.state)
        .unwrap()
        .unwrap()
        .holders;
    assert!(!holders.contains(&second.account_id()));
}

#[test]
fn a_worker_leaves_its_pool_only_when_not_computing_and_may_then_join_another() {
    let mut net = Net::new();
    let charlie = dev("charlie");
    let worker = net.worker("miner-1", 500);
    net.pool_of(&worker, 1_000 * UNIT);
    let id = worker.account_id();
    net.send(
        &charlie,
        Call::StartComputing {
            worker: id,
            stake: 1_000 * UNIT,
        },
    )
    .unwrap();
    let unbind = Call::UnbindWorker { worker: id };
    assert!(matches!(
        net.send(&dev("bob"), unbind.clone()),
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized)
    ));
    assert!(matches!(
        net.send(&charlie, unbind.clone()),
        Err(ref e) if e.refusal() == Some(Refusal::InvalidCall) && e.to_string().contains("stop it first")
    ));
    net.send(&charlie, Call::StopComputing { worker: id })
        .unwrap();
    net.send(&charlie, unbind).unwrap();
    assert!(staking::mining(&net.chain.state, &id).unwrap().is_none());
    assert!(staking::pool(&net.chain.state, 0)
        .unwrap()
        .unwrap()
        .workers
        .is_empty());
    net.send(
        &charlie,
        Call::CreatePool {
            commission_percent: 5,
        },
    )
    .unwrap();
    net.send(
        &charlie,
        Call::BindWorker {
            pool: 1,
            worker: id,
        },
    )
    .unwrap();
    assert_eq!(net.mining(&worker).pool, 1);
}

#[test]
fn the_gas_price_is_governed_and_charged_at_the_new_price() {
    let mut net = Net::new();
    let code = include_bytes!("../../../contracts/counter/counter.wasm").to_vec();
    let prepaid = |net: &Net| {
        net.chain.events.iter().find_map(|r| match r.event {
            Event::GasPrepaid {
                gas_limit, amount, ..
            } => Some((gas_limit, amount)),
            _ => None,
        })
    };
    net.sudo(SudoCall::SetParameter {
        parameter: Parameter::GasPrice,
        value: 3_000,
    });
    assert_eq!(
        tokenomics::params(&net.chain.state).unwrap().gas_price,
        3_000
    );
    let treasury = GenesisConfig::treasury_account();
    let before = net.free(&treasury);
    net.send(&dev("bob"), Call::UploadCode { code }).unwrap();
    let (gas, amount) = prepaid(&net).expect("the upload prepaid its gas");
    assert_eq!(amount, u128::from(gas) * 3_000);
    assert_eq!(net.free(&treasury) - before, amount + FEE);
}

#[test]
fn a_performance_score_no_benchmark_can_produce_is_refused() {
    let mut net = Net::new();
    let worker = net.worker("boaster", 500);
    for score in [0, staking::MAX_PERFORMANCE_SCORE + 1, u32::MAX] {
        let beat = Call::Heartbeat {
            performance: Some(score),
            digests: vec![],
        };
        assert!(
            matches!(net.send(&worker, beat), Err(ref e) if e.refusal() == Some(Refusal::InvalidCall) && e.to_string().contains("performance score")),
            "score {score} was taken"
        );
    }
    net.heartbeat(&worker, Some(staking::MAX_PERFORMANCE_SCORE));
}

#[test]
fn a_governance_vote_changes_the_validators_from_an_epoch_far_enough_ahead() {
    use phalanx_primitives::validators::VALIDATOR_SET_DELAY;
    use phalanx_primitives::Validator;
    use phalanx_runtime::validators;
    let set_of = |names: &[&str]| SudoCall::SetValidators {
        validators: names
            .iter()
            .map(|name| Validator {
                account: dev(name).account_id(),
                p2p_address: "127.0.0.1:7000".into(),
            })
            .collect(),
    };
    // A chain without epochs: the vote passes, the call fails when enacted, nothing changes.
    let mut fixed = Net::new();
    fixed.propose(&dev("bob"), set_of(&["v1"])).unwrap();
    pass(&mut fixed, 0, 60_000 * UNIT);
    fixed.empty_blocks(20);
    assert!(fixed.log.iter().any(
        |e| matches!(e, Event::ProposalFailed { proposal: 0, reason } if reason.contains("fixed"))
    ));
    let params = fixed.chain.params.clone();
    assert_eq!(
        validators::history(&fixed.chain.state, &params)
            .unwrap()
            .sets()
            .len(),
        1
    );

    // A chain of epochs of 10 blocks: enacted, the set starts at an epoch's first height at
    // least VALIDATOR_SET_DELAY blocks after the enacting block, announced by an event.
    let mut config = phalanx_runtime::genesis::dev_config();
    config.blocks_per_epoch = Some(10);
    let mut net = Net {
        chain: common::Chain::with_config(config),
        nonces: HashMap::new(),
        log: Vec::new(),
    };
    net.propose(&dev("bob"), set_of(&["v1", "v2"])).unwrap();
    pass(&mut net, 0, 60_000 * UNIT);
    let mut enacted_at = None;
    for _ in 0..40 {
        net.empty_blocks(1);
        if net
            .end_of_block_events()
            .contains(&Event::ProposalEnacted { proposal: 0 })
        {
            enacted_at = Some(net.chain.height);
            break;
        }
    }
    let enacted_at = enacted_at.expect("enacted");
    let scheduled = net
        .end_of_block_events()
        .into_iter()
        .find_map(|e| match e {
            Event::ValidatorSetScheduled { set } => Some(set),
            _ => None,
        })
        .expect("announced");
    assert_eq!(scheduled.from_height % 10, 0);
    assert!(scheduled.from_height >= enacted_at + VALIDATOR_SET_DELAY);
    assert!(scheduled.from_height < enacted_at + VALIDATOR_SET_DELAY + 10);
    let params = net.chain.params.clone();
    let history = validators::history(&net.chain.state, &params).unwrap();
    assert_eq!(
        history.at(scheduled.from_height - 1).accounts(),
        params.validators
    );
    assert_eq!(history.at(scheduled.from_height), &scheduled);
}
