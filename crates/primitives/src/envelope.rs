//! The envelope: how anything is encrypted to an x25519 key. Only the wire type lives here;
//! sealing and opening are in `phalanx-crypto::envelope`, the format in docs/protocol.md.

use parity_scale_codec::{Decode, Encode};

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Envelope {
    pub version: u8,
    /// Epoch of the key hierarchy the recipient key belongs to.
    pub epoch: u32,
    pub ephemeral: [u8; 32],
    pub nonce: [u8; 12],
    pub ciphertext: Vec<u8>,
}

impl Envelope {
    /// Identity of an envelope, used to refuse a replayed ciphertext.
    pub fn hash(&self) -> crate::Hash {
        crate::sha256(&self.encode())
    }
}
