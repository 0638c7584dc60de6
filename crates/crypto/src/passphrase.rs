//! Encryption of small secrets (key files) under a passphrase: Argon2id stretches the passphrase
//! into an AES-256-GCM key. The format is self-describing so the parameters can be raised later
//! without breaking old files.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Associated data binding a ciphertext to its purpose.
const AAD: &[u8] = b"PHALANX_KEYFILE_V1";
/// Argon2id memory cost in KiB (64 MiB), iterations and lanes: OWASP's recommended minimum class.
const DEFAULT_M_COST: u32 = 64 * 1024;
const DEFAULT_T_COST: u32 = 3;
const DEFAULT_P_COST: u32 = 1;
/// Upper bounds on parameters read from a file, so a crafted file cannot exhaust memory.
const MAX_M_COST: u32 = 1024 * 1024;
const MAX_T_COST: u32 = 64;

/// A secret encrypted under a passphrase, as stored in a key file (hex fields).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PassphraseCiphertext {
    pub kdf: String,
    pub m_cost: u32,
    pub t_cost: u32,
    pub p_cost: u32,
    #[serde(with = "hex::serde")]
    pub salt: Vec<u8>,
    pub cipher: String,
    #[serde(with = "hex::serde")]
    pub nonce: Vec<u8>,
    #[serde(with = "hex::serde")]
    pub ciphertext: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PassphraseError {
    #[error("wrong passphrase, or the key file is corrupted")]
    WrongPassphraseOrCorrupt,
    #[error("unsupported key file format: {0}")]
    Unsupported(String),
}

/// Encrypts `secret` under `passphrase` with the default (strong) parameters.
pub fn encrypt(
    secret: &[u8],
    passphrase: &str,
    rng: &mut impl CryptoRngCore,
) -> PassphraseCiphertext {
    encrypt_with_cost(secret, passphrase, rng, DEFAULT_M_COST, DEFAULT_T_COST)
}

/// Like [`encrypt`] with chosen Argon2 memory (KiB) and time costs; tests use cheap ones.
pub fn encrypt_with_cost(
    secret: &[u8],
    passphrase: &str,
    rng: &mut impl CryptoRngCore,
    m_cost: u32,
    t_cost: u32,
) -> PassphraseCiphertext {
    let mut salt = vec![0u8; 16];
    rng.fill_bytes(&mut salt);
    let mut nonce = vec![0u8; 12];
    rng.fill_bytes(&mut nonce);
    let key = stretch(passphrase, &salt, m_cost, t_cost, DEFAULT_P_COST)
        .expect("default Argon2 parameters are valid");
    let cipher = Aes256Gcm::new_from_slice(key.as_slice()).expect("key is 32 bytes");
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: secret,
                aad: AAD,
            },
        )
        .expect("AES-GCM encryption of a small secret cannot fail");
    PassphraseCiphertext {
        kdf: "argon2id".into(),
        m_cost,
        t_cost,
        p_cost: DEFAULT_P_COST,
        salt,
        cipher: "aes-256-gcm".into(),
        nonce,
        ciphertext,
    }
}

/// Decrypts a secret; a wrong passphrase and a tampered file give the same error.
pub fn decrypt(
    sealed: &PassphraseCiphertext,
    passphrase: &str,
) -> Result<Zeroizing<Vec<u8>>, PassphraseError> {
    if sealed.kdf != "argon2id" || sealed.cipher != "aes-256-gcm" {
        return Err(PassphraseError::Unsupported(format!(
            "{} / {}",
            sealed.kdf, sealed.cipher
        )));
    }
    if sealed.m_cost > MAX_M_COST
        || sealed.t_cost > MAX_T_COST
        || sealed.p_cost != DEFAULT_P_COST
        || sealed.nonce.len() != 12
    {
        return Err(PassphraseError::Unsupported(
            "parameters out of range".into(),
        ));
    }
    let key = stretch(
        passphrase,
        &sealed.salt,
        sealed.m_cost,
        sealed.t_cost,
        sealed.p_cost,
    )
    .map_err(|e| PassphraseError::Unsupported(e.to_string()))?;
    let cipher = Aes256Gcm::new_from_slice(key.as_slice()).expect("key is 32 bytes");
    cipher
        .decrypt(
            Nonce::from_slice(&sealed.nonce),
            Payload {
                msg: &sealed.ciphertext,
                aad: AAD,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| PassphraseError::WrongPassphraseOrCorrupt)
}

fn stretch(
    passphrase: &str,
    salt: &[u8],
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
) -> Result<Zeroizing<[u8; 32]>, argon2::Error> {
    let params = Params::new(m_cost, t_cost, p_cost, Some(32))?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params).hash_password_into(
        passphrase.as_bytes(),
        salt,
        key.as_mut(),
    )?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn round_trip_and_wrong_passphrase() {
        let sealed = encrypt_with_cost(b"secret seed", "correct horse", &mut OsRng, 256, 1);
        assert_eq!(
            decrypt(&sealed, "correct horse").unwrap().as_slice(),
            b"secret seed"
        );
        assert_eq!(
            decrypt(&sealed, "wrong"),
            Err(PassphraseError::WrongPassphraseOrCorrupt)
        );
        let mut tampered = sealed.clone();
        tampered.ciphertext[0] ^= 1;
        assert_eq!(
            decrypt(&tampered, "correct horse"),
            Err(PassphraseError::WrongPassphraseOrCorrupt)
        );
        let mut greedy = sealed;
        greedy.m_cost = u32::MAX;
        assert!(matches!(
            decrypt(&greedy, "correct horse"),
            Err(PassphraseError::Unsupported(_))
        ));
    }
}
