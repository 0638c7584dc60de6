//! What can go wrong: refusing a module ([`VmError`]) and ending a call ([`CallError`]).

/// A module is refused, or a call names a module the VM does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VmError {
    #[error("contract code is {size} bytes; the limit is {}", crate::MAX_CODE_SIZE)]
    CodeTooLarge { size: usize },
    #[error("invalid contract module: {0}")]
    Invalid(String),
    #[error("contract imports `{module}::{name}`, which is not in the host API")]
    UnknownImport { module: String, name: String },
    #[error("contract import `{name}` has the wrong signature")]
    WrongImportSignature { name: String },
    #[error("contract does not export `{0}` with the required signature")]
    MissingExport(&'static str),
    #[error(
        "contract memory declares {pages} pages; the limit is {}",
        crate::MAX_MEMORY_PAGES
    )]
    MemoryTooLarge { pages: u64 },
    #[error("contract module has {found} {what}; the limit is {limit}")]
    Limit {
        what: &'static str,
        found: u64,
        limit: u64,
    },
    #[error("contract declares a start function; contracts run only through their entry points")]
    StartFunction,
    #[error("contract exports `{0}`, a name reserved for the VM")]
    ReservedExport(String),
    #[error("no prepared module with code hash {0}")]
    UnknownCode(phalanx_primitives::Hash),
}

/// Why a call produced no result. Every variant leaves storage untouched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The contract returned an error; the bytes are its message (UTF-8 with the SDK).
    #[error("contract error: {}", String::from_utf8_lossy(.0))]
    Contract(Vec<u8>),
    #[error("out of gas")]
    OutOfGas,
    /// The contract panicked with this message.
    #[error("contract panicked: {0}")]
    Panic(String),
    /// A Wasm trap (unreachable, bad memory access, division by zero, ...) or a host check.
    #[error("contract trapped: {0}")]
    Trap(String),
    /// The call would grow its contract's storage past [`crate::MAX_CONTRACT_STORAGE_BYTES`].
    #[error(
        "contract storage would grow to {size} bytes; the limit is {}",
        crate::MAX_CONTRACT_STORAGE_BYTES
    )]
    StorageFull { size: u64 },
    /// A query tried to change state.
    #[error("a query cannot {0}")]
    ReadOnly(&'static str),
    /// The module is not usable (see [`VmError`]).
    #[error(transparent)]
    Module(#[from] VmError),
    /// The storage backend failed. Not the contract's fault: the caller must stop and retry,
    /// not record this as the command's outcome.
    #[error("storage backend failed: {0}")]
    Storage(String),
}
