//! JSON-RPC error codes of the node (outside the JSON-RPC reserved range). Every refusal also
//! carries `data.kind`, a stable snake_case name of its cause.

/// The bytes are not hex, or not a SCALE transaction.
pub const MALFORMED: i32 = 1000;
pub const BAD_SIGNATURE: i32 = 1001;
pub const WRONG_CHAIN: i32 = 1002;
pub const STALE_NONCE: i32 = 1003;
pub const FUTURE_NONCE: i32 = 1004;
pub const INSUFFICIENT_BALANCE: i32 = 1005;
pub const FEE_TOO_LOW: i32 = 1006;
pub const TOO_LARGE: i32 = 1007;
/// Already in the pool, or already in a final block.
pub const DUPLICATE: i32 = 1008;
/// The pool is full; retry later.
pub const POOL_FULL: i32 = 1009;
/// The node failed internally (storage); nothing was accepted.
pub const INTERNAL: i32 = 1010;
pub const BATCH_TOO_LARGE: i32 = 1011;
/// A registration's attestation was refused (forged, expired, wrong measurement, ...).
pub const ATTESTATION_FAILED: i32 = 1012;
/// The signer may not make this call (e.g. a sudo call from another account).
pub const NOT_AUTHORIZED: i32 = 1013;
/// The call's arguments are invalid (e.g. an oversized endpoint).
pub const INVALID_CALL: i32 = 1014;
/// Too many of this peer's transactions were refused lately; retry after the time named.
pub const RATE_LIMITED: i32 = 1015;
