//! Envelopes: how anything is encrypted to an x25519 public key (a contract's, a worker's, a
//! client's ephemeral one). Wire form, SCALE:
//! `Envelope { version: u8, epoch: u32, ephemeral: [u8; 32], nonce: [u8; 12], ciphertext: Vec<u8> }`.
//!
//! key = HKDF-SHA256(ikm = X25519(ephemeral, recipient), salt = none, info = [`ENVELOPE_KDF_LABEL`]);
//! AAD = [`ENVELOPE_AAD_DOMAIN`] | chain id | contract id | sender | version | epoch | ephemeral, so a
//! ciphertext cannot be moved to another chain, contract or sender. The plaintext is framed as
//! `u32le length | bytes` and zero-padded to a bucket (64, 128, 256, ... bytes) so that lengths
//! say little. A client may keep one ephemeral key for a session ([`Sealer`]); nonces are random.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
pub use phalanx_primitives::Envelope;
use phalanx_primitives::{AccountId, Hash};
use rand_core::CryptoRngCore;
use sha2::Sha256;
use std::collections::HashMap;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

pub const ENVELOPE_VERSION: u8 = 1;
pub const ENVELOPE_KDF_LABEL: &[u8] = b"PHALANX_ENVELOPE_KEY_V1";
pub const ENVELOPE_AAD_DOMAIN: &[u8] = b"PHALANX_ENVELOPE_AAD_V1";
/// Smallest padded plaintext.
pub const MIN_BUCKET: usize = 64;
/// Largest plaintext an envelope may carry.
pub const MAX_PLAINTEXT_LEN: usize = 256 * 1024;
/// Shared secrets an [`Opener`] keeps, by sender ephemeral key.
const OPENER_CACHE_CAPACITY: usize = 4096;

/// What an envelope is bound to; both sides must name the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvelopeContext {
    pub chain_id: Hash,
    /// The contract (or other recipient identity) the envelope is addressed to.
    pub contract: AccountId,
    pub sender: AccountId,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    #[error("envelope version {0} is not supported")]
    Version(u8),
    #[error("plaintext of {0} bytes exceeds the limit of {MAX_PLAINTEXT_LEN}")]
    TooLarge(usize),
    /// Wrong key, wrong context (chain, contract, sender, epoch) or altered bytes: indistinguishable
    /// on purpose.
    #[error("the envelope does not decrypt with this key and context")]
    Undecryptable,
    #[error("the envelope's key epoch {found} is not available (have {available:?})")]
    UnknownEpoch { found: u32, available: Vec<u32> },
    /// It decrypts, but the plaintext is not padded to its size bucket with zeros: a sender
    /// that pads otherwise lets ciphertext lengths say more than they should.
    #[error("the envelope's plaintext of {length} bytes is padded to {padded} bytes, not its bucket of {bucket} with zeros")]
    BadPadding {
        length: usize,
        padded: usize,
        bucket: usize,
    },
}

fn aad(context: &EnvelopeContext, version: u8, epoch: u32, ephemeral: &[u8; 32]) -> Vec<u8> {
    [
        ENVELOPE_AAD_DOMAIN,
        &context.chain_id.0,
        context.contract.as_bytes(),
        context.sender.as_bytes(),
        &[version],
        &epoch.to_le_bytes(),
        ephemeral,
    ]
    .concat()
}

