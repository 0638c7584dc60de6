//! The PHA economy's parameters: staking, computation rewards, heartbeat challenges, gas sharing
//! and governance. They start from the genesis description and change only by governance (a
//! `SetParameter` proposal), so every constant of the economy is one named [`Parameter`].

use crate::amount::{serde_pha, Balance, UNIT};
use parity_scale_codec::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Identifies a stake pool; pools are numbered from 0 in creation order.
pub type PoolId = u64;
/// Identifies a governance proposal; numbered from 0.
pub type ProposalId = u32;

/// Every governed constant of the economy. Amounts are in units (10^-12 PHA); `*_ppm` values
/// are parts per million; percents are 0..=100.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields, default)]
pub struct EconomyParams {
    /// Stake a pool must hold per computing worker.
    #[serde(with = "serde_pha")]
    pub min_stake: Balance,
    /// How long a withdrawal from a pool waits before it is paid.
    pub withdraw_cooldown_ms: u64,
    /// Computation rewards released from the mining pool per block, before halvings.
    #[serde(with = "serde_pha")]
    pub reward_budget_per_block: Balance,
    /// The per-block budget halves after every this many blocks.
    pub halving_interval_blocks: u64,
    /// Percent of each block's budget that goes to the treasury; the rest goes to the pools.
    pub treasury_reward_percent: u8,
    /// Re, the stake multiplier of the initial V, in percent (150 = 1.5).
    pub stake_multiplier_percent: u32,
    /// C, the estimated cost of a worker's machine, per point of its performance score.
    #[serde(with = "serde_pha")]
    pub rig_cost_per_point: Balance,
    /// The most V a worker can reach.
    #[serde(with = "serde_pha")]
    pub v_max: Balance,
    /// V grows by this much per block while the worker is responsive.
    pub v_growth_ppm: u32,
    /// V is cut by this much per block while the worker is unresponsive.
    pub v_cut_ppm: u32,
    /// Each block, a computing worker is challenged with probability 1 / this.
    pub challenge_one_in_blocks: u32,
    /// A challenged worker must send a heartbeat within this many blocks.
    pub challenge_window_blocks: u32,
    /// Percent of a contract's gas fees paid to its cluster's workers; the rest to the treasury.
    pub worker_gas_share_percent: u8,
    /// Blocks a proposal is open for votes.
    pub voting_period_blocks: u64,
    /// Blocks between a proposal passing and its enactment.
    pub enactment_delay_blocks: u64,
    /// Least PHA that must be locked in votes (ayes plus nays) for a proposal to pass.
    #[serde(with = "serde_pha")]
    pub quorum: Balance,
    /// A proposal passes when more than this percent of the locked votes are ayes.
    pub approval_percent: u8,
    /// PHA a proposer locks until the vote closes.
    #[serde(with = "serde_pha")]
    pub proposal_deposit: Balance,
    /// Price of one unit of contract gas (the VM's fuel), for commands, instantiations, messages and
    /// uploads; a prepaid command keeps the price it paid.
    #[serde(with = "serde_pha")]
    pub gas_price: Balance,
    /// Gas a cluster's commands and instantiations may reserve (their gas limits together) in
    /// one block: what its workers can execute within a block time (`cargo bench --bench
    /// gas_rate` measures the rate), with room to spare.
    pub cluster_block_gas: u64,
    /// Most gas one command, instantiation or message may reserve; at most half a cluster's
    /// block budget (one sender's share of a block).
    pub max_command_gas: u64,
}

/// The largest value `max_command_gas` may be set to.
pub const MAX_COMMAND_GAS_CEILING: u64 = 1_000_000_000;

/// Six-second blocks in a (365-day) year.
pub const BLOCKS_PER_YEAR_AT_6S: u64 = 365 * 24 * 600;

