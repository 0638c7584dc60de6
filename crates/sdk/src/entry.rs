//! The glue between the VM's entry points and ordinary Rust functions.
//!
//! An entry point reads its SCALE-encoded message, calls the author's function, and returns 0
//! with the SCALE-encoded result as output, or 1 with the error's text as output (the VM then
//! discards every write of the call). Authors write:
//!
//! ```ignore
//! phalanx_sdk::contract!(instantiate: init, execute: handle, query: answer);
//! ```

use crate::codec::{Decode, DecodeAll, Encode};
use crate::sys;
use alloc::format;
use alloc::string::String;
use alloc::string::ToString;
use core::fmt::Display;

/// Status an entry point returns: success.
pub const SUCCESS: i32 = 0;
/// Status an entry point returns: the output is an error message.
pub const FAILURE: i32 = 1;

/// Why a message did not decode, on one line: the type expected and, where the codec says it
/// (natively; inside a contract the codec keeps no descriptions, to keep contracts small),
/// the variant or field where decoding stopped, innermost last: `malformed message: expected
/// private_token::Command: Could not decode `Command::Transfer::amount`: Not enough data to
/// fill buffer`. Clients with the contract's metadata name the field themselves.
pub fn malformed<M>(error: &crate::codec::Error) -> String {
    let expected = format!(
        "malformed message: expected {}",
        core::any::type_name::<M>()
    );
    // Inside a contract the error says only "Codec error"; any text processing here would
    // be code every contract carries.
    if cfg!(target_arch = "wasm32") {
        let _ = error;
        return expected;
    }
    let chain = format!("{error}");
    let chain: alloc::vec::Vec<&str> = chain
        .lines()
        .map(|line| line.trim().trim_end_matches(':'))
        .filter(|line| !line.is_empty())
        .collect();
    format!("{expected}: {}", chain.join(": "))
}

/// Runs one entry point: decode the input as `M`, call `handler`, write the output.
pub fn run<M: Decode, R: Encode, E: Display>(handler: impl FnOnce(M) -> Result<R, E>) -> i32 {
    let input = sys::input();
    let message = match M::decode_all(&mut &input[..]) {
        Ok(message) => message,
        Err(e) => {
            sys::set_output(malformed::<M>(&e).as_bytes());
            return FAILURE;
        }
    };
    match handler(message) {
        Ok(result) => {
            sys::set_output(&result.encode());
            SUCCESS
        }
        Err(error) => {
            sys::set_output(error.to_string().as_bytes());
            FAILURE
        }
    }
}

/// Writes a contract's metadata as the `phalanx_metadata` entry point's output.
pub fn export_metadata(metadata: crate::metadata::ContractMetadata) -> i32 {
    sys::set_output(&metadata.encode());
    SUCCESS
}

/// Exports a contract's three entry points on `wasm32` (nothing on other targets, where tests
/// call the functions directly), and defines `__phalanx_metadata()`, the contract's metadata
/// (see [`crate::metadata`]), exported too from a wasm build with the SDK's `metadata` feature.
/// `events: Type` names the type of the events the contract emits, for tools to decode them.
#[macro_export]
macro_rules! contract {
    (instantiate: $instantiate:path, execute: $execute:path, query: $query:path $(,)?) => {
        $crate::contract!(@entries $instantiate, $execute, $query);
        $crate::contract!(@metadata $instantiate, $execute, $query, (), false);
    };
    (
        instantiate: $instantiate:path,
        execute: $execute:path,
        query: $query:path,
        events: $events:ty $(,)?
    ) => {
        $crate::contract!(@entries $instantiate, $execute, $query);
        $crate::contract!(@metadata $instantiate, $execute, $query, $events, true);
    };
    (@entries $instantiate:path, $execute:path, $query:path) => {
        #[cfg(target_arch = "wasm32")]
        #[export_name = "instantiate"]
        pub extern "C" fn __phalanx_instantiate() -> i32 {
            $crate::entry::run($instantiate)
        }
        #[cfg(target_arch = "wasm32")]
        #[export_name = "execute"]
        pub extern "C" fn __phalanx_execute() -> i32 {
            $crate::entry::run($execute)
        }
        #[cfg(target_arch = "wasm32")]
        #[export_name = "query"]
        pub extern "C" fn __phalanx_query() -> i32 {
            $crate::entry::run($query)
        }
    };
    (@metadata $instantiate:path, $execute:path, $query:path, $events:ty, $declared:expr) => {
        /// This contract's metadata: its messages', results' and events' types.
        pub fn __phalanx_metadata() -> $crate::metadata::ContractMetadata {
            $crate::metadata::describe::<_, _, _, _, _, _, _, _, _, $events>(
                $instantiate,
                $execute,
                $query,
                $declared,
            )
        }
        $crate::__metadata_entry! {
            #[export_name = "phalanx_metadata"]
            pub extern "C" fn __phalanx_metadata_entry() -> i32 {
                $crate::entry::export_metadata(__phalanx_metadata())
            }
        }
    };
}

/// Emits its input only in a wasm build with the `metadata` feature (the SDK's own features
/// decide it, which a macro expanded in the contract's crate could not read).
#[cfg(all(target_arch = "wasm32", feature = "metadata"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __metadata_entry {
    ($($item:tt)*) => { $($item)* };
}

#[cfg(not(all(target_arch = "wasm32", feature = "metadata")))]
#[doc(hidden)]
#[macro_export]
macro_rules! __metadata_entry {
    ($($item:tt)*) => {};
}

#[cfg(test)]
mod tests {
    use crate::codec::{Decode, DecodeAll, Encode};

    #[derive(Encode, Decode, Debug)]
    #[allow(dead_code)]
    enum Command {
        Transfer { to: [u8; 4], amount: u128 },
    }

    #[test]
    fn a_malformed_message_names_the_type_and_the_field() {
        let short = [0u8, 1, 2, 3, 4, 5];
        let error = Command::decode_all(&mut &short[..]).unwrap_err();
        let text = super::malformed::<Command>(&error);
        assert!(text.starts_with("malformed message: expected "), "{text}");
        assert!(text.contains("entry::tests::Command"), "{text}");
        assert!(text.contains("Command::Transfer::amount"), "{text}");
        assert!(!text.contains('\n'), "{text}");
        let unknown = Command::decode_all(&mut &[7u8][..]).unwrap_err();
        let text = super::malformed::<Command>(&unknown);
        assert!(text.contains("variant"), "{text}");
    }
}
