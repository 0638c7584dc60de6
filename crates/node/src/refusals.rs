//! Refused transactions cost the node work (decoding, signature checks, code validation) and the
//! sender nothing, so refusals are budgeted per peer address: each peer has a bucket of
//! [`REFUSAL_BURST`] units that refills at [`REFUSALS_PER_SECOND`]; a refusal takes one unit,
//! refused code one more per 16 KiB (see `admission.rs`). While a peer's bucket is
//! empty its submissions are refused at once (`RateLimited`), unread. Honest clients, whose
//! transactions are rarely refused, never notice.

use crate::transport::Peer;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Refusal units a peer may collect at once.
pub const REFUSAL_BURST: f64 = 200.0;
/// Refusal units a peer is forgiven per second.
pub const REFUSALS_PER_SECOND: f64 = 10.0;
/// Peers tracked at once; beyond it, peers whose buckets are full again are forgotten first.
pub const MAX_TRACKED_PEERS: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refilled(self, now: Instant) -> Bucket {
        let earned = now.saturating_duration_since(self.at).as_secs_f64() * REFUSALS_PER_SECOND;
        Bucket {
            tokens: (self.tokens + earned).min(REFUSAL_BURST),
            at: now,
        }
    }
}

#[derive(Default)]
pub(crate) struct RefusalBudget {
    peers: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RefusalBudget {
    /// `Err(wait)` while `peer` has used up its refusals: how long until one is forgiven.
    pub fn check(&self, peer: Option<Peer>) -> Result<(), Duration> {
        let Some(Peer(ip)) = peer else { return Ok(()) };
        let now = Instant::now();
        let peers = self.peers.lock().unwrap_or_else(|p| p.into_inner());
        match peers.get(&ip).map(|b| b.refilled(now)) {
            Some(bucket) if bucket.tokens < 1.0 => Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / REFUSALS_PER_SECOND,
            )),
            _ => Ok(()),
        }
    }

    /// Takes `refusals` from `peer`'s bucket.
    pub fn charge(&self, peer: Option<Peer>, refusals: usize) {
        let (Some(Peer(ip)), true) = (peer, refusals > 0) else {
            return;
        };
        let now = Instant::now();
        let mut peers = self.peers.lock().unwrap_or_else(|p| p.into_inner());
        if peers.len() >= MAX_TRACKED_PEERS && !peers.contains_key(&ip) {
            peers.retain(|_, b| b.refilled(now).tokens < REFUSAL_BURST);
            if peers.len() >= MAX_TRACKED_PEERS {
                // Everyone is in debt: forget an arbitrary one rather than grow.
                if let Some(victim) = peers.keys().next().copied() {
                    peers.remove(&victim);
                }
            }
        }
        let bucket = peers.entry(ip).or_insert(Bucket {
            tokens: REFUSAL_BURST,
            at: now,
        });
        let mut refilled = bucket.refilled(now);
        refilled.tokens -= refusals as f64;
        *bucket = refilled;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(last: u8) -> Option<Peer> {
        Some(Peer(IpAddr::from([127, 0, 0, last])))
    }

    #[test]
    fn a_peer_that_keeps_being_refused_is_stopped_and_others_are_not() {
        let budget = RefusalBudget::default();
        budget.charge(peer(2), REFUSAL_BURST as usize - 1);
        assert!(budget.check(peer(2)).is_ok());
        budget.charge(peer(2), 5);
        let wait = budget.check(peer(2)).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        budget.charge(peer(2), 1_000);
        assert!(budget.check(peer(2)).unwrap_err() > Duration::from_secs(60));
        assert!(budget.check(peer(3)).is_ok());
        // No address (in-process callers) is never limited.
        budget.charge(None, 10_000);
        assert!(budget.check(None).is_ok());
    }

    #[test]
    fn the_peer_table_stays_bounded() {
        let budget = RefusalBudget::default();
        for i in 0..(MAX_TRACKED_PEERS as u32 + 10) {
            budget.charge(Some(Peer(IpAddr::from(i.to_be_bytes()))), 1);
        }
        assert!(budget.peers.lock().unwrap().len() <= MAX_TRACKED_PEERS);
    }
}
