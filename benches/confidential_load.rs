//! Load generator for confidential execution, end to end on a real devnet process (node,
//! gatekeeper and two workers on loopback): `private_token` transfers per second from the client
//! sealing each command to the contract's key, through the chain, to both workers having executed
//! it and its receipt being readable; encrypted, signed queries to one worker while the commands
//! flow and after (see `phalanx_testkit::measure::confidential_transfers`).
//!
//! Run: `cargo bench --bench confidential_load` (knobs: PHALANX_CONF_COMMANDS, default 20,000;
//! PHALANX_CONF_QUERIES, default 2,000; PHALANX_CONF_BLOCK_TIME, default 500ms).

use phalanx_testkit::knob;
use phalanx_testkit::measure::confidential_transfers;

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let commands = knob("PHALANX_CONF_COMMANDS", 20_000);
    let queries = knob("PHALANX_CONF_QUERIES", 2_000);
    let block_time =
        std::env::var("PHALANX_CONF_BLOCK_TIME").unwrap_or_else(|_| "500ms".to_string());
    let f = confidential_transfers(commands, queries, &block_time).await;
    println!(
        "confidential_load: {commands} private_token transfers, block time {block_time}, 2 workers"
    );
    println!("  sealed + signed by the client at {:.0}/s", f.sealed_per_s);
    println!(
        "  accepted by the node after {:.2}s, final after {:.2}s (block {})",
        f.accepted_after.as_secs_f64(),
        f.final_after.as_secs_f64(),
        f.last_height
    );
    println!(
        "  executed by both workers, last receipt read, after {:.2}s = {:.0} transfers/s end to end",
        f.executed_after.as_secs_f64(),
        f.end_to_end_per_s
    );
    println!(
        "  {} encrypted balance queries while they flowed, one at a time: median {:.2} ms, p99 {:.2} ms ({} answers refused as stale)",
        f.queries_under_load.len(),
        ms(f.under_load(0.5)),
        ms(f.under_load(0.99)),
        f.stale_answers
    );
    println!(
        "  {queries} encrypted balance queries after, one at a time: median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(f.idle(0.5)),
        ms(f.idle(0.99)),
        ms(f.idle(1.0))
    );
}
