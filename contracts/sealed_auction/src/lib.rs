//! `sealed_auction`: a sealed-bid, first-price auction.
//!
//! The seller (who instantiates it) names the item, a reserve price and when bidding closes. A
//! bid's amount lives only in its encrypted message; the PHA the command carries is its
//! deposit, which the chain sees and which must cover the bid (bid a round deposit to say
//! little). A bidder may raise their bid, adding deposit. After the close anyone sends `Close`:
//! the highest bid wins (the earliest of equal ones), the seller is paid its amount, the winner
//! gets back the rest of its deposit and every other bidder all of theirs, a batch of bidders
//! per call (`MAX_SETTLED_PER_CALL`: a call makes at most 16 payments) until none is left. Each
//! bidder is told their own result by a notification; the public event names the winner and the
//! price. Losing amounts are never revealed to anyone.
//!
//! Every `Bid` is charged the same gas (`BID_GAS`), so a first bid, a raise and a refused bid
//! look alike on chain.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use phalanx_sdk::prelude::*;
use phalanx_sdk::storage::{Item, Map};

/// Bidders one `Close` settles: the seller's payment and these refunds fit the VM's 16
/// payments a call.
pub const MAX_SETTLED_PER_CALL: u32 = 15;
/// Most bidders an auction takes (each costs a settlement).
pub const MAX_BIDDERS: u32 = 10_000;
/// Gas every `Bid` is charged, more than the most one uses (a first bid stores a new entry).
pub const BID_GAS: u64 = 400_000;
/// Longest item description.
pub const MAX_ITEM_LEN: usize = 256;

#[derive(Encode, Decode, TypeInfo, Debug, PartialEq, Eq)]
pub struct Init {
    /// What is sold, in words.
    pub item: String,
    /// The lowest bid accepted, in PHA units.
    pub reserve: Balance,
    /// Bids are taken while the block time is before this (Unix ms).
    pub closes_at_ms: u64,
}

#[derive(Encode, Decode, TypeInfo, Debug, PartialEq, Eq)]
pub enum Command {
    /// A sealed bid of `amount` PHA units; the sender's deposits (this command's PHA and any
    /// earlier bid's) must cover it. A later bid of the same bidder must be higher.
    Bid { amount: Balance },
    /// After the close, by anyone: settles the next batch of bidders.
    Close,
}

#[derive(Encode, Decode, TypeInfo, Debug, PartialEq, Eq)]
pub enum Query {
    /// The public state, for anyone.
    Status,
    /// Answered only to `bidder`: their bid and deposit.
    BidOf { bidder: AccountId },
}

#[derive(Encode, Decode, TypeInfo, Debug, PartialEq, Eq)]
pub enum Answer {
    /// `Bid` took the bid.
    Bid {
        amount: Balance,
        deposit: Balance,
    },
    /// `Close` settled a batch; `remaining` bidders are left for the next calls.
    Settled {
        remaining: u32,
    },
    Status(Status),
    /// No bid from that account.
    NoBid,
}

#[derive(Encode, Decode, TypeInfo, Debug, PartialEq, Eq)]
pub struct Status {
    pub item: String,
    pub seller: AccountId,
    pub reserve: Balance,
    pub closes_at_ms: u64,
    pub bidders: u32,
    /// Once closed: the winner and the price (`None`: no bid met the reserve).
    pub outcome: Option<Outcome>,
    /// Bidders settled so far.
    pub settled: u32,
    /// PHA the contract's account holds: deposits not yet paid out.
    pub held: Balance,
}

#[derive(Encode, Decode, TypeInfo, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub winner: AccountId,
    pub price: Balance,
}

/// The events: `Closed` is public, the others go to one bidder each.
#[derive(Encode, Decode, TypeInfo, Debug, PartialEq, Eq)]
pub enum Event {
    Closed {
        item: String,
        winner: Option<AccountId>,
        price: Balance,
        bidders: u32,
    },
    /// To the winner: what it paid and the deposit it got back.
    Won { price: Balance, refund: Balance },
    /// To each other bidder: its own bid and its deposit back.
    Lost { your_bid: Balance, refund: Balance },
}

