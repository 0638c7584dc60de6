//! Load generator: signed PHA transfers per second accepted and finalised by a real node process.
//!
//! Run: `cargo bench --bench transfer_load` (knobs: PHALANX_LOAD_TXS, PHALANX_LOAD_SENDERS,
//! PHALANX_LOAD_CLIENTS, PHALANX_LOAD_BLOCK_TIME). The node runs as its own process on a fresh
//! data directory; this generator funds sender accounts, pre-signs every transfer (signing is the
//! client's cost, not the node's), then submits them in batches over several HTTP connections and
//! waits until the last one is final. Each client owns its own senders so nonces arrive in order.

use phalanx_client::NodeClient;
use phalanx_testkit::knob;
use phalanx_testkit::load::{funded_senders, presigned_transfers, submit_and_wait, LoadOutcome};
use phalanx_testkit::NodeProcess;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let total = knob("PHALANX_LOAD_TXS", 60_000);
    let senders_count = knob("PHALANX_LOAD_SENDERS", 64);
    let clients = knob("PHALANX_LOAD_CLIENTS", 4).min(senders_count).max(1);
    let block_time = std::env::var("PHALANX_LOAD_BLOCK_TIME").unwrap_or_else(|_| "1s".into());
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(dir.path(), &block_time);
    let client = NodeClient::connect(&node.url).await.unwrap();

    let senders = funded_senders(&client, "load", senders_count).await;
    let work = presigned_transfers(&client, &senders, total, clients);
    let first_height = client.head().await.unwrap().height;
    let LoadOutcome {
        submitted,
        rejected,
        accepted_after,
        final_after,
    } = submit_and_wait(std::slice::from_ref(&node.url), work).await;
    let last_height = client.head().await.unwrap().height;

    let accepted = submitted - rejected;
    println!("transfer_load: {submitted} signed transfers from {senders_count} senders over {clients} connections, block time {block_time}");
    println!(
        "  accepted  {accepted} in {:.2}s = {:.0} tx/s ({rejected} rejected)",
        accepted_after.as_secs_f64(),
        accepted as f64 / accepted_after.as_secs_f64()
    );
    println!(
        "  finalized {accepted} in {:.2}s = {:.0} tx/s (blocks {}..={})",
        final_after.as_secs_f64(),
        accepted as f64 / final_after.as_secs_f64(),
        first_height + 1,
        last_height
    );
    assert_eq!(rejected, 0, "the generator sends only valid transfers");
}
