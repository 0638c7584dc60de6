//! `cli`: the `phalanx` command line — run a node or a whole devnet, manage keys, send PHA and
//! read the chain. It turns user input into calls on `phalanx-node` and `phalanx-client`.
//!
//! It never implements ledger rules or talks RPC by hand: the node and the typed client do that.
//! Key files are only ever written encrypted; dev keys (alice, bob, charlie) need no file.
#![forbid(unsafe_code)]

mod args;
mod commands;
mod keystore;
mod output;

use clap::Parser;
use std::process::ExitCode;

/// Runs the `phalanx` command line on this process's arguments.
pub fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let json = cli.json;
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            output::print_error(json, &error);
            ExitCode::FAILURE
        }
    }
}