#[derive(Encode, Decode, Clone, Copy, Debug, PartialEq, Eq)]
struct Sealed {
    amount: Balance,
    deposit: Balance,
}

#[derive(Encode, Decode, Clone, Debug, PartialEq, Eq)]
struct Terms {
    item: String,
    seller: AccountId,
    reserve: Balance,
    closes_at_ms: u64,
}

static TERMS: Item<Terms> = Item::new(b"terms");
static BIDS: Map<AccountId, Sealed> = Map::new(b"bid/");
/// Bidders in the order of their first bid: `Close` walks it.
static BIDDERS: Map<u32, AccountId> = Map::new(b"bidder/");
static BIDDER_COUNT: Item<u32> = Item::new(b"bidders");
/// The best bid so far (bids only rise, so it is kept as they come).
static BEST: Item<(Balance, AccountId)> = Item::new(b"best");
/// Set at the first `Close`: the outcome, frozen.
static CLOSED: Item<Option<Outcome>> = Item::new(b"closed");
static SETTLED: Item<u32> = Item::new(b"settled");

fn terms() -> Result<Terms, Error> {
    TERMS
        .get()
        .ok_or(Error::new("the auction was never set up"))
}

pub fn instantiate(init: Init) -> Result<(), Error> {
    ensure!(
        !init.item.is_empty() && init.item.len() <= MAX_ITEM_LEN,
        "the item must be 1 to 256 bytes"
    );
    ensure!(init.reserve > 0, "the reserve must be above 0");
    ensure!(
        init.closes_at_ms > env::block_time_ms(),
        "the auction must close in the future"
    );
    TERMS.set(&Terms {
        item: init.item,
        seller: env::caller(),
        reserve: init.reserve,
        closes_at_ms: init.closes_at_ms,
    });
    Ok(())
}

pub fn execute(command: Command) -> Result<Answer, Error> {
    match command {
        Command::Bid { amount } => {
            let result = bid(amount);
            env::pad_gas(BID_GAS);
            result
        }
        Command::Close => close(),
    }
}

fn bid(amount: Balance) -> Result<Answer, Error> {
    let terms = terms()?;
    let bidder = env::caller();
    ensure!(
        env::block_time_ms() < terms.closes_at_ms,
        "bidding has closed"
    );
    ensure!(bidder != terms.seller, "the seller may not bid");
    ensure!(amount >= terms.reserve, "the bid is below the reserve");
    let earlier = BIDS.get(&bidder);
    let deposit = earlier
        .map_or(0, |b| b.deposit)
        .checked_add(env::value_received())
        .ok_or(Error::new("deposit overflow"))?;
    ensure!(deposit >= amount, "the deposit does not cover the bid");
    match earlier {
        Some(earlier) => ensure!(amount > earlier.amount, "a new bid must be higher"),
        None => {
            let count = BIDDER_COUNT.get().unwrap_or(0);
            ensure!(
                count < MAX_BIDDERS,
                "the auction has all the bidders it takes"
            );
            BIDDERS.set(&count, &bidder);
            BIDDER_COUNT.set(&(count + 1));
        }
    }
    BIDS.set(&bidder, &Sealed { amount, deposit });
    if BEST.get().is_none_or(|(best, _)| amount > best) {
        BEST.set(&(amount, bidder));
    }
    Ok(Answer::Bid { amount, deposit })
}

