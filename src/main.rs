//! The `phalanx` binary: node, worker, devnet and the user's command line, all in one executable.
//! Everything lives in `phalanx-cli`; this file only hands over the process.
fn main() -> std::process::ExitCode {
    phalanx_cli::main()
}
