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
    #[error("not authorized: {0}")]
    NotAuthorized(String),
    #[error("invalid call: {0}")]
    InvalidCall(String),
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

impl TxError {
    /// Stable machine-readable name, used in RPC error data.
    pub fn kind(&self) -> &'static str {
        match self {
            TxError::WrongChain { .. } => "WrongChain",
            TxError::StaleNonce { .. } => "StaleNonce",
            TxError::FutureNonce { .. } => "FutureNonce",
            TxError::FeeTooLow { .. } => "FeeTooLow",
            TxError::InsufficientBalance { .. } => "InsufficientBalance",
            TxError::Attestation(_) => "AttestationFailed",
            TxError::NotSudo | TxError::NotAuthorized(_) => "NotAuthorized",
            TxError::InvalidCall(_) => "InvalidCall",
            TxError::GasLimitTooHigh { .. } => "GasLimitTooHigh",
            TxError::BlockGasFull { .. } => "BlockGasFull",
            TxError::Storage(_) => "Storage",
        }
    }
}
