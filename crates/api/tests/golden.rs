//! Golden files: the JSON (and the words) of every call, every event and every other view the
//! API returns, pinned in `tests/golden/`. A change to the API shows as a diff of these files;
//! they double as examples of each method's result (docs/protocol.md points here).
//!
//! After an intended change, regenerate with `PHALANX_UPDATE_GOLDEN=1 cargo test -p phalanx-api`
//! and review the diff.
//!
//! `call_variant` and `event_variant` match without a wildcard: a new variant in the primitives
//! fails to compile here until it has a sample, and the samples must cover every variant.

use phalanx_api::economy::{
    PoolView, ProposalView, RewardsView, StakeView, StakesView, VoteView, WithdrawalView,
    WorkerEconomyView,
};
use phalanx_api::views::{
    AccountView, BlockView, CallView, ChainInfo, ClusterView, CodeView, ContractView, DigestView,
    EventView, HeaderView, MasterKeyView, PublishedKey, SubmitOutcome, TokenInfo, TxRejection,
    TxStatus, WorkerView,
};
use phalanx_primitives::attestation::{
    AttestationReport, ConfidenceLevel, DevQuote, Measurement, Role, TeeKind,
};
use phalanx_primitives::economy::Parameter;
use phalanx_primitives::{
    AccountId, Block, BlockHeader, Call, ConsensusRound, ContractOutput, Envelope, Event,
    EventRecord, FinalityCertificate, Hash, Phase, Signature, SignedTransaction, StateReport,
    SudoCall, Transaction, ValidatorSignature,
};
use serde::Serialize;
use std::path::PathBuf;

const PHA: u128 = 1_000_000_000_000;

fn account(n: u8) -> AccountId {
    AccountId::from_bytes([n; 32])
}

fn hash(n: u8) -> Hash {
    Hash([n; 32])
}

fn envelope(epoch: u32, len: usize) -> Envelope {
    Envelope {
        version: 1,
        epoch,
        ephemeral: [7; 32],
        nonce: [8; 12],
        ciphertext: vec![0xee; len],
    }
}

fn measurement() -> Measurement {
    Measurement::Dev([0x4d; 32])
}

fn sudo_calls() -> Vec<SudoCall> {
    vec![
        SudoCall::AddMeasurement(measurement()),
        SudoCall::RemoveMeasurement(measurement()),
        SudoCall::CreateCluster {
            cluster: hash(0xc1),
            workers: vec![account(0x11), account(0x12)],
        },
        SudoCall::AddToCluster {
            cluster: hash(0xc1),
            worker: account(0x13),
        },
        SudoCall::RotateMasterKey,
        SudoCall::RemoveWorker {
            worker: account(0x13),
        },
        SudoCall::SetParameter {
            parameter: Parameter::MinStake,
            value: 1_000 * PHA,
        },
        SudoCall::SpendTreasury {
            to: account(0x21),
            amount: 50 * PHA,
        },
        SudoCall::ElectGatekeeper {
            identity: account(0x31),
        },
        SudoCall::RemoveGatekeeper {
            identity: account(0x31),
        },
        SudoCall::SetValidators {
            validators: vec![phalanx_primitives::Validator {
                account: account(0x51),
                p2p_address: "10.0.0.5:7000".into(),
            }],
        },
    ]
}

