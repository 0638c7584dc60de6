//! Errors of the state machine: why a transaction is refused, and storage failures underneath.

use phalanx_primitives::amount::format_pha;
use phalanx_primitives::{Balance, Hash};

/// The backing store could not be read. Not the transaction's fault: the caller must stop and
/// not treat the transaction as invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state storage failed: {0}")]
pub struct StateError(pub String);

/// Why the ledger refuses a transaction. Each variant is something a client can act on; none
/// changes any state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxError {
    #[error("transaction is for chain {found}, this chain is {expected}")]
    WrongChain { expected: Hash, found: Hash },
    #[error("nonce {found} was already used; the next nonce of this account is {expected}")]
    StaleNonce { expected: u64, found: u64 },
    #[error("nonce {found} is in the future; the next nonce of this account is {expected}")]
    FutureNonce { expected: u64, found: u64 },
    #[error("fee {} PHA is below the minimum {} PHA for this transaction", format_pha(*offered), format_pha(*minimum))]
    FeeTooLow { minimum: Balance, offered: Balance },
    #[error("balance {} PHA cannot pay {} PHA (amount plus fee)", format_pha(*available), format_pha(*needed))]
    InsufficientBalance { needed: Balance, available: Balance },
    #[error("attestation refused: {0}")]
    Attestation(String),
    #[error("only the sudo account may make this call")]
    NotSudo,
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    #[error(transparent)]
    Cluster(#[from] crate::clusters::ClusterError),
    #[error(transparent)]
    MasterKey(#[from] crate::master_key::MasterKeyError),
    #[error(transparent)]
    Contract(#[from] crate::contracts::ContractError),
    #[error(transparent)]
    Egress(#[from] crate::egress::EgressError),
    #[error(transparent)]
    Heartbeat(#[from] crate::heartbeats::HeartbeatError),
    #[error(transparent)]
    Staking(#[from] crate::staking::StakingError),
    #[error(transparent)]
    Governance(#[from] crate::governance::GovernanceError),
    #[error(transparent)]
    Mining(#[from] crate::mining::MiningError),
    #[error(transparent)]
    Validators(#[from] crate::validators::ValidatorError),
    #[error("gas limit {gas_limit} is above the chain's maximum for one command, {max}")]
    GasLimitTooHigh { gas_limit: u64, max: u64 },
    /// Not in this block: the cluster's (or this sender's share of its) gas budget is used up.
    /// Block producers keep the transaction for a later block; clients never see this.
    #[error("cluster {cluster} has {used} of its {budget} gas a block reserved; wait for the next block")]
    BlockGasFull {
        cluster: Hash,
        used: u64,
        budget: u64,
    },
    #[error(transparent)]
    Storage(#[from] StateError),
}

/// What a module's refusal is, for clients: a call that cannot apply as asked, or one its signer
/// may not make. It decides the RPC error code (`INVALID_CALL` or `NOT_AUTHORIZED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    InvalidCall,
    NotAuthorized,
}

impl Refusal {
    pub fn kind(self) -> &'static str {
        match self {
            Refusal::InvalidCall => "InvalidCall",
            Refusal::NotAuthorized => "NotAuthorized",
        }
    }
}

/// What every module's error enum tells beside its message.
pub trait Cause {
    /// Stable snake_case name of the precise cause (RPC error `data.cause`), e.g. `no_cluster`.
    fn cause(&self) -> &'static str;
    fn refusal(&self) -> Refusal;
}

impl TxError {
    /// The module error inside, if the refusal is one.
    fn module(&self) -> Option<&dyn Cause> {
        Some(match self {
            TxError::Registry(e) => e,
            TxError::Cluster(e) => e,
            TxError::MasterKey(e) => e,
            TxError::Contract(e) => e,
            TxError::Egress(e) => e,
            TxError::Heartbeat(e) => e,
            TxError::Staking(e) => e,
            TxError::Governance(e) => e,
            TxError::Mining(e) => e,
            TxError::Validators(e) => e,
            _ => return None,
        })
    }

    /// Stable snake_case name of the precise cause: the module's for a module refusal, else the
    /// kind's (e.g. `stale_nonce`). RPC errors carry it as `data.cause`.
    pub fn cause(&self) -> &'static str {
        if let Some(module) = self.module() {
            return module.cause();
        }
        match self {
            TxError::WrongChain { .. } => "wrong_chain",
            TxError::StaleNonce { .. } => "stale_nonce",
            TxError::FutureNonce { .. } => "future_nonce",
            TxError::FeeTooLow { .. } => "fee_too_low",
            TxError::InsufficientBalance { .. } => "insufficient_balance",
            TxError::Attestation(_) => "attestation_failed",
            TxError::NotSudo => "not_sudo",
            TxError::GasLimitTooHigh { .. } => "gas_limit_too_high",
            TxError::BlockGasFull { .. } => "block_gas_full",
            _ => "storage",
        }
    }

    /// Whether the call was refused as invalid or as not the signer's to make, for module
    /// refusals and `NotSudo`.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            TxError::NotSudo => Some(Refusal::NotAuthorized),
            TxError::GasLimitTooHigh { .. } => Some(Refusal::InvalidCall),
            _ => self.module().map(Cause::refusal),
        }
    }

    /// Stable machine-readable name, used in RPC error data.
    pub fn kind(&self) -> &'static str {
        match self {
            TxError::WrongChain { .. } => "WrongChain",
            TxError::StaleNonce { .. } => "StaleNonce",
            TxError::FutureNonce { .. } => "FutureNonce",
            TxError::FeeTooLow { .. } => "FeeTooLow",
            TxError::InsufficientBalance { .. } => "InsufficientBalance",
            TxError::Attestation(_) => "AttestationFailed",
            TxError::NotSudo => "NotAuthorized",
            TxError::GasLimitTooHigh { .. } => "GasLimitTooHigh",
            TxError::BlockGasFull { .. } => "BlockGasFull",
            TxError::Storage(_) => "Storage",
            module => module.refusal().map_or("Storage", Refusal::kind),
        }
    }
}
