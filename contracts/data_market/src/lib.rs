//! `data_market`: authorized inquiries with data-access fees.
//!
//! The owner (who instantiated it) publishes private records by topic, each with an offer:
//! a price in PHA and how long a grant lasts. Anyone buys a grant by sending a `Buy` command
//! that carries exactly the price; until the grant ends, that account may `Read` the record
//! (the owner always may). The owner may also give or revoke grants for free, and withdraws
//! what buyers paid to any public account (a PHA payment the workers send to the chain as
//! egress). Records and grants stay inside the enclave; the chain sees only that someone paid
//! the contract.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use phalanx_sdk::grants::{Grants, Offer};
use phalanx_sdk::prelude::*;
use phalanx_sdk::storage::{Item, Map};

#[derive(Encode, Decode, TypeInfo, Debug, PartialEq, Eq)]
pub struct Init {}

#[derive(Encode, Decode, TypeInfo, Debug, PartialEq, Eq)]
pub enum Command {
    /// Owner only: a record and its offer (replacing any earlier one).
    Publish {
        topic: String,
        data: Vec<u8>,
        offer: Offer,
    },
    /// Buys (or extends) a grant to read `topic`; the command must carry the offer's price.
    Buy { topic: String },
    /// Owner only: a free grant until `until_ms` (block time).
    Give {
        to: AccountId,
        topic: String,
        until_ms: u64,
    },
    /// Owner only.
    Revoke { from: AccountId, topic: String },
    /// Owner only: pays `amount` of the earnings to `to`.
    Withdraw { to: AccountId, amount: Balance },
}

#[derive(Encode, Decode, TypeInfo, Debug, PartialEq, Eq)]
pub enum Query {
    /// The owner, or a grant holder, reads the record.
    Read { topic: String },
    /// Anyone may see what a topic costs.
    Offer { topic: String },
    /// Owner only: what buyers paid and is not withdrawn yet.
    Earnings,
}

#[derive(Encode, Decode, TypeInfo, Debug, PartialEq, Eq)]
pub enum Answer {
    Done,
    /// When the bought grant ends (block time, ms).
    GrantUntil(u64),
    Data(Vec<u8>),
    Offer(Offer),
    Earnings(Balance),
}

static OWNER: Item<AccountId> = Item::new(b"owner");
static EARNINGS: Item<Balance> = Item::new(b"earned");
static RECORDS: Map<String, (Vec<u8>, Offer)> = Map::new(b"record/");
static GRANTS: Grants = Grants::new(b"grant/");

fn require_owner() -> Result<(), Error> {
    ensure!(
        OWNER.get() == Some(env::caller()),
        "only the owner may do this"
    );
    Ok(())
}

fn record(topic: &str) -> Result<(Vec<u8>, Offer), Error> {
    RECORDS
        .get(&topic.into())
        .ok_or(Error::new("no record under that topic"))
}

pub fn instantiate(_init: Init) -> Result<(), Error> {
    OWNER.set(&env::caller());
    Ok(())
}

pub fn execute(command: Command) -> Result<Answer, Error> {
    if !matches!(command, Command::Buy { .. }) {
        ensure!(env::value_received() == 0, "only Buy takes PHA");
    }
    match command {
        Command::Publish { topic, data, offer } => {
            require_owner()?;
            RECORDS.set(&topic, &(data, offer));
            Ok(Answer::Done)
        }
        Command::Buy { topic } => {
            let (_, offer) = record(&topic)?;
            let until = GRANTS.buy(topic.as_bytes(), &offer)?;
            let earned = EARNINGS
                .get()
                .unwrap_or(0)
                .checked_add(offer.price)
                .ok_or(Error::new("earnings overflow"))?;
            EARNINGS.set(&earned);
            Ok(Answer::GrantUntil(until))
        }
        Command::Give {
            to,
            topic,
            until_ms,
        } => {
            require_owner()?;
            GRANTS.give(&to, topic.as_bytes(), until_ms);
            Ok(Answer::Done)
        }
        Command::Revoke { from, topic } => {
            require_owner()?;
            GRANTS.revoke(&from, topic.as_bytes());
            Ok(Answer::Done)
        }
        Command::Withdraw { to, amount } => {
            require_owner()?;
            let earned = EARNINGS.get().unwrap_or(0);
            ensure!(amount > 0 && amount <= earned, "more than was earned");
            EARNINGS.set(&(earned - amount));
            env::transfer(&to, amount);
            Ok(Answer::Done)
        }
    }
}

