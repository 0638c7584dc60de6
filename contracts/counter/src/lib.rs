//! `counter`: the smallest useful Phalanx contract, for the docs.
//!
//! Anyone may increment it; only the account that instantiated it may reset it. Every change
//! emits a public event. Build it with `phalanx contract build contracts/counter`.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use phalanx_sdk::prelude::*;
use phalanx_sdk::storage::Item;

#[derive(Encode, Decode, TypeInfo, Debug, PartialEq, Eq)]
pub struct Init {
    pub start: u64,
}

#[derive(Encode, Decode, TypeInfo, Debug, PartialEq, Eq)]
pub enum Command {
    Increment { by: u64 },
    Reset,
}

#[derive(Encode, Decode, TypeInfo, Debug, PartialEq, Eq)]
pub enum Query {
    Value,
}

/// The public event every change emits.
#[derive(Encode, Decode, TypeInfo, Debug, PartialEq, Eq)]
pub struct Changed {
    pub by: AccountId,
    pub value: u64,
}

static VALUE: Item<u64> = Item::new(b"value");
static OWNER: Item<AccountId> = Item::new(b"owner");

pub fn instantiate(init: Init) -> Result<(), Error> {
    VALUE.set(&init.start);
    OWNER.set(&env::caller());
    Ok(())
}

/// Returns the new value.
pub fn execute(command: Command) -> Result<u64, Error> {
    let value = match command {
        Command::Increment { by } => VALUE
            .get()
            .unwrap_or(0)
            .checked_add(by)
            .ok_or(Error::new("counter overflow"))?,
        Command::Reset => {
            ensure!(
                OWNER.get() == Some(env::caller()),
                "only the owner may reset the counter"
            );
            0
        }
    };
    VALUE.set(&value);
    env::emit_event(&Changed {
        by: env::caller(),
        value,
    });
    Ok(value)
}

pub fn query(query: Query) -> Result<u64, Error> {
    match query {
        Query::Value => Ok(VALUE.get().unwrap_or(0)),
    }
}

phalanx_sdk::contract!(instantiate: instantiate, execute: execute, query: query, events: Changed);

#[cfg(test)]
mod tests {
    use super::*;
    use phalanx_sdk::testing::{self, account};

    #[test]
    fn increments_and_only_the_owner_resets() {
        testing::reset();
        testing::execute(account(1), || instantiate(Init { start: 5 })).unwrap();
        assert_eq!(
            testing::execute(account(2), || execute(Command::Increment { by: 3 })),
            Ok(8)
        );
        assert_eq!(
            testing::execute(account(2), || execute(Command::Reset)),
            Err(Error::new("only the owner may reset the counter"))
        );
        assert_eq!(testing::query(account(9), || query(Query::Value)), Ok(8));
        assert_eq!(
            testing::execute(account(1), || execute(Command::Reset)),
            Ok(0)
        );
        let events = testing::take_events();
        assert_eq!(events.len(), 2);
        assert_eq!(
            Changed::decode(&mut &events[0].1[..]).unwrap(),
            Changed {
                by: account(2),
                value: 8
            }
        );
    }

    #[test]
    fn overflow_is_an_error_and_changes_nothing() {
        testing::reset();
        testing::execute(account(1), || instantiate(Init { start: u64::MAX })).unwrap();
        assert!(testing::execute(account(1), || execute(Command::Increment { by: 1 })).is_err());
        assert_eq!(
            testing::query(account(1), || query(Query::Value)),
            Ok(u64::MAX)
        );
    }
}
