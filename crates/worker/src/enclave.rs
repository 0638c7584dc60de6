//! The worker's enclave identity: its ed25519 identity key, its x25519 key (key messages are
//! encrypted to it) and the sealing key everything on disk is sealed with.
//!
//! In dev mode the sealing key is a file in the data directory — INSECURE: anyone who can read
//! the directory can unseal everything. Real enclaves derive it from the hardware (SGX: the
//! MRENCLAVE-bound key Gramine exposes); that is not implemented yet and is refused clearly.

use hkdf::Hkdf;
use phalanx_crypto::sealing::SealingKey;
use phalanx_crypto::Keypair;
use rand_core::CryptoRngCore;
use sha2::Sha256;
use std::path::{Path, PathBuf};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

const DEV_SEALING_KEY_FILE: &str = "dev-sealing.key";
const IDENTITY_FILE: &str = "identity.sealed";
const IDENTITY_AAD: &[u8] = b"PHALANX_WORKER_IDENTITY_V1";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnclaveError {
    #[error("{what} ({path}): {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is damaged or was sealed by another enclave")]
    Unsealable(PathBuf),
}

/// The keys of one worker enclave.
pub struct Enclave {
    pub identity: Keypair,
    pub ecdh: StaticSecret,
    sealing: [u8; 32],
}

impl Enclave {
    /// Loads the dev enclave in `dir`, creating its keys on first start.
    pub fn open_dev(dir: &Path, rng: &mut impl CryptoRngCore) -> Result<Self, EnclaveError> {
        std::fs::create_dir_all(dir).map_err(io("creating the data directory", dir))?;
        let key_path = dir.join(DEV_SEALING_KEY_FILE);
        let sealing: [u8; 32] = match std::fs::read(&key_path) {
            Ok(bytes) => bytes
                .try_into()
                .map_err(|_| EnclaveError::Unsealable(key_path.clone()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rng.fill_bytes(&mut key);
                write_private(&key_path, &key)
                    .map_err(io("writing the dev sealing key", &key_path))?;
                key
            }
            Err(e) => return Err(io("reading the dev sealing key", &key_path)(e)),
        };
        let sealer = SealingKey::from_bytes(sealing);
        let identity_path = dir.join(IDENTITY_FILE);
        let secrets = match std::fs::read(&identity_path) {
            Ok(sealed) => sealer
                .unseal(&sealed, IDENTITY_AAD)
                .map_err(|_| EnclaveError::Unsealable(identity_path.clone()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut fresh = Zeroizing::new(vec![0u8; 64]);
                rng.fill_bytes(&mut fresh);
                let sealed = sealer.seal(&fresh, IDENTITY_AAD, rng);
                write_private(&identity_path, &sealed)
                    .map_err(io("writing the sealed identity", &identity_path))?;
                fresh
            }
            Err(e) => return Err(io("reading the sealed identity", &identity_path)(e)),
        };
        if secrets.len() != 64 {
            return Err(EnclaveError::Unsealable(identity_path));
        }
        let seed: [u8; 32] = secrets[..32].try_into().expect("checked length");
        let ecdh: [u8; 32] = secrets[32..].try_into().expect("checked length");
        Ok(Enclave {
            identity: Keypair::from_seed(seed),
            ecdh: StaticSecret::from(ecdh),
            sealing,
        })
    }

    pub fn ecdh_public(&self) -> [u8; 32] {
        PublicKey::from(&self.ecdh).to_bytes()
    }

    pub fn sealing_key(&self) -> SealingKey {
        SealingKey::from_bytes(*derive(&self.sealing, b"PHALANX_WORKER_SEAL_V1"))
    }

    /// Key of the HMAC tags that hide storage key names in the store.
    pub fn tag_key(&self) -> [u8; 32] {
        *derive(&self.sealing, b"PHALANX_WORKER_TAG_V1")
    }
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> EnclaveError {
    let path = path.to_path_buf();
    move |source| EnclaveError::Io { what, path, source }
}

fn derive(root: &[u8; 32], label: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(None, root)
        .expand(label, out.as_mut())
        .expect("32 bytes is a valid HKDF output length");
    out
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn keys_survive_restarts_and_stay_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let first = Enclave::open_dev(dir.path(), &mut OsRng).unwrap();
        let again = Enclave::open_dev(dir.path(), &mut OsRng).unwrap();
        assert_eq!(first.identity.account_id(), again.identity.account_id());
        assert_eq!(first.ecdh_public(), again.ecdh_public());
        let sealed = std::fs::read(dir.path().join(IDENTITY_FILE)).unwrap();
        assert!(!sealed
            .windows(32)
            .any(|w| w == first.identity.seed().as_slice()));
        // Another sealing key cannot open the identity.
        std::fs::write(dir.path().join(DEV_SEALING_KEY_FILE), [0u8; 32]).unwrap();
        assert!(matches!(
            Enclave::open_dev(dir.path(), &mut OsRng),
            Err(EnclaveError::Unsealable(_))
        ));
    }
}