fn close() -> Result<Answer, Error> {
    let terms = terms()?;
    ensure!(
        env::block_time_ms() >= terms.closes_at_ms,
        "bidding is still open"
    );
    let count = BIDDER_COUNT.get().unwrap_or(0);
    let outcome = match CLOSED.get() {
        Some(outcome) => outcome,
        None => {
            let outcome = BEST.get().map(|(price, winner)| Outcome { winner, price });
            CLOSED.set(&outcome);
            env::emit_event(&Event::Closed {
                item: terms.item.clone(),
                winner: outcome.map(|o| o.winner),
                price: outcome.map_or(0, |o| o.price),
                bidders: count,
            });
            if let Some(outcome) = outcome {
                env::transfer(&terms.seller, outcome.price);
            }
            outcome
        }
    };
    let settled = SETTLED.get().unwrap_or(0);
    ensure!(settled < count || count == 0, "the auction is settled");
    let end = count.min(settled + MAX_SETTLED_PER_CALL);
    for index in settled..end {
        let bidder = BIDDERS
            .get(&index)
            .ok_or(Error::new("a bidder is missing"))?;
        let sealed = BIDS.get(&bidder).ok_or(Error::new("a bid is missing"))?;
        let (event, refund) = match outcome {
            Some(o) if o.winner == bidder => {
                let refund = sealed.deposit - o.price;
                let won = Event::Won {
                    price: o.price,
                    refund,
                };
                (won, refund)
            }
            _ => {
                let lost = Event::Lost {
                    your_bid: sealed.amount,
                    refund: sealed.deposit,
                };
                (lost, sealed.deposit)
            }
        };
        if refund > 0 {
            env::transfer(&bidder, refund);
        }
        env::emit_event_to(&bidder, &event);
    }
    SETTLED.set(&end);
    Ok(Answer::Settled {
        remaining: count - end,
    })
}

pub fn query(query: Query) -> Result<Answer, Error> {
    match query {
        Query::Status => {
            let terms = terms()?;
            Ok(Answer::Status(Status {
                item: terms.item,
                seller: terms.seller,
                reserve: terms.reserve,
                closes_at_ms: terms.closes_at_ms,
                bidders: BIDDER_COUNT.get().unwrap_or(0),
                outcome: CLOSED.get().flatten(),
                settled: SETTLED.get().unwrap_or(0),
                held: env::balance(),
            }))
        }
        Query::BidOf { bidder } => {
            ensure!(
                env::caller() == bidder,
                "only the bidder may read their bid"
            );
            Ok(match BIDS.get(&bidder) {
                Some(sealed) => Answer::Bid {
                    amount: sealed.amount,
                    deposit: sealed.deposit,
                },
                None => Answer::NoBid,
            })
        }
    }
}

phalanx_sdk::contract!(instantiate: instantiate, execute: execute, query: query, events: Event);

#[cfg(test)]
mod tests {
    use super::*;
    use phalanx_sdk::testing::{self, account};

    const SELLER: u8 = 1;
    const CLOSES_AT: u64 = 1_767_225_700_000;

    fn setup() {
        testing::reset();
        testing::execute(account(SELLER), || {
            instantiate(Init {
                item: "a painting".into(),
                reserve: 10,
                closes_at_ms: CLOSES_AT,
            })
        })
        .unwrap();
    }

    fn bid(who: u8, amount: Balance, deposit: Balance) -> Result<Answer, Error> {
        testing::execute_with_value(account(who), deposit, || execute(Command::Bid { amount }))
    }

