//! Stake pools: an owner creates a pool with a commission; delegators deposit PHA for shares;
//! the owner binds the workers it operates and starts each computing backed by a stake of the
//! pool's (at least the minimum; together never more than the pool holds); withdrawals wait for
//! a cool-down and are then paid at the share price of that block, and a pool left holding less
//! than its computing workers' stakes stops its newest-bound ones.
//!
//! A pool's PHA sits in its own keyless account ([`pool_account`]); its delegators' part of the
//! rewards is added to that stake without new shares, so the price of a share rises. Invariants
//! (property-tested in `tests/economy.rs`): the pool account holds exactly `total_stake`, and
//! the holders' shares plus the shares waiting in withdrawals add up to `total_shares`.
//!
//! State layout: `staking/next_pool` -> u64; `staking/pool/` ++ id (u64 BE) -> SCALE(Pool);
//! `staking/shares/` ++ id ++ account -> Balance; `staking/worker/` ++ identity ->
//! SCALE(MiningInfo); `staking/computing` -> `SCALE(Vec<AccountId>)`, the workers computing or
//! unresponsive; `staking/withdrawals` -> `SCALE(Vec<Withdrawal>)`; `staking/benchmark/` ++
//! identity -> u32, the performance score the worker reported last.

use crate::error::{Cause, Refusal};
use crate::registry::{self, WorkerInfo};
use crate::state::decode_entry;
use crate::tokenomics::{self, mul_div};
use crate::{balances, StateError, StateOverlay, StateReader, TxError};
use parity_scale_codec::{Decode, Encode};
use phalanx_primitives::amount::format_pha;
use phalanx_primitives::attestation::Role;
use phalanx_primitives::economy::{ComputingState, PoolId};
use phalanx_primitives::{AccountId, Balance, BlockHeight, Event};

/// Why a pool, stake or computing call is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StakingError {
    #[error("there is no pool {0}")]
    NoPool(PoolId),
    #[error("performance score {0} is outside what the benchmark can produce (1 to {MAX_PERFORMANCE_SCORE})")]
    ImpossibleScore(u32),
    #[error("a commission is 0 to 100 percent, not {0}")]
    Commission(u8),
    #[error("a deposit must be more than 0")]
    EmptyDeposit,
    #[error("the deposit is worth less than one share")]
    BelowOneShare,
    #[error("cannot withdraw {shares} shares of pool {pool}: {who} holds {held}")]
    SharesHeld {
        pool: PoolId,
        who: AccountId,
        shares: Balance,
        held: Balance,
    },
    #[error("too many withdrawals are waiting; try again later")]
    WithdrawalsFull,
    #[error("only pool {0}'s owner may do this")]
    NotOwner(PoolId),
    #[error("worker {worker} is operated by {operator}, not by the pool's owner")]
    NotOperator {
        worker: AccountId,
        operator: AccountId,
    },
    #[error("worker {worker} is already bound to pool {pool}")]
    AlreadyBound { worker: AccountId, pool: PoolId },
    #[error("a pool binds at most {MAX_POOL_WORKERS} workers")]
    PoolFull,
    #[error("worker {0} is bound to no pool")]
    Unbound(AccountId),
    #[error("{0} is not a registered worker")]
    NotWorker(AccountId),
    #[error("worker {0} is computing; stop it first")]
    StillComputing(AccountId),
    #[error("worker {0} is already computing")]
    AlreadyComputing(AccountId),
    #[error("worker {0} has not reported its benchmark yet (its first heartbeat does)")]
    NoBenchmark(AccountId),
    #[error("a worker needs at least the minimum stake of {} PHA, not {} PHA", format_pha(*min_stake), format_pha(*stake))]
    BelowMinStake { stake: Balance, min_stake: Balance },
    #[error("pool {pool} has {} PHA of stake not backing a worker; {} PHA asked", format_pha(*free), format_pha(*asked))]
    StakeUnavailable {
        pool: PoolId,
        free: Balance,
        asked: Balance,
    },
    #[error("the network has as many computing workers as it pays")]
    ComputingFull,
    #[error("worker {0} is not computing")]
    NotComputing(AccountId),
}

