//! Parallel execution: a worker's executor replays blocks of confidential `private_token`
//! transfers to several contracts, each contract's commands in order on one kept instance, the
//! contracts on one thread and then on every core, in one run (alternating). Everything in
//! memory (no store, no sockets): the executor's own scaling, decryption and VM included.
//!
//! Run: `cargo bench --bench parallel_contracts` (knobs: PHALANX_PAR_CONTRACTS, default 4;
//! PHALANX_PAR_BLOCKS, default 20; PHALANX_PAR_PER_CONTRACT, commands per contract and block,
//! default 60).

use phalanx_executor::MemoryContractStates;
use phalanx_primitives::AccountId;
use phalanx_testkit::{knob, TokenCluster};
use std::time::{Duration, Instant};

fn replay(setup: &TokenCluster, threads: usize) -> (Duration, MemoryContractStates) {
    let mut executor = setup.executor();
    executor.set_threads(threads);
    let mut states = MemoryContractStates::default();
    let views = setup.chain.views();
    let start = Instant::now();
    for ((block, events), view) in setup.chain.blocks.iter().zip(views) {
        executor
            .apply_block(block, events, &view, &mut states)
            .expect("the block applies");
    }
    (start.elapsed(), states)
}

fn main() {
    let contracts = knob("PHALANX_PAR_CONTRACTS", 4);
    let blocks = knob("PHALANX_PAR_BLOCKS", 20);
    let per_contract = knob("PHALANX_PAR_PER_CONTRACT", 60);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut setup = TokenCluster::new(contracts, u128::MAX / 2);
    for _ in 0..blocks {
        let calls = (0..per_contract)
            .flat_map(|n| (0..contracts).map(move |i| (i, n)))
            .map(|(i, n)| setup.transfer(i, AccountId::from_bytes([n as u8; 32]), 1))
            .collect();
        setup.block(calls);
    }
    let commands = contracts * blocks * per_contract;
    println!(
        "parallel_contracts: {commands} transfers to {contracts} contracts in {blocks} blocks, replayed by one executor"
    );
    let mut rates = [Vec::new(), Vec::new()];
    let mut reference = None;
    for _ in 0..2 {
        for (slot, threads) in [1, cores].into_iter().enumerate() {
            let (took, states) = replay(&setup, threads);
            // The same state whatever the threads.
            match &reference {
                None => reference = Some(states),
                Some(first) => assert_eq!(first, &states, "the state depends on the threads"),
            }
            let rate = commands as f64 / took.as_secs_f64();
            println!("  {threads} thread(s): {took:.2?} = {rate:.0} commands/s");
            rates[slot].push(rate);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "  mean: 1 thread {:.0}/s, {cores} threads {:.0}/s, ratio {:.2}",
        mean(&rates[0]),
        mean(&rates[1]),
        mean(&rates[1]) / mean(&rates[0])
    );
}
