//! Signature verification: single, batched for transactions, and finality certificates.

use crate::Keypair;
use ed25519_dalek::{Signature as DalekSignature, VerifyingKey};
use parity_scale_codec::Encode;
use phalanx_primitives::{
    quorum, vote_message, AccountId, BlockHeader, ConsensusRound, FinalityCertificate, Hash,
    Signature, SignedTransaction, Transaction, ValidatorSignature, MAX_CERTIFICATE_DESCENDANTS,
};
use std::collections::HashMap;

/// Why a signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    #[error("the signer is not a valid ed25519 public key")]
    BadPublicKey,
    #[error("the signature does not verify for this signer and message")]
    BadSignature,
}

/// Verifies one signature, strictly: weak (small-order) keys and non-canonical signatures are
/// refused, so that what verifies here verifies identically everywhere.
pub fn verify_signature(
    signer: &AccountId,
    message: &[u8],
    signature: &Signature,
) -> Result<(), SignatureError> {
    let key = verifying_key(signer)?;
    key.verify_strict(message, &DalekSignature::from_bytes(&signature.0))
        .map_err(|_| SignatureError::BadSignature)
}

/// Whether `account` is an ed25519 key that can verify signatures (a point on the curve, not of
/// small order): what a validator's account must be.
pub fn is_verifying_key(account: &AccountId) -> bool {
    verifying_key(account).is_ok()
}

fn verifying_key(account: &AccountId) -> Result<VerifyingKey, SignatureError> {
    let key =
        VerifyingKey::from_bytes(account.as_bytes()).map_err(|_| SignatureError::BadPublicKey)?;
    if key.is_weak() {
        return Err(SignatureError::BadPublicKey);
    }
    Ok(key)
}

pub fn sign_transaction(keypair: &Keypair, transaction: Transaction) -> SignedTransaction {
    let signature = keypair.sign(&transaction.signing_message());
    SignedTransaction {
        transaction,
        signature,
    }
}

/// A transaction whose signature is known good: the only kind the runtime applies.
///
/// It comes from [`verify_transactions`], or from a block whose finality certificate was verified
/// (the validators vouched for every signature in it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTransaction {
    signed: SignedTransaction,
    hash: Hash,
    encoded_len: usize,
}

impl VerifiedTransaction {
    /// Accepts a transaction taken from a block that is already final (its certificate was checked,
    /// or this process produced and stored it). Never call this on bytes from a client.
    pub fn from_finalized_block(signed: SignedTransaction) -> Self {
        let hash = signed.hash();
        let encoded_len = signed.encoded_size();
        VerifiedTransaction {
            signed,
            hash,
            encoded_len,
        }
    }

    pub fn signed(&self) -> &SignedTransaction {
        &self.signed
    }
    pub fn transaction(&self) -> &Transaction {
        &self.signed.transaction
    }
    pub fn hash(&self) -> Hash {
        self.hash
    }
    /// Length of the SCALE-encoded signed transaction, which fees are charged on.
    pub fn encoded_len(&self) -> usize {
        self.encoded_len
    }
    pub fn into_signed(self) -> SignedTransaction {
        self.signed
    }
}

/// Verifies many transactions at once. One batch check covers the common case where all are
/// good (about half the cost of checking one by one); if the batch fails, each is checked alone
/// so that only the bad ones are refused. Results are in input order.
pub fn verify_transactions(
    batch: Vec<SignedTransaction>,
) -> Vec<Result<VerifiedTransaction, SignatureError>> {
    let refs: Vec<&SignedTransaction> = batch.iter().collect();
    let checked = check_signatures(&refs);
    batch
        .into_iter()
        .zip(checked)
        .map(|(signed, checked)| {
            checked.map(|()| VerifiedTransaction::from_finalized_block(signed))
        })
        .collect()
}

