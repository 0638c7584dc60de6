//! The end-to-end tests: real `phalanx` processes on loopback, as a user runs them. One test
//! binary with a module per subject (one link instead of thirteen); the harnesses are in
//! `phalanx-testkit`. Run one subject with `cargo test --test e2e under_attack::`.

mod cli;
mod confidential_devnet;
mod confidential_queries;
mod contract_artifacts;
mod crash_recovery;
mod economy;
mod egress;
mod gas_padding;
mod history;
mod key_rotation;
mod lying_node;
mod notifications;
mod permits;
mod sealed_auction;
mod under_attack;
mod validator_set;
mod validators;
mod worker_process;
mod worker_recovery;
