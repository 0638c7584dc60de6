//! What a registration carries: the quote (and its collateral), and what it must commit to.

use parity_scale_codec::{Decode, Encode};
use phalanx_primitives::{sha256_parts, AccountId, Hash, Signature};

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

/// The code identity a quote attests: what the allow-list on chain names.
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

/// The report data an enclave must put in its quote when registering these keys:
/// `SHA-256(identity public key | ECDH public key | genesis hash | role)`, zero-padded to 64 bytes.
pub fn report_data(
    identity: &AccountId,
    ecdh_public: &[u8; 32],
    genesis: &Hash,
    role: Role,
) -> [u8; 64] {
    let digest = sha256_parts(&[identity.as_bytes(), ecdh_public, &genesis.0, &role.encode()]);
    let mut data = [0u8; 64];
    data[..32].copy_from_slice(&digest.0);
    data
}
