//! The registry module: enclaves (workers and gatekeepers) that proved themselves by remote
//! attestation, and the attestation policy with its measurement allow-list.
//!
//! State layout: `registry/policy` -> SCALE(AttestationPolicy) (written at genesis);
//! `registry/worker/` ++ identity -> SCALE(WorkerInfo); `registry/gatekeepers` ->
//! `SCALE(Vec<AccountId>)`, the elected gatekeepers; `registry/all` -> `SCALE(Vec<AccountId>)`,
//! every registered enclave in registration order (for listings).
//!
//! A gatekeeper enclave acts as one only once elected. The first to register on a chain is
//! elected by its registration (someone must hold the master key before governance can vote on
//! anything confidential); every later one waits for an `ElectGatekeeper` call.

use crate::error::{Cause, Refusal};
use crate::state::decode_entry;
use crate::{StateError, StateOverlay, StateReader, TxError};
use parity_scale_codec::{Decode, Encode};
use phalanx_attestation::{verify, Enrollment, VerifiedAttestation};
use phalanx_crypto::verify_signature;
use phalanx_primitives::attestation::{
    AttestationPolicy, AttestationReport, ConfidenceLevel, Measurement, Role, TeeKind,
};
use phalanx_primitives::{AccountId, BlockHeight, Call, Event, Hash, Signature};

/// Why a registration, an allow-list change or a gatekeeper election is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    #[error("endpoint is {0} bytes; the limit is {MAX_ENDPOINT_LEN}")]
    EndpointTooLong(usize),
    #[error("endpoint is not UTF-8")]
    EndpointNotUtf8,
    #[error("the registration of {0} is not signed by that identity's key")]
    IdentityProof(AccountId),
    #[error("{identity} is registered with measurement {registered}, not {quoted}")]
    OtherMeasurement {
        identity: AccountId,
        /// Boxed, with `quoted`: they would double the size of every `TxError`.
        registered: Box<Measurement>,
        quoted: Box<Measurement>,
    },
    #[error("measurement {0} is already allowed")]
    AlreadyAllowed(Measurement),
    #[error("measurement {0} is not on the allow-list")]
    NotAllowed(Measurement),
    #[error("{0} is not a registered gatekeeper enclave")]
    NotGatekeeperEnclave(AccountId),
    #[error("{0} is already a gatekeeper")]
    AlreadyElected(AccountId),
    #[error("{0} is not a gatekeeper")]
    NotElected(AccountId),
}

impl Cause for RegistryError {
    fn cause(&self) -> &'static str {
        match self {
            RegistryError::EndpointTooLong(_) => "endpoint_too_long",
            RegistryError::EndpointNotUtf8 => "endpoint_not_utf8",
            RegistryError::IdentityProof(_) => "bad_identity_proof",
            RegistryError::OtherMeasurement { .. } => "other_measurement",
            RegistryError::AlreadyAllowed(_) => "measurement_already_allowed",
            RegistryError::NotAllowed(_) => "measurement_not_allowed",
            RegistryError::NotGatekeeperEnclave(_) => "not_a_gatekeeper_enclave",
            RegistryError::AlreadyElected(_) => "already_elected",
            RegistryError::NotElected(_) => "not_elected",
        }
    }

    fn refusal(&self) -> Refusal {
        match self {
            RegistryError::IdentityProof(_) | RegistryError::OtherMeasurement { .. } => {
                Refusal::NotAuthorized
            }
            _ => Refusal::InvalidCall,
        }
    }
}

pub const POLICY_KEY: &[u8] = b"registry/policy";
const GATEKEEPERS_KEY: &[u8] = b"registry/gatekeepers";
const ALL_KEY: &[u8] = b"registry/all";
const WORKER_PREFIX: &[u8] = b"registry/worker/";
/// Longest query endpoint a worker may publish.
pub const MAX_ENDPOINT_LEN: usize = 256;

/// A registered enclave, as the chain knows it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct WorkerInfo {
    pub identity: AccountId,
    /// The account that registered it and pays for it.
    pub operator: AccountId,
    pub role: Role,
    /// Key messages to this enclave are encrypted to it.
    pub ecdh_public: [u8; 32],
    pub tee: TeeKind,
    pub measurement: Measurement,
    pub confidence: ConfidenceLevel,
    /// Query endpoint (URL), possibly empty.
    pub endpoint: String,
    pub registered_at: BlockHeight,
}

pub fn worker_key(identity: &AccountId) -> Vec<u8> {
    [WORKER_PREFIX, identity.as_bytes().as_slice()].concat()
}

