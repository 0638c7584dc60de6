//! `phalanx contract build PATH`: a reproducible wasm32 release build of a contract crate.
//!
//! Two routes, as DESIGN.md describes: a rustup toolchain with the `wasm32-unknown-unknown`
//! target, or Debian's `rustc-web` with `-Zbuild-std` where rustup has no such target. Paths are
//! remapped (workspace, cargo registry, Rust sources) so the bytes do not depend on where the
//! build ran; the toolchain used is written beside the artifact (`NAME.toolchain.txt`).

use super::Context;
use crate::output::emit;
use anyhow::{anyhow, bail, Context as _, Result};
use phalanx_client::metadata::{ContractIdentity, Metadata};
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "contract";
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
const DEBIAN_CARGO: &str = "/usr/bin/cargo";
const DEBIAN_RUST_SRC: &str = "/usr/lib/rustlib/src/rust";
/// Stack size linked into contracts, in bytes.
const CONTRACT_STACK_SIZE: u32 = 32 * 1024;

/// How the contract gets compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Toolchain {
    /// The `cargo`/`rustc` on PATH, with the wasm32 target installed by rustup.
    Rustup,
    /// Debian's rustc-web, cargo-web, rust-web-src and lld, building core and alloc from source.
    Debian,
}

struct Route {
    toolchain: Toolchain,
    cargo: PathBuf,
    rustc: PathBuf,
    rust_src: Option<PathBuf>,
}

fn output_of(program: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn rustup_route() -> Option<Route> {
    let sysroot = output_of(Path::new("rustc"), &["--print", "sysroot"])?;
    Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .exists()
        .then(|| Route {
            toolchain: Toolchain::Rustup,
            cargo: "cargo".into(),
            rustc: "rustc".into(),
            rust_src: None,
        })
}

fn debian_route() -> Option<Route> {
    let present = Path::new(DEBIAN_RUSTC).exists()
        && Path::new(DEBIAN_CARGO).exists()
        && Path::new(DEBIAN_RUST_SRC).join("library").exists();
    let linker = Command::new("wasm-ld").arg("--version").output().is_ok();
    (present && linker).then(|| Route {
        toolchain: Toolchain::Debian,
        cargo: DEBIAN_CARGO.into(),
        rustc: DEBIAN_RUSTC.into(),
        rust_src: Some(DEBIAN_RUST_SRC.into()),
    })
}

fn choose_route(wanted: Option<Toolchain>) -> Result<Route> {
    let route = match wanted {
        Some(Toolchain::Rustup) => rustup_route(),
        Some(Toolchain::Debian) => debian_route(),
        None => rustup_route().or_else(debian_route),
    };
    route.ok_or_else(|| {
        anyhow!(
            "no toolchain that can build {TARGET} was found. Either `rustup target add {TARGET}`, or on Debian 12: \
             `apt-get install rustc-web cargo-web rust-web-src lld`"
        )
    })
}

/// The crate a build is of.
struct Package {
    name: String,
    version: String,
    workspace_root: PathBuf,
}

/// The package name, version and workspace root of the crate at `path`, from `cargo metadata`.
fn package_of(path: &Path) -> Result<Package> {
    let manifest = path
        .join("Cargo.toml")
        .canonicalize()
        .with_context(|| format!("{} has no Cargo.toml", path.display()))?;
    let out = Command::new("cargo")
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let workspace_root = PathBuf::from(metadata["workspace_root"].as_str().unwrap_or_default());
    let package = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["manifest_path"].as_str().map(Path::new) == Some(manifest.as_path()))
        .ok_or_else(|| anyhow!("no package at {}", manifest.display()))?;
    let text = |field: &str| package[field].as_str().unwrap_or_default().to_string();
    Ok(Package {
        name: text("name"),
        version: text("version"),
        workspace_root,
    })
}

pub struct BuildRequest {
    pub path: PathBuf,
    pub out: Option<PathBuf>,
    pub target_dir: Option<PathBuf>,
    pub toolchain: Option<Toolchain>,
}

/// The contract profile, given on the command line so that any crate builds the same way,
/// whether or not its workspace defines `[profile.contract]`.
const PROFILE_SETTINGS: [(&str, &str); 8] = [
    ("inherits", "\"release\""),
    ("opt-level", "3"),
    ("lto", "true"),
    ("codegen-units", "1"),
    ("panic", "\"abort\""),
    ("debug", "false"),
    ("strip", "true"),
    ("incremental", "false"),
];

/// One `cargo build` of the contract for wasm32, with `extra` arguments, into `target_dir`;
/// returns the path of the `.wasm` it produced.
fn cargo_build(
    route: &Route,
    name: &str,
    manifest: &Path,
    workspace_root: &Path,
    target_dir: &Path,
    flags: &[String],
    extra: &[&str],
) -> Result<PathBuf> {
    let mut command = Command::new(&route.cargo);
    command.current_dir(workspace_root).arg("build");
    // A crate built on its own has no lock file yet: cargo makes one. Where one exists, it is
    // kept to, so the committed examples build from the same dependencies everywhere.
    if workspace_root.join("Cargo.lock").exists() {
        command.arg("--locked");
    }
    for (key, value) in PROFILE_SETTINGS {
        command.args(["--config", &format!("profile.{PROFILE}.{key}={value}")]);
    }
    command
        .args(["--profile", PROFILE, "--target", TARGET, "--manifest-path"])
        .arg(manifest)
        .args(extra)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f"))
        .env_remove("RUSTFLAGS");
    if route.toolchain == Toolchain::Debian {
        command
            .args(["-Zbuild-std=core,alloc"])
            .env("RUSTC", &route.rustc)
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", "wasm-ld");
    }
    let status = command
        .status()
        .with_context(|| format!("running {}", route.cargo.display()))?;
    if !status.success() {
        bail!("building {name} failed");
    }
    // Cargo names the artifact after the library: the package name with `-` as `_`.
    Ok(target_dir
        .join(TARGET)
        .join(PROFILE)
        .join(format!("{}.wasm", name.replace('-', "_"))))
}