impl Cause for StakingError {
    fn cause(&self) -> &'static str {
        match self {
            StakingError::NoPool(_) => "no_pool",
            StakingError::ImpossibleScore(_) => "impossible_score",
            StakingError::Commission(_) => "commission_out_of_range",
            StakingError::EmptyDeposit => "empty_deposit",
            StakingError::BelowOneShare => "below_one_share",
            StakingError::SharesHeld { .. } => "shares_not_held",
            StakingError::WithdrawalsFull => "withdrawals_full",
            StakingError::NotOwner(_) => "not_pool_owner",
            StakingError::NotOperator { .. } => "not_worker_operator",
            StakingError::AlreadyBound { .. } => "already_bound",
            StakingError::PoolFull => "pool_has_max_workers",
            StakingError::Unbound(_) => "worker_unbound",
            StakingError::NotWorker(_) => "not_a_worker",
            StakingError::StillComputing(_) => "still_computing",
            StakingError::AlreadyComputing(_) => "already_computing",
            StakingError::NoBenchmark(_) => "no_benchmark",
            StakingError::BelowMinStake { .. } => "below_min_stake",
            StakingError::StakeUnavailable { .. } => "stake_unavailable",
            StakingError::ComputingFull => "computing_full",
            StakingError::NotComputing(_) => "not_computing",
        }
    }

    fn refusal(&self) -> Refusal {
        match self {
            StakingError::NotOwner(_) | StakingError::NotOperator { .. } => Refusal::NotAuthorized,
            _ => Refusal::InvalidCall,
        }
    }
}

const NEXT_POOL_KEY: &[u8] = b"staking/next_pool";
const POOL_PREFIX: &[u8] = b"staking/pool/";
const SHARES_PREFIX: &[u8] = b"staking/shares/";
const WORKER_PREFIX: &[u8] = b"staking/worker/";
const BENCHMARK_PREFIX: &[u8] = b"staking/benchmark/";
pub(crate) const COMPUTING_KEY: &[u8] = b"staking/computing";
const WITHDRAWALS_KEY: &[u8] = b"staking/withdrawals";

/// Most workers bound to one pool.
pub const MAX_POOL_WORKERS: usize = 64;
/// Most withdrawals waiting at once, chain-wide (each block looks at all of them).
pub const MAX_PENDING_WITHDRAWALS: usize = 4_096;
/// Most workers computing at once, chain-wide (each block pays all of them).
pub const MAX_COMPUTING_WORKERS: usize = 10_000;

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Pool {
    pub id: PoolId,
    pub owner: AccountId,
    pub commission_percent: u8,
    /// PHA held for the shareholders (equals the pool account's balance).
    pub total_stake: Balance,
    /// Shares in existence: held, plus waiting in withdrawals.
    pub total_shares: Balance,
    pub workers: Vec<AccountId>,
    /// Rewards the pool has earned: the delegators' part and the owner's commission.
    pub rewards_to_stake: Balance,
    pub commission_paid: Balance,
}

/// A worker bound to a pool, and how it computes.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct MiningInfo {
    pub pool: PoolId,
    pub state: ComputingState,
    /// V, in PHA units.
    pub v: Balance,
    /// P, the benchmark score it started computing with (or reported since).
    pub performance: u32,
    pub confidence_percent: u32,
    /// The stake backing it when it started.
    pub stake: Balance,
    pub started_at: BlockHeight,
    /// A heartbeat is due by this block.
    pub challenge_deadline: Option<BlockHeight>,
    /// Rewards it has earned its pool, in total.
    pub rewards: Balance,
}

impl Pool {
    /// What `shares` of this pool are worth at its current price, rounded down.
    pub fn value_of(&self, shares: Balance) -> Balance {
        mul_div(shares, self.total_stake, self.total_shares)
    }
}