fn calls() -> Vec<Call> {
    let mut calls = vec![
        Call::Transfer {
            to: account(0x02),
            amount: 5 * PHA,
        },
        Call::RegisterWorker {
            identity: account(0x11),
            ecdh_public: [0x55; 32],
            role: Role::Worker,
            attestation: Box::new(AttestationReport::Dev(DevQuote {
                measurement: [0x4d; 32],
                report_data: [0; 64],
                attestation_key: account(0x0a),
                signature: Signature([0; 64]),
            })),
            endpoint: b"http://127.0.0.1:9955".to_vec(),
            identity_proof: Signature([0; 64]),
        },
        Call::RegisterWorker {
            identity: account(0x31),
            ecdh_public: [0x56; 32],
            role: Role::Gatekeeper,
            attestation: Box::new(AttestationReport::Dcap {
                quote: vec![1, 2, 3],
                collateral_json: b"{}".to_vec(),
            }),
            endpoint: Vec::new(),
            identity_proof: Signature([0; 64]),
        },
        Call::PublishClusterKey {
            cluster: hash(0xc1),
            epoch: 1,
            public_key: [0x66; 32],
        },
        Call::KeyMessage {
            recipient: account(0x11),
            cluster: hash(0xc1),
            envelope: envelope(1, 48),
        },
        Call::UploadCode {
            code: b"\0asm\x01\0\0\0".to_vec(),
        },
        Call::Instantiate {
            code_hash: hash(0xcd),
            cluster: hash(0xc1),
            salt: b"salt".to_vec(),
            init: envelope(1, 64),
            gas_limit: 2_000_000,
        },
        Call::PublishContractKey {
            contract: account(0x41),
            epoch: 1,
            public_key: [0x67; 32],
        },
        Call::Command {
            contract: account(0x41),
            envelope: envelope(1, 256),
            gas_limit: 1_000_000,
            value: 0,
        },
        Call::Command {
            contract: account(0x41),
            envelope: envelope(1, 256),
            gas_limit: 1_000_000,
            value: 3 * PHA,
        },
        Call::PublishMasterKey {
            epoch: 0,
            public_key: [0x68; 32],
        },
        Call::ShareMasterKey {
            recipient: account(0x32),
            envelope: envelope(0, 80),
        },
        Call::Heartbeat {
            performance: Some(1_200),
            digests: vec![StateReport {
                contract: account(0x41),
                height: 40,
                digest: hash(0xd1),
            }],
        },
        Call::Heartbeat {
            performance: None,
            digests: Vec::new(),
        },
        Call::Egress {
            contract: account(0x41),
            first_seq: 7,
            outputs: vec![
                ContractOutput::Event(b"hello".to_vec()),
                ContractOutput::Transfer {
                    to: account(0x02),
                    amount: PHA / 2,
                },
                ContractOutput::Message {
                    to: account(0x42),
                    envelope: envelope(1, 128),
                    gas_limit: 100_000,
                },
                ContractOutput::Settle {
                    refunds: vec![(account(0x01), 12_345)],
                    fees: 678,
                },
            ],
        },
        Call::CreatePool {
            commission_percent: 10,
        },
        Call::Deposit {
            pool: 0,
            amount: 2_000 * PHA,
        },
        Call::Withdraw {
            pool: 0,
            shares: 500 * PHA,
        },
        Call::BindWorker {
            pool: 0,
            worker: account(0x11),
        },
        Call::StartComputing {
            worker: account(0x11),
            stake: 1_500 * PHA,
        },
        Call::StopComputing {
            worker: account(0x11),
        },
        Call::Randomness { value: hash(0x99) },
        Call::Propose {
            call: SudoCall::SetParameter {
                parameter: Parameter::MinStake,
                value: 2_000 * PHA,
            },
        },
        Call::Vote {
            proposal: 0,
            aye: true,
            amount: 100 * PHA,
        },
        Call::UnbindWorker {
            worker: account(0x11),
        },
        Call::RecordMetadata {
            code_hash: Hash([0xc0; 32]),
            metadata_hash: Hash([0x3e; 32]),
        },
    ];
    calls.extend(sudo_calls().into_iter().map(Call::Sudo));
    calls
}

/// The variant's place; no wildcard, so that a new variant needs a sample.
fn call_variant(call: &Call) -> usize {
    match call {
        Call::Transfer { .. } => 0,
        Call::RegisterWorker { .. } => 1,
        Call::Sudo(_) => 2,
        Call::PublishClusterKey { .. } => 3,
        Call::KeyMessage { .. } => 4,
        Call::UploadCode { .. } => 5,
        Call::Instantiate { .. } => 6,
        Call::PublishContractKey { .. } => 7,
        Call::Command { .. } => 8,
        Call::PublishMasterKey { .. } => 9,
        Call::ShareMasterKey { .. } => 10,
        Call::Heartbeat { .. } => 11,
        Call::Egress { .. } => 12,
        Call::CreatePool { .. } => 13,
        Call::Deposit { .. } => 14,
        Call::Withdraw { .. } => 15,
        Call::BindWorker { .. } => 16,
        Call::StartComputing { .. } => 17,
        Call::StopComputing { .. } => 18,
        Call::Randomness { .. } => 19,
        Call::Propose { .. } => 20,
        Call::Vote { .. } => 21,
        Call::UnbindWorker { .. } => 22,
        Call::RecordMetadata { .. } => 23,
    }
}
const CALL_VARIANTS: usize = 24;

