//! Staying in touch with the node: an enclave process never gives up on it.
//!
//! The node is the operator's, and may be restarting, flooded or lying; none of that is the
//! enclave's failure. Every failed or refused answer is logged, recorded in the status that
//! `worker status` prints, and asked again after a backoff that doubles from [`RETRY_INITIAL`]
//! to [`RETRY_MAX`] and starts again from the bottom once an answer is accepted.

use crate::follower::FollowError;
use crate::process::{now_ms, WorkerStatus};
use phalanx_client::{ClientError, NodeClient};
use std::sync::Mutex;
use std::time::Duration;

/// First wait after a failure.
pub const RETRY_INITIAL: Duration = Duration::from_millis(250);
/// Longest wait between two tries.
pub const RETRY_MAX: Duration = Duration::from_secs(5);

/// The wait before the next try.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            next: RETRY_INITIAL,
        }
    }
}

impl Backoff {
    /// The wait for this try; the next one will be twice as long, up to [`RETRY_MAX`].
    pub fn step(&mut self) -> Duration {
        let now = self.next;
        self.next = (self.next * 2).min(RETRY_MAX);
        now
    }

    pub fn reset(&mut self) {
        self.next = RETRY_INITIAL;
    }
}

/// Why the last answer was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setback {
    /// The node did not answer at all (down, restarting, refusing connections).
    Unreachable(String),
    /// The node answered, with something the enclave refused (or an error of its own).
    Refused(String),
}

impl Setback {
    pub fn of_follow(error: &FollowError) -> Self {
        match error {
            FollowError::Node(client) => Setback::of_client(client),
            other => Setback::Refused(other.to_string()),
        }
    }

    pub fn of_client(error: &ClientError) -> Self {
        match error {
            ClientError::Transport(message) => Setback::Unreachable(message.clone()),
            other => Setback::Refused(other.to_string()),
        }
    }
}

/// Records and logs `setback` in `status`, then waits out the backoff.
pub async fn wait_after(status: &Mutex<WorkerStatus>, backoff: &mut Backoff, setback: Setback) {
    let wait = backoff.step();
    {
        let mut status = status.lock().unwrap_or_else(|p| p.into_inner());
        match setback {
            Setback::Unreachable(error) => {
                let since = *status.node_unreachable_since_ms.get_or_insert_with(now_ms);
                tracing::warn!(
                    since_ms = since,
                    retry_in = ?wait,
                    "node unreachable: {error}; keeping this enclave's state and trying again"
                );
                status.node_error = Some(error);
            }
            Setback::Refused(error) => {
                tracing::warn!(
                    retry_in = ?wait,
                    "{error}; keeping this enclave's state and asking again"
                );
                status.node_unreachable_since_ms = None;
                status.refused = Some(error);
            }
        }
    }
    tokio::time::sleep(wait).await;
}

/// Marks the node as answering (it had nothing new, or something the enclave took).
pub fn reachable(status: &mut WorkerStatus, backoff: &mut Backoff) {
    if status.node_unreachable_since_ms.take().is_some() {
        tracing::info!("the node answers again");
    }
    status.node_error = None;
    backoff.reset();
}

/// Marks the node as serving blocks the enclave accepts.
pub fn recovered(status: &mut WorkerStatus, backoff: &mut Backoff) {
    reachable(status, backoff);
    status.refused = None;
}

/// Connects to the node at `url`, waiting for it as long as it takes: a node restarting under
/// its workers, or started after them, is not a reason to stop.
pub async fn connect_patiently(url: &str) -> Result<NodeClient, ClientError> {
    let mut backoff = Backoff::default();
    let mut since: Option<std::time::Instant> = None;
    loop {
        match NodeClient::connect(url).await {
            Ok(client) => return Ok(client),
            Err(ClientError::Transport(error)) => {
                let waited = since.get_or_insert_with(std::time::Instant::now).elapsed();
                let wait = backoff.step();
                tracing::warn!(
                    waited = ?waited,
                    retry_in = ?wait,
                    "waiting for the node: {error}"
                );
                tokio::time::sleep(wait).await;
            }
            Err(other) => return Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_and_starts_again_after_a_reset() {
        let mut backoff = Backoff::default();
        let waits: Vec<Duration> = (0..8).map(|_| backoff.step()).collect();
        assert_eq!(waits[0], RETRY_INITIAL);
        assert_eq!(waits[1], RETRY_INITIAL * 2);
        assert!(waits.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*waits.last().unwrap(), RETRY_MAX);
        backoff.reset();
        assert_eq!(backoff.step(), RETRY_INITIAL);
    }

    #[test]
    fn only_a_missing_answer_counts_as_unreachable() {
        assert!(matches!(
            Setback::of_client(&ClientError::Transport("connection refused".into())),
            Setback::Unreachable(_)
        ));
        assert!(matches!(
            Setback::of_client(&ClientError::InvalidBlock("bad".into())),
            Setback::Refused(_)
        ));
    }
}
