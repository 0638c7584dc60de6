//! Computation, block by block: heartbeat challenges and the payment of rewards.
//!
//! At the end of every block, for each computing worker:
//! 1. a challenge whose window closed unanswered marks it unresponsive;
//! 2. a fresh challenge picks it with probability `1 / challenge_one_in_blocks`, drawn from a
//!    seed that gatekeepers keep mixing fresh randomness into (`Call::Randomness`); it must
//!    send a heartbeat within `challenge_window_blocks`;
//! 3. its V grows while it is responsive and is cut while it is not;
//! 4. the block's budget, less the treasury's percent, is split between the responsive workers
//!    by share; each worker's part goes to its pool: the commission to the owner, the rest to the
//!    pool's stake (the share price rises).
//!
//! Any heartbeat answers a challenge and makes an unresponsive worker responsive again.
//!
//! State layout: `mining/seed` -> Hash; `mining/seed_height` -> u64, the block that last mixed.

use crate::error::{Cause, Refusal};
use crate::staking::{self, pool_account, MiningInfo};
use crate::state::decode_entry;
use crate::tokenomics::{self, mul_div};
use crate::{balances, master_key, StateOverlay, StateReader, TxError};
use parity_scale_codec::Encode;
use phalanx_primitives::economy::{ComputingState, EconomyParams};
use phalanx_primitives::{sha256_parts, AccountId, Balance, BlockHeight, Event, Hash};

/// Why a mining call is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MiningError {
    #[error("randomness was already mixed in block {0}")]
    RandomnessMixed(BlockHeight),
}

impl Cause for MiningError {
    fn cause(&self) -> &'static str {
        match self {
            MiningError::RandomnessMixed(_) => "randomness_already_mixed",
        }
    }

    fn refusal(&self) -> Refusal {
        Refusal::InvalidCall
    }
}

const SEED_KEY: &[u8] = b"mining/seed";
const SEED_HEIGHT_KEY: &[u8] = b"mining/seed_height";

/// The current challenge seed, from committed state.
pub fn seed(state: &impl StateReader) -> Result<Hash, crate::StateError> {
    Ok(decode_entry(state.get(SEED_KEY)?, "challenge seed")?.unwrap_or(Hash::ZERO))
}

pub(crate) fn mix_randomness(
    overlay: &mut StateOverlay<impl StateReader>,
    gatekeeper: AccountId,
    value: Hash,
    height: BlockHeight,
) -> Result<Event, TxError> {
    master_key::require_holder(overlay, &gatekeeper)?;
    let last: Option<u64> = decode_entry(overlay.get(SEED_HEIGHT_KEY)?, "seed height")?;
    if last == Some(height) {
        return Err(MiningError::RandomnessMixed(height).into());
    }
    let old = seed(overlay)?;
    let new = sha256_parts(&[b"PHALANX_CHALLENGE_SEED_V1", &old.0, &value.0]);
    overlay.set(SEED_KEY.to_vec(), new.encode());
    overlay.set(SEED_HEIGHT_KEY.to_vec(), height.encode());
    Ok(Event::RandomnessUpdated { gatekeeper })
}

/// A heartbeat from `worker`: answers its challenge, and brings it back if it was unresponsive.
pub(crate) fn answer_challenge(
    overlay: &mut StateOverlay<impl StateReader>,
    worker: AccountId,
) -> Result<Option<Event>, TxError> {
    let Some(mut mining) = staking::mining(overlay, &worker)? else {
        return Ok(None);
    };
    let was_unresponsive = mining.state == ComputingState::Unresponsive;
    if mining.challenge_deadline.is_none() && !was_unresponsive {
        return Ok(None);
    }
    mining.challenge_deadline = None;
    if was_unresponsive {
        mining.state = ComputingState::Computing;
    }
    staking::write_mining(overlay, &worker, &mining);
    Ok(was_unresponsive.then_some(Event::WorkerResponsive { worker }))
}

/// Whether the seed picks `worker` for a challenge at `height`.
fn challenged(seed: &Hash, height: BlockHeight, worker: &AccountId, one_in: u32) -> bool {
    let draw = sha256_parts(&[
        b"PHALANX_CHALLENGE_V1",
        &seed.0,
        &height.to_be_bytes(),
        worker.as_bytes(),
    ]);
    let value = u64::from_be_bytes(draw.0[..8].try_into().expect("8 bytes"));
    value % u64::from(one_in.max(1)) == 0
}

/// The accounts the block's end pays from and to.
pub(crate) struct Accounts {
    pub mining_pool: AccountId,
    pub treasury: AccountId,
}

