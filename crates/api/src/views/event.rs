//! Events in words and JSON.

use super::{describe_parameter, describe_sudo_call};
use crate::wire;
use phalanx_primitives::amount::{format_pha, serde_units, Balance};
use phalanx_primitives::attestation::{ConfidenceLevel, Measurement};
use phalanx_primitives::economy::Parameter;
use phalanx_primitives::{AccountId, Event, EventRecord, Hash, Phase};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type")]
pub enum EventKindView {
    #[serde(rename = "endowed")]
    Endowed {
        account: AccountId,
        #[serde(with = "serde_units")]
        amount_units: Balance,
    },
    #[serde(rename = "transfer")]
    Transfer {
        from: AccountId,
        to: AccountId,
        #[serde(with = "serde_units")]
        amount_units: Balance,
    },
    #[serde(rename = "fee_paid")]
    FeePaid {
        payer: AccountId,
        #[serde(with = "serde_units")]
        fee_units: Balance,
    },
    #[serde(rename = "worker_registered")]
    WorkerRegistered {
        identity: AccountId,
        operator: AccountId,
        role: String,
        tee: String,
        measurement: Measurement,
        confidence: ConfidenceLevel,
    },
    #[serde(rename = "measurement_added")]
    MeasurementAdded { measurement: Measurement },
    #[serde(rename = "measurement_removed")]
    MeasurementRemoved { measurement: Measurement },
    #[serde(rename = "cluster_created")]
    ClusterCreated {
        cluster: Hash,
        workers: Vec<AccountId>,
    },
    #[serde(rename = "added_to_cluster")]
    AddedToCluster { cluster: Hash, worker: AccountId },
    #[serde(rename = "cluster_key_published")]
    ClusterKeyPublished {
        cluster: Hash,
        epoch: u32,
        public_key: String,
    },
    #[serde(rename = "key_message_sent")]
    KeyMessageSent {
        recipient: AccountId,
        cluster: Hash,
        epoch: u32,
    },
    #[serde(rename = "code_uploaded")]
    CodeUploaded {
        code_hash: Hash,
        uploader: AccountId,
        size: u32,
    },
    #[serde(rename = "contract_instantiated")]
    ContractInstantiated {
        contract: AccountId,
        code_hash: Hash,
        cluster: Hash,
        deployer: AccountId,
    },
    #[serde(rename = "contract_key_published")]
    ContractKeyPublished {
        contract: AccountId,
        epoch: u32,
        public_key: String,
    },
    #[serde(rename = "command_submitted")]
    CommandSubmitted {
        contract: AccountId,
        sender: AccountId,
        sequence: u64,
    },
    #[serde(rename = "gas_prepaid")]
    GasPrepaid {
        payer: AccountId,
        gas_limit: u64,
        #[serde(with = "serde_units")]
        amount_units: Balance,
    },
    #[serde(rename = "master_key_published")]
    MasterKeyPublished {
        gatekeeper: AccountId,
        epoch: u32,
        public_key: String,
    },
    #[serde(rename = "master_key_shared")]
    MasterKeyShared {
        from: AccountId,
        to: AccountId,
        epoch: u32,
    },
    #[serde(rename = "heartbeat")]
    Heartbeat { worker: AccountId, reports: u32 },
    #[serde(rename = "state_divergence")]
    StateDivergence {
        contract: AccountId,
        height: u64,
        worker: AccountId,
        digest: Hash,
        other_worker: AccountId,
        other_digest: Hash,
    },
    #[serde(rename = "egress_accepted")]
    EgressAccepted {
        contract: AccountId,
        worker: AccountId,
        first_seq: u64,
        count: u32,
    },
    #[serde(rename = "contract_event")]
    ContractEvent {
        contract: AccountId,
        seq: u64,
        /// Hex; the contract's own encoding.
        data: String,
    },
    #[serde(rename = "contract_message")]
    ContractMessage {
        from: AccountId,
        to: AccountId,
        seq: u64,
        #[serde(with = "serde_units")]
        gas_paid_units: Balance,
    },
    #[serde(rename = "output_failed")]
    OutputFailed {
        contract: AccountId,
        seq: u64,
        reason: String,
    },
    #[serde(rename = "master_key_rotated")]
    MasterKeyRotated { epoch: u32 },
    #[serde(rename = "cluster_rekeyed")]
    ClusterRekeyed {
        cluster: Hash,
        epoch: u32,
        workers: Vec<AccountId>,
    },
    #[serde(rename = "contract_rekeyed")]
    ContractRekeyed {
        contract: AccountId,
        cluster: Hash,
        epoch: u32,
    },
    #[serde(rename = "worker_removed")]
    WorkerRemoved {
        worker: AccountId,
        clusters: Vec<Hash>,
    },
    #[serde(rename = "gas_settled")]
    GasSettled {
        contract: AccountId,
        #[serde(with = "serde_units")]
        refunded_units: Balance,
        #[serde(with = "serde_units")]
        to_workers_units: Balance,
        #[serde(with = "serde_units")]
        to_treasury_units: Balance,
    },
    #[serde(rename = "pool_created")]
    PoolCreated {
        pool: u64,
        owner: AccountId,
        commission_percent: u8,
    },
    #[serde(rename = "deposited")]
    Deposited {
        pool: u64,
        who: AccountId,
        #[serde(with = "serde_units")]
        amount_units: Balance,
        #[serde(with = "serde_units")]
        shares: Balance,
    },
    #[serde(rename = "withdrawal_requested")]
    WithdrawalRequested {
        pool: u64,
        who: AccountId,
        #[serde(with = "serde_units")]
        shares: Balance,
        release_at_ms: u64,
    },
    #[serde(rename = "withdrawn")]
    Withdrawn {
        pool: u64,
        who: AccountId,
        #[serde(with = "serde_units")]
        shares: Balance,
        #[serde(with = "serde_units")]
        amount_units: Balance,
    },
    #[serde(rename = "worker_bound")]
    WorkerBound { pool: u64, worker: AccountId },
    #[serde(rename = "computing_started")]
    ComputingStarted {
        pool: u64,
        worker: AccountId,
        #[serde(with = "serde_units")]
        v_units: Balance,
        performance: u32,
    },
    #[serde(rename = "computing_stopped")]
    ComputingStopped {
        pool: u64,
        worker: AccountId,
        reason: String,
    },
    #[serde(rename = "rewards_distributed")]
    RewardsDistributed {
        #[serde(with = "serde_units")]
        to_pools_units: Balance,
        #[serde(with = "serde_units")]
        to_treasury_units: Balance,
        workers: u32,
    },
    #[serde(rename = "worker_challenged")]
    WorkerChallenged { worker: AccountId, deadline: u64 },
    #[serde(rename = "worker_unresponsive")]
    WorkerUnresponsive { worker: AccountId },
    #[serde(rename = "worker_responsive")]
    WorkerResponsive { worker: AccountId },
    #[serde(rename = "randomness_updated")]
    RandomnessUpdated { gatekeeper: AccountId },
    #[serde(rename = "proposal_created")]
    ProposalCreated {
        proposal: u32,
        proposer: AccountId,
        call: String,
        voting_ends: u64,
    },
    #[serde(rename = "voted")]
    Voted {
        proposal: u32,
        voter: AccountId,
        aye: bool,
        #[serde(with = "serde_units")]
        amount_units: Balance,
    },
    #[serde(rename = "proposal_passed")]
    ProposalPassed {
        proposal: u32,
        #[serde(with = "serde_units")]
        ayes_units: Balance,
        #[serde(with = "serde_units")]
        nays_units: Balance,
        enact_at: u64,
    },
    #[serde(rename = "proposal_rejected")]
    ProposalRejected {
        proposal: u32,
        #[serde(with = "serde_units")]
        ayes_units: Balance,
        #[serde(with = "serde_units")]
        nays_units: Balance,
        reason: String,
    },
    #[serde(rename = "proposal_enacted")]
    ProposalEnacted { proposal: u32 },
    #[serde(rename = "proposal_failed")]
    ProposalFailed { proposal: u32, reason: String },
    #[serde(rename = "parameter_changed")]
    ParameterChanged {
        parameter: String,
        /// In units for amounts.
        #[serde(with = "serde_units")]
        value: u128,
    },
    #[serde(rename = "treasury_spent")]
    TreasurySpent {
        to: AccountId,
        #[serde(with = "serde_units")]
        amount_units: Balance,
    },
    #[serde(rename = "gatekeeper_elected")]
    GatekeeperElected { identity: AccountId },
    #[serde(rename = "gatekeeper_removed")]
    GatekeeperRemoved { identity: AccountId },
    #[serde(rename = "worker_unbound")]
    WorkerUnbound { pool: u64, worker: AccountId },
    #[serde(rename = "contract_balance")]
    ContractBalance {
        contract: AccountId,
        #[serde(with = "serde_units")]
        balance_units: Balance,
    },
    #[serde(rename = "metadata_recorded")]
    MetadataRecorded {
        code_hash: Hash,
        metadata_hash: Hash,
    },
    #[serde(rename = "validator_set_scheduled")]
    ValidatorSetScheduled {
        epoch: u64,
        from_height: u64,
        validators: Vec<AccountId>,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EventView {
    /// Index of the transaction that emitted it; absent for genesis events and the block's end.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub transaction_index: Option<u32>,
    /// Emitted at the end of the block (rewards, challenges, withdrawals, governance).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub end_of_block: bool,
    pub event: EventKindView,
}

impl From<&EventRecord> for EventView {
    fn from(record: &EventRecord) -> Self {
        let transaction_index = match record.phase {
            Phase::Genesis | Phase::Finalization => None,
            Phase::Transaction(i) => Some(i),
        };
        let end_of_block = record.phase == Phase::Finalization;
        let event = match &record.event {
            Event::Endowed { account, amount } => EventKindView::Endowed {
                account: *account,
                amount_units: *amount,
            },
            Event::Transfer { from, to, amount } => EventKindView::Transfer {
                from: *from,
                to: *to,
                amount_units: *amount,
            },
            Event::FeePaid { payer, fee } => EventKindView::FeePaid {
                payer: *payer,
                fee_units: *fee,
            },
            Event::WorkerRegistered {
                identity,
                operator,
                role,
                tee,
                measurement,
                confidence,
            } => EventKindView::WorkerRegistered {
                identity: *identity,
                operator: *operator,
                role: wire::role(*role).into(),
                tee: wire::tee(*tee).into(),
                measurement: *measurement,
                confidence: *confidence,
            },
            Event::MeasurementAdded(measurement) => EventKindView::MeasurementAdded {
                measurement: *measurement,
            },
            Event::MeasurementRemoved(measurement) => EventKindView::MeasurementRemoved {
                measurement: *measurement,
            },
            Event::ClusterCreated { cluster, workers } => EventKindView::ClusterCreated {
                cluster: *cluster,
                workers: workers.clone(),
            },
            Event::AddedToCluster { cluster, worker } => EventKindView::AddedToCluster {
                cluster: *cluster,
                worker: *worker,
            },
            Event::ClusterKeyPublished {
                cluster,
                epoch,
                public_key,
            } => EventKindView::ClusterKeyPublished {
                cluster: *cluster,
                epoch: *epoch,
                public_key: hex::encode(public_key),
            },
            Event::KeyMessageSent {
                recipient,
                cluster,
                epoch,
            } => EventKindView::KeyMessageSent {
                recipient: *recipient,
                cluster: *cluster,
                epoch: *epoch,
            },
            Event::CodeUploaded {
                code_hash,
                uploader,
                size,
            } => EventKindView::CodeUploaded {
                code_hash: *code_hash,
                uploader: *uploader,
                size: *size,
            },
            Event::ContractInstantiated {
                contract,
                code_hash,
                cluster,
                deployer,
            } => EventKindView::ContractInstantiated {
                contract: *contract,
                code_hash: *code_hash,
                cluster: *cluster,
                deployer: *deployer,
            },
            Event::ContractKeyPublished {
                contract,
                epoch,
                public_key,
            } => EventKindView::ContractKeyPublished {
                contract: *contract,
                epoch: *epoch,
                public_key: hex::encode(public_key),
            },
            Event::CommandSubmitted {
                contract,
                sender,
                sequence,
            } => EventKindView::CommandSubmitted {
                contract: *contract,
                sender: *sender,
                sequence: *sequence,
            },
            Event::GasPrepaid {
                payer,
                gas_limit,
                amount,
            } => EventKindView::GasPrepaid {
                payer: *payer,
                gas_limit: *gas_limit,
                amount_units: *amount,
            },
            Event::MasterKeyPublished {
                gatekeeper,
                epoch,
                public_key,
            } => EventKindView::MasterKeyPublished {
                gatekeeper: *gatekeeper,
                epoch: *epoch,
                public_key: hex::encode(public_key),
            },
            Event::MasterKeyShared { from, to, epoch } => EventKindView::MasterKeyShared {
                from: *from,
                to: *to,
                epoch: *epoch,
            },
            Event::Heartbeat { worker, reports } => EventKindView::Heartbeat {
                worker: *worker,
                reports: *reports,
            },
            Event::StateDivergence {
                contract,
                height,
                worker,
                digest,
                other_worker,
                other_digest,
            } => EventKindView::StateDivergence {
                contract: *contract,
                height: *height,
                worker: *worker,
                digest: *digest,
                other_worker: *other_worker,
                other_digest: *other_digest,
            },
            Event::EgressAccepted {
                contract,
                worker,
                first_seq,
                count,
            } => EventKindView::EgressAccepted {
                contract: *contract,
                worker: *worker,
                first_seq: *first_seq,
                count: *count,
            },
            Event::ContractEvent {
                contract,
                seq,
                data,
            } => EventKindView::ContractEvent {
                contract: *contract,
                seq: *seq,
                data: hex::encode(data),
            },
            Event::ContractMessage {
                from,
                to,
                seq,
                gas_paid,
            } => EventKindView::ContractMessage {
                from: *from,
                to: *to,
                seq: *seq,
                gas_paid_units: *gas_paid,
            },
            Event::GasSettled {
                contract,
                refunded,
                to_workers,
                to_treasury,
            } => EventKindView::GasSettled {
                contract: *contract,
                refunded_units: *refunded,
                to_workers_units: *to_workers,
                to_treasury_units: *to_treasury,
            },
            Event::OutputFailed {
                contract,
                seq,
                reason,
            } => EventKindView::OutputFailed {
                contract: *contract,
                seq: *seq,
                reason: reason.clone(),
            },
            Event::MasterKeyRotated { epoch } => EventKindView::MasterKeyRotated { epoch: *epoch },
            Event::ClusterRekeyed {
                cluster,
                epoch,
                workers,
            } => EventKindView::ClusterRekeyed {
                cluster: *cluster,
                epoch: *epoch,
                workers: workers.clone(),
            },
            Event::ContractRekeyed {
                contract,
                cluster,
                epoch,
            } => EventKindView::ContractRekeyed {
                contract: *contract,
                cluster: *cluster,
                epoch: *epoch,
            },
            Event::WorkerRemoved { worker, clusters } => EventKindView::WorkerRemoved {
                worker: *worker,
                clusters: clusters.clone(),
            },
            Event::PoolCreated {
                pool,
                owner,
                commission_percent,
            } => EventKindView::PoolCreated {
                pool: *pool,
                owner: *owner,
                commission_percent: *commission_percent,
            },
            Event::Deposited {
                pool,
                who,
                amount,
                shares,
            } => EventKindView::Deposited {
                pool: *pool,
                who: *who,
                amount_units: *amount,
                shares: *shares,
            },
            Event::WithdrawalRequested {
                pool,
                who,
                shares,
                release_at_ms,
            } => EventKindView::WithdrawalRequested {
                pool: *pool,
                who: *who,
                shares: *shares,
                release_at_ms: *release_at_ms,
            },
            Event::Withdrawn {
                pool,
                who,
                shares,
                amount,
            } => EventKindView::Withdrawn {
                pool: *pool,
                who: *who,
                shares: *shares,
                amount_units: *amount,
            },
            Event::WorkerBound { pool, worker } => EventKindView::WorkerBound {
                pool: *pool,
                worker: *worker,
            },
            Event::ComputingStarted {
                pool,
                worker,
                v,
                performance,
            } => EventKindView::ComputingStarted {
                pool: *pool,
                worker: *worker,
                v_units: *v,
                performance: *performance,
            },
            Event::ComputingStopped {
                pool,
                worker,
                reason,
            } => EventKindView::ComputingStopped {
                pool: *pool,
                worker: *worker,
                reason: reason.clone(),
            },
            Event::RewardsDistributed {
                to_pools,
                to_treasury,
                workers,
            } => EventKindView::RewardsDistributed {
                to_pools_units: *to_pools,
                to_treasury_units: *to_treasury,
                workers: *workers,
            },
            Event::WorkerChallenged { worker, deadline } => EventKindView::WorkerChallenged {
                worker: *worker,
                deadline: *deadline,
            },
            Event::WorkerUnresponsive { worker } => {
                EventKindView::WorkerUnresponsive { worker: *worker }
            }
            Event::WorkerResponsive { worker } => {
                EventKindView::WorkerResponsive { worker: *worker }
            }
            Event::RandomnessUpdated { gatekeeper } => EventKindView::RandomnessUpdated {
                gatekeeper: *gatekeeper,
            },
            Event::ProposalCreated {
                proposal,
                proposer,
                call,
                voting_ends,
            } => EventKindView::ProposalCreated {
                proposal: *proposal,
                proposer: *proposer,
                call: describe_sudo_call(call),
                voting_ends: *voting_ends,
            },
            Event::Voted {
                proposal,
                voter,
                aye,
                amount,
            } => EventKindView::Voted {
                proposal: *proposal,
                voter: *voter,
                aye: *aye,
                amount_units: *amount,
            },
            Event::ProposalPassed {
                proposal,
                ayes,
                nays,
                enact_at,
            } => EventKindView::ProposalPassed {
                proposal: *proposal,
                ayes_units: *ayes,
                nays_units: *nays,
                enact_at: *enact_at,
            },
            Event::ProposalRejected {
                proposal,
                ayes,
                nays,
                reason,
            } => EventKindView::ProposalRejected {
                proposal: *proposal,
                ayes_units: *ayes,
                nays_units: *nays,
                reason: reason.clone(),
            },
            Event::ProposalEnacted { proposal } => EventKindView::ProposalEnacted {
                proposal: *proposal,
            },
            Event::ProposalFailed { proposal, reason } => EventKindView::ProposalFailed {
                proposal: *proposal,
                reason: reason.clone(),
            },
            Event::ParameterChanged { parameter, value } => EventKindView::ParameterChanged {
                parameter: parameter.name().to_string(),
                value: *value,
            },
            Event::TreasurySpent { to, amount } => EventKindView::TreasurySpent {
                to: *to,
                amount_units: *amount,
            },
            Event::GatekeeperElected { identity } => EventKindView::GatekeeperElected {
                identity: *identity,
            },
            Event::GatekeeperRemoved { identity } => EventKindView::GatekeeperRemoved {
                identity: *identity,
            },
            Event::WorkerUnbound { pool, worker } => EventKindView::WorkerUnbound {
                pool: *pool,
                worker: *worker,
            },
            Event::ContractBalance { contract, balance } => EventKindView::ContractBalance {
                contract: *contract,
                balance_units: *balance,
            },
            Event::MetadataRecorded {
                code_hash,
                metadata_hash,
            } => EventKindView::MetadataRecorded {
                code_hash: *code_hash,
                metadata_hash: *metadata_hash,
            },
            Event::ValidatorSetScheduled { set } => EventKindView::ValidatorSetScheduled {
                epoch: set.epoch,
                from_height: set.from_height,
                validators: set.accounts(),
            },
        };
        EventView {
            end_of_block,
            transaction_index,
            event,
        }
    }
}

/// The event in words, as the CLI prints it.
impl fmt::Display for EventKindView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use EventKindView as E;
        let pha = |units: &Balance| format_pha(*units);
        match self {
            E::Endowed {
                account,
                amount_units,
            } => write!(f, "endowed {account} with {} PHA", pha(amount_units)),
            E::Transfer {
                from,
                to,
                amount_units,
            } => write!(f, "transfer {} PHA {from} -> {to}", pha(amount_units)),
            E::FeePaid { payer, fee_units } => {
                write!(f, "fee {} PHA paid by {payer}", pha(fee_units))
            }
            E::WorkerRegistered {
                identity,
                operator,
                role,
                tee,
                measurement,
                confidence,
            } => write!(
                f,
                "{role} {identity} registered by {operator}: {tee}, {measurement}, confidence {}",
                wire::confidence(*confidence)
            ),
            E::MeasurementAdded { measurement } => write!(f, "measurement {measurement} allowed"),
            E::MeasurementRemoved { measurement } => {
                write!(f, "measurement {measurement} disallowed")
            }
            E::ClusterCreated { cluster, workers } => {
                write!(f, "cluster {cluster} created with {} workers", workers.len())
            }
            E::AddedToCluster { cluster, worker } => {
                write!(f, "worker {worker} added to cluster {cluster}")
            }
            E::ClusterKeyPublished {
                cluster,
                epoch,
                public_key,
            } => write!(f, "cluster {cluster} key of epoch {epoch}: {public_key}"),
            E::KeyMessageSent {
                recipient,
                cluster,
                epoch,
            } => write!(
                f,
                "key of cluster {cluster}, epoch {epoch}, sent sealed to {recipient}"
            ),
            E::CodeUploaded {
                code_hash,
                uploader,
                size,
            } => write!(f, "code {code_hash} ({size} bytes) uploaded by {uploader}"),
            E::ContractInstantiated {
                contract,
                code_hash,
                cluster,
                deployer,
            } => write!(
                f,
                "contract {contract} of code {code_hash} instantiated in cluster {cluster} by \
                 {deployer}"
            ),
            E::ContractKeyPublished {
                contract,
                epoch,
                public_key,
            } => write!(f, "contract {contract} key of epoch {epoch}: {public_key}"),
            E::CommandSubmitted {
                contract,
                sender,
                sequence,
            } => write!(f, "command #{sequence} to {contract} from {sender}"),
            E::GasPrepaid {
                payer,
                gas_limit,
                amount_units,
            } => write!(
                f,
                "{} PHA prepaid by {payer} for {gas_limit} gas",
                pha(amount_units)
            ),
            E::MasterKeyPublished {
                gatekeeper,
                epoch,
                public_key,
            } => write!(
                f,
                "master key of epoch {epoch} declared by gatekeeper {gatekeeper}: {public_key}"
            ),
            E::MasterKeyShared { from, to, epoch } => {
                write!(f, "master key of epoch {epoch} shared by {from} with {to}")
            }
            E::Heartbeat { worker, reports } => {
                write!(f, "heartbeat of {worker} with {reports} digest report(s)")
            }
            E::StateDivergence {
                contract,
                height,
                worker,
                digest,
                other_worker,
                other_digest,
            } => write!(
                f,
                "STATE DIVERGENCE in {contract} at block {height}: {worker} has {digest}, \
                 {other_worker} has {other_digest}"
            ),
            E::EgressAccepted {
                contract,
                worker,
                first_seq,
                count,
            } => write!(
                f,
                "egress of {contract}: outputs {first_seq}..{} sent by worker {worker}",
                first_seq + u64::from(*count)
            ),
            E::ContractEvent {
                contract,
                seq,
                data,
            } => write!(f, "event #{seq} of {contract}: 0x{data}"),
            E::ContractMessage {
                from,
                to,
                seq,
                gas_paid_units,
            } => write!(
                f,
                "message #{seq} from contract {from} to contract {to} ({} PHA of gas paid)",
                pha(gas_paid_units)
            ),
            E::OutputFailed {
                contract,
                seq,
                reason,
            } => write!(f, "output #{seq} of {contract} failed: {reason}"),
            E::MasterKeyRotated { epoch } => write!(
                f,
                "KEY ROTATION: epoch {epoch} starts; gatekeepers publish its keys"
            ),
            E::ClusterRekeyed {
                cluster,
                epoch,
                workers,
            } => write!(
                f,
                "cluster {cluster} due keys of epoch {epoch} for {} workers",
                workers.len()
            ),
            E::ContractRekeyed {
                contract,
                cluster,
                epoch,
            } => write!(
                f,
                "contract {contract} (cluster {cluster}) due a key of epoch {epoch}"
            ),
            E::WorkerRemoved { worker, clusters } => write!(
                f,
                "worker {worker} deregistered, removed from {} clusters",
                clusters.len()
            ),
            E::GasSettled {
                contract,
                refunded_units,
                to_workers_units,
                to_treasury_units,
            } => write!(
                f,
                "gas of {contract} settled: {} PHA refunded, {} PHA to its workers, {} PHA to \
                 the treasury",
                pha(refunded_units),
                pha(to_workers_units),
                pha(to_treasury_units)
            ),
            E::PoolCreated {
                pool,
                owner,
                commission_percent,
            } => write!(
                f,
                "pool {pool} created by {owner} with {commission_percent}% commission"
            ),
            E::Deposited {
                pool,
                who,
                amount_units,
                shares,
            } => write!(
                f,
                "{who} deposited {} PHA in pool {pool} for {} shares",
                pha(amount_units),
                pha(shares)
            ),
            E::WithdrawalRequested {
                pool,
                who,
                shares,
                release_at_ms,
            } => write!(
                f,
                "{who} asked to withdraw {} shares from pool {pool}, released at {release_at_ms} ms",
                pha(shares)
            ),
            E::Withdrawn {
                pool,
                who,
                shares,
                amount_units,
            } => write!(
                f,
                "{who} withdrew {} shares from pool {pool}: {} PHA",
                pha(shares),
                pha(amount_units)
            ),
            E::WorkerBound { pool, worker } => write!(f, "worker {worker} bound to pool {pool}"),
            E::ComputingStarted {
                pool,
                worker,
                v_units,
                performance,
            } => write!(
                f,
                "worker {worker} of pool {pool} started computing: V {} PHA, performance {performance}",
                pha(v_units)
            ),
            E::ComputingStopped {
                pool,
                worker,
                reason,
            } => write!(f, "worker {worker} of pool {pool} stopped computing: {reason}"),
            E::RewardsDistributed {
                to_pools_units,
                to_treasury_units,
                workers,
            } => write!(
                f,
                "REWARDS {} PHA to the pools of {workers} workers, {} PHA to the treasury",
                pha(to_pools_units),
                pha(to_treasury_units)
            ),
            E::WorkerChallenged { worker, deadline } => write!(
                f,
                "CHALLENGE worker {worker} must send a heartbeat by block {deadline}"
            ),
            E::WorkerUnresponsive { worker } => write!(
                f,
                "worker {worker} missed its challenge: UNRESPONSIVE, earns nothing"
            ),
            E::WorkerResponsive { worker } => {
                write!(f, "worker {worker} answered: responsive again")
            }
            E::RandomnessUpdated { gatekeeper } => {
                write!(f, "randomness updated by gatekeeper {gatekeeper}")
            }
            E::ProposalCreated {
                proposal,
                proposer,
                call,
                voting_ends,
            } => write!(
                f,
                "proposal #{proposal} by {proposer}: {call} (voting until block {voting_ends})"
            ),
            E::Voted {
                proposal,
                voter,
                aye,
                amount_units,
            } => write!(
                f,
                "{voter} voted {} on proposal #{proposal} with {} PHA",
                if *aye { "aye" } else { "nay" },
                pha(amount_units)
            ),
            E::ProposalPassed {
                proposal,
                ayes_units,
                nays_units,
                enact_at,
            } => write!(
                f,
                "proposal #{proposal} PASSED ({} PHA aye, {} PHA nay), enacted at block {enact_at}",
                pha(ayes_units),
                pha(nays_units)
            ),
            E::ProposalRejected {
                proposal,
                ayes_units,
                nays_units,
                reason,
            } => write!(
                f,
                "proposal #{proposal} REJECTED ({} PHA aye, {} PHA nay): {reason}",
                pha(ayes_units),
                pha(nays_units)
            ),
            E::ProposalEnacted { proposal } => write!(f, "proposal #{proposal} ENACTED"),
            E::ProposalFailed { proposal, reason } => write!(
                f,
                "proposal #{proposal} passed but FAILED when enacted: {reason}"
            ),
            E::ParameterChanged { parameter, value } => match parameter.parse::<Parameter>() {
                Ok(known) => write!(f, "{parameter} set to {}", describe_parameter(known, *value)),
                Err(_) => write!(f, "{parameter} set to {value}"),
            },
            E::TreasurySpent { to, amount_units } => {
                write!(f, "treasury paid {} PHA to {to}", pha(amount_units))
            }
            E::GatekeeperElected { identity } => write!(f, "gatekeeper {identity} elected"),
            E::GatekeeperRemoved { identity } => write!(f, "gatekeeper {identity} removed"),
            E::WorkerUnbound { pool, worker } => {
                write!(f, "worker {worker} unbound from pool {pool}")
            }
            E::ContractBalance {
                contract,
                balance_units,
            } => write!(f, "contract {contract} holds {} PHA", pha(balance_units)),
            E::MetadataRecorded {
                code_hash,
                metadata_hash,
            } => write!(f, "metadata {metadata_hash} recorded for code {code_hash}"),
            E::ValidatorSetScheduled {
                epoch,
                from_height,
                validators,
            } => {
                let names: Vec<String> = validators.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "validators from height {from_height} (epoch {epoch}): {}",
                    names.join(", ")
                )
            }
        }
    }
}

/// The event in words with where in the block it happened: `tx 3: …`, `end of block: …`,
/// `genesis: …`.
impl fmt::Display for EventView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.transaction_index {
            Some(index) => write!(f, "tx {index}: {}", self.event),
            None if self.end_of_block => write!(f, "end of block: {}", self.event),
            None => write!(f, "genesis: {}", self.event),
        }
    }
}
