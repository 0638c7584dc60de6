//! JSON shapes of the API. Hashes are `0x` hex, accounts `phx1…` addresses, amounts decimal
//! strings of units (`*_units`) or of PHA where a field says so.

use parity_scale_codec::Encode;
use phalanx_primitives::amount::{format_pha, serde_units, Balance};
use phalanx_primitives::attestation::{AttestationReport, ConfidenceLevel, Measurement};
use phalanx_primitives::economy::Parameter;
use phalanx_primitives::{
    AccountId, Block, BlockHeader, Call, ContractOutput, Event, EventRecord, Hash, Phase,
    SignedTransaction, SudoCall,
};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenInfo {
    pub symbol: String,
    pub decimals: u32,
    #[serde(with = "serde_units")]
    pub total_supply_units: Balance,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChainInfo {
    pub chain_name: String,
    /// The chain id every transaction must carry: hash of the genesis description.
    pub chain_id: Hash,
    pub genesis_block_hash: Hash,
    pub validators: Vec<AccountId>,
    pub token: TokenInfo,
    #[serde(with = "serde_units")]
    pub base_fee_units: Balance,
    #[serde(with = "serde_units")]
    pub per_byte_fee_units: Balance,
    /// PHA units per unit of gas a command or instantiation reserves.
    #[serde(with = "serde_units")]
    pub gas_price_units: Balance,
    pub max_transaction_size: usize,
    pub treasury: AccountId,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HeaderView {
    pub hash: Hash,
    pub height: u64,
    pub parent_hash: Hash,
    pub state_root: Hash,
    pub transactions_root: Hash,
    pub events_root: Hash,
    pub timestamp_ms: u64,
    pub proposer: AccountId,
}

impl From<&BlockHeader> for HeaderView {
    fn from(header: &BlockHeader) -> Self {
        HeaderView {
            hash: header.hash(),
            height: header.height,
            parent_hash: header.parent_hash,
            state_root: header.state_root,
            transactions_root: header.transactions_root,
            events_root: header.events_root,
            timestamp_ms: header.timestamp_ms,
            proposer: header.proposer,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallView {
    Transfer {
        to: AccountId,
        #[serde(with = "serde_units")]
        amount_units: Balance,
    },
    RegisterWorker {
        identity: AccountId,
        /// `worker` or `gatekeeper`.
        role: String,
        /// `dev` or `dcap`.
        evidence: String,
        endpoint: String,
    },
    AddMeasurement {
        measurement: Measurement,
    },
    RemoveMeasurement {
        measurement: Measurement,
    },
    CreateCluster {
        cluster: Hash,
        workers: Vec<AccountId>,
    },
    AddToCluster {
        cluster: Hash,
        worker: AccountId,
    },
    RotateMasterKey,
    RemoveWorker {
        worker: AccountId,
    },
    PublishClusterKey {
        cluster: Hash,
        epoch: u32,
        public_key: String,
    },
    /// The envelope stays opaque: only its size shows.
    KeyMessage {
        recipient: AccountId,
        cluster: Hash,
        epoch: u32,
    },
    UploadCode {
        code_hash: Hash,
        size: usize,
    },
    Instantiate {
        code_hash: Hash,
        cluster: Hash,
        salt: String,
        gas_limit: u64,
        init_ciphertext_len: usize,
    },
    PublishContractKey {
        contract: AccountId,
        epoch: u32,
        public_key: String,
    },
    Command {
        contract: AccountId,
        gas_limit: u64,
        ciphertext_len: usize,
        #[serde(with = "serde_units")]
        value_units: Balance,
    },
    Egress {
        contract: AccountId,
        first_seq: u64,
        outputs: Vec<OutputView>,
    },
    PublishMasterKey {
        epoch: u32,
        public_key: String,
    },
    /// The envelope stays opaque.
    ShareMasterKey {
        recipient: AccountId,
        epoch: u32,
    },
    Heartbeat {
        /// The benchmark score it reported, if any.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        performance: Option<u32>,
        /// `(contract, height, digest)` reports.
        digests: Vec<(AccountId, u64, Hash)>,
    },
    /// A privileged call without a view of its own, in words.
    Sudo {
        call: String,
    },
    CreatePool {
        commission_percent: u8,
    },
    Deposit {
        pool: u64,
        #[serde(with = "serde_units")]
        amount_units: Balance,
    },
    Withdraw {
        pool: u64,
        #[serde(with = "serde_units")]
        shares: Balance,
    },
    BindWorker {
        pool: u64,
        worker: AccountId,
    },
    StartComputing {
        worker: AccountId,
        #[serde(with = "serde_units")]
        stake_units: Balance,
    },
    StopComputing {
        worker: AccountId,
    },
    UnbindWorker {
        worker: AccountId,
    },
    Randomness,
    Propose {
        /// The proposed call, in words.
        call: String,
    },
    Vote {
        proposal: u32,
        aye: bool,
        #[serde(with = "serde_units")]
        amount_units: Balance,
    },
}

/// A privileged call in words, e.g. `set min_stake to 1000 PHA`.
pub fn describe_sudo_call(call: &SudoCall) -> String {
    match call {
        SudoCall::AddMeasurement(m) => format!("allow measurement {m}"),
        SudoCall::RemoveMeasurement(m) => format!("disallow measurement {m}"),
        SudoCall::CreateCluster { cluster, workers } => {
            format!("create cluster {cluster} of {} workers", workers.len())
        }
        SudoCall::AddToCluster { cluster, worker } => {
            format!("add worker {worker} to cluster {cluster}")
        }
        SudoCall::RotateMasterKey => "rotate the master key".into(),
        SudoCall::RemoveWorker { worker } => format!("remove worker {worker}"),
        SudoCall::SetParameter { parameter, value } => {
            format!(
                "set {parameter} to {}",
                describe_parameter(*parameter, *value)
            )
        }
        SudoCall::SpendTreasury { to, amount } => {
            format!("pay {} PHA from the treasury to {to}", format_pha(*amount))
        }
        SudoCall::ElectGatekeeper { identity } => format!("elect gatekeeper {identity}"),
        SudoCall::RemoveGatekeeper { identity } => format!("remove gatekeeper {identity}"),
    }
}

/// A parameter's value as people write it: PHA for amounts, the number otherwise.
pub fn describe_parameter(parameter: Parameter, value: u128) -> String {
    if parameter.is_amount() {
        format!("{} PHA", format_pha(value))
    } else {
        value.to_string()
    }
}

/// One output of an egress transaction.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputView {
    Event {
        data: String,
    },
    Transfer {
        to: AccountId,
        #[serde(with = "serde_units")]
        amount_units: Balance,
    },
    /// The envelope stays opaque.
    Message {
        to: AccountId,
        gas_limit: u64,
        ciphertext_len: usize,
    },
    Settle {
        refunds: Vec<(AccountId, String)>,
        #[serde(with = "serde_units")]
        fees_units: Balance,
    },
}

impl From<&ContractOutput> for OutputView {
    fn from(output: &ContractOutput) -> Self {
        match output {
            ContractOutput::Event(data) => OutputView::Event {
                data: hex::encode(data),
            },
            ContractOutput::Transfer { to, amount } => OutputView::Transfer {
                to: *to,
                amount_units: *amount,
            },
            ContractOutput::Message {
                to,
                envelope,
                gas_limit,
            } => OutputView::Message {
                to: *to,
                gas_limit: *gas_limit,
                ciphertext_len: envelope.ciphertext.len(),
            },
            ContractOutput::Settle { refunds, fees } => OutputView::Settle {
                refunds: refunds
                    .iter()
                    .map(|(payer, amount)| (*payer, amount.to_string()))
                    .collect(),
                fees_units: *fees,
            },
        }
    }
}

/// Lower-case name of a field-less enum value, for JSON views.
fn name(value: impl std::fmt::Debug) -> String {
    format!("{value:?}").to_lowercase()
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TransactionView {
    pub hash: Hash,
    pub signer: AccountId,
    pub nonce: u64,
    #[serde(with = "serde_units")]
    pub fee_units: Balance,
    pub call: CallView,
}

impl From<&SignedTransaction> for TransactionView {
    fn from(signed: &SignedTransaction) -> Self {
        let tx = &signed.transaction;
        let call = match &tx.call {
            Call::Transfer { to, amount } => CallView::Transfer {
                to: *to,
                amount_units: *amount,
            },
            Call::RegisterWorker {
                identity,
                role,
                attestation,
                endpoint,
                ..
            } => CallView::RegisterWorker {
                identity: *identity,
                role: name(role),
                evidence: match attestation.as_ref() {
                    AttestationReport::Dev(_) => "dev".into(),
                    AttestationReport::Dcap { .. } => "dcap".into(),
                },
                endpoint: String::from_utf8_lossy(endpoint).into_owned(),
            },
            Call::Sudo(SudoCall::AddMeasurement(measurement)) => CallView::AddMeasurement {
                measurement: *measurement,
            },
            Call::Sudo(SudoCall::RemoveMeasurement(measurement)) => CallView::RemoveMeasurement {
                measurement: *measurement,
            },
            Call::Sudo(SudoCall::CreateCluster { cluster, workers }) => CallView::CreateCluster {
                cluster: *cluster,
                workers: workers.clone(),
            },
            Call::Sudo(SudoCall::AddToCluster { cluster, worker }) => CallView::AddToCluster {
                cluster: *cluster,
                worker: *worker,
            },
            Call::Sudo(SudoCall::RotateMasterKey) => CallView::RotateMasterKey,
            Call::Sudo(SudoCall::RemoveWorker { worker }) => {
                CallView::RemoveWorker { worker: *worker }
            }
            Call::PublishClusterKey {
                cluster,
                epoch,
                public_key,
            } => CallView::PublishClusterKey {
                cluster: *cluster,
                epoch: *epoch,
                public_key: hex::encode(public_key),
            },
            Call::KeyMessage {
                recipient,
                cluster,
                envelope,
            } => CallView::KeyMessage {
                recipient: *recipient,
                cluster: *cluster,
                epoch: envelope.epoch,
            },
            Call::UploadCode { code } => CallView::UploadCode {
                code_hash: phalanx_primitives::sha256(code),
                size: code.len(),
            },
            Call::Instantiate {
                code_hash,
                cluster,
                salt,
                init,
                gas_limit,
            } => CallView::Instantiate {
                code_hash: *code_hash,
                cluster: *cluster,
                salt: hex::encode(salt),
                gas_limit: *gas_limit,
                init_ciphertext_len: init.ciphertext.len(),
            },
            Call::PublishContractKey {
                contract,
                epoch,
                public_key,
            } => CallView::PublishContractKey {
                contract: *contract,
                epoch: *epoch,
                public_key: hex::encode(public_key),
            },
            Call::Command {
                contract,
                envelope,
                gas_limit,
                value,
            } => CallView::Command {
                contract: *contract,
                gas_limit: *gas_limit,
                ciphertext_len: envelope.ciphertext.len(),
                value_units: *value,
            },
            Call::Egress {
                contract,
                first_seq,
                outputs,
            } => CallView::Egress {
                contract: *contract,
                first_seq: *first_seq,
                outputs: outputs.iter().map(OutputView::from).collect(),
            },
            Call::PublishMasterKey { epoch, public_key } => CallView::PublishMasterKey {
                epoch: *epoch,
                public_key: hex::encode(public_key),
            },
            Call::ShareMasterKey {
                recipient,
                envelope,
            } => CallView::ShareMasterKey {
                recipient: *recipient,
                epoch: envelope.epoch,
            },
            Call::Sudo(other) => CallView::Sudo {
                call: describe_sudo_call(other),
            },
            Call::CreatePool { commission_percent } => CallView::CreatePool {
                commission_percent: *commission_percent,
            },
            Call::Deposit { pool, amount } => CallView::Deposit {
                pool: *pool,
                amount_units: *amount,
            },
            Call::Withdraw { pool, shares } => CallView::Withdraw {
                pool: *pool,
                shares: *shares,
            },
            Call::BindWorker { pool, worker } => CallView::BindWorker {
                pool: *pool,
                worker: *worker,
            },
            Call::StartComputing { worker, stake } => CallView::StartComputing {
                worker: *worker,
                stake_units: *stake,
            },
            Call::StopComputing { worker } => CallView::StopComputing { worker: *worker },
            Call::UnbindWorker { worker } => CallView::UnbindWorker { worker: *worker },
            Call::Randomness { .. } => CallView::Randomness,
            Call::Propose { call } => CallView::Propose {
                call: describe_sudo_call(call),
            },
            Call::Vote {
                proposal,
                aye,
                amount,
            } => CallView::Vote {
                proposal: *proposal,
                aye: *aye,
                amount_units: *amount,
            },
            Call::Heartbeat {
                performance,
                digests,
            } => CallView::Heartbeat {
                performance: *performance,
                digests: digests
                    .iter()
                    .map(|r| (r.contract, r.height, r.digest))
                    .collect(),
            },
        };
        TransactionView {
            hash: tx.hash(),
            signer: tx.signer,
            nonce: tx.nonce,
            fee_units: tx.fee,
            call,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BlockView {
    pub header: HeaderView,
    pub transactions: Vec<TransactionView>,
    /// Validators that signed the finality certificate.
    pub finalized_by: Vec<AccountId>,
    /// The whole block, SCALE-encoded, `0x` hex: what a client verifies.
    pub raw: String,
}

impl From<&Block> for BlockView {
    fn from(block: &Block) -> Self {
        BlockView {
            header: HeaderView::from(&block.header),
            transactions: block
                .transactions
                .iter()
                .map(TransactionView::from)
                .collect(),
            finalized_by: block
                .certificate
                .signatures
                .iter()
                .map(|s| s.validator)
                .collect(),
            raw: format!("0x{}", hex::encode(block.encode())),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKindView {
    Endowed {
        account: AccountId,
        #[serde(with = "serde_units")]
        amount_units: Balance,
    },
    Transfer {
        from: AccountId,
        to: AccountId,
        #[serde(with = "serde_units")]
        amount_units: Balance,
    },
    FeePaid {
        payer: AccountId,
        #[serde(with = "serde_units")]
        fee_units: Balance,
    },
    WorkerRegistered {
        identity: AccountId,
        operator: AccountId,
        role: String,
        tee: String,
        measurement: Measurement,
        confidence: ConfidenceLevel,
    },
    MeasurementAdded {
        measurement: Measurement,
    },
    MeasurementRemoved {
        measurement: Measurement,
    },
    ClusterCreated {
        cluster: Hash,
        workers: Vec<AccountId>,
    },
    AddedToCluster {
        cluster: Hash,
        worker: AccountId,
    },
    ClusterKeyPublished {
        cluster: Hash,
        epoch: u32,
        public_key: String,
    },
    KeyMessageSent {
        recipient: AccountId,
        cluster: Hash,
        epoch: u32,
    },
    CodeUploaded {
        code_hash: Hash,
        uploader: AccountId,
        size: u32,
    },
    ContractInstantiated {
        contract: AccountId,
        code_hash: Hash,
        cluster: Hash,
        deployer: AccountId,
    },
    ContractKeyPublished {
        contract: AccountId,
        epoch: u32,
        public_key: String,
    },
    CommandSubmitted {
        contract: AccountId,
        sender: AccountId,
        sequence: u64,
    },
    GasPrepaid {
        payer: AccountId,
        gas_limit: u64,
        #[serde(with = "serde_units")]
        amount_units: Balance,
    },
    MasterKeyPublished {
        gatekeeper: AccountId,
        epoch: u32,
        public_key: String,
    },
    MasterKeyShared {
        from: AccountId,
        to: AccountId,
        epoch: u32,
    },
    Heartbeat {
        worker: AccountId,
        reports: u32,
    },
    StateDivergence {
        contract: AccountId,
        height: u64,
        worker: AccountId,
        digest: Hash,
        other_worker: AccountId,
        other_digest: Hash,
    },
    EgressAccepted {
        contract: AccountId,
        worker: AccountId,
        first_seq: u64,
        count: u32,
    },
    ContractEvent {
        contract: AccountId,
        seq: u64,
        /// Hex; the contract's own encoding.
        data: String,
    },
    ContractMessage {
        from: AccountId,
        to: AccountId,
        seq: u64,
        #[serde(with = "serde_units")]
        gas_paid_units: Balance,
    },
    OutputFailed {
        contract: AccountId,
        seq: u64,
        reason: String,
    },
    MasterKeyRotated {
        epoch: u32,
    },
    ClusterRekeyed {
        cluster: Hash,
        epoch: u32,
        workers: Vec<AccountId>,
    },
    ContractRekeyed {
        contract: AccountId,
        cluster: Hash,
        epoch: u32,
    },
    WorkerRemoved {
        worker: AccountId,
        clusters: Vec<Hash>,
    },
    GasSettled {
        contract: AccountId,
        #[serde(with = "serde_units")]
        refunded_units: Balance,
        #[serde(with = "serde_units")]
        to_workers_units: Balance,
        #[serde(with = "serde_units")]
        to_treasury_units: Balance,
    },
    PoolCreated {
        pool: u64,
        owner: AccountId,
        commission_percent: u8,
    },
    Deposited {
        pool: u64,
        who: AccountId,
        #[serde(with = "serde_units")]
        amount_units: Balance,
        #[serde(with = "serde_units")]
        shares: Balance,
    },
    WithdrawalRequested {
        pool: u64,
        who: AccountId,
        #[serde(with = "serde_units")]
        shares: Balance,
        release_at_ms: u64,
    },
    Withdrawn {
        pool: u64,
        who: AccountId,
        #[serde(with = "serde_units")]
        shares: Balance,
        #[serde(with = "serde_units")]
        amount_units: Balance,
    },
    WorkerBound {
        pool: u64,
        worker: AccountId,
    },
    ComputingStarted {
        pool: u64,
        worker: AccountId,
        #[serde(with = "serde_units")]
        v_units: Balance,
        performance: u32,
    },
    ComputingStopped {
        pool: u64,
        worker: AccountId,
        reason: String,
    },
    RewardsDistributed {
        #[serde(with = "serde_units")]
        to_pools_units: Balance,
        #[serde(with = "serde_units")]
        to_treasury_units: Balance,
        workers: u32,
    },
    WorkerChallenged {
        worker: AccountId,
        deadline: u64,
    },
    WorkerUnresponsive {
        worker: AccountId,
    },
    WorkerResponsive {
        worker: AccountId,
    },
    RandomnessUpdated {
        gatekeeper: AccountId,
    },
    ProposalCreated {
        proposal: u32,
        proposer: AccountId,
        call: String,
        voting_ends: u64,
    },
    Voted {
        proposal: u32,
        voter: AccountId,
        aye: bool,
        #[serde(with = "serde_units")]
        amount_units: Balance,
    },
    ProposalPassed {
        proposal: u32,
        #[serde(with = "serde_units")]
        ayes_units: Balance,
        #[serde(with = "serde_units")]
        nays_units: Balance,
        enact_at: u64,
    },
    ProposalRejected {
        proposal: u32,
        #[serde(with = "serde_units")]
        ayes_units: Balance,
        #[serde(with = "serde_units")]
        nays_units: Balance,
        reason: String,
    },
    ProposalEnacted {
        proposal: u32,
    },
    ProposalFailed {
        proposal: u32,
        reason: String,
    },
    ParameterChanged {
        parameter: String,
        /// In units for amounts.
        #[serde(with = "serde_units")]
        value: u128,
    },
    TreasurySpent {
        to: AccountId,
        #[serde(with = "serde_units")]
        amount_units: Balance,
    },
    GatekeeperElected {
        identity: AccountId,
    },
    GatekeeperRemoved {
        identity: AccountId,
    },
    WorkerUnbound {
        pool: u64,
        worker: AccountId,
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
                role: name(role),
                tee: name(tee),
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
        };
        EventView {
            end_of_block,
            transaction_index,
            event,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccountView {
    pub account: AccountId,
    /// Free balance as a PHA decimal, e.g. "12.5".
    pub free: String,
    #[serde(with = "serde_units")]
    pub free_units: Balance,
    pub nonce: u64,
}

impl AccountView {
    pub fn new(account: AccountId, free_units: Balance, nonce: u64) -> Self {
        AccountView {
            account,
            free: format_pha(free_units),
            free_units,
            nonce,
        }
    }
}

/// Why one transaction of a batch was refused.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TxRejection {
    pub code: i32,
    pub kind: String,
    pub message: String,
}

/// The outcome of one transaction of a `tx_submitBatch` call: a hash, or a rejection.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SubmitOutcome {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hash: Option<Hash>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<TxRejection>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TxStatus {
    Pending,
    /// In a final block.
    Included {
        height: u64,
        index: u32,
        block_hash: Hash,
    },
    Unknown,
}

/// A registered enclave.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct WorkerView {
    pub identity: AccountId,
    pub operator: AccountId,
    /// `worker` or `gatekeeper`.
    pub role: String,
    /// Hex of the x25519 key that key messages are encrypted to.
    pub ecdh_public: String,
    /// `dev`, `sgx` or `tdx`.
    pub tee: String,
    pub measurement: Measurement,
    pub confidence: ConfidenceLevel,
    pub endpoint: String,
    pub registered_at: u64,
}

impl WorkerView {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        identity: AccountId,
        operator: AccountId,
        role: impl std::fmt::Debug,
        ecdh_public: &[u8; 32],
        tee: impl std::fmt::Debug,
        measurement: Measurement,
        confidence: ConfidenceLevel,
        endpoint: String,
        registered_at: u64,
    ) -> Self {
        WorkerView {
            identity,
            operator,
            role: name(role),
            ecdh_public: hex::encode(ecdh_public),
            tee: name(tee),
            measurement,
            confidence,
            endpoint,
            registered_at,
        }
    }
}

/// A published x25519 key and the key epoch it belongs to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PublishedKey {
    /// Hex of the 32-byte x25519 public key.
    pub public_key: String,
    pub epoch: u32,
}

impl PublishedKey {
    pub fn new(key: &Option<([u8; 32], u32)>) -> Option<Self> {
        key.map(|(public_key, epoch)| PublishedKey {
            public_key: hex::encode(public_key),
            epoch,
        })
    }

    /// The key's bytes (None if the hex is malformed).
    pub fn bytes(&self) -> Option<[u8; 32]> {
        hex::decode(&self.public_key).ok()?.try_into().ok()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClusterView {
    pub cluster: Hash,
    pub workers: Vec<AccountId>,
    pub key: Option<PublishedKey>,
}

/// The master key as the chain knows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct MasterKeyView {
    /// The epoch of the declared key (gatekeepers derive later epochs' keys from it).
    pub epoch: u32,
    /// The chain's key epoch now (one more per rotation).
    pub current_epoch: u32,
    /// Hex of the declared 32-byte public key.
    pub public_key: String,
    pub holders: Vec<AccountId>,
}

impl MasterKeyView {
    /// The declared public key's bytes (None if the hex is malformed).
    pub fn public_key_bytes(&self) -> Option<[u8; 32]> {
        hex::decode(&self.public_key).ok()?.try_into().ok()
    }
}

/// Code on chain.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CodeView {
    pub code_hash: Hash,
    pub size: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContractView {
    pub contract: AccountId,
    pub code_hash: Hash,
    pub cluster: Hash,
    pub deployer: AccountId,
    pub created_at: u64,
    pub key: Option<PublishedKey>,
    pub commands: u64,
}

/// What a worker's `worker_stateDigest` answers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DigestView {
    pub contract: AccountId,
    pub height: u64,
    /// The keyed digest of the contract's state after block `height`; null if it had none.
    pub digest: Option<Hash>,
}
