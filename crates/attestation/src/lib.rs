//! `attestation`: proves that a worker or gatekeeper key lives in a genuine enclave. It defines
//! the quote a registration carries, the providers that produce one inside an enclave (`dev`,
//! Gramine SGX, TDX configfs), and the verifier the runtime runs on it.
//!
//! Verification is a pure function of the quote, its collateral, the time (the block's
//! timestamp, never the wall clock) and the chain's policy: it checks the quote and collateral
//! against Intel's root CA with dcap-qvl, maps the TCB status to a [`ConfidenceLevel`], checks the
//! measurement against the allow-list and the report data against the keys being registered.
//! Only [`verify`] makes a [`VerifiedAttestation`]. Providers do I/O and are for workers only.
//!
//! ```
//! use phalanx_attestation::*;
//! use phalanx_primitives::{AccountId, Hash};
//! let provider = DevProvider::new_insecure(phalanx_crypto::Keypair::dev("dev-attestation"), [9; 32]);
//! let (identity, operator) = (AccountId::from_bytes([1; 32]), AccountId::from_bytes([3; 32]));
//! let data = Enrollment {
//!     identity: &identity,
//!     ecdh_public: &[2; 32],
//!     chain_id: &Hash::ZERO,
//!     role: Role::Worker,
//!     operator: &operator,
//!     endpoint: b"http://127.0.0.1:9946",
//! }
//! .report_data();
//! let quote = provider.quote(&data).unwrap();
//! let policy = AttestationPolicy::dev(provider.attestation_key(), vec![Measurement::Dev([9; 32])]);
//! let verified = verify(&quote, &data, 1_767_225_600, &policy).unwrap();
//! assert_eq!(verified.confidence(), ConfidenceLevel::UpToDate);
//! ```
#![forbid(unsafe_code)]

mod provider;
mod report;
mod verify;

pub use phalanx_primitives::attestation::{
    AttestationPolicy, AttestationReport, ConfidenceLevel, DevQuote, Measurement, Role, TeeKind,
    DEV_QUOTE_DOMAIN,
};
pub use provider::{
    dev_measurement, DevProvider, GramineSgxProvider, ProviderError, QuoteProvider,
    TdxConfigfsProvider,
};
pub use report::{Enrollment, SealingRequest};
pub use verify::{verify, AttestationError, VerifiedAttestation};