impl Default for EconomyParams {
    /// Production defaults, for six-second blocks. The budget is 66 PHA a block halving yearly:
    /// at most 2 × 66 × 5,256,000 ≈ 693.8 million PHA ever, inside the 700 million mining pool.
    fn default() -> Self {
        EconomyParams {
            min_stake: 5_000 * UNIT,
            withdraw_cooldown_ms: 7 * 24 * 3600 * 1000,
            reward_budget_per_block: 66 * UNIT,
            halving_interval_blocks: BLOCKS_PER_YEAR_AT_6S,
            treasury_reward_percent: 20,
            stake_multiplier_percent: 150,
            rig_cost_per_point: 3 * UNIT / 10,
            v_max: 30_000 * UNIT,
            v_growth_ppm: 1,
            v_cut_ppm: 100,
            challenge_one_in_blocks: 600,
            challenge_window_blocks: 10,
            worker_gas_share_percent: 50,
            voting_period_blocks: 7 * 14_400,
            enactment_delay_blocks: 14_400,
            quorum: 10_000_000 * UNIT,
            approval_percent: 50,
            proposal_deposit: 1_000 * UNIT,
            // 10^-9 PHA a unit of gas: a 10-million-gas command reserves 0.01 PHA.
            gas_price: 1_000,
            // Six-second blocks; about half of the slowest measured rate (~480 M gas/s).
            cluster_block_gas: 1_500_000_000,
            max_command_gas: 250_000_000,
        }
    }
}

impl EconomyParams {
    /// A dev chain's: seconds instead of days, so that a devnet shows the whole cycle.
    pub fn dev() -> Self {
        EconomyParams {
            min_stake: 1_000 * UNIT,
            withdraw_cooldown_ms: 5_000,
            challenge_one_in_blocks: 20,
            voting_period_blocks: 10,
            enactment_delay_blocks: 2,
            quorum: 100_000 * UNIT,
            proposal_deposit: 100 * UNIT,
            // One-second blocks (the dev node's default) on a devnet whose node and workers share
            // one small machine: the slowest code runs at ~110 M gas/s per worker there.
            cluster_block_gas: 100_000_000,
            max_command_gas: 25_000_000,
            ..EconomyParams::default()
        }
    }

    pub fn get(&self, parameter: Parameter) -> u128 {
        use Parameter::*;
        match parameter {
            MinStake => self.min_stake,
            WithdrawCooldownMs => self.withdraw_cooldown_ms.into(),
            RewardBudgetPerBlock => self.reward_budget_per_block,
            HalvingIntervalBlocks => self.halving_interval_blocks.into(),
            TreasuryRewardPercent => self.treasury_reward_percent.into(),
            StakeMultiplierPercent => self.stake_multiplier_percent.into(),
            RigCostPerPoint => self.rig_cost_per_point,
            VMax => self.v_max,
            VGrowthPpm => self.v_growth_ppm.into(),
            VCutPpm => self.v_cut_ppm.into(),
            ChallengeOneInBlocks => self.challenge_one_in_blocks.into(),
            ChallengeWindowBlocks => self.challenge_window_blocks.into(),
            WorkerGasSharePercent => self.worker_gas_share_percent.into(),
            VotingPeriodBlocks => self.voting_period_blocks.into(),
            EnactmentDelayBlocks => self.enactment_delay_blocks.into(),
            Quorum => self.quorum,
            ApprovalPercent => self.approval_percent.into(),
            ProposalDeposit => self.proposal_deposit,
            GasPrice => self.gas_price,
            ClusterBlockGas => self.cluster_block_gas.into(),
            MaxCommandGas => self.max_command_gas.into(),
        }
    }

