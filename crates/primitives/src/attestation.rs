//! Attestation data the ledger records and transactions carry: quotes, measurements, TCB
//! confidence and the chain's policy. Verification lives in `phalanx-attestation`.

use crate::{AccountId, Signature};
use parity_scale_codec::{Decode, Encode};
use std::fmt;
use std::str::FromStr;

/// Signing domain of simulated (dev) quotes.
pub const DEV_QUOTE_DOMAIN: &[u8] = b"PHALANX_DEV_QUOTE_V1";

/// What the registered enclave will be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Role {
    #[codec(index = 0)]
    Worker,
    #[codec(index = 1)]
    Gatekeeper,
}

/// The kind of enclave a quote comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum TeeKind {
    /// Simulated: a quote signed by a dev attestation key. Proves nothing about hardware.
    #[codec(index = 0)]
    Dev,
    #[codec(index = 1)]
    Sgx,
    #[codec(index = 2)]
    Tdx,
}

/// The code identity a quote attests: what the allow-list on chain names. Text form
/// `dev:<hex>`, `sgx:<hex MRENCLAVE>`, `tdx:<hex MRTD>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Encode, Decode)]
pub enum Measurement {
    #[codec(index = 0)]
    Dev([u8; 32]),
    /// SGX MRENCLAVE.
    #[codec(index = 1)]
    SgxMrEnclave([u8; 32]),
    /// TDX MRTD.
    #[codec(index = 2)]
    TdxMrTd([u8; 48]),
}

impl fmt::Display for Measurement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Measurement::Dev(m) => write!(f, "dev:{}", hex::encode(m)),
            Measurement::SgxMrEnclave(m) => write!(f, "sgx:{}", hex::encode(m)),
            Measurement::TdxMrTd(m) => write!(f, "tdx:{}", hex::encode(m)),
        }
    }
}

/// Why a text is not a measurement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected dev:<64 hex>, sgx:<64 hex> or tdx:<96 hex>, got `{0}`")]
pub struct MeasurementParseError(String);

impl FromStr for Measurement {
    type Err = MeasurementParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || MeasurementParseError(s.to_string());
        let (kind, digits) = s.split_once(':').ok_or_else(bad)?;
        let bytes = hex::decode(digits).map_err(|_| bad())?;
        match kind {
            "dev" => Ok(Measurement::Dev(bytes.try_into().map_err(|_| bad())?)),
            "sgx" => Ok(Measurement::SgxMrEnclave(
                bytes.try_into().map_err(|_| bad())?,
            )),
            "tdx" => Ok(Measurement::TdxMrTd(bytes.try_into().map_err(|_| bad())?)),
            _ => Err(bad()),
        }
    }
}

impl serde::Serialize for Measurement {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Measurement {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// How much a platform's TCB can be trusted, from Intel's TCB status. Lower is better.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Encode,
    Decode,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum ConfidenceLevel {
    /// `UpToDate` (and simulated dev quotes).
    #[codec(index = 1)]
    #[serde(rename = "up_to_date")]
    UpToDate = 1,
    /// `SWHardeningNeeded`.
    #[codec(index = 2)]
    #[serde(rename = "sw_hardening_needed")]
    SwHardeningNeeded = 2,
    /// `ConfigurationNeeded` or `ConfigurationAndSWHardeningNeeded`.
    #[codec(index = 3)]
    #[serde(rename = "configuration_needed")]
    ConfigurationNeeded = 3,
    /// `OutOfDate` or `OutOfDateConfigurationNeeded`.
    #[codec(index = 4)]
    #[serde(rename = "out_of_date")]
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

/// A simulated quote: the dev attestation key vouches for a measurement and report data.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct DevQuote {
    pub measurement: [u8; 32],
    pub report_data: [u8; 64],
    pub attestation_key: AccountId,
    pub signature: Signature,
}

impl DevQuote {
    pub fn signing_message(measurement: &[u8; 32], report_data: &[u8; 64]) -> Vec<u8> {
        [
            DEV_QUOTE_DOMAIN,
            measurement.as_slice(),
            report_data.as_slice(),
        ]
        .concat()
    }
}

/// The attestation evidence a registration transaction carries.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum AttestationReport {
    #[codec(index = 0)]
    Dev(DevQuote),
    /// An Intel DCAP quote (SGX v3 or TDX v4) and its collateral (dcap-qvl's
    /// `QuoteCollateralV3` as JSON), which the worker fetched from a PCCS.
    #[codec(index = 1)]
    Dcap {
        quote: Vec<u8>,
        collateral_json: Vec<u8>,
    },
}

/// The chain's attestation policy: set in genesis, the allow-list changed by sudo (later
/// governance).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
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

/// What an enclave without hardware sealing (TDX) sends a gatekeeper (`gatekeeper_sealingRoot`)
/// to get its sealing root: a quote over `SealingRequest` report data, the key to seal the root
/// to, and the salt naming its data.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SealingRootRequest {
    pub quote: AttestationReport,
    pub reply_key: [u8; 32],
    pub salt: [u8; 32],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measurement_text_round_trips() {
        for m in [
            Measurement::Dev([1; 32]),
            Measurement::SgxMrEnclave([2; 32]),
            Measurement::TdxMrTd([3; 48]),
        ] {
            assert_eq!(m.to_string().parse::<Measurement>().unwrap(), m);
        }
        assert!("sgx:1234".parse::<Measurement>().is_err());
        assert!("foo:00".parse::<Measurement>().is_err());
    }
}
