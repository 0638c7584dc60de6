//! What a registration carries: the quote (and its collateral), and what it must commit to.

use parity_scale_codec::Encode;
use phalanx_crypto::Keypair;
use phalanx_primitives::attestation::{AttestationReport, Role};
use phalanx_primitives::Call;
use phalanx_primitives::{sha256_parts, AccountId, Hash};

/// Everything a registration claims about an enclave; its quote's report data commits to all of
/// it, so nobody can lift a quote into a registration of their own.
#[derive(Clone, Copy, Debug)]
pub struct Enrollment<'a> {
    /// The enclave's signing identity.
    pub identity: &'a AccountId,
    /// Key messages to the enclave are encrypted to this key.
    pub ecdh_public: &'a [u8; 32],
    /// The genesis hash of the chain registered with.
    pub chain_id: &'a Hash,
    pub role: Role,
    /// The account that registers (and later stakes for) the enclave.
    pub operator: &'a AccountId,
    /// The query endpoint the enclave publishes.
    pub endpoint: &'a [u8],
}

impl Enrollment<'_> {
    /// The report data the enclave must put in its quote:
    /// `SHA-256(identity | ECDH public key | genesis hash | SCALE(role))` (DESIGN.md) followed by
    /// `SHA-256("phalanx-enrollment" | operator | endpoint)` in what DESIGN.md leaves as padding.
    /// The second half binds the operator and the endpoint, so a copied quote cannot register the
    /// enclave under another operator or point clients at another server.
    pub fn report_data(&self) -> [u8; 64] {
        let keys = sha256_parts(&[
            self.identity.as_bytes(),
            self.ecdh_public,
            &self.chain_id.0,
            &self.role.encode(),
        ]);
        let binding = sha256_parts(&[
            b"phalanx-enrollment",
            self.operator.as_bytes(),
            self.endpoint,
        ]);
        let mut data = [0u8; 64];
        data[..32].copy_from_slice(&keys.0);
        data[32..].copy_from_slice(&binding.0);
        data
    }

    /// What the enclave's identity key signs to register (`identity_proof`): the report data
    /// under its own domain. A quote only says that *an* enclave of the measurement made the
    /// report data, and the identity in it is just bytes; this signature says the enclave that
    /// holds the identity key made this registration, so nobody else can re-register an
    /// identity with other keys, another operator or another endpoint.
    pub fn identity_message(&self) -> Vec<u8> {
        [IDENTITY_PROOF_DOMAIN, &self.report_data()[..]].concat()
    }

    /// The `RegisterWorker` call of this enrollment, with the quote over its report data and
    /// the proof signed by `identity_key` (whose account must be `identity`).
    pub fn register_call(&self, identity_key: &Keypair, attestation: AttestationReport) -> Call {
        debug_assert_eq!(identity_key.account_id(), *self.identity);
        Call::RegisterWorker {
            identity: *self.identity,
            ecdh_public: *self.ecdh_public,
            role: self.role,
            attestation: Box::new(attestation),
            endpoint: self.endpoint.to_vec(),
            identity_proof: identity_key.sign(&self.identity_message()),
        }
    }
}

/// Domain of the identity key's signature over a registration.
pub const IDENTITY_PROOF_DOMAIN: &[u8] = b"PHALANX_REGISTRATION_V1";

/// An enclave without hardware sealing (TDX) asking a gatekeeper for its sealing root. Its quote
/// commits to the chain, to the one-time key the root is sealed back to and to the salt that
/// names this enclave's data, so a copied quote gets nobody a root they can open.
#[derive(Clone, Copy, Debug)]
pub struct SealingRequest<'a> {
    pub chain_id: &'a Hash,
    /// x25519 public key the gatekeeper seals the root to.
    pub reply_key: &'a [u8; 32],
    /// Random, kept in clear beside the sealed data; part of the root's derivation.
    pub salt: &'a [u8; 32],
}

impl SealingRequest<'_> {
    /// `SHA-256("PHALANX_SEALING_REQUEST_V1" | chain id | reply key | salt)`, zero-padded to 64
    /// bytes.
    pub fn report_data(&self) -> [u8; 64] {
        let digest = sha256_parts(&[
            b"PHALANX_SEALING_REQUEST_V1",
            &self.chain_id.0,
            self.reply_key,
            self.salt,
        ]);
        let mut data = [0u8; 64];
        data[..32].copy_from_slice(&digest.0);
        data
    }
}
