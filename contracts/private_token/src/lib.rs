//! `private_token`: a fungible token whose balances and transfers are visible only to their
//! owners. The contract's state lives encrypted in the workers; a balance query is answered only
//! when the query's signer is the account asked about; each transfer emits an event encrypted to
//! its recipient and one to its sender, and nothing public.
//!
//! A token instantiated with `pha_backed` is private PHA: nobody mints it; `Deposit` turns the
//! PHA a command carries into tokens of its sender, `Withdraw` burns tokens and pays the PHA out
//! of the contract's account to any public account (the worker sends the payment to the chain as
//! egress). Between the two, transfers are as private as any other token's: the chain sees a
//! deposit from one account and, later, a payment to another, and nothing linking them.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use phalanx_sdk::prelude::*;
use phalanx_sdk::storage::{Item, Map};

#[derive(Encode, Decode, TypeInfo, Debug, PartialEq, Eq)]
pub struct Init {
    pub name: String,
    pub symbol: String,
    /// Minted to the instantiating account (must be 0 for a PHA-backed token).
    pub initial_supply: Balance,
    /// Tokens are PHA held by the contract: deposited and withdrawn, never minted.
    pub pha_backed: bool,
}

#[derive(Encode, Decode, TypeInfo, Debug, PartialEq, Eq)]
pub enum Command {
    Transfer {
        to: AccountId,
        amount: Balance,
    },
    /// Only the issuer (the instantiating account) may mint; not in a PHA-backed token.
    Mint {
        to: AccountId,
        amount: Balance,
    },
    /// PHA-backed tokens: credits the sender with the PHA the command carries.
    Deposit,
    /// PHA-backed tokens: burns `amount` of the sender's tokens and pays that much PHA to `to`.
    Withdraw {
        to: AccountId,
        amount: Balance,
    },
}

#[derive(Encode, Decode, TypeInfo, Debug, PartialEq, Eq)]
pub enum Query {
    /// Answered only to `account` itself.
    Balance {
        account: AccountId,
    },
    TotalSupply,
    /// The PHA the contract's account holds, for anyone to check that a PHA-backed token is
    /// fully backed: it is never below `TotalSupply` (a withdrawal lowers the supply at once
    /// and the PHA leaves when the chain orders the payment, a little later).
    Reserves,
}

/// Sent, encrypted, to each party of a transfer.
#[derive(Encode, Decode, TypeInfo, Debug, PartialEq, Eq)]
pub struct Transferred {
    pub from: AccountId,
    pub to: AccountId,
    pub amount: Balance,
}

static ISSUER: Item<AccountId> = Item::new(b"issuer");
static TOTAL_SUPPLY: Item<Balance> = Item::new(b"supply");
static META: Item<(String, String)> = Item::new(b"meta");
static PHA_BACKED: Item<bool> = Item::new(b"pha_backed");
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
    ensure!(
        !init.pha_backed || init.initial_supply == 0,
        "a PHA-backed token starts with no supply: deposit PHA instead"
    );
    let issuer = env::caller();
    ISSUER.set(&issuer);
    PHA_BACKED.set(&init.pha_backed);
    META.set(&(init.name, init.symbol));
    TOTAL_SUPPLY.set(&init.initial_supply);
    BALANCES.set(&issuer, &init.initial_supply);
    Ok(())
}

/// Returns the caller's balance after the command.
/// Gas every command is charged, whatever it did: more than the most any of them uses (a
/// transfer to a new account, with its new balance entry, is ~81,000), so that a payer's refund
/// does not tell a failed transfer from a successful one, nor a new recipient from a known one.
pub const COMMAND_GAS: u64 = 150_000;

pub fn execute(command: Command) -> Result<Balance, Error> {
    let result = run(command);
    env::pad_gas(COMMAND_GAS);
    result
}

fn run(command: Command) -> Result<Balance, Error> {
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
            ensure!(
                !pha_backed(),
                "a PHA-backed token is not minted: deposit PHA"
            );
            grow_supply(amount)?;
            credit(&to, amount)?;
        }
        Command::Deposit => {
            ensure!(pha_backed(), "this token is not backed by PHA");
            let amount = env::value_received();
            ensure!(amount > 0, "send PHA with the command to deposit it");
            grow_supply(amount)?;
            credit(&caller, amount)?;
        }
        Command::Withdraw { to, amount } => {
            ensure!(pha_backed(), "this token is not backed by PHA");
            let balance = balance_of(&caller);
            ensure!(amount > 0 && amount <= balance, "insufficient balance");
            BALANCES.set(&caller, &(balance - amount));
            TOTAL_SUPPLY.set(&(TOTAL_SUPPLY.get().unwrap_or(0) - amount));
            env::transfer(&to, amount);
        }
    }
    Ok(balance_of(&caller))
}