fn sudo_variant(call: &SudoCall) -> usize {
    match call {
        SudoCall::AddMeasurement(_) => 0,
        SudoCall::RemoveMeasurement(_) => 1,
        SudoCall::CreateCluster { .. } => 2,
        SudoCall::AddToCluster { .. } => 3,
        SudoCall::RotateMasterKey => 4,
        SudoCall::RemoveWorker { .. } => 5,
        SudoCall::SetParameter { .. } => 6,
        SudoCall::SpendTreasury { .. } => 7,
        SudoCall::ElectGatekeeper { .. } => 8,
        SudoCall::RemoveGatekeeper { .. } => 9,
        SudoCall::SetValidators { .. } => 10,
    }
}
const SUDO_VARIANTS: usize = 11;

fn events() -> Vec<Event> {
    let proposal_call = SudoCall::SetParameter {
        parameter: Parameter::MinStake,
        value: 2_000 * PHA,
    };
    vec![
        Event::Endowed {
            account: account(0x01),
            amount: 1_000_000 * PHA,
        },
        Event::Transfer {
            from: account(0x01),
            to: account(0x02),
            amount: 5 * PHA,
        },
        Event::FeePaid {
            payer: account(0x01),
            fee: 1_000_000,
        },
        Event::WorkerRegistered {
            identity: account(0x11),
            operator: account(0x01),
            role: Role::Worker,
            tee: TeeKind::Dev,
            measurement: measurement(),
            confidence: ConfidenceLevel::UpToDate,
        },
        Event::WorkerRegistered {
            identity: account(0x31),
            operator: account(0x01),
            role: Role::Gatekeeper,
            tee: TeeKind::Tdx,
            measurement: Measurement::TdxMrTd([0x4e; 48]),
            confidence: ConfidenceLevel::SwHardeningNeeded,
        },
        Event::MeasurementAdded(measurement()),
        Event::MeasurementRemoved(measurement()),
        Event::ClusterCreated {
            cluster: hash(0xc1),
            workers: vec![account(0x11)],
        },
        Event::AddedToCluster {
            cluster: hash(0xc1),
            worker: account(0x12),
        },
        Event::ClusterKeyPublished {
            cluster: hash(0xc1),
            epoch: 1,
            public_key: [0x66; 32],
        },
        Event::KeyMessageSent {
            recipient: account(0x11),
            cluster: hash(0xc1),
            epoch: 1,
        },
        Event::CodeUploaded {
            code_hash: hash(0xcd),
            uploader: account(0x01),
            size: 24_576,
        },
        Event::ContractInstantiated {
            contract: account(0x41),
            code_hash: hash(0xcd),
            cluster: hash(0xc1),
            deployer: account(0x01),
        },
        Event::ContractKeyPublished {
            contract: account(0x41),
            epoch: 1,
            public_key: [0x67; 32],
        },
        Event::CommandSubmitted {
            contract: account(0x41),
            sender: account(0x01),
            sequence: 3,
        },
        Event::GasPrepaid {
            payer: account(0x01),
            gas_limit: 1_000_000,
            amount: 1_000_000,
        },
        Event::MasterKeyPublished {
            gatekeeper: account(0x31),
            epoch: 0,
            public_key: [0x68; 32],
        },
        Event::MasterKeyShared {
            from: account(0x31),
            to: account(0x32),
            epoch: 0,
        },
        Event::Heartbeat {
            worker: account(0x11),
            reports: 1,
        },
        Event::StateDivergence {
            contract: account(0x41),
            height: 40,
            worker: account(0x11),
            digest: hash(0xd1),
            other_worker: account(0x12),
            other_digest: hash(0xd2),
        },
        Event::EgressAccepted {
            contract: account(0x41),
            worker: account(0x11),
            first_seq: 7,
            count: 4,
        },
        Event::ContractEvent {
            contract: account(0x41),
            seq: 7,
            data: b"hello".to_vec(),
        },
        Event::ContractMessage {
            from: account(0x41),
            to: account(0x42),
            seq: 9,
            gas_paid: 100_000,
        },
        Event::OutputFailed {
            contract: account(0x41),
            seq: 8,
            reason: "the contract's balance is too low".into(),
        },
        Event::MasterKeyRotated { epoch: 2 },
        Event::ClusterRekeyed {
            cluster: hash(0xc1),
            epoch: 2,
            workers: vec![account(0x11), account(0x12)],
        },
        Event::ContractRekeyed {
            contract: account(0x41),
            cluster: hash(0xc1),
            epoch: 2,
        },
        Event::WorkerRemoved {
            worker: account(0x13),
            clusters: vec![hash(0xc1)],
        },
        Event::GasSettled {
            contract: account(0x41),
            refunded: 12_345,
            to_workers: 600,
            to_treasury: 78,
        },
        Event::PoolCreated {
            pool: 0,
            owner: account(0x01),
            commission_percent: 10,
        },
        Event::Deposited {
            pool: 0,
            who: account(0x02),
            amount: 2_000 * PHA,
            shares: 2_000 * PHA,
        },
        Event::WithdrawalRequested {
            pool: 0,
            who: account(0x02),
            shares: 500 * PHA,
            release_at_ms: 1_800_000_000_000,
        },
        Event::Withdrawn {
            pool: 0,
            who: account(0x02),
            shares: 500 * PHA,
            amount: 510 * PHA,
        },
        Event::WorkerBound {
            pool: 0,
            worker: account(0x11),
        },
        Event::ComputingStarted {
            pool: 0,
            worker: account(0x11),
            v: 3_000 * PHA,
            performance: 1_200,
        },
        Event::ComputingStopped {
            pool: 0,
            worker: account(0x11),
            reason: "the owner stopped it".into(),
        },
        Event::RewardsDistributed {
            to_pools: 80 * PHA,
            to_treasury: 20 * PHA,
            workers: 3,
        },
        Event::WorkerChallenged {
            worker: account(0x11),
            deadline: 60,
        },
        Event::WorkerUnresponsive {
            worker: account(0x11),
        },
        Event::WorkerResponsive {
            worker: account(0x11),
        },
        Event::RandomnessUpdated {
            gatekeeper: account(0x31),
        },
        Event::ProposalCreated {
            proposal: 0,
            proposer: account(0x01),
            call: proposal_call,
            voting_ends: 120,
        },
        Event::Voted {
            proposal: 0,
            voter: account(0x02),
            aye: false,
            amount: 100 * PHA,
        },
        Event::ProposalPassed {
            proposal: 0,
            ayes: 900 * PHA,
            nays: 100 * PHA,
            enact_at: 130,
        },
        Event::ProposalRejected {
            proposal: 1,
            ayes: 100 * PHA,
            nays: 900 * PHA,
            reason: "more nays than ayes".into(),
        },
        Event::ProposalEnacted { proposal: 0 },
        Event::ProposalFailed {
            proposal: 2,
            reason: "the worker is not registered".into(),
        },
        Event::ParameterChanged {
            parameter: Parameter::MinStake,
            value: 2_000 * PHA,
        },
        Event::TreasurySpent {
            to: account(0x21),
            amount: 50 * PHA,
        },
        Event::GatekeeperElected {
            identity: account(0x31),
        },
        Event::GatekeeperRemoved {
            identity: account(0x31),
        },
        Event::WorkerUnbound {
            pool: 0,
            worker: account(0x11),
        },
        Event::ContractBalance {
            contract: account(0x41),
            balance: 7 * PHA,
        },
        Event::MetadataRecorded {
            code_hash: Hash([0xc0; 32]),
            metadata_hash: Hash([0x3e; 32]),
        },
        Event::ValidatorSetScheduled {
            set: phalanx_primitives::ValidatorSet {
                epoch: 3,
                from_height: 300,
                validators: vec![phalanx_primitives::Validator {
                    account: account(0x51),
                    p2p_address: "10.0.0.5:7000".into(),
                }],
            },
        },
    ]
}

