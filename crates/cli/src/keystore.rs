//! The user's keys: the well-known dev keys, and key files under `<keystore>/keys/NAME.json`,
//! each holding the account in clear and the secret seed encrypted under a passphrase
//! (Argon2id + AES-256-GCM, see `phalanx_crypto::passphrase`).

use anyhow::{anyhow, bail, Context, Result};
use phalanx_crypto::passphrase::{self, PassphraseCiphertext};
use phalanx_crypto::{Keypair, DEV_ACCOUNT_NAMES};
use phalanx_primitives::AccountId;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

const KEY_FILE_VERSION: u32 = 1;
const MAX_NAME_LEN: usize = 64;

#[derive(Serialize, Deserialize)]
struct KeyFile {
    version: u32,
    name: String,
    account: AccountId,
    crypto: PassphraseCiphertext,
}

#[derive(Clone, Debug, Serialize)]
pub struct KeyEntry {
    pub name: String,
    pub account: AccountId,
    /// `dev` (well-known, for dev chains only) or `keystore`.
    pub source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
}

/// Where the passphrase comes from: `--password-file`, then `$PHALANX_PASSWORD`, then a prompt.
pub struct PassphraseSource {
    pub file: Option<PathBuf>,
}

impl PassphraseSource {
    pub fn get(&self, prompt: &str, confirm: bool) -> Result<Zeroizing<String>> {
        if let Some(file) = &self.file {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading password file {}", file.display()))?;
            return Ok(Zeroizing::new(
                text.lines().next().unwrap_or("").to_string(),
            ));
        }
        if let Ok(text) = std::env::var("PHALANX_PASSWORD") {
            return Ok(Zeroizing::new(text));
        }
        let first = Zeroizing::new(
            rpassword::prompt_password(prompt)
                .context("reading the passphrase (or use --password-file / PHALANX_PASSWORD)")?,
        );
        if confirm {
            let second = Zeroizing::new(rpassword::prompt_password("Repeat passphrase: ")?);
            if *first != *second {
                bail!("the passphrases differ");
            }
        }
        Ok(first)
    }
}

pub struct Keystore {
    dir: PathBuf,
}

fn dev_entry(name: &str) -> KeyEntry {
    KeyEntry {
        name: name.to_string(),
        account: Keypair::dev(name).account_id(),
        source: "dev",
        file: None,
    }
}

fn check_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        bail!("key name `{name}` must be 1-{MAX_NAME_LEN} letters, digits, `-` or `_`");
    }
    Ok(())
}

impl Keystore {
    /// The keystore at `dir`, or `~/.phalanx`.
    pub fn open(dir: Option<PathBuf>) -> Result<Keystore> {
        let dir = match dir {
            Some(dir) => dir,
            None => {
                let home = std::env::var_os("HOME")
                    .ok_or_else(|| anyhow!("$HOME is not set; pass --keystore DIR"))?;
                Path::new(&home).join(".phalanx")
            }
        };
        Ok(Keystore { dir })
    }

    /// The keystore's directory (keys, and what else the CLI keeps for its user).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn keys_dir(&self) -> PathBuf {
        self.dir.join("keys")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.keys_dir().join(format!("{name}.json"))
    }

    pub fn create(&self, name: &str, passphrase: &PassphraseSource) -> Result<KeyEntry> {
        check_name(name)?;
        if DEV_ACCOUNT_NAMES.contains(&name) {
            bail!("`{name}` is a built-in dev key; choose another name");
        }
        let path = self.path(name);
        if path.exists() {
            bail!("a key named `{name}` already exists at {}", path.display());
        }
        let secret = passphrase.get(&format!("Passphrase for new key `{name}`: "), true)?;
        let keypair = Keypair::generate(&mut rand_core::OsRng);
        let file = KeyFile {
            version: KEY_FILE_VERSION,
            name: name.to_string(),
            account: keypair.account_id(),
            crypto: passphrase::encrypt(keypair.seed().as_slice(), &secret, &mut rand_core::OsRng),
        };
        std::fs::create_dir_all(self.keys_dir())
            .with_context(|| format!("creating {}", self.keys_dir().display()))?;
        write_private(&path, serde_json::to_string_pretty(&file)?.as_bytes())?;
        Ok(KeyEntry {
            name: name.to_string(),
            account: file.account,
            source: "keystore",
            file: Some(path),
        })
    }

    fn read(&self, name: &str) -> Result<KeyFile> {
        let path = self.path(name);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("no key named `{name}` (looked for {})", path.display()))?;
        let file: KeyFile = serde_json::from_str(&text)
            .with_context(|| format!("key file {} is damaged", path.display()))?;
        if file.version != KEY_FILE_VERSION {
            bail!(
                "key file {} has version {}, this phalanx reads {KEY_FILE_VERSION}",
                path.display(),
                file.version
            );
        }
        Ok(file)
    }

    pub fn entry(&self, name: &str) -> Result<KeyEntry> {
        if DEV_ACCOUNT_NAMES.contains(&name) {
            return Ok(dev_entry(name));
        }
        check_name(name)?;
        let file = self.read(name)?;
        Ok(KeyEntry {
            name: file.name,
            account: file.account,
            source: "keystore",
            file: Some(self.path(name)),
        })
    }

    pub fn list(&self) -> Result<Vec<KeyEntry>> {
        let mut entries: Vec<KeyEntry> = DEV_ACCOUNT_NAMES.iter().map(|n| dev_entry(n)).collect();
        let dir = self.keys_dir();
        if dir.exists() {
            let mut names: Vec<String> = std::fs::read_dir(&dir)
                .with_context(|| format!("listing {}", dir.display()))?
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".json"))
                        .map(str::to_string)
                })
                .collect();
            names.sort();
            for name in names {
                entries.push(self.entry(&name)?);
            }
        }
        Ok(entries)
    }

    /// The signing key of `name`, decrypting its file if it is not a dev key.
    pub fn keypair(&self, name: &str, passphrase: &PassphraseSource) -> Result<Keypair> {
        if DEV_ACCOUNT_NAMES.contains(&name) {
            return Ok(Keypair::dev(name));
        }
        check_name(name)?;
        let file = self.read(name)?;
        let secret = passphrase.get(&format!("Passphrase for `{name}`: "), false)?;
        let seed = passphrase::decrypt(&file.crypto, &secret)
            .with_context(|| format!("cannot unlock key `{name}`"))?;
        let seed: [u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| anyhow!("key file of `{name}` holds no 32-byte seed"))?;
        let keypair = Keypair::from_seed(seed);
        if keypair.account_id() != file.account {
            bail!(
                "key file of `{name}` is inconsistent: its seed does not belong to {}",
                file.account
            );
        }
        Ok(keypair)
    }

    /// An address, or the account of a dev or stored key name.
    pub fn resolve_account(&self, text: &str) -> Result<AccountId> {
        if text.starts_with(phalanx_primitives::ADDRESS_HRP) && text.len() > 40 {
            return text
                .parse::<AccountId>()
                .with_context(|| format!("`{text}` is not a valid address"));
        }
        match self.entry(text) {
            Ok(entry) => Ok(entry.account),
            Err(error) => Err(error.context(format!(
                "`{text}` is neither an address nor a known key name"
            ))),
        }
    }
}

/// Writes a file readable only by its owner, atomically (temporary file, then rename).
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .ok_or_else(|| anyhow!("{} has no parent directory", path.display()))?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist_noclobber(path)
        .map_err(|e| anyhow!("writing {}: {}", path.display(), e.error))?;
    Ok(())
}