/// [`verify_transactions`] for a block whose transactions this process may have checked already
/// (a validator checking a proposal made of what its own pool admitted): where `checked_before`
/// holds `true`, the transaction at that position skips the signature check. It may be `true`
/// only for the identical signed transaction (the same bytes and signature) that this process
/// verified itself; a missing entry counts as `false`. Results are in input order.
pub fn verify_transactions_checked_before(
    batch: Vec<SignedTransaction>,
    checked_before: &[bool],
) -> Vec<Result<VerifiedTransaction, SignatureError>> {
    let known: Vec<bool> = (0..batch.len())
        .map(|i| checked_before.get(i).copied().unwrap_or(false))
        .collect();
    let unknown: Vec<&SignedTransaction> = batch
        .iter()
        .zip(&known)
        .filter_map(|(tx, known)| (!known).then_some(tx))
        .collect();
    let mut checked = check_signatures(&unknown).into_iter();
    batch
        .into_iter()
        .zip(known)
        .map(|(signed, known)| {
            let result = if known {
                Ok(())
            } else {
                checked
                    .next()
                    .expect("one check for each transaction not checked before")
            };
            result.map(|()| VerifiedTransaction::from_finalized_block(signed))
        })
        .collect()
}

/// Batches at least this long are split across the machine's cores: below it, starting threads
/// costs more than the checks they share (one check is ~25 us, a thread ~15 us).
pub const PARALLEL_CHECK_MIN_BATCH: usize = 256;

/// The signature check of [`verify_transactions`] alone, over borrowed transactions: what an
/// enclave runs on the transactions of a final block it acts on (nothing copied, nothing hashed
/// beyond what the signatures need). A long batch is checked on all cores, a part on each, and
/// the results are the same as on one (a part that fails its batch check is checked one by
/// one, like a whole batch would be). Results are in input order.
pub fn check_signatures(batch: &[&SignedTransaction]) -> Vec<Result<(), SignatureError>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    check_signatures_on(batch, threads)
}

