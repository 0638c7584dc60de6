//! Wire names of the primitives' field-less enums, written out so that renaming a Rust variant
//! never changes the API.

use phalanx_primitives::attestation::{AttestationReport, ConfidenceLevel, Role, TeeKind};

pub(crate) fn role(role: Role) -> &'static str {
    match role {
        Role::Worker => "worker",
        Role::Gatekeeper => "gatekeeper",
    }
}

pub(crate) fn tee(tee: TeeKind) -> &'static str {
    match tee {
        TeeKind::Dev => "dev",
        TeeKind::Sgx => "sgx",
        TeeKind::Tdx => "tdx",
    }
}

/// The kind of evidence a registration carries.
pub(crate) fn evidence(report: &AttestationReport) -> &'static str {
    match report {
        AttestationReport::Dev(_) => "dev",
        AttestationReport::Dcap { .. } => "dcap",
    }
}

/// As its JSON says.
pub(crate) fn confidence(level: ConfidenceLevel) -> &'static str {
    match level {
        ConfidenceLevel::UpToDate => "up_to_date",
        ConfidenceLevel::SwHardeningNeeded => "sw_hardening_needed",
        ConfidenceLevel::ConfigurationNeeded => "configuration_needed",
        ConfidenceLevel::OutOfDate => "out_of_date",
    }
}
