//! The genesis description: who holds the 1,000,000,000 PHA at height 0, who validates, and the
//! fee schedule. Its hash is the chain's identity (the `chain_id` every transaction carries).
//!
//! The mining-reward pool (70%) and the community fund (9%) are fixed by the protocol and held by
//! keyless module accounts; the remaining 21% is the treasury's endowment plus the named
//! allocations (private placement, developer incentives, ...), and must add up exactly.

use crate::amount::{serde_pha, Balance, TOTAL_SUPPLY, UNIT};
use crate::attestation::AttestationPolicy;
use crate::economy::EconomyParams;
use crate::validators::{MAX_VALIDATORS, MIN_BLOCKS_PER_EPOCH};
use crate::{AccountId, Hash};
use parity_scale_codec::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// 70% of the supply, released per block to workers by later issues.
pub const MINING_POOL_SUPPLY: Balance = 700_000_000 * UNIT;
/// 9% of the supply.
pub const COMMUNITY_SUPPLY: Balance = 90_000_000 * UNIT;

pub const MINING_POOL_MODULE: &str = "mining-rewards";
pub const COMMUNITY_MODULE: &str = "community";
pub const TREASURY_MODULE: &str = "treasury";

const GENESIS_DOMAIN: &[u8] = b"PHALANX_GENESIS_V1";

/// The contract engine, by name and exact version, that runs every contract of a chain made
/// today (docs/engine.md). Gas is consensus among a cluster's workers and differs between
/// engines, versions and compilers, so a chain names its engine at genesis and a worker whose
/// engine is another refuses it: changing engines is a chain upgrade, never a worker setting.
pub const CONTRACT_ENGINE: &str = "wasmtime 48.0.8 cranelift, fuel per operator";

fn default_contract_engine() -> String {
    CONTRACT_ENGINE.to_string()
}
const MAX_CHAIN_NAME_LEN: usize = 64;

/// What a transaction must pay: `base_fee + per_byte_fee * encoded length`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
pub struct FeeSchedule {
    #[serde(with = "serde_pha")]
    pub base_fee: Balance,
    #[serde(with = "serde_pha")]
    pub per_byte_fee: Balance,
}

impl FeeSchedule {
    pub fn min_fee(&self, encoded_len: usize) -> Balance {
        self.per_byte_fee
            .saturating_mul(encoded_len as Balance)
            .saturating_add(self.base_fee)
    }
}

impl Default for FeeSchedule {
    /// 0.001 PHA per transaction plus 0.000001 PHA per byte (a transfer costs about 0.0012 PHA).
    fn default() -> Self {
        FeeSchedule {
            base_fee: UNIT / 1_000,
            per_byte_fee: UNIT / 1_000_000,
        }
    }
}

/// PHA given to one account at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
pub struct Allocation {
    pub account: AccountId,
    #[serde(with = "serde_pha")]
    pub amount: Balance,
    /// What the allocation is for, e.g. "private placement"; informational.
    #[serde(default)]
    pub purpose: String,
}

/// The genesis file (JSON; amounts as PHA decimal strings).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct GenesisConfig {
    pub chain_name: String,
    /// Timestamp of the genesis block; block timestamps only grow from here.
    pub timestamp_ms: u64,
    /// Accounts whose signatures finalise blocks.
    pub validators: Vec<AccountId>,
    /// Each validator's p2p endpoint (`host:port`), in the order of `validators`; empty for a
    /// single-validator chain. Where validators are is not what the chain is: the addresses are
    /// not part of the chain id (they are skipped in the SCALE encoding), so operators may move.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[codec(skip)]
    pub validator_addresses: Vec<String>,
    pub fees: FeeSchedule,
    /// Endowment of the treasury module account.
    #[serde(with = "serde_pha")]
    pub treasury: Balance,
    pub allocations: Vec<Allocation>,
    /// Which enclaves may register: providers, TCB levels, measurement allow-list.
    pub attestation: AttestationPolicy,
    /// The account allowed privileged calls until governance exists; none on production chains.
    #[serde(default)]
    pub sudo: Option<AccountId>,
    /// Staking, rewards, challenges and governance; governance changes them later.
    #[serde(default)]
    pub economy: EconomyParams,
    /// Whether contracts may write debug lines into their senders' receipts (`env::debug`):
    /// dev chains only; elsewhere code that imports `debug` is refused at upload.
    #[serde(default)]
    pub allow_debug_output: bool,
    /// Blocks per consensus epoch, on a chain whose validators governance may change (a change
    /// takes effect at an epoch's first height). `None`: the genesis validators for ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks_per_epoch: Option<u64>,
    /// The engine every worker runs contracts with (see [`CONTRACT_ENGINE`]).
    #[serde(default = "default_contract_engine")]
    pub contract_engine: String,
}

