//! Paid access to a contract's queries (data-access fees): the data owner prices a kind of
//! query; a buyer sends a command carrying PHA and gets a grant — who may ask what, until when;
//! the query checks the grant; the owner withdraws what was paid through `env::transfer`.
//!
//! ```
//! use phalanx_sdk::grants::{Grants, Offer};
//! use phalanx_sdk::prelude::*;
//! use phalanx_sdk::testing::{self, account};
//!
//! static GRANTS: Grants = Grants::new(b"grant/");
//!
//! testing::reset();
//! testing::set_block(1, 1_000);
//! let offer = Offer { price: 50, duration_ms: 60_000 };
//! // In a command: the caller pays the price as the command's value.
//! let until = testing::execute_with_value(account(2), 50, || GRANTS.buy(b"salary", &offer));
//! assert_eq!(until, Ok(61_000));
//! // In a query: only a grant holder may ask, until it expires.
//! assert!(GRANTS.holds(&account(2), b"salary"));
//! assert!(!GRANTS.holds(&account(3), b"salary"));
//! testing::set_block(2, 61_001);
//! assert!(!GRANTS.holds(&account(2), b"salary"));
//! ```

use crate::codec::{Decode, Encode};
use crate::storage::Map;
use crate::{env, AccountId, Balance, Error};
use alloc::vec::Vec;

/// What a grant of one kind of query costs and how long it lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct Offer {
    pub price: Balance,
    pub duration_ms: u64,
}

/// Grants by (holder, what they may ask): the block time (ms) until which they hold.
pub struct Grants {
    until: Map<(AccountId, Vec<u8>), u64>,
}

impl Grants {
    /// `prefix` must not be a prefix of another storage prefix of the contract.
    pub const fn new(prefix: &'static [u8]) -> Self {
        Grants {
            until: Map::new(prefix),
        }
    }

    /// Lets `holder` ask `what` until `until_ms` (block time), e.g. a grant the owner gives.
    pub fn give(&self, holder: &AccountId, what: &[u8], until_ms: u64) {
        self.until.set(&(*holder, what.to_vec()), &until_ms);
    }

    /// Takes a grant back.
    pub fn revoke(&self, holder: &AccountId, what: &[u8]) {
        self.until.remove(&(*holder, what.to_vec()));
    }

    /// Whether `holder` may ask `what` now (at this call's block time).
    pub fn holds(&self, holder: &AccountId, what: &[u8]) -> bool {
        self.until
            .get(&(*holder, what.to_vec()))
            .is_some_and(|until| until >= env::block_time_ms())
    }

    /// Sells the caller a grant of `what` under `offer`: the command must carry exactly the
    /// price. A grant still running is extended from its end. Returns the new end.
    pub fn buy(&self, what: &[u8], offer: &Offer) -> Result<u64, Error> {
        let paid = env::value_received();
        if paid != offer.price {
            return Err(Error::new(
                "send exactly the offer's price with the command",
            ));
        }
        let caller = env::caller();
        let now = env::block_time_ms();
        let from = self
            .until
            .get(&(caller, what.to_vec()))
            .filter(|until| *until > now)
            .unwrap_or(now);
        let until = from
            .checked_add(offer.duration_ms)
            .ok_or(Error::new("grant end overflows"))?;
        self.give(&caller, what, until);
        Ok(until)
    }
}
