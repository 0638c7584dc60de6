//! A contract's metadata: the types of its messages, their results and its events, described
//! from the Rust types themselves (scale-info's `TypeInfo`, derived beside `Encode` and
//! `Decode`), so an author never writes a schema by hand.
//!
//! [`crate::contract!`] builds it from the entry-point functions it is given. In a wasm build
//! with the SDK's `metadata` feature it is exported as the `phalanx_metadata` entry point,
//! which `phalanx contract build` runs (in a second build: the uploaded code never carries it)
//! to write `NAME.metadata.json` beside the `.wasm`. Natively, [`describe`] is an ordinary
//! function, for tests and tools.

use crate::codec::Encode;
use scale_info::{MetaType, PortableRegistry, Registry, TypeInfo};

/// The version of [`ContractMetadata`]'s layout; tools refuse versions they do not know.
pub const METADATA_VERSION: u8 = 1;

/// One entry point: the type its message decodes as and the type of its successful result.
/// A failure is always the contract's error text (UTF-8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode)]
#[cfg_attr(not(target_arch = "wasm32"), derive(crate::codec::Decode))]
pub struct MessageTypes {
    pub input: u32,
    pub output: u32,
}

/// What the `phalanx_metadata` entry point returns, SCALE-encoded. Type ids index `types`.
#[derive(Clone, Debug, PartialEq, Eq, Encode)]
#[cfg_attr(not(target_arch = "wasm32"), derive(crate::codec::Decode))]
pub struct ContractMetadata {
    pub version: u8,
    pub instantiate: MessageTypes,
    pub command: MessageTypes,
    pub query: MessageTypes,
    /// The type of the contract's events (public and addressed alike), if it declares one.
    pub events: Option<u32>,
    pub types: PortableRegistry,
}

fn message<M: TypeInfo + 'static, R: TypeInfo + 'static>(registry: &mut Registry) -> MessageTypes {
    MessageTypes {
        input: registry.register_type(&MetaType::new::<M>()).id,
        output: registry.register_type(&MetaType::new::<R>()).id,
    }
}

/// The metadata of a contract whose entry points are these functions (only their types
/// matter) and whose events are `V` (`()` when it declares none).
#[allow(clippy::type_complexity)]
pub fn describe<IM, IR, IE, CM, CR, CE, QM, QR, QE, V>(
    _instantiate: fn(IM) -> Result<IR, IE>,
    _execute: fn(CM) -> Result<CR, CE>,
    _query: fn(QM) -> Result<QR, QE>,
    declares_events: bool,
) -> ContractMetadata
where
    IM: TypeInfo + 'static,
    IR: TypeInfo + 'static,
    CM: TypeInfo + 'static,
    CR: TypeInfo + 'static,
    QM: TypeInfo + 'static,
    QR: TypeInfo + 'static,
    V: TypeInfo + 'static,
{
    let mut registry = Registry::new();
    let instantiate = message::<IM, IR>(&mut registry);
    let command = message::<CM, CR>(&mut registry);
    let query = message::<QM, QR>(&mut registry);
    let events = declares_events.then(|| registry.register_type(&MetaType::new::<V>()).id);
    ContractMetadata {
        version: METADATA_VERSION,
        instantiate,
        command,
        query,
        events,
        types: registry.into(),
    }
}