/// The variant's place; no wildcard, so that a new variant needs a sample.
fn event_variant(event: &Event) -> usize {
    use Event::*;
    match event {
        Endowed { .. } => 0,
        Transfer { .. } => 1,
        FeePaid { .. } => 2,
        WorkerRegistered { .. } => 3,
        MeasurementAdded(_) => 4,
        MeasurementRemoved(_) => 5,
        ClusterCreated { .. } => 6,
        AddedToCluster { .. } => 7,
        ClusterKeyPublished { .. } => 8,
        KeyMessageSent { .. } => 9,
        CodeUploaded { .. } => 10,
        ContractInstantiated { .. } => 11,
        ContractKeyPublished { .. } => 12,
        CommandSubmitted { .. } => 13,
        GasPrepaid { .. } => 14,
        MasterKeyPublished { .. } => 15,
        MasterKeyShared { .. } => 16,
        Heartbeat { .. } => 17,
        StateDivergence { .. } => 18,
        EgressAccepted { .. } => 19,
        ContractEvent { .. } => 20,
        ContractMessage { .. } => 21,
        OutputFailed { .. } => 22,
        MasterKeyRotated { .. } => 23,
        ClusterRekeyed { .. } => 24,
        ContractRekeyed { .. } => 25,
        WorkerRemoved { .. } => 26,
        GasSettled { .. } => 27,
        PoolCreated { .. } => 28,
        Deposited { .. } => 29,
        WithdrawalRequested { .. } => 30,
        Withdrawn { .. } => 31,
        WorkerBound { .. } => 32,
        ComputingStarted { .. } => 33,
        ComputingStopped { .. } => 34,
        RewardsDistributed { .. } => 35,
        WorkerChallenged { .. } => 36,
        WorkerUnresponsive { .. } => 37,
        WorkerResponsive { .. } => 38,
        RandomnessUpdated { .. } => 39,
        ProposalCreated { .. } => 40,
        Voted { .. } => 41,
        ProposalPassed { .. } => 42,
        ProposalRejected { .. } => 43,
        ProposalEnacted { .. } => 44,
        ProposalFailed { .. } => 45,
        ParameterChanged { .. } => 46,
        TreasurySpent { .. } => 47,
        GatekeeperElected { .. } => 48,
        GatekeeperRemoved { .. } => 49,
        WorkerUnbound { .. } => 50,
        ContractBalance { .. } => 51,
        MetadataRecorded { .. } => 52,
        ValidatorSetScheduled { .. } => 53,
    }
}
const EVENT_VARIANTS: usize = 54;

