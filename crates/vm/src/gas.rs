//! What host calls cost, in fuel. One fuel is one Wasm operator (wasmtime's fuel); host
//! costs are set from the measured time of the work against that (see DESIGN.md's budget:
//! ed25519 verify ~28 us, SHA-256 and storage per byte).

/// Fuel prices of host functions. Arithmetic on them saturates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GasSchedule {
    /// Every host call, before any work.
    pub host_call: u64,
    /// Per byte copied between guest memory and the host.
    pub per_byte_copied: u64,
    pub storage_read: u64,
    pub storage_read_per_byte: u64,
    pub storage_write: u64,
    pub storage_write_per_byte: u64,
    pub event: u64,
    pub event_per_byte: u64,
    pub transfer: u64,
    /// Sending a message to another contract (plus `event_per_byte` per payload byte).
    pub message: u64,
    pub sha256: u64,
    pub sha256_per_byte: u64,
    pub ed25519_verify: u64,
    /// A debug line (plus `event_per_byte` per byte), on dev chains.
    pub debug: u64,
    /// Instantiating the module, which every call does before it runs (see `shape.rs`).
    pub instantiate: u64,
    pub instantiate_per_function: u64,
    pub instantiate_per_table_element: u64,
    pub instantiate_per_memory_page: u64,
    pub instantiate_per_global: u64,
    /// Per data or element segment.
    pub instantiate_per_segment: u64,
    /// Per KiB of data segments copied into memory.
    pub instantiate_per_data_kib: u64,
    /// Per byte a call adds to its contract's storage (net of what it frees), paid once: every
    /// worker of the cluster keeps those bytes until they are removed. At the dev gas price
    /// (10^-9 PHA) one PHA stores one million bytes.
    pub storage_per_new_byte: u64,
}

impl Default for GasSchedule {
    fn default() -> Self {
        GasSchedule {
            host_call: 50,
            per_byte_copied: 1,
            storage_read: 1_000,
            storage_read_per_byte: 2,
            storage_write: 3_000,
            storage_write_per_byte: 10,
            event: 1_000,
            event_per_byte: 5,
            transfer: 5_000,
            message: 5_000,
            sha256: 200,
            sha256_per_byte: 4,
            ed25519_verify: 50_000,
            debug: 1_000,
            instantiate: 2_000,
            instantiate_per_function: 2,
            instantiate_per_table_element: 1,
            instantiate_per_memory_page: 100,
            instantiate_per_global: 10,
            instantiate_per_segment: 50,
            instantiate_per_data_kib: 100,
            storage_per_new_byte: 1_000,
        }
    }
}

/// `base + per_byte * bytes`, saturating.
pub(crate) fn cost(base: u64, per_byte: u64, bytes: usize) -> u64 {
    per_byte.saturating_mul(bytes as u64).saturating_add(base)
}