impl MiningInfo {
    /// Its weight in this block's rewards: `sqrt(V² + (2·P·confidence)²)` while computing and
    /// responsive, nothing otherwise.
    pub fn share(&self) -> u128 {
        match self.state {
            ComputingState::Computing => {
                tokenomics::share(self.v, self.performance, self.confidence_percent)
            }
            ComputingState::Idle | ComputingState::Unresponsive => 0,
        }
    }
}

/// Shares waiting for their cool-down.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Withdrawal {
    pub pool: PoolId,
    pub who: AccountId,
    pub shares: Balance,
    pub release_at_ms: u64,
}

/// The keyless account holding a pool's stake.
pub fn pool_account(pool: PoolId) -> AccountId {
    AccountId::module(&format!("stake-pool/{pool}"))
}

fn pool_key(pool: PoolId) -> Vec<u8> {
    [POOL_PREFIX, &pool.to_be_bytes()].concat()
}
fn shares_key(pool: PoolId, who: &AccountId) -> Vec<u8> {
    [
        SHARES_PREFIX,
        &pool.to_be_bytes(),
        who.as_bytes().as_slice(),
    ]
    .concat()
}
fn worker_key(worker: &AccountId) -> Vec<u8> {
    [WORKER_PREFIX, worker.as_bytes().as_slice()].concat()
}
fn benchmark_key(worker: &AccountId) -> Vec<u8> {
    [BENCHMARK_PREFIX, worker.as_bytes().as_slice()].concat()
}

// Reads, from committed state (RPC, tests) or from the block being built (an overlay).

pub fn pool(state: &impl StateReader, pool: PoolId) -> Result<Option<Pool>, StateError> {
    decode_entry(state.get(&pool_key(pool))?, "pool")
}
pub fn pool_count(state: &impl StateReader) -> Result<u64, StateError> {
    Ok(decode_entry(state.get(NEXT_POOL_KEY)?, "pool counter")?.unwrap_or(0))
}
pub fn shares(
    state: &impl StateReader,
    pool: PoolId,
    who: &AccountId,
) -> Result<Balance, StateError> {
    Ok(decode_entry(state.get(&shares_key(pool, who))?, "shares")?.unwrap_or(0))
}
pub fn mining(
    state: &impl StateReader,
    worker: &AccountId,
) -> Result<Option<MiningInfo>, StateError> {
    decode_entry(state.get(&worker_key(worker))?, "mining info")
}
pub fn benchmark(state: &impl StateReader, worker: &AccountId) -> Result<Option<u32>, StateError> {
    decode_entry(state.get(&benchmark_key(worker))?, "benchmark")
}
pub fn computing(state: &impl StateReader) -> Result<Vec<AccountId>, StateError> {
    Ok(decode_entry(state.get(COMPUTING_KEY)?, "computing workers")?.unwrap_or_default())
}
pub fn withdrawals(state: &impl StateReader) -> Result<Vec<Withdrawal>, StateError> {
    Ok(decode_entry(state.get(WITHDRAWALS_KEY)?, "withdrawals")?.unwrap_or_default())
}

pub(crate) fn read_pool(
    overlay: &StateOverlay<impl StateReader>,
    id: PoolId,
) -> Result<Pool, TxError> {
    pool(overlay, id)?.ok_or(StakingError::NoPool(id).into())
}
pub(crate) fn write_pool(overlay: &mut StateOverlay<impl StateReader>, pool: &Pool) {
    overlay.set(pool_key(pool.id), pool.encode());
}
fn write_shares(
    overlay: &mut StateOverlay<impl StateReader>,
    id: PoolId,
    who: &AccountId,
    shares: Balance,
) {
    if shares == 0 {
        overlay.remove(shares_key(id, who));
    } else {
        overlay.set(shares_key(id, who), shares.encode());
    }
}
pub(crate) fn write_mining(
    overlay: &mut StateOverlay<impl StateReader>,
    worker: &AccountId,
    info: &MiningInfo,
) {
    overlay.set(worker_key(worker), info.encode());
}
fn write_computing(overlay: &mut StateOverlay<impl StateReader>, workers: &[AccountId]) {
    overlay.set(COMPUTING_KEY.to_vec(), workers.encode());
}
/// The highest performance score a heartbeat may report: about four times what the worker's
/// benchmark (SHA-256 of 1 KiB per millisecond) gives on the fastest server cores with SHA
/// extensions. A higher score is not a faster machine but a broken or dishonest reporter, and
/// it would buy rewards (P weighs in V and the reward share).
pub const MAX_PERFORMANCE_SCORE: u32 = 10_000;

