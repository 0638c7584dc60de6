//! Building the state at height 0 from a [`GenesisConfig`], and the built-in dev genesis.

use crate::balances::{self, AccountInfo};
use crate::{events_root, state_root, WriteSet};
use crate::{registry, tokenomics};
use parity_scale_codec::Encode;
use phalanx_crypto::Keypair;
use phalanx_primitives::amount::UNIT;
use phalanx_primitives::attestation::{AttestationPolicy, Measurement};
use phalanx_primitives::economy::EconomyParams;
use phalanx_primitives::{
    Allocation, BlockHeader, Event, EventRecord, FeeSchedule, GenesisConfig, GenesisError, Hash,
    Phase,
};

/// The genesis state and the header of block 0.
#[derive(Clone, Debug)]
pub struct GenesisBlock {
    pub header: BlockHeader,
    pub write_set: WriteSet,
    pub events: Vec<EventRecord>,
}

/// Builds block 0. Its proposer is the first validator; it needs no certificate, since every
/// node derives it from the genesis description it was started with.
pub fn build(config: &GenesisConfig) -> Result<GenesisBlock, GenesisError> {
    let mut write_set = WriteSet::default();
    let mut events = Vec::new();
    write_set.0.insert(
        registry::POLICY_KEY.to_vec(),
        Some(config.attestation.encode()),
    );
    write_set.0.insert(
        tokenomics::PARAMS_KEY.to_vec(),
        Some(config.economy.encode()),
    );
    for (account, amount) in config.balances()? {
        let info = AccountInfo {
            free: amount,
            nonce: 0,
        };
        write_set
            .0
            .insert(balances::account_key(&account), Some(info.encode()));
        events.push(EventRecord {
            phase: Phase::Genesis,
            event: Event::Endowed { account, amount },
        });
    }
    let header = BlockHeader {
        height: 0,
        parent_hash: Hash::ZERO,
        state_root: state_root(&Hash::ZERO, &write_set),
        transactions_root: Hash::ZERO,
        events_root: events_root(&events),
        timestamp_ms: config.timestamp_ms,
        proposer: config.validators[0],
    };
    Ok(GenesisBlock {
        header,
        write_set,
        events,
    })
}

/// Name of the dev validator's well-known key.
pub const DEV_VALIDATOR: &str = "validator";
/// Name of the dev attestation key, whose simulated quotes dev chains accept.
pub const DEV_ATTESTATION_KEY: &str = "dev-attestation";

/// The measurement the dev quote provider reports for Phalanx workers.
pub fn dev_measurement() -> Measurement {
    Measurement::Dev(phalanx_attestation::dev_measurement())
}

/// The built-in dev genesis: the dev validator, `alice`, `bob`, `charlie` funded with one million
/// PHA each, `alice` as sudo, and the dev attestation key trusted. All keys are derivable by
/// anyone: for development only.
pub fn dev_config() -> GenesisConfig {
    let dev = |name: &str| Keypair::dev(name).account_id();
    let grant = |name: &str, pha: u128, purpose: &str| Allocation {
        account: dev(name),
        amount: pha * UNIT,
        purpose: purpose.to_string(),
    };
    GenesisConfig {
        chain_name: "phalanx-dev".into(),
        // 2026-01-01T00:00:00Z
        timestamp_ms: 1_767_225_600_000,
        validators: vec![dev(DEV_VALIDATOR)],
        validator_addresses: vec![],
        fees: FeeSchedule::default(),
        treasury: 100_000_000 * UNIT,
        allocations: vec![
            grant("alice", 1_000_000, "dev account"),
            grant("bob", 1_000_000, "dev account"),
            grant("charlie", 1_000_000, "dev account"),
            grant("private-placement", 57_000_000, "private placement"),
            grant("developer-incentives", 50_000_000, "developer incentives"),
        ],
        // Simulated quotes from the dev attestation key, and real DCAP quotes too.
        attestation: AttestationPolicy::dev(dev(DEV_ATTESTATION_KEY), vec![dev_measurement()]),
        sudo: Some(dev("alice")),
        economy: EconomyParams::dev(),
        allow_debug_output: true,
        blocks_per_epoch: None,
        contract_engine: phalanx_primitives::genesis::CONTRACT_ENGINE.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phalanx_primitives::amount::TOTAL_SUPPLY;

    #[test]
    fn dev_genesis_is_valid_and_stable() {
        let config = dev_config();
        config.validate().unwrap();
        let built = build(&config).unwrap();
        let total: u128 = built
            .events
            .iter()
            .map(|r| match r.event {
                Event::Endowed { amount, .. } => amount,
                _ => 0,
            })
            .sum();
        assert_eq!(total, TOTAL_SUPPLY);
        assert_eq!(build(&config).unwrap().header, built.header);
    }
}
