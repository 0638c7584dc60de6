//! The verifier: a deterministic function of evidence, time and policy.

use crate::{
    AttestationPolicy, AttestationReport, ConfidenceLevel, DevQuote, Measurement, TeeKind,
};
use dcap_qvl::quote::Report;
use dcap_qvl::QuoteCollateralV3;
use phalanx_crypto::verify_signature;

/// Why a registration's evidence is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttestationError {
    #[error("this chain does not accept dev (simulated) quotes from key {0}")]
    DevNotAccepted(phalanx_primitives::AccountId),
    #[error("the dev quote's signature does not verify")]
    BadDevQuote,
    #[error("this chain does not accept DCAP quotes")]
    DcapNotAccepted,
    #[error("the collateral is not valid QuoteCollateralV3 JSON: {0}")]
    MalformedCollateral(String),
    /// The quote, its certificate chain or the collateral failed verification (forged, altered,
    /// expired at this time, revoked, ...).
    #[error("DCAP verification failed: {0}")]
    Dcap(String),
    #[error("TCB status {0} is never accepted")]
    TcbStatusRejected(String),
    #[error("confidence level {found:?} is worse than the accepted {worst:?}")]
    ConfidenceNotAccepted {
        found: ConfidenceLevel,
        worst: ConfidenceLevel,
    },
    #[error("measurement {0:?} is not on the chain's allow-list")]
    MeasurementNotAllowed(Measurement),
    #[error("the quote's report data does not commit to the keys being registered")]
    ReportDataMismatch,
}

/// Evidence that passed [`verify`]: the only way to obtain one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedAttestation {
    kind: TeeKind,
    measurement: Measurement,
    confidence: ConfidenceLevel,
    tcb_status: String,
    advisory_ids: Vec<String>,
}

impl VerifiedAttestation {
    pub fn kind(&self) -> TeeKind {
        self.kind
    }
    pub fn measurement(&self) -> Measurement {
        self.measurement
    }
    pub fn confidence(&self) -> ConfidenceLevel {
        self.confidence
    }
    /// Intel's TCB status string (`Simulated` for dev quotes).
    pub fn tcb_status(&self) -> &str {
        &self.tcb_status
    }
    pub fn advisory_ids(&self) -> &[String] {
        &self.advisory_ids
    }
}

/// Verifies `report` at `now_secs` (the block timestamp) under `policy`, requiring its report
/// data to equal `expected_report_data` (see [`crate::Enrollment::report_data`]).
pub fn verify(
    report: &AttestationReport,
    expected_report_data: &[u8; 64],
    now_secs: u64,
    policy: &AttestationPolicy,
) -> Result<VerifiedAttestation, AttestationError> {
    let (verified, report_data) = match report {
        AttestationReport::Dev(quote) => verify_dev(quote, policy)?,
        AttestationReport::Dcap {
            quote,
            collateral_json,
        } => verify_dcap(quote, collateral_json, now_secs, policy)?,
    };
    if verified.confidence > policy.worst_accepted_confidence {
        return Err(AttestationError::ConfidenceNotAccepted {
            found: verified.confidence,
            worst: policy.worst_accepted_confidence,
        });
    }
    if !policy.measurements.contains(&verified.measurement) {
        return Err(AttestationError::MeasurementNotAllowed(
            verified.measurement,
        ));
    }
    if &report_data != expected_report_data {
        return Err(AttestationError::ReportDataMismatch);
    }
    Ok(verified)
}

fn verify_dev(
    quote: &DevQuote,
    policy: &AttestationPolicy,
) -> Result<(VerifiedAttestation, [u8; 64]), AttestationError> {
    if !policy.dev_attestation_keys.contains(&quote.attestation_key) {
        return Err(AttestationError::DevNotAccepted(quote.attestation_key));
    }
    let message = DevQuote::signing_message(&quote.measurement, &quote.report_data);
    verify_signature(&quote.attestation_key, &message, &quote.signature)
        .map_err(|_| AttestationError::BadDevQuote)?;
    let verified = VerifiedAttestation {
        kind: TeeKind::Dev,
        measurement: Measurement::Dev(quote.measurement),
        confidence: ConfidenceLevel::UpToDate,
        tcb_status: "Simulated".into(),
        advisory_ids: vec![],
    };
    Ok((verified, quote.report_data))
}

fn verify_dcap(
    quote: &[u8],
    collateral_json: &[u8],
    now_secs: u64,
    policy: &AttestationPolicy,
) -> Result<(VerifiedAttestation, [u8; 64]), AttestationError> {
    if !policy.accept_dcap {
        return Err(AttestationError::DcapNotAccepted);
    }
    let collateral: QuoteCollateralV3 = serde_json::from_slice(collateral_json)
        .map_err(|e| AttestationError::MalformedCollateral(e.to_string()))?;
    let report = dcap_qvl::verify::verify(quote, &collateral, now_secs)
        .map_err(|e| AttestationError::Dcap(format!("{e:#}")))?;
    let confidence = ConfidenceLevel::from_tcb_status(&report.status)
        .ok_or_else(|| AttestationError::TcbStatusRejected(report.status.clone()))?;
    let (kind, measurement, report_data) = match &report.report {
        Report::SgxEnclave(r) => (
            TeeKind::Sgx,
            Measurement::SgxMrEnclave(r.mr_enclave),
            r.report_data,
        ),
        Report::TD10(r) => (TeeKind::Tdx, Measurement::TdxMrTd(r.mr_td), r.report_data),
        Report::TD15(r) => (
            TeeKind::Tdx,
            Measurement::TdxMrTd(r.base.mr_td),
            r.base.report_data,
        ),
        Report::TD15Ex(r) => (
            TeeKind::Tdx,
            Measurement::TdxMrTd(r.base.base.mr_td),
            r.base.base.report_data,
        ),
    };
    let verified = VerifiedAttestation {
        kind,
        measurement,
        confidence,
        tcb_status: report.status,
        advisory_ids: report.advisory_ids,
    };
    Ok((verified, report_data))
}
