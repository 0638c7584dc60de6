//! Turning client bytes into pooled transactions, with a precise reason for every refusal.

use crate::pool::PoolError;
use crate::producer;
use crate::running::Shared;
use phalanx_api::error_codes as codes;
use phalanx_api::views::TxRejection;
use phalanx_crypto::verify_transactions;
use phalanx_primitives::{Call, Hash, SignedTransaction, TxDecodeError};
use phalanx_runtime::contracts;
use phalanx_runtime::registry::{self, Registration};
use phalanx_runtime::{Refusal, TxError};

/// A refusal, as the API reports it.
/// A refusal whose kind is its whole cause (`TooLarge` -> cause `too_large`).
pub(crate) fn rejection(code: i32, kind: &str, message: impl Into<String>) -> TxRejection {
    TxRejection {
        code,
        kind: kind.to_string(),
        cause: snake_case(kind),
        message: message.into(),
    }
}

fn snake_case(kind: &str) -> String {
    let mut out = String::with_capacity(kind.len() + 4);
    for (i, c) in kind.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn decode(text: &str) -> Result<SignedTransaction, TxRejection> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    // Two hex digits a byte: refuse oversized input before allocating for it.
    if digits.len() / 2 > phalanx_primitives::MAX_TRANSACTION_SIZE {
        return Err(rejection(
            codes::TOO_LARGE,
            "TooLarge",
            format!(
                "transaction is {} bytes; the limit is {}",
                digits.len() / 2,
                phalanx_primitives::MAX_TRANSACTION_SIZE
            ),
        ));
    }
    let bytes = hex::decode(digits).map_err(|e| {
        rejection(
            codes::MALFORMED,
            "Malformed",
            format!("transaction is not hex: {e}"),
        )
    })?;
    SignedTransaction::decode_untrusted(&bytes).map_err(|e| match e {
        TxDecodeError::TooLarge { .. } => rejection(codes::TOO_LARGE, "TooLarge", e.to_string()),
        _ => rejection(codes::MALFORMED, "Malformed", e.to_string()),
    })
}

fn ledger_rejection(error: &TxError) -> TxRejection {
    let code = match error {
        TxError::WrongChain { .. } => codes::WRONG_CHAIN,
        TxError::StaleNonce { .. } => codes::STALE_NONCE,
        TxError::FutureNonce { .. } => codes::FUTURE_NONCE,
        TxError::FeeTooLow { .. } => codes::FEE_TOO_LOW,
        TxError::InsufficientBalance { .. } => codes::INSUFFICIENT_BALANCE,
        TxError::Attestation(_) => codes::ATTESTATION_FAILED,
        TxError::Storage(_) => codes::INTERNAL,
        other => match other.refusal() {
            Some(Refusal::NotAuthorized) => codes::NOT_AUTHORIZED,
            Some(Refusal::InvalidCall) => codes::INVALID_CALL,
            None => codes::INTERNAL,
        },
    };
    TxRejection {
        code,
        kind: error.kind().to_string(),
        cause: error.cause().to_string(),
        message: error.to_string(),
    }
}

/// Checks that cost CPU and read at most committed state: done outside the pool lock, so that
/// what they refuse never reaches it. The block applies them again (code verdicts are cached).
fn precheck(shared: &Shared, tx: &SignedTransaction) -> Result<(), TxRejection> {
    let t = &tx.transaction;
    match &t.call {
        Call::UploadCode { code } => {
            contracts::check_upload(code, shared.params.allow_debug_output)
                .map_err(|e| ledger_rejection(&e.into()))?;
        }
        call @ Call::RegisterWorker { .. } => {
            let state = shared
                .store
                .state_snapshot()
                .map_err(|e| rejection(codes::INTERNAL, "Internal", format!("storage: {e}")))?;
            let registration = Registration::of_call(
                call,
                t.signer,
                shared.params.chain_id,
                0,
                producer::now_ms(),
            )
            .expect("a RegisterWorker call");
            registry::check_registration(&state, &registration)
                .map_err(|e| ledger_rejection(&e))?;
        }
        _ => {}
    }
    Ok(())
}

/// What admitting a batch gave: one result per input, in order, and what its refusals cost
/// the node, in [`crate::refusals`] units (one a refusal, more for refused code by its size).
pub(crate) struct Admitted {
    pub results: Vec<Result<Hash, TxRejection>>,
    pub refusal_cost: usize,
}

/// Refusals of code cost one unit more per this many bytes (validation is per byte).
const REFUSED_CODE_BYTES_PER_UNIT: usize = 16 * 1024;

