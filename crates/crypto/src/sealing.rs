//! Sealing: encrypting what a worker writes to its own disk, with AES-256-GCM-SIV (misuse
//! resistant: a repeated nonce leaks only equality). In SGX the sealing key is the
//! MRENCLAVE-bound key; in dev mode a key file, loudly marked insecure by the worker.
//!
//! Sealed bytes: `nonce (12) | ciphertext+tag`, with caller-chosen associated data (e.g. the table
//! and key a value is stored under) so a sealed value cannot be moved to another slot.

use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sealed data does not open with this key and associated data (altered, moved, or another enclave's)")]
pub struct UnsealError;

/// Cloning copies the secret (zeroized on drop like the original): only for handing the same
/// enclave's key to another of its own stores.
#[derive(Clone)]
pub struct SealingKey {
    key: Zeroizing<[u8; 32]>,
}

impl SealingKey {
    pub fn from_bytes(key: [u8; 32]) -> Self {
        SealingKey {
            key: Zeroizing::new(key),
        }
    }

    /// The length of `plaintext_len` bytes once sealed (nonce and tag added).
    pub const fn sealed_len(plaintext_len: usize) -> usize {
        NONCE_LEN + plaintext_len + TAG_LEN
    }

    pub fn seal(
        &self,
        plaintext: &[u8],
        associated: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rng.fill_bytes(&mut nonce);
        let cipher = Aes256GcmSiv::new_from_slice(self.key.as_slice()).expect("key is 32 bytes");
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: associated,
                },
            )
            .expect("AES-GCM-SIV encrypts any plaintext below its length limit");
        [nonce.as_slice(), &ciphertext].concat()
    }

    pub fn unseal(
        &self,
        sealed: &[u8],
        associated: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, UnsealError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(UnsealError);
        }
        let (nonce, ciphertext) = sealed.split_at(12);
        let cipher = Aes256GcmSiv::new_from_slice(self.key.as_slice()).expect("key is 32 bytes");
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: associated,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| UnsealError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn seals_to_key_and_slot() {
        let key = SealingKey::from_bytes([5; 32]);
        let sealed = key.seal(b"state", b"contracts/1", &mut OsRng);
        assert_eq!(
            key.unseal(&sealed, b"contracts/1").unwrap().as_slice(),
            b"state"
        );
        assert_eq!(key.unseal(&sealed, b"contracts/2"), Err(UnsealError));
        assert_eq!(
            SealingKey::from_bytes([6; 32]).unseal(&sealed, b"contracts/1"),
            Err(UnsealError)
        );
        let mut altered = sealed.clone();
        altered[20] ^= 1;
        assert_eq!(key.unseal(&altered, b"contracts/1"), Err(UnsealError));
        assert_eq!(key.unseal(&sealed[..10], b"contracts/1"), Err(UnsealError));
    }
}