/// A registered enclave, from committed state or from a block being built.
pub fn worker(
    state: &impl StateReader,
    identity: &AccountId,
) -> Result<Option<WorkerInfo>, StateError> {
    decode_entry(state.get(&worker_key(identity))?, "worker entry")
}

/// The attestation policy from committed state.
pub fn policy(state: &impl StateReader) -> Result<AttestationPolicy, StateError> {
    decode_entry(state.get(POLICY_KEY)?, "attestation policy")?
        .ok_or_else(|| StateError("no attestation policy in state".into()))
}

/// The enclave registered as `identity`, if it is registered in `role`.
pub(crate) fn enclave_in_role(
    state: &impl StateReader,
    identity: &AccountId,
    role: Role,
) -> Result<Option<WorkerInfo>, StateError> {
    Ok(worker(state, identity)?.filter(|info| info.role == role))
}

/// Deregisters an enclave: it can no longer act as a worker or gatekeeper (it may register
/// again, with a fresh quote, and would then start from no cluster).
pub(crate) fn remove(
    overlay: &mut StateOverlay<impl StateReader>,
    identity: &AccountId,
) -> Result<(), StateError> {
    overlay.remove(worker_key(identity));
    let mut all = all(overlay)?;
    all.retain(|w| w != identity);
    overlay.set(ALL_KEY.to_vec(), all.encode());
    Ok(())
}

/// Every registered enclave, in registration order, from committed state.
pub fn all(state: &impl StateReader) -> Result<Vec<AccountId>, StateError> {
    Ok(decode_entry(state.get(ALL_KEY)?, "enclave list")?.unwrap_or_default())
}

/// Everything a registration needs to know about its context.
pub struct Registration<'a> {
    pub operator: AccountId,
    pub identity: AccountId,
    pub ecdh_public: [u8; 32],
    pub role: Role,
    pub attestation: &'a AttestationReport,
    pub endpoint: &'a [u8],
    pub identity_proof: &'a Signature,
    pub chain_id: Hash,
    pub height: BlockHeight,
    pub timestamp_ms: u64,
}

impl<'a> Registration<'a> {
    /// The registration `call` makes if it is a `RegisterWorker`, signed by `operator`, for a
    /// block of `chain_id` at `height` and `timestamp_ms`.
    pub fn of_call(
        call: &'a Call,
        operator: AccountId,
        chain_id: Hash,
        height: BlockHeight,
        timestamp_ms: u64,
    ) -> Option<Self> {
        let Call::RegisterWorker {
            identity,
            ecdh_public,
            role,
            attestation,
            endpoint,
            identity_proof,
        } = call
        else {
            return None;
        };
        Some(Registration {
            operator,
            identity: *identity,
            ecdh_public: *ecdh_public,
            role: *role,
            attestation,
            endpoint,
            identity_proof,
            chain_id,
            height,
            timestamp_ms,
        })
    }
}

/// The checks of a registration that depend only on the attestation policy: the endpoint, the
/// identity key's signature and the quote, at the registration's time. A node runs them when it
/// admits the transaction, outside the lock that block production needs (so refused ones never
/// reach it); the block runs them again. Returns the endpoint and what the quote proved.
pub fn check_registration(
    state: &impl StateReader,
    r: &Registration<'_>,
) -> Result<(String, VerifiedAttestation), TxError> {
    if r.endpoint.len() > MAX_ENDPOINT_LEN {
        return Err(RegistryError::EndpointTooLong(r.endpoint.len()).into());
    }
    let endpoint =
        String::from_utf8(r.endpoint.to_vec()).map_err(|_| RegistryError::EndpointNotUtf8)?;
    let policy = policy(state)?;
    let enrollment = Enrollment {
        identity: &r.identity,
        ecdh_public: &r.ecdh_public,
        chain_id: &r.chain_id,
        role: r.role,
        operator: &r.operator,
        endpoint: r.endpoint,
    };
    // Only the holder of the identity key registers it (first time or again): a quote alone
    // names the identity without proving it.
    verify_signature(
        &r.identity,
        &enrollment.identity_message(),
        r.identity_proof,
    )
    .map_err(|_| RegistryError::IdentityProof(r.identity))?;
    // Collateral validity is judged at the block's time, so every node agrees.
    let verified = verify(
        r.attestation,
        &enrollment.report_data(),
        r.timestamp_ms / 1000,
        &policy,
    )
    .map_err(|e| TxError::Attestation(e.to_string()))?;
    Ok((endpoint, verified))
}