/// Decodes, verifies (in one batch) and pools `texts`.
pub(crate) fn admit_batch(shared: &Shared, texts: &[String]) -> Admitted {
    let mut results: Vec<Option<Result<Hash, TxRejection>>> = vec![None; texts.len()];
    let mut positions = Vec::with_capacity(texts.len());
    let mut decoded = Vec::with_capacity(texts.len());
    for (i, text) in texts.iter().enumerate() {
        match decode(text) {
            Ok(tx) => {
                positions.push(i);
                decoded.push(tx);
            }
            Err(r) => results[i] = Some(Err(r)),
        }
    }
    admit_decoded(shared, results, positions, decoded, true)
}

/// Admits transactions another validator relayed (see `consensus::relay`): the same checks as
/// RPC input, and they are not relayed again.
pub(crate) fn admit_relayed(shared: &Shared, batch: Vec<SignedTransaction>) {
    let positions = (0..batch.len()).collect();
    let results = vec![None; batch.len()];
    let admitted = admit_decoded(shared, results, positions, batch, false);
    let refused = admitted.results.iter().filter(|r| r.is_err()).count();
    if refused > 0 {
        tracing::debug!(
            refused,
            "relayed transactions refused (most are already pooled)"
        );
    }
}

/// Checks and pools decoded transactions; `results` holds the refusals so far, `positions`
/// says where each decoded one belongs. What is admitted is relayed to the other validators
/// when `relay` is set.
fn admit_decoded(
    shared: &Shared,
    mut results: Vec<Option<Result<Hash, TxRejection>>>,
    positions: Vec<usize>,
    decoded: Vec<SignedTransaction>,
    relay: bool,
) -> Admitted {
    let mut code_cost = 0;
    // Code is validated here, before the pool lock: a refused upload never reaches it, and a
    // good one is a cached verdict there.
    let mut kept = Vec::with_capacity(decoded.len());
    let mut kept_positions = Vec::with_capacity(decoded.len());
    for (i, tx) in positions.into_iter().zip(decoded) {
        match precheck(shared, &tx) {
            Ok(()) => {
                kept_positions.push(i);
                kept.push(tx);
            }
            Err(r) => {
                if let Call::UploadCode { code } = &tx.transaction.call {
                    code_cost += code.len() / REFUSED_CODE_BYTES_PER_UNIT;
                }
                results[i] = Some(Err(r));
            }
        }
    }
    let (positions, decoded) = (kept_positions, kept);
    let hashes: Vec<Hash> = decoded.iter().map(SignedTransaction::hash).collect();
    let verified = verify_transactions(decoded);
    let known = match shared.store.locate_transactions(&hashes) {
        Ok(known) => known,
        Err(e) => {
            let r = rejection(codes::INTERNAL, "Internal", format!("storage: {e}"));
            let results = results
                .into_iter()
                .map(|slot| slot.unwrap_or_else(|| Err(r.clone())))
                .collect();
            return Admitted {
                results,
                refusal_cost: 0,
            };
        }
    };
    let outbox = shared.relay.get().filter(|_| relay);
    let mut relayed = Vec::new();
    let mut pool = shared
        .pool
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for ((i, verified), location) in positions.into_iter().zip(verified).zip(known) {
        results[i] = Some(match (verified, location) {
            (Err(e), _) => Err(rejection(
                codes::BAD_SIGNATURE,
                "BadSignature",
                e.to_string(),
            )),
            (Ok(tx), Some(location)) => Err(rejection(
                codes::DUPLICATE,
                "Duplicate",
                format!(
                    "transaction {} is already final in block {}",
                    tx.hash(),
                    location.height
                ),
            )),
            (Ok(tx), None) => {
                let copy = outbox.map(|_| tx.signed().clone());
                let admitted = pool.admit(tx);
                if let (Ok(_), Some(copy)) = (&admitted, copy) {
                    relayed.push(copy);
                }
                admitted
            }
            .map_err(|e| match &e {
                PoolError::AlreadyPending(_) => {
                    rejection(codes::DUPLICATE, "Duplicate", e.to_string())
                }
                PoolError::Full(_) => rejection(codes::POOL_FULL, "PoolFull", e.to_string()),
                PoolError::Ledger(error) => ledger_rejection(error),
            }),
        });
    }
    drop(pool);
    if let Some(outbox) = outbox {
        outbox.relay(relayed);
    }
    let results: Vec<_> = results
        .into_iter()
        .map(|slot| slot.expect("every input has a result"))
        .collect();
    // A full pool is the node's state, not the sender's fault.
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(rejection) if rejection.code != codes::POOL_FULL))
        .count();
    Admitted {
        results,
        refusal_cost: refused + code_cost,
    }
}
