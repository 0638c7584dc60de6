//! What a chain accepts: which providers, which measurements, which TCB states.

use crate::Measurement;
use parity_scale_codec::{Decode, Encode};
use phalanx_primitives::AccountId;

/// How much a platform's TCB can be trusted, from Intel's TCB status. Lower is better; the chain
/// records it with the worker (later issues weigh rewards by it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Encode, Decode)]
pub enum ConfidenceLevel {
    /// `UpToDate`.
    #[codec(index = 1)]
    UpToDate = 1,
    /// `SWHardeningNeeded`: up to date, but some vulnerabilities need software mitigations.
    #[codec(index = 2)]
    SwHardeningNeeded = 2,
    /// `ConfigurationNeeded` or `ConfigurationAndSWHardeningNeeded`.
    #[codec(index = 3)]
    ConfigurationNeeded = 3,
    /// `OutOfDate` or `OutOfDateConfigurationNeeded`.
    #[codec(index = 4)]
    OutOfDate = 4,
}

impl ConfidenceLevel {
    /// Maps Intel's TCB status string; `None` for statuses never acceptable (e.g. `Revoked`).
    pub fn from_tcb_status(status: &str) -> Option<Self> {
        Some(match status {
            "UpToDate" => ConfidenceLevel::UpToDate,
            "SWHardeningNeeded" => ConfidenceLevel::SwHardeningNeeded,
            "ConfigurationNeeded" | "ConfigurationAndSWHardeningNeeded" => {
                ConfidenceLevel::ConfigurationNeeded
            }
            "OutOfDate" | "OutOfDateConfigurationNeeded" => ConfidenceLevel::OutOfDate,
            _ => return None,
        })
    }
}

/// The chain's attestation policy (from genesis; changed by governance in later issues).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct AttestationPolicy {
    /// Dev attestation keys whose simulated quotes are accepted; empty on production chains.
    pub dev_attestation_keys: Vec<AccountId>,
    /// Whether Intel DCAP quotes (SGX, TDX) are accepted.
    pub accept_dcap: bool,
    /// The worst confidence level accepted.
    pub worst_accepted_confidence: ConfidenceLevel,
    /// The measurement allow-list.
    pub measurements: Vec<Measurement>,
}

impl AttestationPolicy {
    /// A dev chain's policy: the given dev key's quotes, and DCAP too.
    pub fn dev(dev_key: AccountId, measurements: Vec<Measurement>) -> Self {
        AttestationPolicy {
            dev_attestation_keys: vec![dev_key],
            accept_dcap: true,
            worst_accepted_confidence: ConfidenceLevel::OutOfDate,
            measurements,
        }
    }

    /// A production policy: DCAP only.
    pub fn production(
        measurements: Vec<Measurement>,
        worst_accepted_confidence: ConfidenceLevel,
    ) -> Self {
        AttestationPolicy {
            dev_attestation_keys: vec![],
            accept_dcap: true,
            worst_accepted_confidence,
            measurements,
        }
    }
}