/// [`check_signatures`] on at most `threads` threads.
pub fn check_signatures_on(
    batch: &[&SignedTransaction],
    threads: usize,
) -> Vec<Result<(), SignatureError>> {
    let parts = threads
        .min(batch.len() / (PARALLEL_CHECK_MIN_BATCH / 2))
        .max(1);
    if batch.len() < PARALLEL_CHECK_MIN_BATCH || parts == 1 {
        return check_signatures_here(batch);
    }
    let part_len = batch.len().div_ceil(parts);
    std::thread::scope(|scope| {
        let running: Vec<_> = batch
            .chunks(part_len)
            .skip(1)
            .map(|part| scope.spawn(move || check_signatures_here(part)))
            .collect();
        // This thread checks the first part while the others run.
        let mut results = check_signatures_here(&batch[..part_len]);
        for part in running {
            match part.join() {
                Ok(checked) => results.extend(checked),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        results
    })
}

/// [`check_signatures`] on the calling thread.
fn check_signatures_here(batch: &[&SignedTransaction]) -> Vec<Result<(), SignatureError>> {
    let messages: Vec<Vec<u8>> = batch
        .iter()
        .map(|tx| tx.transaction.signing_message())
        .collect();
    // Decompressing a public key is a fifth of a verification; a batch often holds many
    // transactions of one signer (a worker replaying a busy account's commands), so each
    // distinct key is decompressed once.
    let mut decompressed: HashMap<AccountId, Result<VerifyingKey, SignatureError>> = HashMap::new();
    let keys: Result<Vec<VerifyingKey>, SignatureError> = batch
        .iter()
        .map(|tx| {
            let signer = tx.transaction.signer;
            decompressed
                .entry(signer)
                .or_insert_with(|| verifying_key(&signer))
                .clone()
        })
        .collect();
    let batch_ok = match &keys {
        Ok(keys) if !batch.is_empty() => {
            let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            let signatures: Vec<DalekSignature> = batch
                .iter()
                .map(|tx| DalekSignature::from_bytes(&tx.signature.0))
                .collect();
            ed25519_dalek::verify_batch(&refs, &signatures, keys).is_ok()
        }
        _ => false,
    };
    batch
        .iter()
        .zip(messages)
        .map(|(signed, message)| match batch_ok {
            true => Ok(()),
            false => verify_signature(&signed.transaction.signer, &message, &signed.signature),
        })
        .collect()
}

/// Why a block's finality certificate is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    #[error("signature by {0}, which is not a validator")]
    UnknownValidator(AccountId),
    #[error("the signatures are not in validator order, or validator {0} signed twice")]
    Unordered(AccountId),
    #[error("bad signature by validator {0}")]
    BadSignature(AccountId),
    #[error("{found} of {total} validators signed; {needed} are needed")]
    NotEnoughSignatures {
        found: usize,
        total: usize,
        needed: usize,
    },
    #[error("the certificate carries {0} descendant headers; at most {MAX_CERTIFICATE_DESCENDANTS} are accepted")]
    TooManyDescendants(usize),
    #[error("descendant header {0} does not link to the header before it")]
    BrokenDescendant(usize),
}

/// One validator's vote to finalize `header` in `round`.
pub fn sign_vote(
    validator: &Keypair,
    round: &ConsensusRound,
    header: &BlockHeader,
) -> ValidatorSignature {
    ValidatorSignature {
        validator: validator.account_id(),
        signature: validator.sign(&vote_message(round, &header.hash())),
    }
}

/// The certificate a single-validator (dev) chain gives its block: the validator's own finalize
/// vote, in the round the block's height names (epoch 0, view = height, parent view = height - 1).
pub fn sign_finality(validator: &Keypair, header: &BlockHeader) -> FinalityCertificate {
    let round = ConsensusRound {
        epoch: 0,
        view: header.height,
        parent_view: header.height.saturating_sub(1),
    };
    FinalityCertificate {
        descendants: Vec::new(),
        round,
        signatures: vec![sign_vote(validator, &round, header)],
    }
}

/// Checks that a quorum of `validators` finalized `header`: directly, or through the
/// descendants the certificate carries. Votes are checked as the consensus engine checks them
/// (ZIP-215 ed25519), so that whatever the validators accepted is accepted here.
pub fn verify_certificate(
    header: &BlockHeader,
    certificate: &FinalityCertificate,
    validators: &[AccountId],
) -> Result<(), CertificateError> {
    let descendants = &certificate.descendants;
    if descendants.len() > MAX_CERTIFICATE_DESCENDANTS {
        return Err(CertificateError::TooManyDescendants(descendants.len()));
    }
    let mut finalized = header.clone();
    for (index, next) in descendants.iter().enumerate() {
        if next.height != finalized.height + 1 || next.parent_hash != finalized.hash() {
            return Err(CertificateError::BrokenDescendant(index));
        }
        finalized = next.clone();
    }
    let message = vote_message(&certificate.round, &finalized.hash());
    let mut previous: Option<&AccountId> = None;
    for vote in &certificate.signatures {
        if !validators.contains(&vote.validator) {
            return Err(CertificateError::UnknownValidator(vote.validator));
        }
        // Ascending order (the engine's signer order) makes a certificate's encoding canonical
        // and rules out a signer counted twice.
        if previous.is_some_and(|p| p >= &vote.validator) {
            return Err(CertificateError::Unordered(vote.validator));
        }
        previous = Some(&vote.validator);
        verify_vote(&vote.validator, &message, &vote.signature)
            .map_err(|_| CertificateError::BadSignature(vote.validator))?;
    }
    let needed = quorum(validators.len());
    if certificate.signatures.len() < needed {
        return Err(CertificateError::NotEnoughSignatures {
            found: certificate.signatures.len(),
            total: validators.len(),
            needed,
        });
    }
    Ok(())
}

/// A consensus vote's signature, under the engine's rule (ZIP-215), not the strict one that
/// transactions follow: a vote the engine counted must count here too.
fn verify_vote(
    validator: &AccountId,
    message: &[u8],
    signature: &Signature,
) -> Result<(), SignatureError> {
    let key = ed25519_consensus::VerificationKey::try_from(*validator.as_bytes())
        .map_err(|_| SignatureError::BadPublicKey)?;
    key.verify(&ed25519_consensus::Signature::from(signature.0), message)
        .map_err(|_| SignatureError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use phalanx_primitives::{Call, FinalityCertificate};
    use proptest::prelude::*;

    fn transfer(from: &Keypair, nonce: u64) -> SignedTransaction {
        let tx = Transaction {
            chain_id: Hash([9; 32]),
            signer: from.account_id(),
            nonce,
            fee: 10,
            call: Call::Transfer {
                to: Keypair::dev("bob").account_id(),
                amount: 1,
            },
        };
        sign_transaction(from, tx)
    }

    #[test]
    fn a_long_batch_gives_the_same_verdicts_on_any_number_of_threads() {
        let signers: Vec<Keypair> = (0..5).map(|i| Keypair::dev(&format!("s{i}"))).collect();
        let mut batch: Vec<_> = (0..3 * PARALLEL_CHECK_MIN_BATCH as u64 + 7)
            .map(|n| transfer(&signers[n as usize % signers.len()], n))
            .collect();
        // Forgeries in the first part, in a middle one and as the very last transaction.
        let forged = [3, PARALLEL_CHECK_MIN_BATCH + 1, batch.len() - 1];
        for &i in &forged {
            batch[i].signature.0[5] ^= 0x40;
        }
        let refs: Vec<&SignedTransaction> = batch.iter().collect();
        let expected: Vec<bool> = (0..batch.len()).map(|i| !forged.contains(&i)).collect();
        for threads in [1, 2, 3, 8] {
            let ok: Vec<bool> = check_signatures_on(&refs, threads)
                .iter()
                .map(Result::is_ok)
                .collect();
            assert_eq!(ok, expected, "{threads} threads");
        }
    }

    #[test]
    fn only_what_was_checked_before_skips_the_check() {
        let alice = Keypair::dev("alice");
        let mut batch: Vec<_> = (0..4).map(|n| transfer(&alice, n)).collect();
        batch[1].signature.0[0] ^= 1;
        batch[2].signature.0[0] ^= 1;
        // Position 2 is said to be checked before (a caller's promise, here broken on purpose
        // to show what the flag does); position 1 is not, and a short mask means "not checked".
        let results = verify_transactions_checked_before(batch.clone(), &[true, false, true]);
        let ok: Vec<bool> = results.iter().map(|r| r.is_ok()).collect();
        assert_eq!(ok, [true, false, true, true]);
        let all = verify_transactions_checked_before(batch, &[]);
        let ok: Vec<bool> = all.iter().map(|r| r.is_ok()).collect();
        assert_eq!(ok, [true, false, false, true]);
    }

    #[test]
    fn batch_refuses_exactly_the_bad_ones() {
        let alice = Keypair::dev("alice");
        let mut batch: Vec<_> = (0..8).map(|n| transfer(&alice, n)).collect();
        batch[3].signature.0[0] ^= 1;
        batch[5].transaction.nonce += 100;
        let results = verify_transactions(batch);
        let bad: Vec<usize> = results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_err())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(bad, vec![3, 5]);
    }

    #[test]
    fn transaction_signature_does_not_verify_as_finality_vote() {
        let alice = Keypair::dev("alice");
        let header = BlockHeader {
            height: 1,
            parent_hash: Hash::ZERO,
            state_root: Hash::ZERO,
            transactions_root: Hash::ZERO,
            events_root: Hash::ZERO,
            timestamp_ms: 0,
            proposer: alice.account_id(),
        };
        let good = sign_finality(&alice, &header);
        assert!(verify_certificate(&header, &good, &[alice.account_id()]).is_ok());
        assert!(matches!(
            verify_certificate(&header, &good, &[Keypair::dev("bob").account_id()]),
            Err(CertificateError::UnknownValidator(_))
        ));
        let forged = FinalityCertificate {
            signatures: vec![ValidatorSignature {
                validator: alice.account_id(),
                signature: alice.sign(&header.hash().0),
            }],
            ..good.clone()
        };
        assert!(verify_certificate(&header, &forged, &[alice.account_id()]).is_err());
        assert!(verify_certificate(
            &header,
            &FinalityCertificate::default(),
            &[alice.account_id()]
        )
        .is_err());
    }

    fn header_at(height: u64, parent: Hash, proposer: &Keypair) -> BlockHeader {
        BlockHeader {
            height,
            parent_hash: parent,
            state_root: Hash([height as u8; 32]),
            transactions_root: Hash::ZERO,
            events_root: Hash::ZERO,
            timestamp_ms: height,
            proposer: proposer.account_id(),
        }
    }

    /// Four validators, sorted as the engine orders its participants.
    fn four_validators() -> (Vec<Keypair>, Vec<AccountId>) {
        let mut keys: Vec<Keypair> = ["v0", "v1", "v2", "v3"].map(Keypair::dev).into();
        keys.sort_by_key(|k| k.account_id());
        let ids = keys.iter().map(Keypair::account_id).collect();
        (keys, ids)
    }

    fn certificate(
        signers: &[&Keypair],
        round: ConsensusRound,
        finalized: &BlockHeader,
        descendants: Vec<BlockHeader>,
    ) -> FinalityCertificate {
        FinalityCertificate {
            descendants,
            round,
            signatures: signers
                .iter()
                .map(|k| sign_vote(k, &round, finalized))
                .collect(),
        }
    }

    #[test]
    fn a_quorum_of_validators_in_their_order_finalizes() {
        let (keys, ids) = four_validators();
        let header = header_at(5, Hash([7; 32]), &keys[0]);
        let round = ConsensusRound {
            epoch: 0,
            view: 9,
            parent_view: 7,
        };
        let three = certificate(&[&keys[0], &keys[1], &keys[3]], round, &header, vec![]);
        assert_eq!(verify_certificate(&header, &three, &ids), Ok(()));
        let two = certificate(&[&keys[0], &keys[1]], round, &header, vec![]);
        assert_eq!(
            verify_certificate(&header, &two, &ids),
            Err(CertificateError::NotEnoughSignatures {
                found: 2,
                total: 4,
                needed: 3
            })
        );
        let twice = certificate(&[&keys[0], &keys[1], &keys[1]], round, &header, vec![]);
        assert!(matches!(
            verify_certificate(&header, &twice, &ids),
            Err(CertificateError::Unordered(_))
        ));
        let unordered = certificate(&[&keys[1], &keys[0], &keys[3]], round, &header, vec![]);
        assert!(matches!(
            verify_certificate(&header, &unordered, &ids),
            Err(CertificateError::Unordered(_))
        ));
        // Votes of another round do not carry over: the round is part of what was signed.
        let mut moved = three.clone();
        moved.round.view += 1;
        assert!(matches!(
            verify_certificate(&header, &moved, &ids),
            Err(CertificateError::BadSignature(_))
        ));
    }

    #[test]
    fn a_block_is_final_through_a_finalized_descendant_that_links_to_it() {
        let (keys, ids) = four_validators();
        let block = header_at(5, Hash([7; 32]), &keys[0]);
        let child = header_at(6, block.hash(), &keys[1]);
        let grandchild = header_at(7, child.hash(), &keys[2]);
        let round = ConsensusRound {
            epoch: 0,
            view: 12,
            parent_view: 11,
        };
        let signers = [&keys[0], &keys[2], &keys[3]];
        let through = certificate(
            &signers,
            round,
            &grandchild,
            vec![child.clone(), grandchild.clone()],
        );
        assert_eq!(verify_certificate(&block, &through, &ids), Ok(()));
        // The same votes do not finalize a block the descendants do not link to.
        let stranger = header_at(5, Hash([8; 32]), &keys[0]);
        assert_eq!(
            verify_certificate(&stranger, &through, &ids),
            Err(CertificateError::BrokenDescendant(0))
        );
        let mut gap = through.clone();
        gap.descendants.remove(0);
        assert_eq!(
            verify_certificate(&block, &gap, &ids),
            Err(CertificateError::BrokenDescendant(0))
        );
        // Votes for the child alone do not reach past it.
        let short = certificate(&signers, round, &grandchild, vec![child.clone()]);
        assert!(matches!(
            verify_certificate(&block, &short, &ids),
            Err(CertificateError::BadSignature(_))
        ));
        let mut long = through;
        long.descendants = vec![child; MAX_CERTIFICATE_DESCENDANTS + 1];
        assert_eq!(
            verify_certificate(&block, &long, &ids),
            Err(CertificateError::TooManyDescendants(
                MAX_CERTIFICATE_DESCENDANTS + 1
            ))
        );
    }

    #[test]
    fn quorum_is_two_thirds_plus_one_of_three_f_plus_one() {
        let expected = [
            (1, 1),
            (2, 2),
            (3, 3),
            (4, 3),
            (5, 4),
            (6, 5),
            (7, 5),
            (10, 7),
            (100, 67),
        ];
        for (n, q) in expected {
            assert_eq!(quorum(n), q, "{n} validators");
        }
    }

    proptest! {
        #[test]
        fn any_flipped_bit_breaks_the_signature(byte in 0usize..64, bit in 0u8..8) {
            let alice = Keypair::dev("alice");
            let mut signed = transfer(&alice, 0);
            signed.signature.0[byte] ^= 1 << bit;
            prop_assert!(verify_transactions(vec![signed]).remove(0).is_err());
        }
    }
}