/// Why a genesis description is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GenesisError {
    #[error("chain name must be 1 to {MAX_CHAIN_NAME_LEN} characters")]
    BadChainName,
    #[error("an epoch of {0} blocks is shorter than the {MIN_BLOCKS_PER_EPOCH} allowed")]
    ShortEpoch(u64),
    #[error("genesis names {0} validators, more than the {MAX_VALIDATORS} allowed")]
    TooManyValidators(usize),
    #[error("genesis names no validator")]
    NoValidators,
    #[error("validator {0} is listed twice")]
    DuplicateValidator(AccountId),
    #[error("account {0} is allocated twice")]
    DuplicateAllocation(AccountId),
    #[error("allocation to module account {0} is not allowed; use the `treasury` field")]
    ModuleAllocation(AccountId),
    #[error("the chain runs its contracts on `{0}`, but this build runs them on `{CONTRACT_ENGINE}`: gas would differ (a build of the chain's engine is needed)")]
    OtherContractEngine(String),
    #[error("allocations total {found} units; mining pool + community + treasury + allocations must be exactly {TOTAL_SUPPLY} units (1,000,000,000 PHA)")]
    WrongSupply { found: Balance },
}

impl GenesisConfig {
    pub fn mining_pool_account() -> AccountId {
        AccountId::module(MINING_POOL_MODULE)
    }
    pub fn community_account() -> AccountId {
        AccountId::module(COMMUNITY_MODULE)
    }
    pub fn treasury_account() -> AccountId {
        AccountId::module(TREASURY_MODULE)
    }

    /// The chain's identity.
    pub fn hash(&self) -> Hash {
        crate::sha256_parts(&[GENESIS_DOMAIN, &self.encode()])
    }

    /// Every account's starting balance, module accounts first; checked to sum to the supply.
    pub fn balances(&self) -> Result<Vec<(AccountId, Balance)>, GenesisError> {
        self.validate()?;
        let mut balances = vec![
            (Self::mining_pool_account(), MINING_POOL_SUPPLY),
            (Self::community_account(), COMMUNITY_SUPPLY),
            (Self::treasury_account(), self.treasury),
        ];
        balances.extend(self.allocations.iter().map(|a| (a.account, a.amount)));
        Ok(balances)
    }