    fn close_all() -> Vec<u32> {
        testing::set_block(2, CLOSES_AT);
        let mut remaining = Vec::new();
        loop {
            match testing::execute(account(9), || execute(Command::Close)).unwrap() {
                Answer::Settled { remaining: 0 } => return remaining,
                Answer::Settled { remaining: left } => remaining.push(left),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn the_highest_bid_wins_and_every_deposit_comes_back() {
        setup();
        assert!(bid(2, 5, 5).is_err(), "below the reserve");
        assert!(bid(2, 30, 20).is_err(), "not covered");
        assert!(bid(SELLER, 40, 40).is_err(), "the seller");
        assert_eq!(
            bid(2, 30, 40),
            Ok(Answer::Bid {
                amount: 30,
                deposit: 40
            })
        );
        assert_eq!(
            bid(3, 50, 50),
            Ok(Answer::Bid {
                amount: 50,
                deposit: 50
            })
        );
        assert!(bid(2, 20, 0).is_err(), "lower than the earlier bid");
        // A raise adds to the deposit; still below bidder 3.
        assert_eq!(
            bid(2, 45, 10),
            Ok(Answer::Bid {
                amount: 45,
                deposit: 50
            })
        );
        // A failed bid's deposit went back; the rest is held.
        assert_eq!(testing::with_env(|env| env.balance), 100);
        // Each bidder reads only their own bid.
        let bid_of = |who| Query::BidOf {
            bidder: account(who),
        };
        assert!(testing::query(account(3), || query(bid_of(2))).is_err());
        assert_eq!(
            testing::query(account(2), || query(bid_of(2))),
            Ok(Answer::Bid {
                amount: 45,
                deposit: 50
            })
        );
        // Not before the close.
        assert!(testing::execute(account(9), || execute(Command::Close)).is_err());
        close_all();
        let transfers = testing::take_transfers();
        assert_eq!(
            transfers,
            vec![(account(SELLER), 50), (account(2), 50)],
            "the seller is paid, the loser refunded, the winner had nothing over"
        );
        assert_eq!(
            testing::notifications(&account(2)),
            vec![Event::Lost {
                your_bid: 45,
                refund: 50
            }
            .encode()]
        );
        assert_eq!(
            testing::notifications(&account(3)),
            vec![Event::Won {
                price: 50,
                refund: 0
            }
            .encode()]
        );
        // The public event says who won and the price, not the losing bid.
        let public: Vec<_> = testing::take_events()
            .into_iter()
            .filter(|(to, _)| to.is_none())
            .collect();
        assert_eq!(
            public,
            vec![(
                None,
                Event::Closed {
                    item: "a painting".into(),
                    winner: Some(account(3)),
                    price: 50,
                    bidders: 2
                }
                .encode()
            )]
        );
        assert!(bid(4, 60, 60).is_err(), "closed");
        assert!(testing::execute(account(9), || execute(Command::Close)).is_err());
    }

    #[test]
    fn many_bidders_are_settled_in_batches_within_the_vms_limits() {
        setup();
        for who in 10..50u8 {
            bid(who, 10 + Balance::from(who), 100).unwrap();
        }
        // 40 bidders: 15, 15 and 10 settled by three calls.
        assert_eq!(close_all(), vec![25, 10]);
        let transfers = testing::take_transfers();
        assert_eq!(transfers.len(), 41);
        let paid: Balance = transfers.iter().map(|(_, amount)| amount).sum();
        assert_eq!(
            paid,
            40 * 100,
            "every deposit leaves: the price to the seller"
        );
        assert_eq!(transfers[0], (account(SELLER), 10 + 49));
        assert_eq!(testing::with_env(|env| env.balance), 0);
    }

    #[test]
    fn every_bid_is_charged_the_same_gas() {
        setup();
        bid(2, 30, 30).unwrap();
        let first = testing::with_env(|env| env.pad_gas);
        bid(2, 40, 10).unwrap();
        let raise = testing::with_env(|env| env.pad_gas);
        assert!(bid(2, 20, 0).is_err());
        let refused = testing::with_env(|env| env.pad_gas);
        assert_eq!((first, raise, refused), (BID_GAS, BID_GAS, BID_GAS));
        assert!(testing::gas_used() < BID_GAS);
    }

    #[test]
    fn an_auction_nobody_bid_in_closes_with_no_winner() {
        setup();
        close_all();
        assert!(testing::take_transfers().is_empty());
        let status = testing::query(account(9), || query(Query::Status)).unwrap();
        let Answer::Status(status) = status else {
            panic!("{status:?}")
        };
        assert_eq!((status.outcome, status.bidders), (None, 0));
    }
}
