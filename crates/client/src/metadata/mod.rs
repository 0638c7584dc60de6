//! Contract metadata as clients use it: the `NAME.metadata.json` file `phalanx contract build`
//! writes (the SDK's [`ContractMetadata`] with the contract's name, version and code hash), and
//! messages, results and events translated between JSON and SCALE by it ([`transcode`]).
//!
//! The file is written once, deterministically, so its SHA-256 (`metadata_hash`) is what an
//! uploader records on chain and what a client checks a file it was handed against.

pub mod transcode;

pub use transcode::{AccountNames, NoNames, TranscodeError};

use parity_scale_codec::DecodeAll;
use phalanx_primitives::Hash;
use phalanx_sdk::metadata::{ContractMetadata, METADATA_VERSION};
use scale_info::PortableRegistry;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    #[error("the contract's metadata entry point returned bytes that do not decode: {0}")]
    Undecodable(String),
    #[error("this is not a contract metadata file: {0}")]
    NotMetadata(String),
    #[error(
        "metadata version {found} is not supported (this client reads version {METADATA_VERSION})"
    )]
    UnsupportedVersion { found: u8 },
    #[error("the metadata names type {id}, which its registry does not hold")]
    MissingType { id: u32 },
    #[error("the metadata is for code {metadata}, but the contract runs code {contract}")]
    OtherCode { metadata: Hash, contract: Hash },
    #[error("the metadata's hash is {file}, but the chain records {recorded} for this code")]
    NotRecorded { file: Hash, recorded: Hash },
}

/// Which of a contract's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    Instantiate,
    Command,
    Query,
}

impl MessageKind {
    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Instantiate => "instantiate",
            MessageKind::Command => "command",
            MessageKind::Query => "query",
        }
    }
}

/// An entry point's types, by id in the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageTypes {
    pub input: u32,
    pub output: u32,
}

/// The contract the metadata describes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractIdentity {
    pub name: String,
    pub version: String,
    /// SHA-256 of the `.wasm` built beside it.
    pub code_hash: Hash,
}

/// `NAME.metadata.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub phalanx_metadata: u8,
    pub contract: ContractIdentity,
    pub instantiate: MessageTypes,
    pub command: MessageTypes,
    pub query: MessageTypes,
    /// The type of the contract's events, if it declares one.
    pub events: Option<u32>,
    pub types: PortableRegistry,
}

impl Metadata {
    /// From what a metadata build's entry point returned, for the code `code_hash`.
    pub fn from_entry_output(
        identity: ContractIdentity,
        bytes: &[u8],
    ) -> Result<Metadata, MetadataError> {
        let described = ContractMetadata::decode_all(&mut &bytes[..])
            .map_err(|e| MetadataError::Undecodable(e.to_string()))?;
        let types = |t: phalanx_sdk::metadata::MessageTypes| MessageTypes {
            input: t.input,
            output: t.output,
        };
        Metadata {
            phalanx_metadata: described.version,
            contract: identity,
            instantiate: types(described.instantiate),
            command: types(described.command),
            query: types(described.query),
            events: described.events,
            types: described.types,
        }
        .checked()
    }

    /// Reads a metadata file's text.
    pub fn from_json(text: &str) -> Result<Metadata, MetadataError> {
        let metadata: Metadata =
            serde_json::from_str(text).map_err(|e| MetadataError::NotMetadata(e.to_string()))?;
        metadata.checked()
    }

    fn checked(self) -> Result<Metadata, MetadataError> {
        if self.phalanx_metadata != METADATA_VERSION {
            return Err(MetadataError::UnsupportedVersion {
                found: self.phalanx_metadata,
            });
        }
        let ids = [self.instantiate, self.command, self.query]
            .into_iter()
            .flat_map(|t| [t.input, t.output])
            .chain(self.events);
        for id in ids {
            if self.types.resolve(id).is_none() {
                return Err(MetadataError::MissingType { id });
            }
        }
        Ok(self)
    }

    /// The file's text: the same bytes for the same contract on every machine.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("metadata serializes");
        text.push('\n');
        text
    }

    /// SHA-256 of [`Metadata::to_json`]: what the chain records for the code.
    pub fn hash(&self) -> Hash {
        phalanx_primitives::sha256(self.to_json().as_bytes())
    }

    /// Refuses metadata written for other code than the contract's.
    pub fn check_code(&self, code_hash: Hash) -> Result<(), MetadataError> {
        if self.contract.code_hash != code_hash {
            return Err(MetadataError::OtherCode {
                metadata: self.contract.code_hash,
                contract: code_hash,
            });
        }
        Ok(())
    }

    fn types_of(&self, kind: MessageKind) -> MessageTypes {
        match kind {
            MessageKind::Instantiate => self.instantiate,
            MessageKind::Command => self.command,
            MessageKind::Query => self.query,
        }
    }

    /// Encodes a message given as JSON (see [`transcode`] for the mapping).
    pub fn encode_message(
        &self,
        kind: MessageKind,
        json: &serde_json::Value,
        names: &dyn AccountNames,
    ) -> Result<Vec<u8>, TranscodeError> {
        transcode::encode(
            &self.types,
            self.types_of(kind).input,
            json,
            kind.name(),
            names,
        )
    }

    /// Decodes a message of this contract to JSON.
    pub fn decode_message(
        &self,
        kind: MessageKind,
        bytes: &[u8],
    ) -> Result<serde_json::Value, TranscodeError> {
        transcode::decode(&self.types, self.types_of(kind).input, bytes, kind.name())
    }

    /// Decodes an entry point's successful result to JSON.
    pub fn decode_result(
        &self,
        kind: MessageKind,
        bytes: &[u8],
    ) -> Result<serde_json::Value, TranscodeError> {
        let path = format!("{} result", kind.name());
        transcode::decode(&self.types, self.types_of(kind).output, bytes, &path)
    }

    /// Decodes one of the contract's events to JSON; `None` if it declares no event type.
    pub fn decode_event(&self, bytes: &[u8]) -> Option<Result<serde_json::Value, TranscodeError>> {
        let id = self.events?;
        Some(transcode::decode(&self.types, id, bytes, "event"))
    }
}

#[cfg(test)]
mod tests;