pub fn query(query: Query) -> Result<Answer, Error> {
    match query {
        Query::Read { topic } => {
            let caller = env::caller();
            ensure!(
                OWNER.get() == Some(caller) || GRANTS.holds(&caller, topic.as_bytes()),
                "no grant to read this topic (buy one)"
            );
            // Under a permit, only if the owner granted reading.
            ensure!(env::allows("read"), "the permit does not cover reading");
            Ok(Answer::Data(record(&topic)?.0))
        }
        Query::Offer { topic } => Ok(Answer::Offer(record(&topic)?.1)),
        Query::Earnings => {
            require_owner()?;
            ensure!(
                env::allows("earnings"),
                "the permit does not cover earnings"
            );
            Ok(Answer::Earnings(EARNINGS.get().unwrap_or(0)))
        }
    }
}

phalanx_sdk::contract!(instantiate: instantiate, execute: execute, query: query);

#[cfg(test)]
mod tests {
    use super::*;
    use phalanx_sdk::testing::{self, account};

    const OWNER_ACCOUNT: u8 = 1;

    fn setup() {
        testing::reset();
        testing::set_block(1, 1_000);
        testing::execute(account(OWNER_ACCOUNT), || instantiate(Init {})).unwrap();
        let publish = Command::Publish {
            topic: "salary".into(),
            data: b"42000".to_vec(),
            offer: Offer {
                price: 50,
                duration_ms: 10_000,
            },
        };
        testing::execute(account(OWNER_ACCOUNT), || execute(publish)).unwrap();
    }

    fn read(who: u8) -> Result<Answer, Error> {
        testing::query(account(who), || {
            query(Query::Read {
                topic: "salary".into(),
            })
        })
    }

    #[test]
    fn a_paid_grant_reads_until_it_ends_and_the_owner_withdraws_the_fee() {
        setup();
        assert!(read(2).is_err());
        let buy = || Command::Buy {
            topic: "salary".into(),
        };
        // Underpaying buys nothing.
        assert!(testing::execute_with_value(account(2), 49, || execute(buy())).is_err());
        assert_eq!(
            testing::execute_with_value(account(2), 50, || execute(buy())),
            Ok(Answer::GrantUntil(11_000))
        );
        assert_eq!(read(2), Ok(Answer::Data(b"42000".to_vec())));
        assert!(read(3).is_err());
        testing::set_block(2, 11_001);
        assert!(read(2).is_err(), "the grant ended");

        // Only the owner sees and withdraws the earnings, and not more than them.
        assert!(testing::query(account(2), || query(Query::Earnings)).is_err());
        assert_eq!(
            testing::query(account(OWNER_ACCOUNT), || query(Query::Earnings)),
            Ok(Answer::Earnings(50))
        );
        let withdraw = |amount| Command::Withdraw {
            to: account(9),
            amount,
        };
        assert!(testing::execute(account(2), || execute(withdraw(50))).is_err());
        assert!(testing::execute(account(OWNER_ACCOUNT), || execute(withdraw(51))).is_err());
        testing::execute(account(OWNER_ACCOUNT), || execute(withdraw(50))).unwrap();
        assert_eq!(testing::take_transfers(), vec![(account(9), 50)]);
    }

    #[test]
    fn the_owner_gives_and_revokes_and_only_buy_takes_pha() {
        setup();
        let give = Command::Give {
            to: account(3),
            topic: "salary".into(),
            until_ms: 5_000,
        };
        testing::execute(account(OWNER_ACCOUNT), || execute(give)).unwrap();
        assert!(read(3).is_ok());
        let revoke = Command::Revoke {
            from: account(3),
            topic: "salary".into(),
        };
        assert!(testing::execute(account(3), || execute(revoke)).is_err());
        let revoke = Command::Revoke {
            from: account(3),
            topic: "salary".into(),
        };
        testing::execute(account(OWNER_ACCOUNT), || execute(revoke)).unwrap();
        assert!(read(3).is_err());
        let publish = Command::Publish {
            topic: "x".into(),
            data: vec![],
            offer: Offer {
                price: 1,
                duration_ms: 1,
            },
        };
        assert!(
            testing::execute_with_value(account(OWNER_ACCOUNT), 5, || execute(publish)).is_err()
        );
    }

    #[test]
    fn a_permit_reads_for_its_owner_only_what_it_names() {
        setup();
        let owner = account(OWNER_ACCOUNT);
        let read = || {
            query(Query::Read {
                topic: "salary".into(),
            })
        };
        assert!(testing::query_with_permit(owner, &["read"], read).is_ok());
        assert!(testing::query_with_permit(owner, &["earnings"], read).is_err());
        assert!(
            testing::query_with_permit(owner, &["earnings"], || query(Query::Earnings)).is_ok()
        );
        assert!(testing::query_with_permit(owner, &["read"], || query(Query::Earnings)).is_err());
    }
}