pub(crate) fn record_benchmark(
    overlay: &mut StateOverlay<impl StateReader>,
    worker: &AccountId,
    score: u32,
) -> Result<(), TxError> {
    if score == 0 || score > MAX_PERFORMANCE_SCORE {
        return Err(StakingError::ImpossibleScore(score).into());
    }
    overlay.set(benchmark_key(worker), score.encode());
    Ok(())
}

pub(crate) fn create_pool(
    overlay: &mut StateOverlay<impl StateReader>,
    owner: AccountId,
    commission_percent: u8,
) -> Result<Event, TxError> {
    if commission_percent > 100 {
        return Err(StakingError::Commission(commission_percent).into());
    }
    let id = pool_count(overlay)?;
    overlay.set(NEXT_POOL_KEY.to_vec(), (id + 1).encode());
    write_pool(
        overlay,
        &Pool {
            id,
            owner,
            commission_percent,
            total_stake: 0,
            total_shares: 0,
            workers: Vec::new(),
            rewards_to_stake: 0,
            commission_paid: 0,
        },
    );
    Ok(Event::PoolCreated {
        pool: id,
        owner,
        commission_percent,
    })
}

pub(crate) fn deposit(
    overlay: &mut StateOverlay<impl StateReader>,
    who: AccountId,
    id: PoolId,
    amount: Balance,
) -> Result<Event, TxError> {
    let mut pool = read_pool(overlay, id)?;
    if amount == 0 {
        return Err(StakingError::EmptyDeposit.into());
    }
    // Shares at the current price; the first deposit (or one into an emptied pool) sets 1:1.
    let shares = if pool.total_shares == 0 || pool.total_stake == 0 {
        amount
    } else {
        mul_div(amount, pool.total_shares, pool.total_stake)
    };
    if shares == 0 {
        return Err(StakingError::BelowOneShare.into());
    }
    balances::transfer(overlay, &who, &pool_account(id), amount)?;
    pool.total_stake += amount;
    pool.total_shares += shares;
    let held = self::shares(overlay, id, &who)?;
    write_shares(overlay, id, &who, held + shares);
    write_pool(overlay, &pool);
    Ok(Event::Deposited {
        pool: id,
        who,
        amount,
        shares,
    })
}

pub(crate) fn withdraw(
    overlay: &mut StateOverlay<impl StateReader>,
    who: AccountId,
    id: PoolId,
    shares: Balance,
    now_ms: u64,
) -> Result<Event, TxError> {
    read_pool(overlay, id)?;
    let held = self::shares(overlay, id, &who)?;
    if shares == 0 || shares > held {
        return Err(StakingError::SharesHeld {
            pool: id,
            who,
            shares,
            held,
        }
        .into());
    }
    let mut queue = withdrawals(overlay)?;
    if queue.len() >= MAX_PENDING_WITHDRAWALS {
        return Err(StakingError::WithdrawalsFull.into());
    }
    let cooldown = tokenomics::params(overlay)?.withdraw_cooldown_ms;
    let release_at_ms = now_ms.saturating_add(cooldown);
    write_shares(overlay, id, &who, held - shares);
    queue.push(Withdrawal {
        pool: id,
        who,
        shares,
        release_at_ms,
    });
    overlay.set(WITHDRAWALS_KEY.to_vec(), queue.encode());
    Ok(Event::WithdrawalRequested {
        pool: id,
        who,
        shares,
        release_at_ms,
    })
}

fn require_owner(pool: &Pool, signer: &AccountId) -> Result<(), TxError> {
    if pool.owner != *signer {
        return Err(StakingError::NotOwner(pool.id).into());
    }
    Ok(())
}

