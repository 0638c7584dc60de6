//! `private_token`: a fungible token whose balances and transfers are visible only to their
//! owners. The contract's state lives encrypted in the workers; a balance query is answered only
//! when the query's signer is the account asked about; each transfer emits an event encrypted to
//! its recipient and one to its sender, and nothing public.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use phalanx_sdk::prelude::*;
use phalanx_sdk::storage::{Item, Map};

#[derive(Encode, Decode, Debug, PartialEq, Eq)]
pub struct Init {
    pub name: String,
    pub symbol: String,
    /// Minted to the instantiating account.
    pub initial_supply: Balance,
}

#[derive(Encode, Decode, Debug, PartialEq, Eq)]
pub enum Command {
    Transfer {
        to: AccountId,
        amount: Balance,
    },
    /// Only the issuer (the instantiating account) may mint.
    Mint {
        to: AccountId,
        amount: Balance,
    },
}

#[derive(Encode, Decode, Debug, PartialEq, Eq)]
pub enum Query {
    /// Answered only to `account` itself.
    Balance {
        account: AccountId,
    },
    TotalSupply,
}

/// Sent, encrypted, to each party of a transfer.
#[derive(Encode, Decode, Debug, PartialEq, Eq)]
pub struct Transferred {
    pub from: AccountId,
    pub to: AccountId,
    pub amount: Balance,
}

static ISSUER: Item<AccountId> = Item::new(b"issuer");
static TOTAL_SUPPLY: Item<Balance> = Item::new(b"supply");
static META: Item<(String, String)> = Item::new(b"meta");
static BALANCES: Map<AccountId, Balance> = Map::new(b"bal/");

fn balance_of(account: &AccountId) -> Balance {
    BALANCES.get(account).unwrap_or(0)
}

fn credit(account: &AccountId, amount: Balance) -> Result<(), Error> {
    let balance = balance_of(account)
        .checked_add(amount)
        .ok_or(Error::new("balance overflow"))?;
    BALANCES.set(account, &balance);
    Ok(())
}

pub fn instantiate(init: Init) -> Result<(), Error> {
    ensure!(
        !init.symbol.is_empty() && init.symbol.len() <= 12,
        "symbol must be 1-12 characters"
    );
    let issuer = env::caller();
    ISSUER.set(&issuer);
    META.set(&(init.name, init.symbol));
    TOTAL_SUPPLY.set(&init.initial_supply);
    BALANCES.set(&issuer, &init.initial_supply);
    Ok(())
}

/// Returns the caller's balance after the command.
pub fn execute(command: Command) -> Result<Balance, Error> {
    let caller = env::caller();
    match command {
        Command::Transfer { to, amount } => {
            let balance = balance_of(&caller);
            ensure!(amount <= balance, "insufficient balance");
            BALANCES.set(&caller, &(balance - amount));
            credit(&to, amount)?;
            let event = Transferred {
                from: caller,
                to,
                amount,
            };
            env::emit_event_to(&to, &event);
            env::emit_event_to(&caller, &event);
        }
        Command::Mint { to, amount } => {
            ensure!(ISSUER.get() == Some(caller), "only the issuer may mint");
            let supply = TOTAL_SUPPLY
                .get()
                .unwrap_or(0)
                .checked_add(amount)
                .ok_or(Error::new("supply overflow"))?;
            TOTAL_SUPPLY.set(&supply);
            credit(&to, amount)?;
        }
    }
    Ok(balance_of(&caller))
}

pub fn query(query: Query) -> Result<Balance, Error> {
    match query {
        Query::Balance { account } => {
            ensure!(
                env::caller() == account,
                "only the owner of an account may read its balance"
            );
            Ok(balance_of(&account))
        }
        Query::TotalSupply => Ok(TOTAL_SUPPLY.get().unwrap_or(0)),
    }
}

phalanx_sdk::contract!(instantiate: instantiate, execute: execute, query: query);

#[cfg(test)]
mod tests {
    use super::*;
    use phalanx_sdk::testing::{self, account};

    fn setup() {
        testing::reset();
        let init = Init {
            name: "Secret".into(),
            symbol: "SCRT".into(),
            initial_supply: 1_000,
        };
        testing::execute(account(1), || instantiate(init)).unwrap();
    }

    #[test]
    fn transfers_move_balances_and_tell_only_the_parties() {
        setup();
        assert_eq!(
            testing::execute(account(1), || execute(Command::Transfer {
                to: account(2),
                amount: 300
            })),
            Ok(700)
        );
        let events = testing::take_events();
        let recipients: Vec<_> = events.iter().map(|(to, _)| *to).collect();
        assert_eq!(recipients, [Some(account(2)), Some(account(1))]);
        assert_eq!(
            Transferred::decode(&mut &events[0].1[..]).unwrap(),
            Transferred {
                from: account(1),
                to: account(2),
                amount: 300
            }
        );
        assert_eq!(
            testing::query(account(2), || query(Query::Balance {
                account: account(2)
            })),
            Ok(300)
        );
    }

    #[test]
    fn balances_are_answered_only_to_their_owner() {
        setup();
        assert!(testing::query(account(2), || query(Query::Balance {
            account: account(1)
        }))
        .is_err());
        assert_eq!(
            testing::query(account(1), || query(Query::Balance {
                account: account(1)
            })),
            Ok(1_000)
        );
        assert_eq!(
            testing::query(account(9), || query(Query::TotalSupply)),
            Ok(1_000)
        );
    }

    #[test]
    fn overspending_and_foreign_mints_fail_without_effect() {
        setup();
        assert!(testing::execute(account(2), || execute(Command::Transfer {
            to: account(3),
            amount: 1
        }))
        .is_err());
        assert!(testing::execute(account(2), || execute(Command::Mint {
            to: account(2),
            amount: 5
        }))
        .is_err());
        assert!(testing::execute(account(1), || execute(Command::Transfer {
            to: account(3),
            amount: 1_001
        }))
        .is_err());
        assert_eq!(testing::take_events(), vec![]);
        assert_eq!(
            testing::query(account(1), || query(Query::Balance {
                account: account(1)
            })),
            Ok(1_000)
        );
        testing::execute(account(1), || {
            execute(Command::Mint {
                to: account(3),
                amount: 5,
            })
        })
        .unwrap();
        assert_eq!(
            testing::query(account(3), || query(Query::TotalSupply)),
            Ok(1_005)
        );
    }
}
