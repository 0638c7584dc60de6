use parity_scale_codec::{Decode, Encode};

/// An account: a 32-byte ed25519 public key (the chain prints it as a `phx1…` address).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Encode, Decode)]
pub struct AccountId(pub [u8; 32]);

/// PHA in its smallest unit (10^12 per PHA).
pub type Balance = u128;
