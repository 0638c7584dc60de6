//! JSON shapes of the economy API: stake pools, computing workers, rewards and governance.
//! Amounts are decimal strings of units (`*_units`); shares are units of shares.

use phalanx_primitives::amount::{serde_units, Balance};
use phalanx_primitives::attestation::ConfidenceLevel;
use phalanx_primitives::AccountId;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PoolView {
    pub pool: u64,
    pub owner: AccountId,
    pub commission_percent: u8,
    #[serde(with = "serde_units")]
    pub total_stake_units: Balance,
    #[serde(with = "serde_units")]
    pub total_shares: Balance,
    pub workers: Vec<AccountId>,
    /// Rewards added to the stake (the delegators' part), in total.
    #[serde(with = "serde_units")]
    pub rewards_to_stake_units: Balance,
    /// Commission paid to the owner, in total.
    #[serde(with = "serde_units")]
    pub commission_paid_units: Balance,
}

/// One account's stake in one pool.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct StakeView {
    pub pool: u64,
    #[serde(with = "serde_units")]
    pub shares: Balance,
    /// What the shares are worth at the pool's current price.
    #[serde(with = "serde_units")]
    pub value_units: Balance,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct WithdrawalView {
    pub pool: u64,
    pub who: AccountId,
    #[serde(with = "serde_units")]
    pub shares: Balance,
    pub release_at_ms: u64,
}

/// An account's stakes and waiting withdrawals.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct StakesView {
    pub account: AccountId,
    pub stakes: Vec<StakeView>,
    pub withdrawals: Vec<WithdrawalView>,
}

/// A registered worker as the economy sees it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct WorkerEconomyView {
    pub identity: AccountId,
    pub operator: AccountId,
    pub confidence: ConfidenceLevel,
    pub confidence_percent: u32,
    /// The benchmark score it reported last, if any.
    pub benchmark: Option<u32>,
    /// Its pool, once bound.
    pub pool: Option<u64>,
    /// `unbound`, `idle`, `computing` or `unresponsive`.
    pub state: String,
    #[serde(with = "serde_units")]
    pub v_units: Balance,
    /// P as computation uses it (the benchmark when it started, or reported since).
    pub performance: u32,
    /// Its share of each block's rewards, relative to the others'.
    pub share: String,
    #[serde(with = "serde_units")]
    pub rewards_units: Balance,
    pub challenge_deadline: Option<u64>,
}

/// The mining pool's emission as of the head.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RewardsView {
    pub height: u64,
    /// What the next block releases (before capping by what is left).
    #[serde(with = "serde_units")]
    pub budget_per_block_units: Balance,
    /// The next height at which the budget halves.
    pub next_halving_at: u64,
    /// What the mining pool still holds.
    #[serde(with = "serde_units")]
    pub mining_pool_units: Balance,
    /// Released so far (700,000,000 PHA less what is left).
    #[serde(with = "serde_units")]
    pub emitted_units: Balance,
    pub treasury_reward_percent: u8,
    pub computing_workers: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct VoteView {
    pub voter: AccountId,
    pub aye: bool,
    #[serde(with = "serde_units")]
    pub amount_units: Balance,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProposalView {
    pub proposal: u32,
    pub proposer: AccountId,
    /// The proposed call, in words.
    pub call: String,
    #[serde(with = "serde_units")]
    pub deposit_units: Balance,
    pub created: u64,
    pub voting_ends: u64,
    #[serde(with = "serde_units")]
    pub ayes_units: Balance,
    #[serde(with = "serde_units")]
    pub nays_units: Balance,
    pub votes: Vec<VoteView>,
    /// `voting`, `passed`, `rejected`, `enacted` or `failed`.
    pub status: String,
    /// For a passed proposal: when it is enacted.
    pub enact_at: Option<u64>,
}
