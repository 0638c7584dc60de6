//! What one client may make a worker do with queries.
//!
//! Queries run the contract's VM (live queries) or replay history from a checkpoint (queries
//! as of an earlier block): CPU, memory and node round trips spent for whoever asks. They run on
//! blocking threads, never on the async ones that follow the chain and send heartbeats; at most
//! [`MAX_CONCURRENT_QUERIES`] at once, of which at most [`MAX_CONCURRENT_HISTORY_QUERIES`] replay
//! history; each account may start [`HISTORY_QUERY_BURST`] history queries at once and
//! [`HISTORY_QUERIES_PER_MINUTE`] a minute after that.
//! A query over a limit is refused at once with a reason (retry later); none waits in a queue.

use phalanx_primitives::AccountId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Queries being answered at once.
pub const MAX_CONCURRENT_QUERIES: usize = 8;
/// History replays at once (each may replay up to `MAX_HISTORY_REPLAY` blocks).
pub const MAX_CONCURRENT_HISTORY_QUERIES: usize = 1;
/// History queries one account may start in a row...
pub const HISTORY_QUERY_BURST: f64 = 16.0;
/// ...and per minute after that.
pub const HISTORY_QUERIES_PER_MINUTE: f64 = 12.0;
/// Accounts whose history rate is tracked; beyond it the longest idle is forgotten.
pub const MAX_TRACKED_ACCOUNTS: usize = 10_000;

/// Why a query was not started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryLimitError {
    #[error("this worker is answering {0} queries already; retry shortly")]
    Busy(usize),
    #[error("this worker is replaying history for another query; retry shortly")]
    HistoryBusy,
    #[error("{origin} started too many history queries lately ({HISTORY_QUERIES_PER_MINUTE} a minute); retry in {} s", .retry_in.as_secs().max(1))]
    HistoryRate {
        origin: AccountId,
        retry_in: Duration,
    },
}

pub(crate) struct QueryLimits {
    any: Arc<Semaphore>,
    history: Arc<Semaphore>,
    /// Per account: history queries it may still start, as of when.
    allowance: Mutex<HashMap<AccountId, (f64, Instant)>>,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            any: Arc::new(Semaphore::new(MAX_CONCURRENT_QUERIES)),
            history: Arc::new(Semaphore::new(MAX_CONCURRENT_HISTORY_QUERIES)),
            allowance: Mutex::new(HashMap::new()),
        }
    }
}

impl QueryLimits {
    /// A slot for one query, held until the answer is sealed.
    pub fn query(&self) -> Result<OwnedSemaphorePermit, QueryLimitError> {
        self.any
            .clone()
            .try_acquire_owned()
            .map_err(|_| QueryLimitError::Busy(MAX_CONCURRENT_QUERIES))
    }

    /// A history slot for `origin` (whose signature was checked), counted against its rate.
    pub fn history(&self, origin: AccountId) -> Result<OwnedSemaphorePermit, QueryLimitError> {
        let now = Instant::now();
        let refill = |(left, at): (f64, Instant)| {
            let earned = now.duration_since(at).as_secs_f64() * HISTORY_QUERIES_PER_MINUTE / 60.0;
            ((left + earned).min(HISTORY_QUERY_BURST), now)
        };
        {
            let mut allowance = self.allowance.lock().unwrap_or_else(|p| p.into_inner());
            if allowance.len() >= MAX_TRACKED_ACCOUNTS && !allowance.contains_key(&origin) {
                // Forget those whose allowance is whole again: they lose nothing.
                allowance.retain(|_, entry| refill(*entry).0 < HISTORY_QUERY_BURST);
                if allowance.len() >= MAX_TRACKED_ACCOUNTS {
                    return Err(QueryLimitError::HistoryBusy);
                }
            }
            let entry = allowance
                .entry(origin)
                .or_insert((HISTORY_QUERY_BURST, now));
            let (left, at) = refill(*entry);
            if left < 1.0 {
                return Err(QueryLimitError::HistoryRate {
                    origin,
                    retry_in: Duration::from_secs_f64(
                        (1.0 - left) * 60.0 / HISTORY_QUERIES_PER_MINUTE,
                    ),
                });
            }
            *entry = (left - 1.0, at);
        }
        self.history
            .clone()
            .try_acquire_owned()
            .map_err(|_| QueryLimitError::HistoryBusy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_and_given_back() {
        let limits = QueryLimits::default();
        let held: Vec<_> = (0..MAX_CONCURRENT_QUERIES)
            .map(|_| limits.query().unwrap())
            .collect();
        assert_eq!(
            limits.query().unwrap_err(),
            QueryLimitError::Busy(MAX_CONCURRENT_QUERIES)
        );
        drop(held);
        assert!(limits.query().is_ok());
    }

    #[test]
    fn one_account_cannot_replay_history_without_end() {
        let limits = QueryLimits::default();
        let alice = AccountId::from_bytes([1; 32]);
        for _ in 0..HISTORY_QUERY_BURST as usize {
            drop(limits.history(alice).unwrap());
        }
        assert!(matches!(
            limits.history(alice),
            Err(QueryLimitError::HistoryRate { .. })
        ));
        // Another account is not held back by alice's rate, only by the replay in progress.
        let bob = AccountId::from_bytes([2; 32]);
        let replaying = limits.history(bob).unwrap();
        assert_eq!(
            limits.history(AccountId::from_bytes([3; 32])).unwrap_err(),
            QueryLimitError::HistoryBusy
        );
        drop(replaying);
    }
}
