use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;

/// An account: a 32-byte ed25519 public key (the chain prints it as a `phx1…` address; tools
/// reading a contract's metadata take and print it so, by this type's name).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Encode, Decode, TypeInfo,
)]
pub struct AccountId(pub [u8; 32]);

/// PHA in its smallest unit (10^12 per PHA).
pub type Balance = u128;
