//! The worker's enclave identity: its ed25519 identity key, its x25519 key (key messages are
//! encrypted to it) and the sealing key everything on disk is sealed with.
//!
//! Where the sealing root comes from is the one thing that differs between enclave kinds:
//! - dev: a random key in a file in the data directory — INSECURE: anyone who can read the
//!   directory can unseal everything; for development only.
//! - SGX under Gramine: the MRENCLAVE-bound sealing key the CPU derives for this exact enclave
//!   build, which Gramine exposes as `/dev/attestation/keys/_sgx_mrenclave`. Only the same enclave
//!   on the same CPU gets it, so the sealed files are useless anywhere else (and to a new build:
//!   upgrades re-register and replay, they do not migrate sealed state).
//! - TDX has no sealing key in hardware: the root comes from a gatekeeper after attestation
//!   (`tdx.rs`), bound to the TD's measurement.
//!
//! Everything else (identity and ECDH keys generated inside, sealed under the root) is common.

use hkdf::Hkdf;
use phalanx_crypto::sealing::SealingKey;
use phalanx_crypto::Keypair;
use rand_core::CryptoRngCore;
use sha2::Sha256;
use std::path::{Path, PathBuf};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

const DEV_SEALING_KEY_FILE: &str = "dev-sealing.key";
/// Gramine's MRENCLAVE-bound sealing key, relative to its attestation directory.
const SGX_MRENCLAVE_KEY: &str = "keys/_sgx_mrenclave";
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
    #[error("{path} does not hold a 16-byte SGX sealing key (is this running inside Gramine?)")]
    BadSgxKey { path: PathBuf },
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
        Self::open_sealed(dir, sealing, rng)
    }

    /// Loads an SGX enclave under Gramine (`attestation_dir` is normally `/dev/attestation`),
    /// sealing under the CPU's MRENCLAVE-bound key; creates its keys in `dir` on first start.
    pub fn open_sgx(
        dir: &Path,
        attestation_dir: &Path,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Self, EnclaveError> {
        std::fs::create_dir_all(dir).map_err(io("creating the data directory", dir))?;
        let key_path = attestation_dir.join(SGX_MRENCLAVE_KEY);
        let hardware =
            std::fs::read(&key_path).map_err(io("reading the SGX sealing key", &key_path))?;
        let hardware: [u8; 16] = hardware
            .try_into()
            .map_err(|_| EnclaveError::BadSgxKey { path: key_path })?;
        // Stretch the 128-bit hardware key into the 256-bit root every derived key comes from.
        let mut root = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(b"PHALANX_SGX_SEALING_ROOT_V1"), &hardware)
            .expand(b"root", root.as_mut())
            .expect("32 bytes is a valid HKDF output length");
        Self::open_sealed(dir, *root, rng)
    }

    /// Loads (or creates and seals) the identity in `dir` under a sealing root obtained
    /// elsewhere (a TDX enclave's, from a gatekeeper).
    pub fn open_with_root(
        dir: &Path,
        sealing: [u8; 32],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Self, EnclaveError> {
        std::fs::create_dir_all(dir).map_err(io("creating the data directory", dir))?;
        Self::open_sealed(dir, sealing, rng)
    }

    /// Loads (or creates and seals) the identity in `dir` under the sealing root `sealing`.
    fn open_sealed(
        dir: &Path,
        sealing: [u8; 32],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Self, EnclaveError> {
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

    /// Gramine's attestation directory, as far as sealing goes.
    fn gramine_dir(key: &[u8]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("keys")).unwrap();
        std::fs::write(dir.path().join(SGX_MRENCLAVE_KEY), key).unwrap();
        dir
    }

    #[test]
    fn sgx_enclaves_seal_under_the_hardware_key() {
        let data = tempfile::tempdir().unwrap();
        let cpu = gramine_dir(&[7; 16]);
        let first = Enclave::open_sgx(data.path(), cpu.path(), &mut OsRng).unwrap();
        let again = Enclave::open_sgx(data.path(), cpu.path(), &mut OsRng).unwrap();
        assert_eq!(first.identity.account_id(), again.identity.account_id());
        // No key file in the data directory: the key lives in the CPU.
        assert!(!data.path().join(DEV_SEALING_KEY_FILE).exists());
        // Another enclave build (or another CPU) derives another key and opens nothing.
        let other = gramine_dir(&[8; 16]);
        assert!(matches!(
            Enclave::open_sgx(data.path(), other.path(), &mut OsRng),
            Err(EnclaveError::Unsealable(_))
        ));
        // Outside Gramine there is no such key, and the error says so.
        let outside = tempfile::tempdir().unwrap();
        let error = Enclave::open_sgx(data.path(), outside.path(), &mut OsRng)
            .err()
            .unwrap();
        assert!(error.to_string().contains("SGX sealing key"), "{error}");
        let malformed = gramine_dir(&[1; 32]);
        assert!(matches!(
            Enclave::open_sgx(data.path(), malformed.path(), &mut OsRng),
            Err(EnclaveError::BadSgxKey { .. })
        ));
    }
}
