//! The sealed master-key file of a gatekeeper.

use phalanx_crypto::hierarchy::MasterKey;
use phalanx_crypto::sealing::SealingKey;
use rand_core::OsRng;
use std::path::PathBuf;

pub(crate) const MASTER_KEY_FILE: &str = "master-key.sealed";
const MASTER_KEY_AAD: &[u8] = b"PHALANX_MASTER_KEY_V1";

/// Why the sealed master-key file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MasterKeyFileError {
    #[error("reading the sealed master key {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing the sealed master key {path}: {source}")]
    Unwritable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the sealed master key {path} is damaged: {length} bytes, where a sealed 32-byte key takes {expected}")]
    Damaged {
        path: PathBuf,
        length: usize,
        expected: usize,
    },
    #[error("the sealed master key {path} does not open: it was sealed by another enclave (a different build or machine) or altered")]
    WrongEnclave { path: PathBuf },
}

pub(crate) struct MasterKeyFile {
    pub(crate) path: PathBuf,
    pub(crate) sealing: SealingKey,
}

impl MasterKeyFile {
    /// The sealed key, or None if there is no file (a missing file is not an error: a new
    /// gatekeeper has none).
    pub(crate) fn load(&self) -> Result<Option<MasterKey>, MasterKeyFileError> {
        let sealed = match std::fs::read(&self.path) {
            Ok(sealed) => sealed,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(MasterKeyFileError::Unreadable {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        let expected = SealingKey::sealed_len(32);
        if sealed.len() != expected {
            return Err(MasterKeyFileError::Damaged {
                path: self.path.clone(),
                length: sealed.len(),
                expected,
            });
        }
        let bytes = self.sealing.unseal(&sealed, MASTER_KEY_AAD).map_err(|_| {
            MasterKeyFileError::WrongEnclave {
                path: self.path.clone(),
            }
        })?;
        let secret: [u8; 32] =
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| MasterKeyFileError::Damaged {
                    path: self.path.clone(),
                    length: sealed.len(),
                    expected,
                })?;
        Ok(Some(MasterKey::from_bytes(0, secret)))
    }

    /// Seals the key to disk like a checkpoint (temporary file, fsync, rename, directory fsync,
    /// mode 0600), so a crash leaves the old file or the new one.
    pub(crate) fn store(&self, master: &MasterKey) -> Result<(), MasterKeyFileError> {
        let sealed = self
            .sealing
            .seal(master.expose_secret(), MASTER_KEY_AAD, &mut OsRng);
        phalanx_worker::host::write_file(&self.path, &sealed)
            .map_err(|(path, source)| MasterKeyFileError::Unwritable { path, source })
    }

    pub(crate) fn discard(&self) -> Result<(), MasterKeyFileError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(MasterKeyFileError::Unwritable {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &std::path::Path, key: u8) -> MasterKeyFile {
        MasterKeyFile {
            path: dir.join(MASTER_KEY_FILE),
            sealing: SealingKey::from_bytes([key; 32]),
        }
    }

    #[test]
    fn the_master_key_file_says_what_is_wrong_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let ours = file(dir.path(), 1);
        assert!(ours.load().unwrap().is_none(), "no file: a new gatekeeper");
        let master = MasterKey::generate(0, &mut OsRng);
        ours.store(&master).unwrap();
        assert_eq!(
            ours.load().unwrap().unwrap().public_key(),
            master.public_key()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&ours.path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Another enclave's sealing key.
        assert!(matches!(
            file(dir.path(), 2).load(),
            Err(MasterKeyFileError::WrongEnclave { .. })
        ));
        // Truncated on disk.
        let sealed = std::fs::read(&ours.path).unwrap();
        std::fs::write(&ours.path, &sealed[..sealed.len() - 1]).unwrap();
        assert!(matches!(
            ours.load(),
            Err(MasterKeyFileError::Damaged { length, .. }) if length == sealed.len() - 1
        ));
        ours.discard().unwrap();
        assert!(ours.load().unwrap().is_none());
    }
}
