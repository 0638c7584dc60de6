//! Quote providers: how an enclave obtains evidence for its report data. They do I/O and run
//! only in workers and gatekeepers, never in the runtime.

use crate::{AttestationReport, DevQuote, TeeKind};
use phalanx_crypto::Keypair;
use phalanx_primitives::AccountId;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    #[error("{what} ({path}): {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the enclave returned an empty quote")]
    EmptyQuote,
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> ProviderError + 'a {
    move |source| ProviderError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Produces attestation evidence binding `report_data` to this enclave.
pub trait QuoteProvider: Send + Sync {
    fn kind(&self) -> TeeKind;
    fn quote(&self, report_data: &[u8; 64]) -> Result<AttestationReport, ProviderError>;
}

/// The measurement dev workers report: SHA-256("phalanx-dev-worker"). Dev genesis allows it.
pub fn dev_measurement() -> [u8; 32] {
    phalanx_primitives::sha256(b"phalanx-dev-worker").0
}

/// Simulated enclave: signs quotes with a dev attestation key. INSECURE: anyone holding that
/// key can forge a quote. Only chains whose genesis lists the key accept it.
pub struct DevProvider {
    key: Keypair,
    measurement: [u8; 32],
}

impl DevProvider {
    pub fn new_insecure(key: Keypair, measurement: [u8; 32]) -> Self {
        DevProvider { key, measurement }
    }

    pub fn attestation_key(&self) -> AccountId {
        self.key.account_id()
    }
}

impl QuoteProvider for DevProvider {
    fn kind(&self) -> TeeKind {
        TeeKind::Dev
    }

    fn quote(&self, report_data: &[u8; 64]) -> Result<AttestationReport, ProviderError> {
        let signature = self
            .key
            .sign(&DevQuote::signing_message(&self.measurement, report_data));
        Ok(AttestationReport::Dev(DevQuote {
            measurement: self.measurement,
            report_data: *report_data,
            attestation_key: self.key.account_id(),
            signature,
        }))
    }
}

fn read_collateral(path: &Path) -> Result<Vec<u8>, ProviderError> {
    std::fs::read(path).map_err(io("reading quote collateral", path))
}

/// SGX under Gramine: write the report data to `/dev/attestation/user_report_data`, read the
/// DCAP quote from `/dev/attestation/quote`. The collateral comes from a file the operator keeps
/// fresh from a PCCS (the enclave does not fetch it: the chain verifies it anyway).
pub struct GramineSgxProvider {
    attestation_dir: PathBuf,
    collateral_file: PathBuf,
}

impl GramineSgxProvider {
    pub const DEFAULT_DIR: &'static str = "/dev/attestation";

    pub fn new(attestation_dir: impl Into<PathBuf>, collateral_file: impl Into<PathBuf>) -> Self {
        GramineSgxProvider {
            attestation_dir: attestation_dir.into(),
            collateral_file: collateral_file.into(),
        }
    }
}

impl QuoteProvider for GramineSgxProvider {
    fn kind(&self) -> TeeKind {
        TeeKind::Sgx
    }

    fn quote(&self, report_data: &[u8; 64]) -> Result<AttestationReport, ProviderError> {
        let data_path = self.attestation_dir.join("user_report_data");
        std::fs::write(&data_path, report_data).map_err(io("writing report data", &data_path))?;
        let quote_path = self.attestation_dir.join("quote");
        let quote = std::fs::read(&quote_path).map_err(io("reading the quote", &quote_path))?;
        if quote.is_empty() {
            return Err(ProviderError::EmptyQuote);
        }
        Ok(AttestationReport::Dcap {
            quote,
            collateral_json: read_collateral(&self.collateral_file)?,
        })
    }
}

/// TDX through Linux configfs-tsm: create a report entry under
/// `/sys/kernel/config/tsm/report`, write `inblob`, read `outblob`, remove the entry.
pub struct TdxConfigfsProvider {
    report_dir: PathBuf,
    collateral_file: PathBuf,
}

impl TdxConfigfsProvider {
    pub const DEFAULT_DIR: &'static str = "/sys/kernel/config/tsm/report";

    pub fn new(report_dir: impl Into<PathBuf>, collateral_file: impl Into<PathBuf>) -> Self {
        TdxConfigfsProvider {
            report_dir: report_dir.into(),
            collateral_file: collateral_file.into(),
        }
    }
}

impl QuoteProvider for TdxConfigfsProvider {
    fn kind(&self) -> TeeKind {
        TeeKind::Tdx
    }

    fn quote(&self, report_data: &[u8; 64]) -> Result<AttestationReport, ProviderError> {
        let entry = self
            .report_dir
            .join(format!("phalanx-{}", std::process::id()));
        std::fs::create_dir(&entry).map_err(io("creating a configfs-tsm report entry", &entry))?;
        let result = (|| {
            let inblob = entry.join("inblob");
            std::fs::write(&inblob, report_data).map_err(io("writing inblob", &inblob))?;
            let outblob = entry.join("outblob");
            std::fs::read(&outblob).map_err(io("reading outblob", &outblob))
        })();
        // The kernel frees the report with the directory; failing to remove it only leaks it.
        let _ = std::fs::remove_dir(&entry);
        let quote = result?;
        if quote.is_empty() {
            return Err(ProviderError::EmptyQuote);
        }
        Ok(AttestationReport::Dcap {
            quote,
            collateral_json: read_collateral(&self.collateral_file)?,
        })
    }
}