fn covered(indices: impl Iterator<Item = usize>, variants: usize) -> Vec<usize> {
    let mut seen = vec![false; variants];
    for index in indices {
        seen[index] = true;
    }
    (0..variants).filter(|i| !seen[*i]).collect()
}

fn transaction(nonce: u64, call: Call) -> SignedTransaction {
    SignedTransaction {
        transaction: Transaction {
            chain_id: hash(0xa0),
            signer: account(0x01),
            nonce,
            fee: 1_000_000,
            call,
        },
        signature: Signature([0; 64]),
    }
}

fn header() -> BlockHeader {
    BlockHeader {
        height: 42,
        parent_hash: hash(0xb0),
        state_root: hash(0xb1),
        transactions_root: hash(0xb2),
        events_root: hash(0xb3),
        timestamp_ms: 1_764_547_200_000,
        proposer: account(0xaa),
    }
}

/// Compares `value`'s pretty JSON, keys sorted, with the golden file `name`, or rewrites the
/// file when `PHALANX_UPDATE_GOLDEN` is set.
fn check_golden(name: &str, value: &impl Serialize) {
    let value = sorted(serde_json::to_value(value).expect("views serialize"));
    let mut text = serde_json::to_string_pretty(&value).expect("views serialize");
    text.push('\n');
    check_text(name, &text);
}

/// `value` with every object's keys in order, whether or not serde_json keeps insertion order
/// (a feature another crate of the workspace may turn on).
fn sorted(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(sorted).collect())
        }
        other => other,
    }
}

fn check_text(name: &str, text: &str) {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "golden", name]
        .iter()
        .collect();
    if std::env::var_os("PHALANX_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, text).expect("write the golden file");
        return;
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with PHALANX_UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if golden != text {
        let first_difference = golden
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(golden.lines().count().min(text.lines().count()));
        panic!(
            "{name} differs from its golden file at line {}: the API changed. If that is \
             intended, rerun with PHALANX_UPDATE_GOLDEN=1 and review the diff.\n golden: {:?}\n now:    {:?}",
            first_difference + 1,
            golden.lines().nth(first_difference),
            text.lines().nth(first_difference),
        );
    }
}

