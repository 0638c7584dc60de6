//! Contract messages on the command line: hex for tools (`--msg`), JSON for people
//! (`--json-msg`, encoded through the contract's metadata); results, events and notifications
//! printed decoded wherever the metadata is known.
//!
//! The metadata of a contract is found by its code hash, in order: the `--metadata` file; the
//! copy `contract upload` keeps in the keystore directory (`metadata/<code hash>.json`); the
//! example contracts' metadata built into this binary. A file for other code than the
//! contract's is refused, and so is one whose hash differs from what the chain records.

use super::Context;
use crate::keystore::Keystore;
use anyhow::{anyhow, bail, Context as _, Result};
use phalanx_client::api::NodeApiClient;
use phalanx_client::metadata::{AccountNames, MessageKind, Metadata};
use phalanx_client::NodeClient;
use phalanx_primitives::{AccountId, Hash};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The example contracts' metadata (counter, private_token, data_market), so their messages
/// work as JSON on any devnet, which records their hashes on chain.
pub(super) const BUILT_IN: [&str; 3] = [
    include_str!("../../../../contracts/counter/counter.metadata.json"),
    include_str!("../../../../contracts/private_token/private_token.metadata.json"),
    include_str!("../../../../contracts/data_market/data_market.metadata.json"),
];

/// A contract message as given on the command line.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct MessageArgs {
    /// The message as JSON, e.g. '{"transfer":{"to":"bob","amount":"300"}}', or @FILE: encoded
    /// through the contract's metadata. Accounts are names or phx1… addresses, 128-bit numbers
    /// decimal strings, bytes 0x… hex.
    #[arg(long, conflicts_with = "msg")]
    pub json_msg: Option<String>,
    /// The SCALE-encoded message as hex, for tools (see `phalanx contract encode`).
    #[arg(long, alias = "init")]
    pub msg: Option<String>,
    /// The contract's metadata (NAME.metadata.json, from `phalanx contract build`)
    /// [default: found by the contract's code hash].
    #[arg(long)]
    pub metadata: Option<PathBuf>,
}

/// Which of a contract's messages, on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MessageKindArg {
    Instantiate,
    Command,
    Query,
}

impl From<MessageKindArg> for MessageKind {
    fn from(kind: MessageKindArg) -> MessageKind {
        match kind {
            MessageKindArg::Instantiate => MessageKind::Instantiate,
            MessageKindArg::Command => MessageKind::Command,
            MessageKindArg::Query => MessageKind::Query,
        }
    }
}

/// Reads a metadata file (as `--metadata` names one).
pub fn read_metadata_file(path: &Path) -> Result<Metadata> {
    read_file(path)
}

/// Encodes `--json-msg` by `metadata`, with the keystore's names for accounts.
pub fn encode_json(
    ctx: &Context,
    metadata: &Metadata,
    kind: MessageKind,
    json_arg: &str,
) -> Result<Vec<u8>> {
    let schema = Schema {
        metadata: Some(metadata.clone()),
        subject: format!("code {}", metadata.contract.code_hash),
    };
    let args = MessageArgs {
        json_msg: Some(json_arg.to_string()),
        ..MessageArgs::default()
    };
    schema.required_message(ctx, kind, &args)
}

/// Account names in JSON messages: keystore and dev names.
struct KeystoreNames<'a>(&'a Keystore);

impl AccountNames for KeystoreNames<'_> {
    fn account(&self, name: &str) -> Option<AccountId> {
        self.0.resolve_account(name).ok()
    }
}

fn metadata_cache(keystore: &Keystore, code_hash: &Hash) -> PathBuf {
    keystore
        .dir()
        .join("metadata")
        .join(format!("{code_hash}.json"))
}

fn read_file(path: &Path) -> Result<Metadata> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Metadata::from_json(&text).with_context(|| format!("reading {}", path.display()))
}

/// Keeps a copy of `metadata` where later commands find it by code hash.
pub fn remember(keystore: &Keystore, metadata: &Metadata) -> Result<()> {
    let path = metadata_cache(keystore, &metadata.contract.code_hash);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&path, metadata.to_json()).with_context(|| format!("writing {}", path.display()))
}

/// The metadata of a contract (if known), and how to use it.
pub struct Schema {
    metadata: Option<Metadata>,
    /// What the schema is for, in messages: `contract phx1…` or `code 0x…`.
    subject: String,
}