fn pha_backed() -> bool {
    PHA_BACKED.get().unwrap_or(false)
}

fn grow_supply(amount: Balance) -> Result<(), Error> {
    let supply = TOTAL_SUPPLY
        .get()
        .unwrap_or(0)
        .checked_add(amount)
        .ok_or(Error::new("supply overflow"))?;
    TOTAL_SUPPLY.set(&supply);
    Ok(())
}

pub fn query(query: Query) -> Result<Balance, Error> {
    match query {
        Query::Balance { account } => {
            ensure!(
                env::caller() == account,
                "only the owner of an account may read its balance"
            );
            // Under a permit (the owner's, asked by its grantee), only if it names balances.
            ensure!(env::allows("balance"), "the permit does not cover balances");
            Ok(balance_of(&account))
        }
        Query::TotalSupply => Ok(TOTAL_SUPPLY.get().unwrap_or(0)),
        Query::Reserves => Ok(env::balance()),
    }
}

phalanx_sdk::contract!(instantiate: instantiate, execute: execute, query: query, events: Transferred);

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
            pha_backed: false,
        };
        testing::execute(account(1), || instantiate(init)).unwrap();
    }

    #[test]
    fn pha_backed_tokens_are_deposited_and_withdrawn_never_minted() {
        testing::reset();
        let init = |supply| Init {
            name: "Private PHA".into(),
            symbol: "pPHA".into(),
            initial_supply: supply,
            pha_backed: true,
        };
        assert!(testing::execute(account(1), || instantiate(init(5))).is_err());
        testing::execute(account(1), || instantiate(init(0))).unwrap();
        let mint = Command::Mint {
            to: account(1),
            amount: 5,
        };
        assert!(testing::execute(account(1), || execute(mint)).is_err());
        assert!(testing::execute(account(2), || execute(Command::Deposit)).is_err());
        assert_eq!(
            testing::execute_with_value(account(2), 500, || execute(Command::Deposit)),
            Ok(500)
        );
        let withdraw = |amount| Command::Withdraw {
            to: account(7),
            amount,
        };
        assert!(testing::execute(account(2), || execute(withdraw(501))).is_err());
        assert_eq!(testing::take_transfers(), vec![]);
        assert_eq!(
            testing::execute(account(2), || execute(withdraw(200))),
            Ok(300)
        );
        assert_eq!(testing::take_transfers(), vec![(account(7), 200)]);
        assert_eq!(
            testing::query(account(9), || query(Query::TotalSupply)),
            Ok(300)
        );
        // The 500 deposited less the 200 paid out. PHA sent to the account outside a command
        // counts too: what it holds is never below the supply.
        let reserves = || testing::query(account(9), || query(Query::Reserves));
        assert_eq!(reserves(), Ok(300));
        testing::with_env(|env| env.balance += 40);
        assert_eq!(reserves(), Ok(340));
    }

    #[test]
    fn a_minted_token_takes_no_deposits() {
        setup();
        assert!(testing::execute_with_value(account(1), 5, || execute(Command::Deposit)).is_err());
        let withdraw = Command::Withdraw {
            to: account(1),
            amount: 1,
        };
        assert!(testing::execute(account(1), || execute(withdraw)).is_err());
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
        // The sender's receipt holds only its own copy; the recipient gets its notification.
        let receipt: Vec<_> = testing::receipt_events()
            .iter()
            .map(|(to, _)| *to)
            .collect();
        assert_eq!(receipt, [Some(account(1))]);
        assert_eq!(testing::notifications(&account(2)).len(), 1);
        assert_eq!(testing::notifications(&account(1)).len(), 1);
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

    #[test]
    fn every_command_asks_the_same_gas_whether_it_succeeds_or_fails() {
        setup();
        let padded = |outcome: Result<Balance, Error>| {
            (outcome.is_ok(), testing::with_env(|env| env.pad_gas))
        };
        let ok = padded(testing::execute(account(1), || {
            execute(Command::Transfer {
                to: account(2),
                amount: 1,
            })
        }));
        let failed = padded(testing::execute(account(3), || {
            execute(Command::Transfer {
                to: account(2),
                amount: 1,
            })
        }));
        assert_eq!(ok, (true, COMMAND_GAS));
        assert_eq!(failed, (false, COMMAND_GAS));
    }

    #[test]
    fn a_permit_reads_the_owners_balance_only_within_its_scope() {
        setup();
        let balance = || {
            query(Query::Balance {
                account: account(1),
            })
        };
        assert_eq!(
            testing::query_with_permit(account(1), &["balance"], balance),
            Ok(1_000)
        );
        assert!(testing::query_with_permit(account(1), &["history"], balance).is_err());
    }
}
