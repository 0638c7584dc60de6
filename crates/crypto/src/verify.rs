//! Signature verification: single, batched for transactions, and finality certificates.

use crate::Keypair;
use ed25519_dalek::{Signature as DalekSignature, VerifyingKey};
use parity_scale_codec::Encode;
use phalanx_primitives::{
    finality_message, AccountId, BlockHeader, FinalityCertificate, Hash, Signature,
    SignedTransaction, Transaction, ValidatorSignature,
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

/// The signature check of [`verify_transactions`] alone, over borrowed transactions: what an
/// enclave runs on the transactions of a final block it acts on (nothing copied, nothing hashed
/// beyond what the signatures need). Results are in input order.
pub fn check_signatures(batch: &[&SignedTransaction]) -> Vec<Result<(), SignatureError>> {
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
    #[error("validator {0} signed twice")]
    DuplicateSigner(AccountId),
    #[error("bad signature by validator {0}")]
    BadSignature(AccountId),
    #[error("{found} of {total} validators signed; more than two thirds are needed")]
    NotEnoughSignatures { found: usize, total: usize },
}

/// Signs the finality vote for a header.
pub fn sign_finality(validator: &Keypair, header: &BlockHeader) -> ValidatorSignature {
    ValidatorSignature {
        validator: validator.account_id(),
        signature: validator.sign(&finality_message(&header.hash())),
    }
}

/// Checks that more than two thirds of `validators` signed `header` (with one validator: it did).
pub fn verify_certificate(
    header: &BlockHeader,
    certificate: &FinalityCertificate,
    validators: &[AccountId],
) -> Result<(), CertificateError> {
    let message = finality_message(&header.hash());
    let mut signers = std::collections::BTreeSet::new();
    for vote in &certificate.signatures {
        if !validators.contains(&vote.validator) {
            return Err(CertificateError::UnknownValidator(vote.validator));
        }
        if !signers.insert(vote.validator) {
            return Err(CertificateError::DuplicateSigner(vote.validator));
        }
        verify_signature(&vote.validator, &message, &vote.signature)
            .map_err(|_| CertificateError::BadSignature(vote.validator))?;
    }
    if signers.len() * 3 <= validators.len() * 2 {
        return Err(CertificateError::NotEnoughSignatures {
            found: signers.len(),
            total: validators.len(),
        });
    }
    Ok(())
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
        let good = FinalityCertificate {
            signatures: vec![sign_finality(&alice, &header)],
        };
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
        };
        assert!(verify_certificate(&header, &forged, &[alice.account_id()]).is_err());
        assert!(verify_certificate(
            &header,
            &FinalityCertificate::default(),
            &[alice.account_id()]
        )
        .is_err());
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