    pub fn validate(&self) -> Result<(), GenesisError> {
        if self.chain_name.is_empty() || self.chain_name.len() > MAX_CHAIN_NAME_LEN {
            return Err(GenesisError::BadChainName);
        }
        if self.validators.is_empty() {
            return Err(GenesisError::NoValidators);
        }
        if self.validators.len() > MAX_VALIDATORS {
            return Err(GenesisError::TooManyValidators(self.validators.len()));
        }
        if self.contract_engine != CONTRACT_ENGINE {
            return Err(GenesisError::OtherContractEngine(
                self.contract_engine.clone(),
            ));
        }
        if let Some(blocks) = self.blocks_per_epoch.filter(|b| *b < MIN_BLOCKS_PER_EPOCH) {
            return Err(GenesisError::ShortEpoch(blocks));
        }
        let mut validators = BTreeSet::new();
        for validator in &self.validators {
            if !validators.insert(validator) {
                return Err(GenesisError::DuplicateValidator(*validator));
            }
        }
        // The addresses are checked where they are used (`phalanx node --p2p-addr`): a genesis
        // read back from its SCALE encoding (workers, `chain_getGenesis`) has none.
        let modules = [
            Self::mining_pool_account(),
            Self::community_account(),
            Self::treasury_account(),
        ];
        let mut seen = BTreeSet::new();
        let mut total =
            Some(MINING_POOL_SUPPLY + COMMUNITY_SUPPLY).and_then(|t| t.checked_add(self.treasury));
        for allocation in &self.allocations {
            if modules.contains(&allocation.account) {
                return Err(GenesisError::ModuleAllocation(allocation.account));
            }
            if !seen.insert(allocation.account) {
                return Err(GenesisError::DuplicateAllocation(allocation.account));
            }
            total = total.and_then(|t| t.checked_add(allocation.amount));
        }
        match total {
            Some(TOTAL_SUPPLY) => Ok(()),
            other => Err(GenesisError::WrongSupply {
                found: other.unwrap_or(Balance::MAX),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(allocated: Balance) -> GenesisConfig {
        GenesisConfig {
            chain_name: "test".into(),
            timestamp_ms: 0,
            validators: vec![AccountId::from_bytes([1; 32])],
            validator_addresses: vec![],
            fees: FeeSchedule::default(),
            treasury: 10_000_000 * UNIT,
            allocations: vec![Allocation {
                account: AccountId::from_bytes([2; 32]),
                amount: allocated,
                purpose: "private placement".into(),
            }],
            attestation: AttestationPolicy::production(
                vec![],
                crate::attestation::ConfidenceLevel::UpToDate,
            ),
            sudo: None,
            economy: EconomyParams::default(),
            allow_debug_output: false,
            blocks_per_epoch: None,
            contract_engine: CONTRACT_ENGINE.into(),
        }
    }

    #[test]
    fn supply_must_be_exact() {
        assert!(config(200_000_000 * UNIT).validate().is_ok());
        assert!(matches!(
            config(200_000_000 * UNIT + 1).validate(),
            Err(GenesisError::WrongSupply { .. })
        ));
        assert!(matches!(
            config(Balance::MAX).validate(),
            Err(GenesisError::WrongSupply { .. })
        ));
        let total: Balance = config(200_000_000 * UNIT)
            .balances()
            .unwrap()
            .iter()
            .map(|b| b.1)
            .sum();
        assert_eq!(total, TOTAL_SUPPLY);
    }

    #[test]
    fn json_round_trip_and_hash_identity() {
        let c = config(200_000_000 * UNIT);
        let json = serde_json::to_string_pretty(&c).unwrap();
        assert!(json.contains("\"200000000\""));
        let back: GenesisConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back.hash(), c.hash());
        let mut other = c.clone();
        other.chain_name = "other".into();
        assert_ne!(other.hash(), c.hash());
    }

    #[test]
    fn a_chain_of_another_contract_engine_is_refused() {
        let mut c = config(200_000_000 * UNIT);
        let json = serde_json::to_string(&c).unwrap();
        // A genesis file that names no engine gets this build's.
        let unnamed = json.replace(&format!(r#","contract_engine":"{CONTRACT_ENGINE}""#), "");
        assert_ne!(unnamed, json);
        let back: GenesisConfig = serde_json::from_str(&unnamed).unwrap();
        assert_eq!(back.contract_engine, CONTRACT_ENGINE);
        // The engine is part of what the chain is.
        c.contract_engine = "wasmi 2.0.0".into();
        assert_ne!(c.hash(), back.hash());
        assert_eq!(
            c.validate(),
            Err(GenesisError::OtherContractEngine("wasmi 2.0.0".into()))
        );
    }
}
