//! The bounds and host prices the VM applies to every call, as the SDK's native test
//! environment enforces them: a contract's tests fail where the VM would refuse, trap or run
//! out of gas. Equal to the VM's own (`phalanx_vm`'s `limits` and `GasSchedule`; a VM test
//! compares them).

/// Longest storage key.
pub const MAX_KEY_LEN: usize = 256;
/// Longest storage value.
pub const MAX_VALUE_LEN: usize = 64 * 1024;
/// Storage keys starting with this belong to the VM (the contract's size, its PHA balance, its
/// revoked permits); a contract cannot read or write them.
pub const RESERVED_KEY_PREFIX: &[u8] = b"\xffphalanx";
/// Most bytes (keys plus values) one contract may store.
pub const MAX_CONTRACT_STORAGE_BYTES: u64 = 256 * 1024 * 1024;
/// Longest output (result or error) of one call.
pub const MAX_OUTPUT_LEN: usize = 64 * 1024;
/// Longest event payload.
pub const MAX_EVENT_LEN: usize = 16 * 1024;
/// Most events one call may emit.
pub const MAX_EVENTS_PER_CALL: usize = 64;
/// Most PHA transfers one call may request.
pub const MAX_TRANSFERS_PER_CALL: usize = 16;
/// Most messages to other contracts one call may send.
pub const MAX_MESSAGES_PER_CALL: usize = 16;
/// Longest message payload to another contract.
pub const MAX_MESSAGE_LEN: usize = 16 * 1024;
/// Most gas a message may reserve for its run in the receiving contract.
pub const MAX_MESSAGE_GAS: u64 = 100_000_000;
/// Longest debug line kept (longer ones are cut), and most lines one call keeps.
pub const MAX_DEBUG_LINE_LEN: usize = 1024;
pub const MAX_DEBUG_LINES_PER_CALL: usize = 64;
/// Longest input hashed or signature-checked in one host call.
pub const MAX_CRYPTO_INPUT_LEN: usize = 64 * 1024;

/// What host calls cost, in gas (the VM's `GasSchedule`). A native test counts these only, not
/// the Wasm instructions between them, so its figure is a lower bound of what the VM charges.
pub mod gas {
    /// Every host call, before any work.
    pub const HOST_CALL: u64 = 50;
    /// Per byte copied between the contract's memory and the host.
    pub const PER_BYTE_COPIED: u64 = 1;
    pub const STORAGE_READ: u64 = 1_000;
    pub const STORAGE_READ_PER_BYTE: u64 = 2;
    pub const STORAGE_WRITE: u64 = 3_000;
    pub const STORAGE_WRITE_PER_BYTE: u64 = 10;
    pub const EVENT: u64 = 1_000;
    pub const EVENT_PER_BYTE: u64 = 5;
    pub const TRANSFER: u64 = 5_000;
    pub const MESSAGE: u64 = 5_000;
    pub const SHA256: u64 = 200;
    pub const SHA256_PER_BYTE: u64 = 4;
    pub const ED25519_VERIFY: u64 = 50_000;
    /// A debug line (plus `EVENT_PER_BYTE` a byte).
    pub const DEBUG: u64 = 1_000;
    /// Per byte a successful call adds to its contract's storage (net of what it frees).
    pub const STORAGE_PER_NEW_BYTE: u64 = 1_000;
}
