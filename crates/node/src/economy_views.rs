//! The economy as the RPC shows it: views built from a state snapshot, read-only.

use phalanx_api::economy::{
    PoolView, ProposalView, RewardsView, StakeView, StakesView, VoteView, WithdrawalView,
    WorkerEconomyView,
};
use phalanx_api::views::describe_sudo_call;
use phalanx_primitives::attestation::Role;
use phalanx_primitives::genesis::MINING_POOL_SUPPLY;
use phalanx_primitives::{AccountId, BlockHeight, GenesisConfig};
use phalanx_runtime::governance::{self, ProposalStatus};
use phalanx_runtime::tokenomics;
use phalanx_runtime::{balances, registry, staking, StateError, StateReader};

pub(crate) fn pools(state: &impl StateReader) -> Result<Vec<PoolView>, StateError> {
    let mut pools = Vec::new();
    for id in 0..staking::pool_count(state)? {
        if let Some(p) = staking::pool(state, id)? {
            pools.push(PoolView {
                pool: p.id,
                owner: p.owner,
                commission_percent: p.commission_percent,
                total_stake_units: p.total_stake,
                total_shares: p.total_shares,
                workers: p.workers,
                rewards_to_stake_units: p.rewards_to_stake,
                commission_paid_units: p.commission_paid,
            });
        }
    }
    Ok(pools)
}

pub(crate) fn stakes(
    state: &impl StateReader,
    account: AccountId,
) -> Result<StakesView, StateError> {
    let mut stakes = Vec::new();
    for id in 0..staking::pool_count(state)? {
        let shares = staking::shares(state, id, &account)?;
        if shares == 0 {
            continue;
        }
        let pool =
            staking::pool(state, id)?.ok_or_else(|| StateError(format!("pool {id} missing")))?;
        stakes.push(StakeView {
            pool: id,
            shares,
            value_units: pool.value_of(shares),
        });
    }
    let withdrawals = staking::withdrawals(state)?
        .into_iter()
        .filter(|w| w.who == account)
        .map(|w| WithdrawalView {
            pool: w.pool,
            who: w.who,
            shares: w.shares,
            release_at_ms: w.release_at_ms,
        })
        .collect();
    Ok(StakesView {
        account,
        stakes,
        withdrawals,
    })
}

pub(crate) fn workers(state: &impl StateReader) -> Result<Vec<WorkerEconomyView>, StateError> {
    let mut views = Vec::new();
    for identity in registry::all(state)? {
        let Some(info) = registry::worker(state, &identity)? else {
            continue;
        };
        if info.role != Role::Worker {
            continue;
        }
        let mining = staking::mining(state, &identity)?;
        let confidence_percent = tokenomics::confidence_percent(info.confidence);
        let (state_name, share) = match &mining {
            None => ("unbound".to_string(), 0),
            Some(m) => (m.state.to_string(), m.share()),
        };
        views.push(WorkerEconomyView {
            identity,
            operator: info.operator,
            confidence: info.confidence,
            confidence_percent,
            benchmark: staking::benchmark(state, &identity)?,
            pool: mining.as_ref().map(|m| m.pool),
            state: state_name,
            v_units: mining.as_ref().map_or(0, |m| m.v),
            performance: mining.as_ref().map_or(0, |m| m.performance),
            share: share.to_string(),
            rewards_units: mining.as_ref().map_or(0, |m| m.rewards),
            challenge_deadline: mining.as_ref().and_then(|m| m.challenge_deadline),
        });
    }
    Ok(views)
}

pub(crate) fn rewards(
    state: &impl StateReader,
    head: BlockHeight,
) -> Result<RewardsView, StateError> {
    let params = tokenomics::params(state)?;
    let left = balances::account(state, &GenesisConfig::mining_pool_account())?.free;
    let interval = params.halving_interval_blocks.max(1);
    Ok(RewardsView {
        height: head,
        budget_per_block_units: tokenomics::block_budget(&params, head + 1),
        next_halving_at: (head / interval + 1) * interval,
        mining_pool_units: left,
        emitted_units: MINING_POOL_SUPPLY.saturating_sub(left),
        treasury_reward_percent: params.treasury_reward_percent,
        computing_workers: staking::computing(state)?.len() as u32,
    })
}

pub(crate) fn proposals(state: &impl StateReader) -> Result<Vec<ProposalView>, StateError> {
    let mut views = Vec::new();
    for id in 0..governance::proposal_count(state)? {
        let Some(p) = governance::proposal(state, id)? else {
            continue;
        };
        let (status, enact_at) = match p.status {
            ProposalStatus::Voting => ("voting", None),
            ProposalStatus::Passed { enact_at } => ("passed", Some(enact_at)),
            ProposalStatus::Rejected => ("rejected", None),
            ProposalStatus::Enacted => ("enacted", None),
            ProposalStatus::Failed => ("failed", None),
        };
        views.push(ProposalView {
            proposal: p.id,
            proposer: p.proposer,
            call: describe_sudo_call(&p.call),
            deposit_units: p.deposit,
            created: p.created,
            voting_ends: p.voting_ends,
            ayes_units: p.ayes,
            nays_units: p.nays,
            votes: p
                .votes
                .into_iter()
                .map(|v| VoteView {
                    voter: v.voter,
                    aye: v.aye,
                    amount_units: v.amount,
                })
                .collect(),
            status: status.to_string(),
            enact_at,
        });
    }
    Ok(views)
}
