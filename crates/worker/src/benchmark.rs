//! The performance test a worker runs in its enclave at start: its score P is reported on chain in
//! heartbeats and weighs in the worker's V and share of rewards (see `phalanx_runtime::tokenomics`).
//!
//! P = SHA-256 digests of 1 KiB per millisecond, measured over [`DURATION`]: a CPU-bound load
//! like the contract work a worker does, independent of disk and network. (An enclave reports what
//! it measured; the attestation is what makes the number believable.)

use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// How long the test runs.
pub const DURATION: Duration = Duration::from_millis(200);

/// Runs the test; takes [`DURATION`] of one core.
pub fn run() -> u32 {
    let mut block = [0u8; 1024];
    let started = Instant::now();
    let mut digests: u64 = 0;
    while started.elapsed() < DURATION {
        for _ in 0..64 {
            let digest = Sha256::digest(block);
            block[..32].copy_from_slice(&digest);
            digests += 1;
        }
    }
    let per_ms = digests as u128 * 1_000 / started.elapsed().as_micros().max(1);
    // A machine faster than the chain's ceiling reports the ceiling (the chain refuses more).
    u32::try_from(per_ms)
        .unwrap_or(u32::MAX)
        .clamp(1, phalanx_runtime::staking::MAX_PERFORMANCE_SCORE)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_score_is_positive() {
        assert!(super::run() > 0);
    }
}
