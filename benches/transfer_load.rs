//! Load generator: signed PHA transfers per second accepted and finalised by a real node process.
//!
//! Run: `cargo bench --bench transfer_load` (knobs: PHALANX_LOAD_TXS, PHALANX_LOAD_SENDERS,
//! PHALANX_LOAD_CLIENTS, PHALANX_LOAD_BLOCK_TIME). The node runs as its own process on a fresh
//! data directory; this generator funds sender accounts, pre-signs every transfer (signing is the
//! client's cost, not the node's), then submits them in batches over several HTTP connections and
//! waits until the last one is final (see `phalanx_testkit::measure::plain_transfers`). Each
//! client owns its own senders so nonces arrive in order.

use phalanx_testkit::knob;
use phalanx_testkit::measure::plain_transfers;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let total = knob("PHALANX_LOAD_TXS", 60_000);
    let senders = knob("PHALANX_LOAD_SENDERS", 64);
    let clients = knob("PHALANX_LOAD_CLIENTS", 4).min(senders).max(1);
    let block_time = std::env::var("PHALANX_LOAD_BLOCK_TIME").unwrap_or_else(|_| "1s".into());
    let figures = plain_transfers(total, senders, clients, &block_time).await;
    let accepted = figures.submitted - figures.rejected;
    println!(
        "transfer_load: {} signed transfers from {senders} senders over {clients} connections, block time {block_time}",
        figures.submitted
    );
    println!(
        "  accepted  {accepted} = {:.0} tx/s ({} rejected)",
        figures.accepted_per_s, figures.rejected
    );
    println!(
        "  finalized {accepted} in {:.2}s = {:.0} tx/s (blocks {}..={})",
        figures.final_after.as_secs_f64(),
        figures.finalized_per_s,
        figures.blocks.0,
        figures.blocks.1
    );
    assert_eq!(
        figures.rejected, 0,
        "the generator sends only valid transfers"
    );
}