#[test]
fn samples_cover_every_variant() {
    let calls = calls();
    assert_eq!(
        covered(calls.iter().map(call_variant), CALL_VARIANTS),
        Vec::<usize>::new(),
        "calls without a sample"
    );
    assert_eq!(
        covered(sudo_calls().iter().map(sudo_variant), SUDO_VARIANTS),
        Vec::<usize>::new(),
        "sudo calls without a sample"
    );
    assert_eq!(
        covered(events().iter().map(event_variant), EVENT_VARIANTS),
        Vec::<usize>::new(),
        "events without a sample"
    );
}

#[test]
fn every_call_has_pinned_json_and_words() {
    let views: Vec<CallView> = calls().iter().map(CallView::from).collect();
    check_golden("calls.json", &views);
    let words: String = views.iter().map(|view| format!("{view}\n")).collect();
    check_text("calls.txt", &words);
}

#[test]
fn every_event_has_pinned_json_and_words() {
    let mut records: Vec<EventRecord> = events()
        .into_iter()
        .enumerate()
        .map(|(i, event)| EventRecord {
            phase: Phase::Transaction(i as u32),
            event,
        })
        .collect();
    records[0].phase = Phase::Genesis;
    records[1].phase = Phase::Finalization;
    let views: Vec<EventView> = records.iter().map(EventView::from).collect();
    check_golden("events.json", &views);
    let words: String = views.iter().map(|view| format!("{view}\n")).collect();
    check_text("events.txt", &words);
}

#[test]
fn views_round_trip_through_json() {
    let calls: Vec<CallView> = calls().iter().map(CallView::from).collect();
    let json = serde_json::to_string(&calls).unwrap();
    assert_eq!(serde_json::from_str::<Vec<CallView>>(&json).unwrap(), calls);
    let events: Vec<EventView> = events()
        .into_iter()
        .map(|event| {
            EventView::from(&EventRecord {
                phase: Phase::Transaction(0),
                event,
            })
        })
        .collect();
    let json = serde_json::to_string(&events).unwrap();
    assert_eq!(
        serde_json::from_str::<Vec<EventView>>(&json).unwrap(),
        events
    );
}

#[test]
fn chain_views_have_pinned_json() {
    let block = Block {
        header: header(),
        transactions: vec![transaction(
            0,
            Call::Transfer {
                to: account(0x02),
                amount: 5 * PHA,
            },
        )],
        certificate: FinalityCertificate {
            descendants: vec![],
            round: ConsensusRound {
                epoch: 0,
                view: 1,
                parent_view: 0,
            },
            signatures: vec![ValidatorSignature {
                validator: account(0xaa),
                signature: Signature([0; 64]),
            }],
        },
    };
    let chain_info = ChainInfo {
        chain_name: "phalanx-dev".into(),
        chain_id: hash(0xa0),
        genesis_block_hash: hash(0xa1),
        validators: vec![account(0xaa)],
        token: TokenInfo {
            symbol: "PHA".into(),
            decimals: 12,
            total_supply_units: 1_000_000_000 * PHA,
        },
        base_fee_units: 1_000_000,
        per_byte_fee_units: 1_000,
        gas_price_units: 1,
        max_transaction_size: 4 << 20,
        treasury: account(0xfe),
    };
    check_golden(
        "chain.json",
        &serde_json::json!({
            "chain_info": chain_info,
            "chain_getHead": HeaderView::from(&header()),
            "chain_getBlock": BlockView::from(&block),
            "state_getAccount": AccountView::new(account(0x01), 12 * PHA + PHA / 2, 3),
            "tx_submitBatch": [
                SubmitOutcome { hash: Some(hash(0xe1)), error: None },
                SubmitOutcome {
                    hash: None,
                    error: Some(TxRejection {
                        code: 1003,
                        kind: "StaleNonce".into(),
                        cause: "stale_nonce".into(),
                        message: "nonce 2 is stale: the account's next nonce is 3".into(),
                    }),
                },
            ],
            "tx_status": [
                TxStatus::Pending,
                TxStatus::Included { height: 42, index: 0, block_hash: hash(0xe2) },
                TxStatus::Unknown,
            ],
        }),
    );
    let words: String = block
        .transactions
        .iter()
        .map(|tx| format!("{}\n", phalanx_api::views::TransactionView::from(tx)))
        .collect();
    check_text("transactions.txt", &words);
}