/// Builds the contract again with the SDK's `metadata` feature (in its own target directory,
/// so the uploaded artifact's build stays cached) and reads the metadata it describes itself
/// with.
#[allow(clippy::too_many_arguments)]
fn build_metadata(
    route: &Route,
    name: &str,
    version: &str,
    manifest: &Path,
    workspace_root: &Path,
    target_dir: &Path,
    flags: &[String],
    code_hash: phalanx_primitives::Hash,
) -> Result<Metadata> {
    let built = cargo_build(
        route,
        name,
        manifest,
        workspace_root,
        &target_dir.join("metadata"),
        flags,
        &["--features", "phalanx-sdk/metadata"],
    )
    .context("the metadata build (does the crate depend on phalanx-sdk directly?)")?;
    let code = std::fs::read(&built).with_context(|| format!("reading {}", built.display()))?;
    let described = phalanx_vm::read_metadata(&code).map_err(|e| {
        anyhow!("{name}'s metadata entry point failed ({e}); does it call phalanx_sdk::contract!?")
    })?;
    let identity = ContractIdentity {
        name: name.to_string(),
        version: version.to_string(),
        code_hash,
    };
    Ok(Metadata::from_entry_output(identity, &described)?)
}

pub fn build(ctx: &Context, request: BuildRequest) -> Result<()> {
    let route = choose_route(request.toolchain)?;
    let package = package_of(&request.path)?;
    let (name, workspace_root) = (package.name.clone(), package.workspace_root.clone());
    let target_dir = request
        .target_dir
        .unwrap_or_else(|| workspace_root.join("target").join("contracts"));
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .ok_or_else(|| anyhow!("neither CARGO_HOME nor HOME is set"))?;

    // Everything that could leak a machine-specific path into panic messages is remapped.
    let mut flags = vec![
        // A 32 KiB stack instead of the default 1 MiB: every call instantiates the module and
        // pays for its initial memory, and contracts do not recurse deeply.
        format!("-Clink-arg=-zstack-size={CONTRACT_STACK_SIZE}"),
        format!("--remap-path-prefix={}=/phalanx", workspace_root.display()),
        format!("--remap-path-prefix={}=/cargo", cargo_home.display()),
    ];
    if let Some(src) = &route.rust_src {
        flags.push(format!("--remap-path-prefix={}=/rust-src", src.display()));
    }
    if !ctx.json {
        eprintln!(
            "building {name} for {TARGET} with the {:?} toolchain",
            route.toolchain
        );
    }
    let manifest = request.path.join("Cargo.toml").canonicalize()?;
    let built = cargo_build(
        &route,
        &name,
        &manifest,
        &workspace_root,
        &target_dir,
        &flags,
        &[],
    )?;

    let out_dir = request.out.unwrap_or_else(|| request.path.clone());
    std::fs::create_dir_all(&out_dir)?;
    let artifact = out_dir.join(format!("{name}.wasm"));
    std::fs::copy(&built, &artifact).with_context(|| format!("copying {}", built.display()))?;
    let bytes = std::fs::read(&artifact)?;
    let code_hash = phalanx_primitives::sha256(&bytes);

    let rustc_version = output_of(&route.rustc, &["-vV"]).unwrap_or_default();
    let cargo_version = output_of(&route.cargo, &["-V"]).unwrap_or_default();
    let record = format!(
        "toolchain: {:?}\n{rustc_version}\ncargo: {cargo_version}\nprofile: {PROFILE}\ntarget: {TARGET}\nbuild-std: {}\nstack-size: {CONTRACT_STACK_SIZE}\nsha256: {code_hash}\n",
        route.toolchain,
        route.toolchain == Toolchain::Debian
    );
    let record_path = out_dir.join(format!("{name}.toolchain.txt"));
    std::fs::write(&record_path, record)?;

    let metadata = build_metadata(
        &route,
        &name,
        &package.version,
        &manifest,
        &workspace_root,
        &target_dir,
        &flags,
        code_hash,
    )?;
    let metadata_path = out_dir.join(format!("{name}.metadata.json"));
    std::fs::write(&metadata_path, metadata.to_json())?;

    let value = serde_json::json!({
        "contract": name,
        "wasm": artifact,
        "size": bytes.len(),
        "code_hash": code_hash,
        "toolchain": format!("{:?}", route.toolchain).to_lowercase(),
        "toolchain_record": record_path,
        "metadata": metadata_path,
        "metadata_hash": metadata.hash(),
    });
    emit(ctx.json, &value, || {
        format!(
            "{} ({} bytes, code hash {code_hash})\nmetadata in {} (hash {})\ntoolchain recorded in {}",
            artifact.display(),
            bytes.len(),
            metadata_path.display(),
            metadata.hash(),
            record_path.display()
        )
    })
}