fn derive_key(shared: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(None, shared)
        .expand(ENVELOPE_KDF_LABEL, key.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    key
}

/// The padded size for a plaintext of `len` bytes (framing included).
pub fn bucket_size(len: usize) -> usize {
    (len + 4).next_power_of_two().max(MIN_BUCKET)
}

fn pad(plaintext: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut framed = Zeroizing::new(Vec::with_capacity(bucket_size(plaintext.len())));
    framed.extend_from_slice(&(plaintext.len() as u32).to_le_bytes());
    framed.extend_from_slice(plaintext);
    framed.resize(bucket_size(plaintext.len()), 0);
    framed
}

fn unpad(framed: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let len_bytes: [u8; 4] = framed
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(EnvelopeError::Undecryptable)?;
    let len = u32::from_le_bytes(len_bytes) as usize;
    let plaintext = framed
        .get(4..4usize.saturating_add(len))
        .ok_or(EnvelopeError::Undecryptable)?;
    let padding = &framed[4 + len..];
    if framed.len() != bucket_size(len) || padding.iter().any(|b| *b != 0) {
        return Err(EnvelopeError::BadPadding {
            length: len,
            padded: framed.len(),
            bucket: bucket_size(len),
        });
    }
    Ok(plaintext.to_vec())
}

/// Encrypts to recipients with one ephemeral key (a session). A session sealing many envelopes
/// to one recipient does the public-key work once: the derived key is kept per recipient, and the
/// recipient's [`Opener`] caches it per ephemeral key likewise. Envelopes of one session are
/// linkable by their ephemeral key, so use a session per sender (whose transactions are linked by
/// their signer anyway), never across senders.
pub struct Sealer {
    ephemeral: StaticSecret,
    public: [u8; 32],
    derived: std::sync::Mutex<HashMap<[u8; 32], Zeroizing<[u8; 32]>>>,
}

impl Sealer {
    pub fn new(rng: &mut impl CryptoRngCore) -> Self {
        let ephemeral = StaticSecret::random_from_rng(rng);
        Sealer {
            public: PublicKey::from(&ephemeral).to_bytes(),
            ephemeral,
            derived: Default::default(),
        }
    }

    /// The session's public key: where answers (e.g. query results) are encrypted to.
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// The AES key shared with `recipient`, derived once per session.
    fn key_for(&self, recipient: &[u8; 32]) -> Zeroizing<[u8; 32]> {
        let mut derived = self.derived.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(key) = derived.get(recipient) {
            return key.clone();
        }
        if derived.len() >= OPENER_CACHE_CAPACITY {
            derived.clear();
        }
        let shared = Zeroizing::new(
            self.ephemeral
                .diffie_hellman(&PublicKey::from(*recipient))
                .to_bytes(),
        );
        let key = derive_key(&shared);
        derived.insert(*recipient, key.clone());
        key
    }

    /// The session secret, to open envelopes encrypted back to [`Sealer::public_key`].
    pub fn secret(&self) -> &StaticSecret {
        &self.ephemeral
    }

    pub fn seal(
        &self,
        recipient: &[u8; 32],
        epoch: u32,
        context: &EnvelopeContext,
        plaintext: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Envelope, EnvelopeError> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(EnvelopeError::TooLarge(plaintext.len()));
        }
        let key = self.key_for(recipient);
        let ephemeral = self.public;
        let mut nonce = [0u8; 12];
        rng.fill_bytes(&mut nonce);
        let aad = aad(context, ENVELOPE_VERSION, epoch, &ephemeral);
        let cipher = Aes256Gcm::new_from_slice(key.as_slice()).expect("key is 32 bytes");
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &pad(plaintext),
                    aad: &aad,
                },
            )
            .expect("AES-GCM encrypts any plaintext below its length limit");
        Ok(Envelope {
            version: ENVELOPE_VERSION,
            epoch,
            ephemeral,
            nonce,
            ciphertext,
        })
    }
}

/// Decrypts envelopes sent to one secret key, caching the shared secret per sender ephemeral key
/// (half the public-key work of a session's later envelopes).
pub struct Opener {
    secret: StaticSecret,
    epoch: u32,
    cache: HashMap<[u8; 32], Zeroizing<[u8; 32]>>,
}

impl Opener {
    pub fn new(secret: StaticSecret, epoch: u32) -> Self {
        Opener {
            secret,
            epoch,
            cache: HashMap::new(),
        }
    }

    pub fn public_key(&self) -> [u8; 32] {
        PublicKey::from(&self.secret).to_bytes()
    }

