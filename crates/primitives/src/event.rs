//! Events: what happened in a block, recorded per block and committed to by `events_root`.

use crate::attestation::{ConfidenceLevel, Measurement, Role, TeeKind};
use crate::{AccountId, Balance};
use parity_scale_codec::{Decode, Encode};

/// Where in the block an event was emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Phase {
    /// While building the genesis state.
    #[codec(index = 0)]
    Genesis,
    /// While applying the transaction at this index of the block.
    #[codec(index = 1)]
    Transaction(u32),
}

/// Something the ledger did. Variants are appended with new indices; indices are never reused.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Event {
    #[codec(index = 0)]
    Endowed { account: AccountId, amount: Balance },
    #[codec(index = 1)]
    Transfer {
        from: AccountId,
        to: AccountId,
        amount: Balance,
    },
    #[codec(index = 2)]
    FeePaid { payer: AccountId, fee: Balance },
    #[codec(index = 3)]
    WorkerRegistered {
        identity: AccountId,
        operator: AccountId,
        role: Role,
        tee: TeeKind,
        measurement: Measurement,
        confidence: ConfidenceLevel,
    },
    #[codec(index = 4)]
    MeasurementAdded(Measurement),
    #[codec(index = 5)]
    MeasurementRemoved(Measurement),
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct EventRecord {
    pub phase: Phase,
    pub event: Event,
}