    /// Sets one parameter, refusing a value out of its range (which would stall the chain or
    /// break an invariant: a zero interval, a percent above 100).
    pub fn set(&mut self, parameter: Parameter, value: u128) -> Result<(), String> {
        use Parameter::*;
        let out_of_range = || format!("{value} is out of range for {parameter}");
        let percent = |v: u128| {
            u8::try_from(v)
                .ok()
                .filter(|p| *p <= 100)
                .ok_or_else(out_of_range)
        };
        let positive_u64 = |v: u128| {
            u64::try_from(v)
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(out_of_range)
        };
        let positive_u32 = |v: u128| {
            u32::try_from(v)
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(out_of_range)
        };
        let ppm = |v: u128| {
            u32::try_from(v)
                .ok()
                .filter(|v| *v <= 1_000_000)
                .ok_or_else(out_of_range)
        };
        match parameter {
            MinStake => self.min_stake = value,
            WithdrawCooldownMs => {
                self.withdraw_cooldown_ms = u64::try_from(value).map_err(|_| out_of_range())?
            }
            RewardBudgetPerBlock => self.reward_budget_per_block = value,
            HalvingIntervalBlocks => self.halving_interval_blocks = positive_u64(value)?,
            TreasuryRewardPercent => self.treasury_reward_percent = percent(value)?,
            StakeMultiplierPercent => {
                self.stake_multiplier_percent = u32::try_from(value)
                    .ok()
                    .filter(|v| *v >= 100 && *v <= 1_000)
                    .ok_or_else(out_of_range)?
            }
            RigCostPerPoint => self.rig_cost_per_point = value,
            VMax => self.v_max = value,
            VGrowthPpm => self.v_growth_ppm = ppm(value)?,
            VCutPpm => self.v_cut_ppm = ppm(value)?,
            ChallengeOneInBlocks => self.challenge_one_in_blocks = positive_u32(value)?,
            ChallengeWindowBlocks => self.challenge_window_blocks = positive_u32(value)?,
            WorkerGasSharePercent => self.worker_gas_share_percent = percent(value)?,
            VotingPeriodBlocks => self.voting_period_blocks = positive_u64(value)?,
            EnactmentDelayBlocks => {
                self.enactment_delay_blocks = u64::try_from(value).map_err(|_| out_of_range())?
            }
            Quorum => self.quorum = value,
            ApprovalPercent => self.approval_percent = percent(value)?,
            ProposalDeposit => self.proposal_deposit = value,
            GasPrice => self.gas_price = value,
            // One sender's share of a block must hold the largest command, or it would wait
            // for ever.
            ClusterBlockGas => {
                let budget = positive_u64(value)?;
                if budget / 2 < self.max_command_gas {
                    return Err(format!(
                        "{value} is out of range for {parameter}: at least twice max_command_gas ({})",
                        self.max_command_gas
                    ));
                }
                self.cluster_block_gas = budget
            }
            MaxCommandGas => {
                let max = positive_u64(value)?;
                if max > MAX_COMMAND_GAS_CEILING || max > self.cluster_block_gas / 2 {
                    return Err(format!(
                        "{value} is out of range for {parameter}: at most {MAX_COMMAND_GAS_CEILING} and half of cluster_block_gas ({})",
                        self.cluster_block_gas
                    ));
                }
                self.max_command_gas = max
            }
        }
        Ok(())
    }
}

/// One governed parameter, by name (`min_stake`, `withdraw_cooldown_ms`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub enum Parameter {
    #[codec(index = 0)]
    MinStake,
    #[codec(index = 1)]
    WithdrawCooldownMs,
    #[codec(index = 2)]
    RewardBudgetPerBlock,
    #[codec(index = 3)]
    HalvingIntervalBlocks,
    #[codec(index = 4)]
    TreasuryRewardPercent,
    #[codec(index = 5)]
    StakeMultiplierPercent,
    #[codec(index = 6)]
    RigCostPerPoint,
    #[codec(index = 7)]
    VMax,
    #[codec(index = 8)]
    VGrowthPpm,
    #[codec(index = 9)]
    VCutPpm,
    #[codec(index = 10)]
    ChallengeOneInBlocks,
    #[codec(index = 11)]
    ChallengeWindowBlocks,
    #[codec(index = 12)]
    WorkerGasSharePercent,
    #[codec(index = 13)]
    VotingPeriodBlocks,
    #[codec(index = 14)]
    EnactmentDelayBlocks,
    #[codec(index = 15)]
    Quorum,
    #[codec(index = 16)]
    ApprovalPercent,
    #[codec(index = 17)]
    ProposalDeposit,
    #[codec(index = 18)]
    GasPrice,
    #[codec(index = 19)]
    ClusterBlockGas,
    #[codec(index = 20)]
    MaxCommandGas,
}

impl Parameter {
    pub const ALL: [Parameter; 21] = {
        use Parameter::*;
        [
            MinStake,
            WithdrawCooldownMs,
            RewardBudgetPerBlock,
            HalvingIntervalBlocks,
            TreasuryRewardPercent,
            StakeMultiplierPercent,
            RigCostPerPoint,
            VMax,
            VGrowthPpm,
            VCutPpm,
            ChallengeOneInBlocks,
            ChallengeWindowBlocks,
            WorkerGasSharePercent,
            VotingPeriodBlocks,
            EnactmentDelayBlocks,
            Quorum,
            ApprovalPercent,
            ProposalDeposit,
            GasPrice,
            ClusterBlockGas,
            MaxCommandGas,
        ]
    };

