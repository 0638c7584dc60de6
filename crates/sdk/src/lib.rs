//! `sdk`: what a Phalanx contract author depends on — safe bindings to the host API, typed
//! storage, SCALE messages, errors for the caller, events, and the entry-point glue — plus a
//! native test environment so `cargo test` runs a contract's logic without Wasm.
//!
//! What is private and what is not: a command's signer, contract, PHA value, gas limit, envelope
//! size bucket and (unless the contract calls [`env::pad_gas`]) its gas are public; so are its
//! public events, payments and messages. Its message, result, state and the events addressed to
//! one account ([`env::emit_event_to`], read by that account alone as notifications) are not.
//! docs/contract-abi.md ("What an observer sees of a command") says more. What the contract's own
//! account holds is public too, and the contract reads it with [`env::balance`] rather than
//! counting deposits by hand.
//!
//! It never talks to anything but the host API: on `wasm32` every call goes to the VM's `env`
//! imports; elsewhere to an in-process [`testing`] environment. It is `no_std` on `wasm32`.
//!
//! ```
//! use phalanx_sdk::prelude::*;
//! use phalanx_sdk::storage::Item;
//!
//! static COUNT: Item<u64> = Item::new(b"count");
//!
//! fn increment(by: u64) -> Result<u64, Error> {
//!     let next = COUNT.get().unwrap_or(0).checked_add(by).ok_or(Error::new("overflow"))?;
//!     COUNT.set(&next);
//!     Ok(next)
//! }
//!
//! phalanx_sdk::testing::reset();
//! assert_eq!(increment(2), Ok(2));
//! assert_eq!(increment(3), Ok(5));
//! ```
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

pub mod entry;
pub mod env;
mod error;
pub mod grants;
pub mod inference;
pub mod limits;
pub mod metadata;
pub mod storage;
mod sys;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
mod types;
#[cfg(target_arch = "wasm32")]
mod wasm_runtime;

pub use error::Error;
pub use parity_scale_codec as codec;
pub use scale_info;
pub use types::{AccountId, Balance};

/// `debug!("x = {}", x)`: [`env::debug`] with `format!` arguments.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        $crate::env::debug(&::alloc::format!($($arg)*))
    };
}

/// What a contract module usually imports.
pub mod prelude {
    pub use crate::codec::{Decode, Encode};
    pub use crate::env;
    pub use crate::{ensure, AccountId, Balance, Error};
    pub use alloc::string::String;
    pub use alloc::vec::Vec;
    pub use scale_info::TypeInfo;
}