/// Challenges, V and rewards at the end of block `height` (see the module comment).
pub(crate) fn end_block(
    overlay: &mut StateOverlay<impl StateReader>,
    height: BlockHeight,
    accounts: &Accounts,
) -> Result<Vec<Event>, TxError> {
    let workers = staking::computing(overlay)?;
    if workers.is_empty() {
        return Ok(Vec::new());
    }
    let params = tokenomics::params(overlay)?;
    let seed = self::seed(overlay)?;
    let mut events = Vec::new();
    let mut infos = Vec::with_capacity(workers.len());
    let mut shares = Vec::with_capacity(workers.len());
    for worker in &workers {
        let mut mining = staking::mining(overlay, worker)?.ok_or_else(|| {
            crate::StateError(format!("computing worker {worker} has no mining entry"))
        })?;
        let challenge = Challenge {
            seed: &seed,
            height,
            worker,
        };
        shares.push(advance(&params, challenge, &mut mining, &mut events));
        infos.push(mining);
    }
    events.extend(pay_rewards(
        overlay, &params, height, accounts, &mut infos, &shares,
    )?);
    for (worker, mining) in workers.iter().zip(&infos) {
        staking::write_mining(overlay, worker, mining);
    }
    Ok(events)
}

/// Where a worker's draw for a challenge comes from.
struct Challenge<'a> {
    seed: &'a Hash,
    height: BlockHeight,
    worker: &'a AccountId,
}

/// One block of a computing worker's life: a missed challenge makes it unresponsive, a fresh
/// one may be drawn, V grows or is cut. Returns its share of this block's rewards (0 while
/// unresponsive).
fn advance(
    params: &EconomyParams,
    challenge: Challenge<'_>,
    mining: &mut MiningInfo,
    events: &mut Vec<Event>,
) -> u128 {
    let Challenge {
        seed,
        height,
        worker,
    } = challenge;
    if mining
        .challenge_deadline
        .is_some_and(|deadline| height > deadline)
    {
        mining.challenge_deadline = None;
        mining.state = ComputingState::Unresponsive;
        events.push(Event::WorkerUnresponsive { worker: *worker });
    }
    if mining.state == ComputingState::Computing
        && mining.challenge_deadline.is_none()
        && challenged(seed, height, worker, params.challenge_one_in_blocks)
    {
        let deadline = height + u64::from(params.challenge_window_blocks);
        mining.challenge_deadline = Some(deadline);
        events.push(Event::WorkerChallenged {
            worker: *worker,
            deadline,
        });
    }
    let responsive = mining.state == ComputingState::Computing;
    mining.v = tokenomics::next_v(params, mining.v, responsive);
    mining.share()
}

/// Releases block `height`'s budget from the mining pool: the treasury's percent, the rest to the
/// workers' pools by `shares` (nothing when no worker has a share).
fn pay_rewards(
    overlay: &mut StateOverlay<impl StateReader>,
    params: &EconomyParams,
    height: BlockHeight,
    accounts: &Accounts,
    infos: &mut [MiningInfo],
    shares: &[u128],
) -> Result<Option<Event>, TxError> {
    let available = balances::account(overlay, &accounts.mining_pool)?.free;
    let budget = tokenomics::block_budget(params, height).min(available);
    if budget == 0 || shares.iter().all(|s| *s == 0) {
        return Ok(None);
    }
    let to_treasury = mul_div(budget, params.treasury_reward_percent.into(), 100);
    let parts = tokenomics::split_by_weight(budget - to_treasury, shares);
    let to_pools: Balance = parts.iter().sum();
    balances::debit(overlay, &accounts.mining_pool, to_pools + to_treasury)?;
    balances::credit(overlay, &accounts.treasury, to_treasury)?;
    let mut paid = 0u32;
    for (mining, part) in infos.iter_mut().zip(&parts).filter(|(_, p)| **p > 0) {
        paid += 1;
        mining.rewards += part;
        pay_pool(overlay, mining.pool, *part)?;
    }
    Ok(Some(Event::RewardsDistributed {
        to_pools,
        to_treasury,
        workers: paid,
    }))
}

/// A worker's reward reaching its pool: the owner's commission, the rest added to the stake
/// (to the owner as well when the pool has no shareholders left to own it).
fn pay_pool(
    overlay: &mut StateOverlay<impl StateReader>,
    id: phalanx_primitives::economy::PoolId,
    reward: Balance,
) -> Result<(), TxError> {
    let mut pool = staking::read_pool(overlay, id)?;
    let mut commission = mul_div(reward, pool.commission_percent.into(), 100);
    if pool.total_shares == 0 {
        commission = reward;
    }
    let to_stake = reward - commission;
    balances::credit(overlay, &pool.owner, commission)?;
    balances::credit(overlay, &pool_account(id), to_stake)?;
    pool.commission_paid += commission;
    pool.rewards_to_stake += to_stake;
    pool.total_stake += to_stake;
    staking::write_pool(overlay, &pool);
    Ok(())
}