pub(crate) fn bind(
    overlay: &mut StateOverlay<impl StateReader>,
    signer: AccountId,
    id: PoolId,
    worker: AccountId,
) -> Result<Event, TxError> {
    let mut pool = read_pool(overlay, id)?;
    require_owner(&pool, &signer)?;
    let info = registered_worker(overlay, &worker)?;
    if info.operator != signer {
        return Err(StakingError::NotOperator {
            worker,
            operator: info.operator,
        }
        .into());
    }
    if let Some(mining) = mining(overlay, &worker)? {
        return Err(StakingError::AlreadyBound {
            worker,
            pool: mining.pool,
        }
        .into());
    }
    if pool.workers.len() >= MAX_POOL_WORKERS {
        return Err(StakingError::PoolFull.into());
    }
    pool.workers.push(worker);
    write_pool(overlay, &pool);
    let confidence_percent = tokenomics::confidence_percent(info.confidence);
    write_mining(
        overlay,
        &worker,
        &MiningInfo {
            pool: id,
            state: ComputingState::Idle,
            v: 0,
            performance: 0,
            confidence_percent,
            stake: 0,
            started_at: 0,
            challenge_deadline: None,
            rewards: 0,
        },
    );
    Ok(Event::WorkerBound { pool: id, worker })
}

/// A worker bound to a pool `signer` owns, with its mining entry and that pool.
fn owned_worker(
    overlay: &StateOverlay<impl StateReader>,
    signer: &AccountId,
    worker: &AccountId,
) -> Result<(MiningInfo, Pool), TxError> {
    let mining = mining(overlay, worker)?.ok_or(StakingError::Unbound(*worker))?;
    let pool = read_pool(overlay, mining.pool)?;
    require_owner(&pool, signer)?;
    Ok((mining, pool))
}

fn registered_worker(
    overlay: &StateOverlay<impl StateReader>,
    worker: &AccountId,
) -> Result<WorkerInfo, TxError> {
    registry::enclave_in_role(overlay, worker, Role::Worker)?
        .ok_or(StakingError::NotWorker(*worker).into())
}

/// The stake backing a pool's computing workers, together.
fn committed_stake(
    overlay: &StateOverlay<impl StateReader>,
    pool: &Pool,
) -> Result<Balance, TxError> {
    let mut committed: Balance = 0;
    for worker in &pool.workers {
        if let Some(m) = mining(overlay, worker)?.filter(|m| m.state != ComputingState::Idle) {
            committed = committed.saturating_add(m.stake);
        }
    }
    Ok(committed)
}

pub(crate) fn unbind(
    overlay: &mut StateOverlay<impl StateReader>,
    signer: AccountId,
    worker: AccountId,
) -> Result<Event, TxError> {
    let (mining, mut pool) = owned_worker(overlay, &signer, &worker)?;
    if mining.state != ComputingState::Idle {
        return Err(StakingError::StillComputing(worker).into());
    }
    pool.workers.retain(|w| *w != worker);
    write_pool(overlay, &pool);
    overlay.remove(worker_key(&worker));
    Ok(Event::WorkerUnbound {
        pool: pool.id,
        worker,
    })
}

