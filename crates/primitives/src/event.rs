//! Events: what happened in a block, recorded per block and committed to by `events_root`.

use crate::attestation::{ConfidenceLevel, Measurement, Role, TeeKind};
use crate::economy::{Parameter, PoolId, ProposalId};
use crate::{AccountId, Balance, Hash, SudoCall, ValidatorSet};
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
    /// After the block's transactions: rewards, challenges, withdrawals, governance.
    #[codec(index = 2)]
    Finalization,
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
    #[codec(index = 6)]
    ClusterCreated {
        cluster: Hash,
        workers: Vec<AccountId>,
    },
    #[codec(index = 7)]
    AddedToCluster { cluster: Hash, worker: AccountId },
    #[codec(index = 8)]
    ClusterKeyPublished {
        cluster: Hash,
        epoch: u32,
        public_key: [u8; 32],
    },
    #[codec(index = 9)]
    KeyMessageSent {
        recipient: AccountId,
        cluster: Hash,
        epoch: u32,
    },
    #[codec(index = 10)]
    CodeUploaded {
        code_hash: Hash,
        uploader: AccountId,
        size: u32,
    },
    #[codec(index = 11)]
    ContractInstantiated {
        contract: AccountId,
        code_hash: Hash,
        cluster: Hash,
        deployer: AccountId,
    },
    #[codec(index = 12)]
    ContractKeyPublished {
        contract: AccountId,
        epoch: u32,
        public_key: [u8; 32],
    },
    /// The n-th command (from 0) of a contract is in this transaction.
    #[codec(index = 13)]
    CommandSubmitted {
        contract: AccountId,
        sender: AccountId,
        sequence: u64,
    },
    /// Gas paid ahead for an instantiation or command.
    #[codec(index = 14)]
    GasPrepaid {
        payer: AccountId,
        gas_limit: u64,
        amount: Balance,
    },
    #[codec(index = 15)]
    MasterKeyPublished {
        gatekeeper: AccountId,
        epoch: u32,
        public_key: [u8; 32],
    },
    #[codec(index = 16)]
    MasterKeyShared {
        from: AccountId,
        to: AccountId,
        epoch: u32,
    },
    #[codec(index = 17)]
    Heartbeat { worker: AccountId, reports: u32 },
    /// Two workers of a contract's cluster reported different state digests for the same block.
    #[codec(index = 18)]
    StateDivergence {
        contract: AccountId,
        height: u64,
        worker: AccountId,
        digest: Hash,
        other_worker: AccountId,
        other_digest: Hash,
    },
    /// A worker sent a contract's outputs `first_seq .. first_seq + count` (each then has its own
    /// event: `ContractEvent`, `Transfer`, `ContractMessage` or `OutputFailed`).
    #[codec(index = 19)]
    EgressAccepted {
        contract: AccountId,
        worker: AccountId,
        first_seq: u64,
        count: u32,
    },
    /// A contract's public event.
    #[codec(index = 20)]
    ContractEvent {
        contract: AccountId,
        seq: u64,
        data: Vec<u8>,
    },
    /// A message from one contract to another, now ordered: the receiver's workers run it.
    #[codec(index = 21)]
    ContractMessage {
        from: AccountId,
        to: AccountId,
        seq: u64,
        /// PHA moved from the sender's account into the receiver's gas escrow.
        gas_paid: Balance,
    },
    /// A contract's output could not take effect (e.g. the contract's account cannot pay); it
    /// is spent all the same, so later outputs are not held up.
    #[codec(index = 22)]
    OutputFailed {
        contract: AccountId,
        seq: u64,
        reason: String,
    },
    /// A new key epoch started (followed by one `ClusterRekeyed` per cluster and one
    /// `ContractRekeyed` per contract, which gatekeepers answer with the new keys).
    #[codec(index = 23)]
    MasterKeyRotated { epoch: u32 },
    #[codec(index = 24)]
    ClusterRekeyed {
        cluster: Hash,
        epoch: u32,
        workers: Vec<AccountId>,
    },
    #[codec(index = 25)]
    ContractRekeyed {
        contract: AccountId,
        cluster: Hash,
        epoch: u32,
    },
    /// A worker was deregistered and left these clusters.
    #[codec(index = 26)]
    WorkerRemoved {
        worker: AccountId,
        clusters: Vec<Hash>,
    },
    /// A contract's gas was settled (refunds are `Transfer` events from its escrow account).
    #[codec(index = 27)]
    GasSettled {
        contract: AccountId,
        refunded: Balance,
        to_workers: Balance,
        to_treasury: Balance,
    },
    #[codec(index = 28)]
    PoolCreated {
        pool: PoolId,
        owner: AccountId,
        commission_percent: u8,
    },
    #[codec(index = 29)]
    Deposited {
        pool: PoolId,
        who: AccountId,
        amount: Balance,
        shares: Balance,
    },
    #[codec(index = 30)]
    WithdrawalRequested {
        pool: PoolId,
        who: AccountId,
        shares: Balance,
        release_at_ms: u64,
    },
    /// A withdrawal's cool-down ended: its shares were redeemed for `amount` PHA.
    #[codec(index = 31)]
    Withdrawn {
        pool: PoolId,
        who: AccountId,
        shares: Balance,
        amount: Balance,
    },
    #[codec(index = 32)]
    WorkerBound { pool: PoolId, worker: AccountId },
    #[codec(index = 33)]
    ComputingStarted {
        pool: PoolId,
        worker: AccountId,
        /// Initial V, in PHA units.
        v: Balance,
        performance: u32,
    },
    #[codec(index = 34)]
    ComputingStopped {
        pool: PoolId,
        worker: AccountId,
        reason: String,
    },
    /// One block's computation rewards, paid out of the mining pool.
    #[codec(index = 35)]
    RewardsDistributed {
        to_pools: Balance,
        to_treasury: Balance,
        workers: u32,
    },
    /// The worker must send a heartbeat by block `deadline`.
    #[codec(index = 36)]
    WorkerChallenged { worker: AccountId, deadline: u64 },
    #[codec(index = 37)]
    WorkerUnresponsive { worker: AccountId },
    #[codec(index = 38)]
    WorkerResponsive { worker: AccountId },
    #[codec(index = 39)]
    RandomnessUpdated { gatekeeper: AccountId },
    #[codec(index = 40)]
    ProposalCreated {
        proposal: ProposalId,
        proposer: AccountId,
        call: SudoCall,
        voting_ends: u64,
    },
    #[codec(index = 41)]
    Voted {
        proposal: ProposalId,
        voter: AccountId,
        aye: bool,
        amount: Balance,
    },
    #[codec(index = 42)]
    ProposalPassed {
        proposal: ProposalId,
        ayes: Balance,
        nays: Balance,
        enact_at: u64,
    },
    #[codec(index = 43)]
    ProposalRejected {
        proposal: ProposalId,
        ayes: Balance,
        nays: Balance,
        reason: String,
    },
    #[codec(index = 44)]
    ProposalEnacted { proposal: ProposalId },
    /// The proposal passed, but its call failed when enacted (and changed nothing).
    #[codec(index = 45)]
    ProposalFailed {
        proposal: ProposalId,
        reason: String,
    },
    #[codec(index = 46)]
    ParameterChanged { parameter: Parameter, value: u128 },
    #[codec(index = 47)]
    TreasurySpent { to: AccountId, amount: Balance },
    #[codec(index = 48)]
    GatekeeperElected { identity: AccountId },
    #[codec(index = 49)]
    GatekeeperRemoved { identity: AccountId },
    #[codec(index = 50)]
    WorkerUnbound { pool: PoolId, worker: AccountId },
    /// At the end of a block, for each contract whose account's PHA changed in it or that was
    /// instantiated in it: what the account holds now. The contract's workers learn its balance
    /// from these alone (a contract reads it with `env::balance`).
    #[codec(index = 51)]
    ContractBalance {
        contract: AccountId,
        balance: Balance,
    },
    #[codec(index = 52)]
    MetadataRecorded {
        code_hash: Hash,
        metadata_hash: Hash,
    },
    /// The validators of `set.from_height` on: whoever follows finality switches to them there.
    /// A later one, before that height, replaces it.
    #[codec(index = 53)]
    ValidatorSetScheduled { set: ValidatorSet },
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct EventRecord {
    pub phase: Phase,
    pub event: Event,
}

/// Merkle root over the SCALE encodings of a block's event records: the header's `events_root`.
pub fn events_root(events: &[EventRecord]) -> crate::Hash {
    crate::merkle_root(events.iter().map(Encode::encode))
}
