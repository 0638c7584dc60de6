//! Calls in words and JSON: what a transaction asks the chain to do. Envelopes stay opaque.

use crate::wire;
use phalanx_primitives::amount::{format_pha, serde_units, Balance};
use phalanx_primitives::attestation::Measurement;
use phalanx_primitives::economy::Parameter;
use phalanx_primitives::{AccountId, Call, ContractOutput, Hash, SudoCall};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type")]
pub enum CallView {
    #[serde(rename = "transfer")]
    Transfer {
        to: AccountId,
        #[serde(with = "serde_units")]
        amount_units: Balance,
    },
    #[serde(rename = "register_worker")]
    RegisterWorker {
        identity: AccountId,
        /// `worker` or `gatekeeper`.
        role: String,
        /// `dev` or `dcap`.
        evidence: String,
        endpoint: String,
    },
    #[serde(rename = "add_measurement")]
    AddMeasurement { measurement: Measurement },
    #[serde(rename = "remove_measurement")]
    RemoveMeasurement { measurement: Measurement },
    #[serde(rename = "create_cluster")]
    CreateCluster {
        cluster: Hash,
        workers: Vec<AccountId>,
    },
    #[serde(rename = "add_to_cluster")]
    AddToCluster { cluster: Hash, worker: AccountId },
    #[serde(rename = "rotate_master_key")]
    RotateMasterKey,
    #[serde(rename = "remove_worker")]
    RemoveWorker { worker: AccountId },
    #[serde(rename = "publish_cluster_key")]
    PublishClusterKey {
        cluster: Hash,
        epoch: u32,
        public_key: String,
    },
    /// The envelope stays opaque: only its size shows.
    #[serde(rename = "key_message")]
    KeyMessage {
        recipient: AccountId,
        cluster: Hash,
        epoch: u32,
    },
    #[serde(rename = "upload_code")]
    UploadCode { code_hash: Hash, size: usize },
    #[serde(rename = "instantiate")]
    Instantiate {
        code_hash: Hash,
        cluster: Hash,
        salt: String,
        gas_limit: u64,
        init_ciphertext_len: usize,
    },
    #[serde(rename = "publish_contract_key")]
    PublishContractKey {
        contract: AccountId,
        epoch: u32,
        public_key: String,
    },
    #[serde(rename = "command")]
    Command {
        contract: AccountId,
        gas_limit: u64,
        ciphertext_len: usize,
        #[serde(with = "serde_units")]
        value_units: Balance,
    },
    #[serde(rename = "egress")]
    Egress {
        contract: AccountId,
        first_seq: u64,
        outputs: Vec<OutputView>,
    },
    #[serde(rename = "publish_master_key")]
    PublishMasterKey { epoch: u32, public_key: String },
    /// The envelope stays opaque.
    #[serde(rename = "share_master_key")]
    ShareMasterKey { recipient: AccountId, epoch: u32 },
    #[serde(rename = "heartbeat")]
    Heartbeat {
        /// The benchmark score it reported, if any.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        performance: Option<u32>,
        /// `(contract, height, digest)` reports.
        digests: Vec<(AccountId, u64, Hash)>,
    },
    /// A privileged call without a view of its own, in words.
    #[serde(rename = "sudo")]
    Sudo { call: String },
    #[serde(rename = "create_pool")]
    CreatePool { commission_percent: u8 },
    #[serde(rename = "deposit")]
    Deposit {
        pool: u64,
        #[serde(with = "serde_units")]
        amount_units: Balance,
    },
    #[serde(rename = "withdraw")]
    Withdraw {
        pool: u64,
        #[serde(with = "serde_units")]
        shares: Balance,
    },
    #[serde(rename = "bind_worker")]
    BindWorker { pool: u64, worker: AccountId },
    #[serde(rename = "start_computing")]
    StartComputing {
        worker: AccountId,
        #[serde(with = "serde_units")]
        stake_units: Balance,
    },
    #[serde(rename = "stop_computing")]
    StopComputing { worker: AccountId },
    #[serde(rename = "unbind_worker")]
    UnbindWorker { worker: AccountId },
    #[serde(rename = "record_metadata")]
    RecordMetadata {
        code_hash: Hash,
        metadata_hash: Hash,
    },
    #[serde(rename = "randomness")]
    Randomness,
    #[serde(rename = "propose")]
    Propose {
        /// The proposed call, in words.
        call: String,
    },
    #[serde(rename = "vote")]
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
        SudoCall::SetValidators { validators } => {
            let names: Vec<String> = validators.iter().map(|v| v.account.to_string()).collect();
            format!("make {} the validators", names.join(", "))
        }
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
#[serde(tag = "type")]
pub enum OutputView {
    #[serde(rename = "event")]
    Event { data: String },
    #[serde(rename = "transfer")]
    Transfer {
        to: AccountId,
        #[serde(with = "serde_units")]
        amount_units: Balance,
    },
    /// The envelope stays opaque.
    #[serde(rename = "message")]
    Message {
        to: AccountId,
        gas_limit: u64,
        ciphertext_len: usize,
    },
    #[serde(rename = "settle")]
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

impl From<&Call> for CallView {
    fn from(call: &Call) -> Self {
        match call {
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
                role: wire::role(*role).into(),
                evidence: wire::evidence(attestation).into(),
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
            Call::RecordMetadata {
                code_hash,
                metadata_hash,
            } => CallView::RecordMetadata {
                code_hash: *code_hash,
                metadata_hash: *metadata_hash,
            },
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
        }
    }
}

/// The call in words, as the CLI prints it.
impl fmt::Display for CallView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallView::Transfer { to, amount_units } => {
                write!(f, "transfer {} PHA to {to}", format_pha(*amount_units))
            }
            CallView::RegisterWorker {
                identity,
                role,
                evidence,
                endpoint,
            } => write!(
                f,
                "register {role} {identity} ({evidence} quote, endpoint `{endpoint}`)"
            ),
            CallView::AddMeasurement { measurement } => {
                write!(f, "sudo: allow measurement {measurement}")
            }
            CallView::RemoveMeasurement { measurement } => {
                write!(f, "sudo: disallow measurement {measurement}")
            }
            CallView::CreateCluster { cluster, workers } => write!(
                f,
                "sudo: create cluster {cluster} of {} workers",
                workers.len()
            ),
            CallView::AddToCluster { cluster, worker } => {
                write!(f, "sudo: add worker {worker} to cluster {cluster}")
            }
            CallView::RotateMasterKey => write!(f, "sudo: rotate the master key"),
            CallView::RemoveWorker { worker } => write!(f, "sudo: remove worker {worker}"),
            CallView::PublishClusterKey {
                cluster,
                epoch,
                public_key,
            } => write!(
                f,
                "publish the key of cluster {cluster} for epoch {epoch}: {public_key}"
            ),
            CallView::KeyMessage {
                recipient,
                cluster,
                epoch,
            } => write!(
                f,
                "key message to {recipient}: cluster {cluster}, epoch {epoch} (sealed)"
            ),
            CallView::UploadCode { code_hash, size } => {
                write!(f, "upload code {code_hash} ({size} bytes)")
            }
            CallView::Instantiate {
                code_hash,
                cluster,
                salt,
                gas_limit,
                init_ciphertext_len,
            } => write!(
                f,
                "instantiate code {code_hash} in cluster {cluster} (salt {salt}, gas limit \
                 {gas_limit}, {init_ciphertext_len} bytes sealed)"
            ),
            CallView::PublishContractKey {
                contract,
                epoch,
                public_key,
            } => write!(
                f,
                "publish the key of contract {contract} for epoch {epoch}: {public_key}"
            ),
            CallView::Command {
                contract,
                gas_limit,
                ciphertext_len,
                value_units,
            } => {
                write!(
                    f,
                    "command to {contract} (gas limit {gas_limit}, {ciphertext_len} bytes sealed"
                )?;
                if *value_units > 0 {
                    write!(f, ", {} PHA attached", format_pha(*value_units))?;
                }
                write!(f, ")")
            }
            CallView::Egress {
                contract,
                first_seq,
                outputs,
            } => {
                write!(
                    f,
                    "egress of {contract}: outputs {first_seq}..{}",
                    first_seq + outputs.len() as u64
                )?;
                for (i, output) in outputs.iter().enumerate() {
                    write!(f, "{} {output}", if i == 0 { ":" } else { ";" })?;
                }
                Ok(())
            }
            CallView::PublishMasterKey { epoch, public_key } => {
                write!(f, "declare the master key of epoch {epoch}: {public_key}")
            }
            CallView::ShareMasterKey { recipient, epoch } => {
                write!(
                    f,
                    "share the master key of epoch {epoch} with {recipient} (sealed)"
                )
            }
            CallView::Heartbeat {
                performance,
                digests,
            } => {
                write!(f, "heartbeat with {} digest report(s)", digests.len())?;
                match performance {
                    Some(score) => write!(f, ", performance {score}"),
                    None => Ok(()),
                }
            }
            CallView::Sudo { call } => write!(f, "sudo: {call}"),
            CallView::CreatePool { commission_percent } => {
                write!(
                    f,
                    "create a stake pool with {commission_percent}% commission"
                )
            }
            CallView::Deposit { pool, amount_units } => {
                write!(
                    f,
                    "deposit {} PHA in pool {pool}",
                    format_pha(*amount_units)
                )
            }
            CallView::Withdraw { pool, shares } => {
                write!(
                    f,
                    "withdraw {} shares from pool {pool}",
                    format_pha(*shares)
                )
            }
            CallView::BindWorker { pool, worker } => {
                write!(f, "bind worker {worker} to pool {pool}")
            }
            CallView::StartComputing {
                worker,
                stake_units,
            } => write!(
                f,
                "start computing on worker {worker} with {} PHA stake",
                format_pha(*stake_units)
            ),
            CallView::StopComputing { worker } => write!(f, "stop computing on worker {worker}"),
            CallView::UnbindWorker { worker } => write!(f, "unbind worker {worker}"),
            CallView::RecordMetadata {
                code_hash,
                metadata_hash,
            } => write!(f, "record metadata {metadata_hash} for code {code_hash}"),
            CallView::Randomness => write!(f, "randomness beacon"),
            CallView::Propose { call } => write!(f, "propose: {call}"),
            CallView::Vote {
                proposal,
                aye,
                amount_units,
            } => write!(
                f,
                "vote {} on proposal #{proposal} with {} PHA",
                if *aye { "aye" } else { "nay" },
                format_pha(*amount_units)
            ),
        }
    }
}

impl fmt::Display for OutputView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputView::Event { data } => write!(f, "event 0x{data}"),
            OutputView::Transfer { to, amount_units } => {
                write!(f, "pay {} PHA to {to}", format_pha(*amount_units))
            }
            OutputView::Message {
                to,
                gas_limit,
                ciphertext_len,
            } => write!(
                f,
                "message to {to} (gas limit {gas_limit}, {ciphertext_len} bytes sealed)"
            ),
            OutputView::Settle {
                refunds,
                fees_units,
            } => write!(
                f,
                "settle gas: {} refund(s), {} PHA in fees",
                refunds.len(),
                format_pha(*fees_units)
            ),
        }
    }
}