    pub fn open(
        &mut self,
        context: &EnvelopeContext,
        envelope: &Envelope,
    ) -> Result<Vec<u8>, EnvelopeError> {
        if envelope.version != ENVELOPE_VERSION {
            return Err(EnvelopeError::Version(envelope.version));
        }
        if envelope.epoch != self.epoch {
            return Err(EnvelopeError::UnknownEpoch {
                found: envelope.epoch,
                available: vec![self.epoch],
            });
        }
        if envelope.ciphertext.len() > bucket_size(MAX_PLAINTEXT_LEN) + 16 {
            return Err(EnvelopeError::TooLarge(envelope.ciphertext.len()));
        }
        if !self.cache.contains_key(&envelope.ephemeral) {
            if self.cache.len() >= OPENER_CACHE_CAPACITY {
                self.cache.clear();
            }
            let shared = Zeroizing::new(
                self.secret
                    .diffie_hellman(&PublicKey::from(envelope.ephemeral))
                    .to_bytes(),
            );
            self.cache.insert(envelope.ephemeral, derive_key(&shared));
        }
        let key = &self.cache[&envelope.ephemeral];
        let aad = aad(
            context,
            envelope.version,
            envelope.epoch,
            &envelope.ephemeral,
        );
        let cipher = Aes256Gcm::new_from_slice(key.as_slice()).expect("key is 32 bytes");
        let framed = Zeroizing::new(
            cipher
                .decrypt(
                    Nonce::from_slice(&envelope.nonce),
                    Payload {
                        msg: &envelope.ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| EnvelopeError::Undecryptable)?,
        );
        unpad(&framed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parity_scale_codec::{Decode, Encode};
    use proptest::prelude::*;
    use rand_core::OsRng;

    fn context() -> EnvelopeContext {
        EnvelopeContext {
            chain_id: Hash([1; 32]),
            contract: AccountId::from_bytes([2; 32]),
            sender: AccountId::from_bytes([3; 32]),
        }
    }

    fn recipient() -> Opener {
        Opener::new(StaticSecret::from([42u8; 32]), 0)
    }

    /// An envelope to `to` whose framed plaintext is `framed` exactly (padded or not).
    fn sealed_as_is(to: &[u8; 32], framed: &[u8]) -> Envelope {
        let sealer = Sealer::new(&mut OsRng);
        let key = sealer.key_for(to);
        let aad = aad(&context(), ENVELOPE_VERSION, 0, &sealer.public);
        let cipher = Aes256Gcm::new_from_slice(key.as_slice()).unwrap();
        let nonce = [9u8; 12];
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: framed,
                    aad: &aad,
                },
            )
            .unwrap();
        Envelope {
            version: ENVELOPE_VERSION,
            epoch: 0,
            ephemeral: sealer.public,
            nonce,
            ciphertext,
        }
    }

    #[test]
    fn a_plaintext_not_padded_to_its_bucket_is_refused() {
        let mut opener = recipient();
        let to = opener.public_key();
        let framed = |len: u32, body: &[u8], pad_to: usize, fill: u8| {
            let mut f = len.to_le_bytes().to_vec();
            f.extend_from_slice(body);
            f.resize(pad_to, fill);
            f
        };
        // Unpadded, padded to the wrong bucket, padded with something else than zeros.
        for bad in [
            framed(5, b"hello", 9, 0),
            framed(5, b"hello", 128, 0),
            framed(5, b"hello", 64, 7),
        ] {
            assert!(matches!(
                opener.open(&context(), &sealed_as_is(&to, &bad)),
                Err(EnvelopeError::BadPadding { length: 5, .. })
            ));
        }
        let good = framed(5, b"hello", 64, 0);
        assert_eq!(
            opener.open(&context(), &sealed_as_is(&to, &good)).unwrap(),
            b"hello"
        );
    }

    proptest! {
        #[test]
        fn round_trips_and_pads_to_buckets(plaintext in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let mut opener = recipient();
            let envelope = Sealer::new(&mut OsRng).seal(&opener.public_key(), 0, &context(), &plaintext, &mut OsRng).unwrap();
            prop_assert_eq!(envelope.ciphertext.len(), bucket_size(plaintext.len()) + 16);
            prop_assert!(envelope.ciphertext.len().is_power_of_two() || (envelope.ciphertext.len() - 16).is_power_of_two());
            prop_assert_eq!(opener.open(&context(), &envelope).unwrap(), plaintext);
        }

        #[test]
        fn any_altered_byte_is_refused(plaintext in proptest::collection::vec(any::<u8>(), 0..200), index in any::<prop::sample::Index>(), bit in 0u8..8) {
            let mut opener = recipient();
            let envelope = Sealer::new(&mut OsRng).seal(&opener.public_key(), 0, &context(), &plaintext, &mut OsRng).unwrap();
            let mut bytes = envelope.encode();
            let i = index.index(bytes.len());
            bytes[i] ^= 1 << bit;
            if let Ok(altered) = Envelope::decode(&mut &bytes[..]) {
                prop_assert!(opener.open(&context(), &altered).is_err());
            }
        }
    }

    #[test]
    fn binds_chain_contract_sender_and_recipient() {
        let mut opener = recipient();
        let envelope = Sealer::new(&mut OsRng)
            .seal(&opener.public_key(), 0, &context(), b"secret", &mut OsRng)
            .unwrap();
        let elsewhere = [
            EnvelopeContext {
                chain_id: Hash([9; 32]),
                ..context()
            },
            EnvelopeContext {
                contract: AccountId::from_bytes([9; 32]),
                ..context()
            },
            EnvelopeContext {
                sender: AccountId::from_bytes([9; 32]),
                ..context()
            },
        ];
        for other in elsewhere {
            assert_eq!(
                opener.open(&other, &envelope),
                Err(EnvelopeError::Undecryptable)
            );
        }
        let mut stranger = Opener::new(StaticSecret::from([7u8; 32]), 0);
        assert_eq!(
            stranger.open(&context(), &envelope),
            Err(EnvelopeError::Undecryptable)
        );
        let mut next_epoch = Opener::new(StaticSecret::from([42u8; 32]), 1);
        assert!(matches!(
            next_epoch.open(&context(), &envelope),
            Err(EnvelopeError::UnknownEpoch { .. })
        ));
        assert_eq!(opener.open(&context(), &envelope).unwrap(), b"secret");
    }
}
