//! Replay rate: how fast a worker rebuilds every contract's state from the chain alone.
//!
//! Run: `cargo bench --bench replay` (knobs: PHALANX_REPLAY_COMMANDS, default 20,000). A node, a
//! gatekeeper and one worker run as processes; `private_token` gets that many confidential
//! transfers. Then the worker is stopped, its store and checkpoints are deleted (its sealed
//! identity stays, so the chain's key messages still open for it), and it is started again: it
//! replays every block from genesis — verifying each, receiving its cluster key where the chain
//! delivered it, decrypting and executing every command, committing sealed state per block —
//! until it reaches the head (see `phalanx_testkit::measure::replay`). Reported: blocks/s and
//! commands/s of that replay.

use phalanx_testkit::knob;
use phalanx_testkit::measure::replay;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let commands = knob("PHALANX_REPLAY_COMMANDS", 20_000);
    let f = replay(commands).await;
    println!("replay: {} blocks holding {commands} private_token transfers, replayed from genesis by a fresh worker store", f.blocks);
    println!(
        "  {:.2}s = {:.0} blocks/s, {:.0} commands/s (from process start to the head)",
        f.seconds,
        f.blocks as f64 / f.seconds,
        f.per_s
    );
    if let Some(steady) = f.steady_per_s {
        println!("  {steady:.0} commands/s once replaying (after the first command was seen)");
    }
}
