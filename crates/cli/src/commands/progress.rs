//! The replay progress bar of `phalanx worker`: while the worker is far behind the node (a new
//! worker replaying the chain from genesis, or one back from a long stop), a bar on the terminal
//! shows blocks replayed, blocks and commands per second, and the time left. When the worker has
//! caught up, one log line says how fast the replay went. Nothing is drawn when stderr is not a
//! terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use phalanx_client::NodeClient;
use phalanx_worker::{StatusWatch, WorkerStatus};
use std::time::{Duration, Instant};

/// Behind by more than this many blocks counts as replaying.
const REPLAYING_BEHIND: u64 = 20;
const TICK: Duration = Duration::from_millis(250);

/// One replay, from when the worker was first seen behind.
struct Replay {
    bar: ProgressBar,
    started: Instant,
    first_height: u64,
    first_commands: u64,
}

impl Replay {
    fn start(status: &WorkerStatus, head: u64) -> Self {
        let bar = ProgressBar::with_draw_target(Some(head), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "replaying {bar:40} block {pos}/{len}  {msg}  {elapsed_precise} elapsed, ~{eta} left",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_position(status.synced_height);
        Replay {
            bar,
            started: Instant::now(),
            first_height: status.synced_height,
            first_commands: status.commands_executed,
        }
    }

    /// (blocks/s, commands/s) since the replay started.
    fn rates(&self, status: &WorkerStatus) -> (f64, f64) {
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        (
            status.synced_height.saturating_sub(self.first_height) as f64 / seconds,
            status.commands_executed.saturating_sub(self.first_commands) as f64 / seconds,
        )
    }

    fn update(&self, status: &WorkerStatus, head: u64) {
        let (blocks, commands) = self.rates(status);
        self.bar.set_length(head);
        self.bar.set_position(status.synced_height);
        self.bar
            .set_message(format!("{blocks:.0} blocks/s, {commands:.0} commands/s"));
    }

    fn finish(self, status: &WorkerStatus) {
        let (blocks, commands) = self.rates(status);
        self.bar.finish_and_clear();
        tracing::info!(
            blocks = status.synced_height - self.first_height,
            commands = status.commands_executed - self.first_commands,
            seconds = format!("{:.1}", self.started.elapsed().as_secs_f64()),
            "caught up with the chain: {blocks:.0} blocks/s, {commands:.0} commands/s"
        );
    }
}

/// Watches `worker` against the node at `node_url` until the task is dropped.
pub async fn show_replay_progress(worker: StatusWatch, node_url: &str) {
    let Ok(node) = NodeClient::connect(node_url).await else {
        return;
    };
    let mut replay: Option<Replay> = None;
    loop {
        tokio::time::sleep(TICK).await;
        let Ok(head) = node.head().await.map(|h| h.height) else {
            continue;
        };
        let status = worker.get();
        let behind = head.saturating_sub(status.synced_height);
        replay = match replay {
            None if behind > REPLAYING_BEHIND => Some(Replay::start(&status, head)),
            Some(current) if behind <= 1 => {
                current.finish(&status);
                None
            }
            Some(current) => {
                current.update(&status, head);
                Some(current)
            }
            None => None,
        };
    }
}
