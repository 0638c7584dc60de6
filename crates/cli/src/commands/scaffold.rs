//! `phalanx contract new NAME`: a contract crate that builds anywhere.
//!
//! It is its own workspace (no lock file needed: `contract build` passes `--locked` only where
//! one exists), carries the contract profile, and depends on the SDK by the path of this
//! checkout (where the CLI was built from one), or by `--sdk-path` or `--sdk-version`.

use super::Context;
use crate::output::emit;
use anyhow::{bail, Context as _, Result};
use std::path::{Path, PathBuf};

const CARGO_TOML: &str = include_str!("../../templates/contract/Cargo.toml.tmpl");
const LIB_RS: &str = include_str!("../../templates/contract/lib.rs.tmpl");
const README: &str = include_str!("../../templates/contract/README.md.tmpl");
const GITIGNORE: &str = include_str!("../../templates/contract/gitignore.tmpl");

/// Longest crate name accepted.
const MAX_NAME_LEN: usize = 64;

/// The SDK of the checkout this CLI was built from, if it is still there.
fn checkout_sdk() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk");
    path.join("Cargo.toml")
        .exists()
        .then(|| path.canonicalize().ok())?
}

pub struct NewRequest {
    pub name: String,
    /// The directory to create the crate in [default: the current one].
    pub dir: Option<PathBuf>,
    pub sdk_path: Option<PathBuf>,
    pub sdk_version: Option<String>,
}

fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let valid = name.len() <= MAX_NAME_LEN
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        bail!("`{name}` is not a contract name: 1-{MAX_NAME_LEN} lowercase letters, digits or `_`, starting with a letter");
    }
    Ok(())
}

/// The SDK dependency line of the new crate's manifest.
fn sdk_dependency(request: &NewRequest) -> Result<String> {
    let path = match (&request.sdk_version, &request.sdk_path) {
        (Some(version), _) => return Ok(format!("{{ version = \"{version}\" }}")),
        (None, Some(path)) => path
            .canonicalize()
            .with_context(|| format!("--sdk-path {}", path.display()))?,
        (None, None) => checkout_sdk().ok_or_else(|| {
            anyhow::anyhow!(
                "this phalanx was not built from a checkout that is still here: pass --sdk-path \
                 (the crates/sdk directory of a Phalanx checkout) or --sdk-version"
            )
        })?,
    };
    if !path.join("Cargo.toml").exists() {
        bail!("{} holds no Cargo.toml: not the SDK", path.display());
    }
    Ok(format!("{{ path = {:?} }}", path.display().to_string()))
}

pub fn new_contract(ctx: &Context, request: NewRequest) -> Result<()> {
    check_name(&request.name)?;
    let parent = request.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let root = parent.join(&request.name);
    if root.exists() {
        bail!("{} exists already", root.display());
    }
    let sdk = sdk_dependency(&request)?;
    let fill = |template: &str| {
        template
            .replace("{{name}}", &request.name)
            .replace("{{sdk}}", &sdk)
    };
    std::fs::create_dir_all(root.join("src"))
        .with_context(|| format!("creating {}", root.display()))?;
    let files = [
        ("Cargo.toml", fill(CARGO_TOML)),
        ("src/lib.rs", fill(LIB_RS)),
        ("README.md", fill(README)),
        (".gitignore", fill(GITIGNORE)),
    ];
    for (file, text) in &files {
        let path = root.join(file);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    let value = serde_json::json!({ "contract": request.name, "path": root, "sdk": sdk });
    emit(ctx.json, &value, || {
        format!(
            "created {} (SDK {sdk})\nnext: cd {} && cargo test && phalanx contract build .",
            root.display(),
            root.display()
        )
    })
}