/// Registers an enclave whose quote verifies under the policy, at the block's time. Emits
/// `WorkerRegistered`, and `GatekeeperElected` for the chain's first gatekeeper.
pub(crate) fn register(
    overlay: &mut StateOverlay<impl StateReader>,
    r: Registration<'_>,
) -> Result<Vec<Event>, TxError> {
    let (endpoint, verified) = check_registration(overlay, &r)?;
    // An identity is sealed to the enclave build that made it: the same identity from another
    // measurement is a copied key, not an upgrade (an upgrade makes a new identity).
    if let Some(known) = worker(overlay, &r.identity)? {
        if known.measurement != verified.measurement() {
            return Err(RegistryError::OtherMeasurement {
                identity: r.identity,
                registered: Box::new(known.measurement),
                quoted: Box::new(verified.measurement()),
            }
            .into());
        }
    }
    let info = WorkerInfo {
        identity: r.identity,
        operator: r.operator,
        role: r.role,
        ecdh_public: r.ecdh_public,
        tee: verified.kind(),
        measurement: verified.measurement(),
        confidence: verified.confidence(),
        endpoint,
        registered_at: r.height,
    };
    if overlay.get(&worker_key(&r.identity))?.is_none() {
        let mut all = all(overlay)?;
        all.push(r.identity);
        overlay.set(ALL_KEY.to_vec(), all.encode());
    }
    overlay.set(worker_key(&r.identity), info.encode());
    let registered = Event::WorkerRegistered {
        identity: r.identity,
        operator: r.operator,
        role: r.role,
        tee: info.tee,
        measurement: info.measurement,
        confidence: info.confidence,
    };
    let mut events = vec![registered];
    if r.role == Role::Gatekeeper {
        let mut elected = gatekeepers(overlay)?;
        if elected.is_empty() {
            elected.push(r.identity);
            overlay.set(GATEKEEPERS_KEY.to_vec(), elected.encode());
            // Said in an event, like every later election, so an enclave following the chain
            // learns who its gatekeepers are from events alone.
            events.push(Event::GatekeeperElected {
                identity: r.identity,
            });
        }
    }
    Ok(events)
}

pub(crate) fn add_measurement(
    overlay: &mut StateOverlay<impl StateReader>,
    measurement: Measurement,
) -> Result<Event, TxError> {
    let mut policy = policy(overlay)?;
    if policy.measurements.contains(&measurement) {
        return Err(RegistryError::AlreadyAllowed(measurement).into());
    }
    policy.measurements.push(measurement);
    overlay.set(POLICY_KEY.to_vec(), policy.encode());
    Ok(Event::MeasurementAdded(measurement))
}

pub(crate) fn remove_measurement(
    overlay: &mut StateOverlay<impl StateReader>,
    measurement: Measurement,
) -> Result<Event, TxError> {
    let mut policy = policy(overlay)?;
    let before = policy.measurements.len();
    policy.measurements.retain(|m| *m != measurement);
    if policy.measurements.len() == before {
        return Err(RegistryError::NotAllowed(measurement).into());
    }
    overlay.set(POLICY_KEY.to_vec(), policy.encode());
    Ok(Event::MeasurementRemoved(measurement))
}

/// The elected gatekeepers, from committed state.
pub fn gatekeepers(state: &impl StateReader) -> Result<Vec<AccountId>, StateError> {
    Ok(decode_entry(state.get(GATEKEEPERS_KEY)?, "gatekeeper list")?.unwrap_or_default())
}

pub(crate) fn elect_gatekeeper(
    overlay: &mut StateOverlay<impl StateReader>,
    identity: AccountId,
) -> Result<Event, TxError> {
    if enclave_in_role(overlay, &identity, Role::Gatekeeper)?.is_none() {
        return Err(RegistryError::NotGatekeeperEnclave(identity).into());
    }
    let mut elected = gatekeepers(overlay)?;
    if elected.contains(&identity) {
        return Err(RegistryError::AlreadyElected(identity).into());
    }
    elected.push(identity);
    overlay.set(GATEKEEPERS_KEY.to_vec(), elected.encode());
    Ok(Event::GatekeeperElected { identity })
}

pub(crate) fn remove_gatekeeper(
    overlay: &mut StateOverlay<impl StateReader>,
    identity: AccountId,
) -> Result<Event, TxError> {
    let mut elected = gatekeepers(overlay)?;
    if !elected.contains(&identity) {
        return Err(RegistryError::NotElected(identity).into());
    }
    elected.retain(|g| *g != identity);
    overlay.set(GATEKEEPERS_KEY.to_vec(), elected.encode());
    Ok(Event::GatekeeperRemoved { identity })
}