impl Schema {
    /// The metadata of the code `code_hash`, checked against what the chain records for it.
    pub async fn for_code(
        ctx: &Context,
        node: &NodeClient,
        code_hash: Hash,
        explicit: Option<&Path>,
        subject: String,
    ) -> Result<Schema> {
        let metadata = match explicit {
            Some(path) => {
                let metadata = read_file(path)?;
                metadata.check_code(code_hash)?;
                Some(metadata)
            }
            None => {
                let cached = metadata_cache(&ctx.keystore, &code_hash);
                if cached.exists() {
                    Some(read_file(&cached)?)
                } else {
                    BUILT_IN
                        .iter()
                        .filter_map(|text| Metadata::from_json(text).ok())
                        .find(|m| m.contract.code_hash == code_hash)
                }
            }
        };
        if let Some(metadata) = &metadata {
            let code = node.rpc().code(code_hash).await?;
            if let Some(recorded) = code.and_then(|c| c.metadata_hash) {
                let file = metadata.hash();
                if recorded != file {
                    bail!(phalanx_client::metadata::MetadataError::NotRecorded { file, recorded });
                }
            }
        }
        Ok(Schema { metadata, subject })
    }

    /// The metadata of the contract `contract`.
    pub async fn for_contract(
        ctx: &Context,
        node: &NodeClient,
        contract: AccountId,
        explicit: Option<&Path>,
    ) -> Result<Schema> {
        let info = node
            .rpc()
            .contract(contract)
            .await?
            .ok_or_else(|| anyhow!("no contract {contract} on this chain"))?;
        let subject = format!("contract {contract} (code {})", info.code_hash);
        Schema::for_code(ctx, node, info.code_hash, explicit, subject).await
    }

    /// The message's bytes: hex as given, or JSON encoded by the metadata. `None` when neither
    /// was given.
    pub fn message(
        &self,
        ctx: &Context,
        kind: MessageKind,
        args: &MessageArgs,
    ) -> Result<Option<Vec<u8>>> {
        if let Some(hex_text) = &args.msg {
            let bytes = super::confidential::decode_hex(hex_text)?;
            // Where the metadata is known, a message the contract could not decode is refused
            // here, naming the field (the contract itself can name only the type).
            if let Some(metadata) = &self.metadata {
                metadata.decode_message(kind, &bytes).with_context(|| {
                    format!("--msg is not a {} message of {}", kind.name(), self.subject)
                })?;
            }
            return Ok(Some(bytes));
        }
        let Some(text) = &args.json_msg else {
            return Ok(None);
        };
        let text = match text.strip_prefix('@') {
            Some(file) => {
                std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?
            }
            None => text.clone(),
        };
        let json: Value = serde_json::from_str(&text)
            .with_context(|| format!("--json-msg is not JSON: {text}"))?;
        let metadata = self.metadata.as_ref().ok_or_else(|| {
            anyhow!(
                "{} has no metadata here, so a JSON message cannot be encoded: pass --metadata \
                 NAME.metadata.json (written beside the .wasm by `phalanx contract build`), or \
                 give the message as hex with --msg",
                self.subject
            )
        })?;
        let bytes = metadata.encode_message(kind, &json, &KeystoreNames(&ctx.keystore))?;
        Ok(Some(bytes))
    }

    /// A message that must be given.
    pub fn required_message(
        &self,
        ctx: &Context,
        kind: MessageKind,
        args: &MessageArgs,
    ) -> Result<Vec<u8>> {
        self.message(ctx, kind, args)?.ok_or_else(|| {
            anyhow!(
                "give the {} message with --json-msg (or as hex with --msg)",
                kind.name()
            )
        })
    }

    /// The metadata found, if any.
    pub fn into_metadata(self) -> Option<Metadata> {
        self.metadata
    }

    /// An entry point's successful result, decoded; `None` without metadata or if it does not
    /// decode (the hex is printed then).
    pub fn result(&self, kind: MessageKind, bytes: &[u8]) -> Option<Value> {
        self.metadata.as_ref()?.decode_result(kind, bytes).ok()
    }

    /// One of the contract's events, decoded, as for [`Schema::result`].
    pub fn event(&self, bytes: &[u8]) -> Option<Value> {
        self.metadata.as_ref()?.decode_event(bytes)?.ok()
    }
}

/// Bytes as `0x…` hex.
pub fn hex_of(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}
