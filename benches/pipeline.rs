//! The whole confidential pipeline in one sitting: plain transfers finalized per second,
//! confidential transfers end to end with query latency while they flow, a fresh worker's
//! replay, and a `private_token` transfer in the VM against natively, one after the other on
//! this machine, with the ratios that matter (figures of one run; this machine's absolute
//! figures move up to 2x from day to day, ratios measured together hold).
//!
//! Run: `cargo bench --bench pipeline` (knobs: PHALANX_PIPE_PLAIN, default 60,000 transfers;
//! PHALANX_PIPE_COMMANDS, default 20,000 confidential transfers, for the end-to-end and the
//! replay parts; PHALANX_PIPE_BLOCK_TIME, default 500ms; PHALANX_PIPE_VM_CALLS, default 2,000
//! calls per timing round). Aims (issue 19): confidential end to end at least half the plain
//! rate, replay at least twice end to end, the VM within 10x of native.

use phalanx_testkit::knob;
use phalanx_testkit::measure::{
    confidential_transfers, plain_transfers, replay, vm_against_native,
};

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let plain_count = knob("PHALANX_PIPE_PLAIN", 60_000);
    let commands = knob("PHALANX_PIPE_COMMANDS", 20_000);
    let vm_calls = knob("PHALANX_PIPE_VM_CALLS", 2_000);
    let block_time = std::env::var("PHALANX_PIPE_BLOCK_TIME").unwrap_or_else(|_| "500ms".into());

    let plain = plain_transfers(plain_count, 64, 4, &block_time).await;
    assert_eq!(
        plain.rejected, 0,
        "the generator sends only valid transfers"
    );
    let confidential = confidential_transfers(commands, 1_000, &block_time).await;
    let replayed = replay(commands).await;
    let vm = tokio::task::spawn_blocking(move || vm_against_native(vm_calls))
        .await
        .unwrap();

    println!("pipeline: one run, {block_time} blocks, 2 workers for the confidential part");
    println!(
        "  plain transfers finalized      {:>9.0} /s   ({plain_count} pre-signed, 64 senders, 4 connections)",
        plain.finalized_per_s
    );
    println!(
        "  confidential end to end        {:>9.0} /s   ({commands} private_token transfers, sealed by the client, run by both workers)",
        confidential.end_to_end_per_s
    );
    println!(
        "  replay by a fresh worker       {:>9.0} /s   ({} commands from genesis{})",
        replayed.per_s,
        replayed.commands,
        replayed
            .steady_per_s
            .map(|s| format!("; {s:.0}/s once replaying"))
            .unwrap_or_default()
    );
    println!(
        "  query while commands flow      median {:.2} ms, p99 {:.2} ms ({} queries, {} refused as stale); idle median {:.2} ms, p99 {:.2} ms",
        ms(confidential.under_load(0.5)),
        ms(confidential.under_load(0.99)),
        confidential.queries_under_load.len(),
        confidential.stale_answers,
        ms(confidential.idle(0.5)),
        ms(confidential.idle(0.99))
    );
    println!(
        "  private_token transfer         VM {:.1} us (kept instance; {:.1} us on a fresh one), native {:.2} us, {} gas",
        us(vm.kept_instance),
        us(vm.fresh_instance),
        us(vm.native),
        vm.gas
    );
    let ratio = |a: f64, b: f64| a / b;
    println!("  ratios:");
    println!(
        "    confidential end to end / plain finalized  {:.2}   (aim >= 0.5)",
        ratio(confidential.end_to_end_per_s, plain.finalized_per_s)
    );
    println!(
        "    replay / confidential end to end           {:.2}   (aim >= 2)",
        ratio(replayed.per_s, confidential.end_to_end_per_s)
    );
    println!(
        "    VM / native                                {:.1}x  (aim <= 10x; {:.1}x on a fresh instance)",
        ratio(us(vm.kept_instance), us(vm.native)),
        ratio(us(vm.fresh_instance), us(vm.native))
    );
}