pub(crate) fn start_computing(
    overlay: &mut StateOverlay<impl StateReader>,
    signer: AccountId,
    worker: AccountId,
    stake: Balance,
    height: BlockHeight,
) -> Result<Event, TxError> {
    let (mut mining, pool) = owned_worker(overlay, &signer, &worker)?;
    if mining.state != ComputingState::Idle {
        return Err(StakingError::AlreadyComputing(worker).into());
    }
    registered_worker(overlay, &worker)?;
    let performance = benchmark(overlay, &worker)?.ok_or(StakingError::NoBenchmark(worker))?;
    let params = tokenomics::params(overlay)?;
    if stake < params.min_stake {
        return Err(StakingError::BelowMinStake {
            stake,
            min_stake: params.min_stake,
        }
        .into());
    }
    let free = pool
        .total_stake
        .saturating_sub(committed_stake(overlay, &pool)?);
    if stake > free {
        return Err(StakingError::StakeUnavailable {
            pool: pool.id,
            free,
            asked: stake,
        }
        .into());
    }
    let mut all = computing(overlay)?;
    if all.len() >= MAX_COMPUTING_WORKERS {
        return Err(StakingError::ComputingFull.into());
    }
    mining.state = ComputingState::Computing;
    mining.performance = performance;
    mining.stake = stake;
    mining.v = tokenomics::initial_v(&params, stake, performance, mining.confidence_percent);
    mining.started_at = height;
    mining.challenge_deadline = None;
    write_mining(overlay, &worker, &mining);
    all.push(worker);
    write_computing(overlay, &all);
    Ok(Event::ComputingStarted {
        pool: pool.id,
        worker,
        v: mining.v,
        performance,
    })
}

pub(crate) fn stop_computing(
    overlay: &mut StateOverlay<impl StateReader>,
    signer: AccountId,
    worker: AccountId,
) -> Result<Event, TxError> {
    let (mining, _) = owned_worker(overlay, &signer, &worker)?;
    if mining.state == ComputingState::Idle {
        return Err(StakingError::NotComputing(worker).into());
    }
    Ok(stop(
        overlay,
        worker,
        mining,
        "stopped by the pool's owner",
    )?)
}

/// Takes a worker out of computation (its V is gone; starting again starts from the initial V).
pub(crate) fn stop(
    overlay: &mut StateOverlay<impl StateReader>,
    worker: AccountId,
    mut mining: MiningInfo,
    reason: &str,
) -> Result<Event, StateError> {
    mining.state = ComputingState::Idle;
    mining.v = 0;
    mining.stake = 0;
    mining.challenge_deadline = None;
    let pool = mining.pool;
    write_mining(overlay, &worker, &mining);
    let mut all = computing(overlay)?;
    all.retain(|w| *w != worker);
    write_computing(overlay, &all);
    Ok(Event::ComputingStopped {
        pool,
        worker,
        reason: reason.to_string(),
    })
}

/// Pays the withdrawals whose cool-down ended by `now_ms`, then stops workers of any pool left
/// holding less than its computing workers' stakes (newest bound first).
pub(crate) fn release_withdrawals(
    overlay: &mut StateOverlay<impl StateReader>,
    now_ms: u64,
) -> Result<Vec<Event>, TxError> {
    let queue = withdrawals(overlay)?;
    let (due, waiting): (Vec<_>, Vec<_>) =
        queue.into_iter().partition(|w| w.release_at_ms <= now_ms);
    if due.is_empty() {
        return Ok(Vec::new());
    }
    overlay.set(WITHDRAWALS_KEY.to_vec(), waiting.encode());
    let mut events = Vec::new();
    let mut touched = Vec::new();
    for withdrawal in due {
        let mut pool = read_pool(overlay, withdrawal.pool)?;
        let amount = pool.value_of(withdrawal.shares);
        pool.total_shares -= withdrawal.shares;
        pool.total_stake -= amount;
        balances::transfer(overlay, &pool_account(pool.id), &withdrawal.who, amount)?;
        write_pool(overlay, &pool);
        events.push(Event::Withdrawn {
            pool: pool.id,
            who: withdrawal.who,
            shares: withdrawal.shares,
            amount,
        });
        if !touched.contains(&pool.id) {
            touched.push(pool.id);
        }
    }
    for id in touched {
        let pool = read_pool(overlay, id)?;
        let mut committed = committed_stake(overlay, &pool)?;
        for worker in pool.workers.iter().rev() {
            if pool.total_stake >= committed {
                break;
            }
            if let Some(mining) =
                mining(overlay, worker)?.filter(|m| m.state != ComputingState::Idle)
            {
                committed -= mining.stake;
                events.push(stop(
                    overlay,
                    *worker,
                    mining,
                    "the pool no longer holds its stake",
                )?);
            }
        }
    }
    Ok(events)
}
