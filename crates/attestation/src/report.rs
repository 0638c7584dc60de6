//! What a registration carries: the quote (and its collateral), and what it must commit to.

use parity_scale_codec::Encode;
use phalanx_primitives::attestation::Role;
use phalanx_primitives::{sha256_parts, AccountId, Hash};

/// The report data an enclave must put in its quote when registering these keys:
/// `SHA-256(identity public key | ECDH public key | genesis hash | role)`, zero-padded to 64 bytes.
pub fn report_data(
    identity: &AccountId,
    ecdh_public: &[u8; 32],
    genesis: &Hash,
    role: Role,
) -> [u8; 64] {
    let digest = sha256_parts(&[identity.as_bytes(), ecdh_public, &genesis.0, &role.encode()]);
    let mut data = [0u8; 64];
    data[..32].copy_from_slice(&digest.0);
    data
}
