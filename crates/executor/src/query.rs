//! The read side (CQRS): checking a confidential query and sealing its answer.
//!
//! A query arrives as an envelope to the contract's key. The worker opens it, checks the
//! origin's signature, that it names this contract, that it has not expired and does not live
//! too long, and that its nonce is new; only then does it run. The answer is sealed to the
//! query envelope's ephemeral key, which only the client holds the secret of.

use crate::Executor;
use parity_scale_codec::{DecodeAll, Encode};
use phalanx_crypto::envelope::{EnvelopeContext, EnvelopeError, Opener, Sealer, ENVELOPE_VERSION};
use phalanx_crypto::verify_signature;
use phalanx_primitives::query::{Answered, Query, SignedQuery, MAX_QUERY_LIFETIME_MS};
use phalanx_primitives::{AccountId, Envelope, Hash};
use rand_core::CryptoRngCore;
use std::collections::HashMap;

/// Most remembered nonces before expired ones are swept.
const NONCE_SWEEP_THRESHOLD: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    #[error("this worker does not run contract {0}")]
    UnknownContract(AccountId),
    #[error("the query is sealed to contract {contract}'s key of epoch {epoch}, which this worker does not hold (the contract's key on chain names its epoch)")]
    UnknownEpoch { contract: AccountId, epoch: u32 },
    #[error(
        "envelope version {0} is not supported (this worker opens version {ENVELOPE_VERSION})"
    )]
    UnsupportedVersion(u8),
    #[error("the query does not keep to the envelope format: {0}")]
    BadEnvelope(String),
    #[error("the query does not decrypt with this contract's key (wrong key, epoch or contract)")]
    Undecryptable,
    #[error("the query is malformed")]
    Malformed,
    #[error("the query's signature does not verify for its origin")]
    BadSignature,
    #[error("the query names another contract")]
    WrongContract,
    #[error("the query expired")]
    Expired,
    #[error("the query's expiry is more than {} s ahead", MAX_QUERY_LIFETIME_MS / 1000)]
    TooLongLived,
    #[error("the query's nonce was already used")]
    Replayed,
}

/// Remembers query nonces until their queries expire.
#[derive(Default)]
pub struct NonceGuard {
    seen: HashMap<[u8; 16], u64>,
}

impl NonceGuard {
    fn admit(&mut self, nonce: [u8; 16], expiry_ms: u64, now_ms: u64) -> Result<(), QueryError> {
        if self.seen.len() > NONCE_SWEEP_THRESHOLD {
            self.seen.retain(|_, expiry| *expiry >= now_ms);
        }
        if self.seen.insert(nonce, expiry_ms).is_some() {
            return Err(QueryError::Replayed);
        }
        Ok(())
    }
}

/// The envelope context of queries and answers: the origin is proven inside, by signature.
pub fn query_context(chain_id: Hash, contract: AccountId) -> EnvelopeContext {
    EnvelopeContext {
        chain_id,
        contract,
        sender: AccountId::from_bytes([0; 32]),
    }
}

/// Opens and checks a query envelope at `now_ms` (the worker's clock).
pub fn open_query(
    executor: &Executor,
    contract: &AccountId,
    envelope: &Envelope,
    now_ms: u64,
    nonces: &mut NonceGuard,
) -> Result<Query, QueryError> {
    if envelope.version != ENVELOPE_VERSION {
        return Err(QueryError::UnsupportedVersion(envelope.version));
    }
    let keys = match executor.contract_keys(contract, envelope.epoch) {
        Some(keys) => keys,
        None if executor.cluster_of(contract).is_some() => {
            return Err(QueryError::UnknownEpoch {
                contract: *contract,
                epoch: envelope.epoch,
            })
        }
        None => return Err(QueryError::UnknownContract(*contract)),
    };
    let plaintext = Opener::new(keys.ecdh_secret().clone(), envelope.epoch)
        .open(&query_context(executor.chain_id(), *contract), envelope)
        .map_err(|e| match e {
            e @ (EnvelopeError::BadPadding { .. } | EnvelopeError::TooLarge(_)) => {
                QueryError::BadEnvelope(e.to_string())
            }
            _ => QueryError::Undecryptable,
        })?;
    let signed = SignedQuery::decode_all(&mut &plaintext[..]).map_err(|_| QueryError::Malformed)?;
    let query = signed.query;
    verify_signature(&query.origin, &query.signing_message(), &signed.signature)
        .map_err(|_| QueryError::BadSignature)?;
    if query.contract != *contract {
        return Err(QueryError::WrongContract);
    }
    if query.expiry_ms < now_ms {
        return Err(QueryError::Expired);
    }
    if query.expiry_ms > now_ms.saturating_add(MAX_QUERY_LIFETIME_MS) {
        return Err(QueryError::TooLongLived);
    }
    nonces.admit(query.nonce, query.expiry_ms, now_ms)?;
    Ok(query)
}

/// Seals `answer` (with the block it was computed at) to the client's session key (the query
/// envelope's ephemeral key).
pub fn seal_answer(
    chain_id: Hash,
    contract: AccountId,
    query_envelope: &Envelope,
    answer: &Answered,
    rng: &mut impl CryptoRngCore,
) -> Envelope {
    Sealer::new(rng)
        .seal(
            &query_envelope.ephemeral,
            query_envelope.epoch,
            &query_context(chain_id, contract),
            &answer.encode(),
            rng,
        )
        .expect("answers are bounded by the VM's output limit, far below the envelope limit")
}
