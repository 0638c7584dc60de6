//! Every bound the VM enforces, named. Contracts see a clear error when they cross one.

/// Largest contract module accepted, in bytes.
pub const MAX_CODE_SIZE: usize = 512 * 1024;
/// Most 64 KiB pages of linear memory a contract may declare or grow to (4 MiB).
pub const MAX_MEMORY_PAGES: u64 = 64;
/// Most functions a module may define.
pub const MAX_FUNCTIONS: u64 = 20_000;
/// Most tables a module may define (indirect calls need one).
pub const MAX_TABLES: u64 = 1;
/// Most table elements, initially and as the declared maximum (`table.grow` stops there too).
pub const MAX_TABLE_ELEMENTS: u64 = 8_192;
/// Most globals a module may define.
pub const MAX_GLOBALS: u64 = 512;
/// Most data segments, and their bytes together (copied into memory at every instantiation).
pub const MAX_DATA_SEGMENTS: u64 = 1_024;
pub const MAX_DATA_BYTES: u64 = 1024 * 1024;
/// Most element segments, and their items together.
pub const MAX_ELEMENT_SEGMENTS: u64 = 512;
pub const MAX_ELEMENT_ITEMS: u64 = 8_192;
/// Most bytes (keys plus values) one contract may store: its share of every worker's disk.
pub const MAX_CONTRACT_STORAGE_BYTES: u64 = 256 * 1024 * 1024;
/// Longest storage key.
pub const MAX_KEY_LEN: usize = 256;
/// Longest storage value.
pub const MAX_VALUE_LEN: usize = 64 * 1024;
/// Longest output (result or error) of one call.
pub const MAX_OUTPUT_LEN: usize = 64 * 1024;
/// Longest metadata a contract's metadata build may describe itself with (tooling only).
pub const MAX_METADATA_LEN: usize = 4 * 1024 * 1024;
/// Gas the metadata entry point may burn (tooling only: building the type registry).
pub const METADATA_GAS: u64 = 10_000_000_000;
/// Longest debug line a call may write (`debug`, dev chains only); longer ones are cut.
pub const MAX_DEBUG_LINE_LEN: usize = 1024;
/// Most debug lines one call keeps; later ones are charged and dropped.
pub const MAX_DEBUG_LINES_PER_CALL: usize = 64;
/// The host function whose import marks code as dev-chain code (see `ModuleShape::uses_debug`).
pub const DEBUG_IMPORT: &str = "debug";
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
/// Longest message hashed or signed-checked in one host call.
pub const MAX_CRYPTO_INPUT_LEN: usize = 64 * 1024;
/// Longest panic message kept.
pub const MAX_PANIC_MESSAGE_LEN: usize = 1024;
/// Native stack a call's Wasm may use: a call nested deeper traps, at the same depth on every
/// worker running the same build (frame sizes are the compiler's, fixed with the engine).
pub const MAX_WASM_STACK_BYTES: usize = 512 * 1024;
/// Most compiled modules kept in the cache.
pub const MODULE_CACHE_CAPACITY: usize = 256;