#[test]
fn registry_and_contract_views_have_pinned_json() {
    let key = Some(([0x67; 32], 1));
    check_golden(
        "registry.json",
        &serde_json::json!({
            "registry_getWorker": WorkerView::new(
                account(0x11),
                account(0x01),
                Role::Worker,
                &[0x55; 32],
                TeeKind::Sgx,
                Measurement::SgxMrEnclave([0x4f; 32]),
                ConfidenceLevel::ConfigurationNeeded,
                "http://127.0.0.1:9955".into(),
                12,
            ),
            "registry_getMasterKey": MasterKeyView {
                epoch: 0,
                current_epoch: 2,
                public_key: hex::encode([0x68; 32]),
                holders: vec![account(0x31)],
            },
            "contracts_getCluster": ClusterView {
                cluster: hash(0xc1),
                workers: vec![account(0x11), account(0x12)],
                key: PublishedKey::new(&Some(([0x66; 32], 1))),
            },
            "contracts_getCode": CodeView {
                code_hash: hash(0xcd),
                size: 24_576,
                uploader: Some(account(0x01)),
                metadata_hash: Some(hash(0x3e)),
            },
            "contracts_getContract": ContractView {
                contract: account(0x41),
                code_hash: hash(0xcd),
                cluster: hash(0xc1),
                deployer: account(0x01),
                created_at: 20,
                key: PublishedKey::new(&key),
                commands: 3,
            },
            "worker_stateDigest": DigestView {
                contract: account(0x41),
                height: 40,
                digest: Some(hash(0xd1)),
            },
        }),
    );
}

#[test]
fn economy_views_have_pinned_json() {
    check_golden(
        "economy.json",
        &serde_json::json!({
            "economy_getPools": [PoolView {
                pool: 0,
                owner: account(0x01),
                commission_percent: 10,
                total_stake_units: 2_000 * PHA,
                total_shares: 2_000 * PHA,
                workers: vec![account(0x11)],
                rewards_to_stake_units: 8 * PHA,
                commission_paid_units: PHA,
            }],
            "economy_getStakes": StakesView {
                account: account(0x02),
                stakes: vec![StakeView { pool: 0, shares: 1_500 * PHA, value_units: 1_510 * PHA }],
                withdrawals: vec![WithdrawalView {
                    pool: 0,
                    who: account(0x02),
                    shares: 500 * PHA,
                    release_at_ms: 1_800_000_000_000,
                }],
            },
            "economy_getWorkers": [WorkerEconomyView {
                identity: account(0x11),
                operator: account(0x01),
                confidence: ConfidenceLevel::UpToDate,
                confidence_percent: 100,
                benchmark: Some(1_200),
                pool: Some(0),
                state: "computing".into(),
                v_units: 3_000 * PHA,
                performance: 1_200,
                share: "0.5".into(),
                rewards_units: 40 * PHA,
                challenge_deadline: None,
            }],
            "economy_getRewards": RewardsView {
                height: 42,
                budget_per_block_units: 100 * PHA,
                next_halving_at: 1_000_000,
                mining_pool_units: 699_995_800 * PHA,
                emitted_units: 4_200 * PHA,
                treasury_reward_percent: 20,
                computing_workers: 3,
            },
            "governance_getProposals": [ProposalView {
                proposal: 0,
                proposer: account(0x01),
                call: phalanx_api::views::describe_sudo_call(&SudoCall::RotateMasterKey),
                deposit_units: 100 * PHA,
                created: 20,
                voting_ends: 120,
                ayes_units: 900 * PHA,
                nays_units: 100 * PHA,
                votes: vec![VoteView { voter: account(0x02), aye: true, amount_units: 900 * PHA }],
                status: "passed".into(),
                enact_at: Some(130),
            }],
        }),
    );
}