    /// The name used in genesis files, the CLI and events.
    pub fn name(self) -> &'static str {
        use Parameter::*;
        match self {
            MinStake => "min_stake",
            WithdrawCooldownMs => "withdraw_cooldown_ms",
            RewardBudgetPerBlock => "reward_budget_per_block",
            HalvingIntervalBlocks => "halving_interval_blocks",
            TreasuryRewardPercent => "treasury_reward_percent",
            StakeMultiplierPercent => "stake_multiplier_percent",
            RigCostPerPoint => "rig_cost_per_point",
            VMax => "v_max",
            VGrowthPpm => "v_growth_ppm",
            VCutPpm => "v_cut_ppm",
            ChallengeOneInBlocks => "challenge_one_in_blocks",
            ChallengeWindowBlocks => "challenge_window_blocks",
            WorkerGasSharePercent => "worker_gas_share_percent",
            VotingPeriodBlocks => "voting_period_blocks",
            EnactmentDelayBlocks => "enactment_delay_blocks",
            Quorum => "quorum",
            ApprovalPercent => "approval_percent",
            ProposalDeposit => "proposal_deposit",
            GasPrice => "gas_price",
            ClusterBlockGas => "cluster_block_gas",
            MaxCommandGas => "max_command_gas",
        }
    }

    /// Whether the value is an amount of PHA (written as a PHA decimal by people).
    pub fn is_amount(self) -> bool {
        use Parameter::*;
        matches!(
            self,
            MinStake
                | RewardBudgetPerBlock
                | RigCostPerPoint
                | VMax
                | Quorum
                | ProposalDeposit
                | GasPrice
        )
    }
}

impl std::fmt::Display for Parameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Parameter {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Parameter::ALL
            .into_iter()
            .find(|p| p.name() == text)
            .ok_or_else(|| {
                let names: Vec<_> = Parameter::ALL.iter().map(|p| p.name()).collect();
                format!("unknown parameter `{text}`; one of: {}", names.join(", "))
            })
    }
}

/// Where a worker stands in computation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ComputingState {
    /// Bound to a pool, not computing.
    #[codec(index = 0)]
    Idle,
    /// Computing and answering its challenges: earns rewards, V grows.
    #[codec(index = 1)]
    Computing,
    /// Computing but missed a challenge: earns nothing, V is cut each block until it answers.
    #[codec(index = 2)]
    Unresponsive,
}

impl std::fmt::Display for ComputingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ComputingState::Idle => "idle",
            ComputingState::Computing => "computing",
            ComputingState::Unresponsive => "unresponsive",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_round_trips_by_name_and_value() {
        let mut params = EconomyParams::default();
        for parameter in Parameter::ALL {
            assert_eq!(parameter.name().parse::<Parameter>().unwrap(), parameter);
            let value = params.get(parameter);
            params.set(parameter, value).unwrap();
            assert_eq!(params.get(parameter), value);
        }
        assert_eq!(params, EconomyParams::default());
        assert!("nonsense".parse::<Parameter>().is_err());
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let mut params = EconomyParams::default();
        assert!(params.set(Parameter::TreasuryRewardPercent, 101).is_err());
        assert!(params.set(Parameter::HalvingIntervalBlocks, 0).is_err());
        assert!(params.set(Parameter::ChallengeOneInBlocks, 0).is_err());
        assert!(params.set(Parameter::StakeMultiplierPercent, 99).is_err());
        assert!(params.set(Parameter::VCutPpm, 1_000_001).is_err());
        assert_eq!(params, EconomyParams::default());
    }

    #[test]
    fn the_default_schedule_fits_the_mining_pool() {
        let p = EconomyParams::default();
        let ever = 2 * p.reward_budget_per_block * p.halving_interval_blocks as u128;
        assert!(ever <= crate::genesis::MINING_POOL_SUPPLY);
    }
}
