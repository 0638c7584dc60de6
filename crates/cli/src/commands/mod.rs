//! One module per group of commands.

mod chain;
mod confidential;
mod contract;
mod devnet;
mod economy;
mod encode;
mod key;
mod messages;
mod node;
mod permits;
mod progress;
mod scaffold;
mod status;
mod sudo;
mod validators;

use crate::args::{Cli, Command, ContractCommand, PermitCommand, WorkerCommand, WorkerCommandArgs};
use crate::keystore::{Keystore, PassphraseSource};
use anyhow::Result;
pub use contract::Toolchain;
pub use messages::{MessageArgs, MessageKindArg};
use phalanx_primitives::attestation::Role;

/// What every command may need from the global options.
pub struct Context {
    pub json: bool,
    pub rpc: String,
    pub keystore: Keystore,
    pub passphrase: PassphraseSource,
}

pub async fn run(cli: Cli) -> Result<()> {
    let ctx = Context {
        json: cli.json,
        rpc: cli.rpc,
        keystore: Keystore::open(cli.keystore)?,
        passphrase: PassphraseSource {
            file: cli.password_file,
        },
    };
    match cli.command {
        Command::Node(args) => node::run_node(&ctx, args).await,
        Command::Devnet(args) => devnet::run_devnet(&ctx, args).await,
        Command::Worker(WorkerCommandArgs {
            command: Some(WorkerCommand::Status { worker }),
            ..
        }) => status::worker_status(&ctx, &worker).await,
        Command::Worker(WorkerCommandArgs {
            command: Some(WorkerCommand::List),
            ..
        }) => economy::worker_list(&ctx).await,
        Command::Pool(command) => economy::pool(&ctx, command).await,
        Command::Rewards => economy::rewards(&ctx).await,
        Command::Propose { from, call } => economy::propose(&ctx, &from, call).await,
        Command::Vote {
            proposal,
            from,
            nay,
            amount,
            ..
        } => economy::vote(&ctx, proposal, &from, nay, &amount).await,
        Command::Proposals => economy::proposals(&ctx).await,
        Command::Permit(PermitCommand::Sign {
            contract,
            from,
            grantee,
            scopes,
            expires_in,
        }) => permits::sign_permit(&ctx, &contract, &from, &grantee, scopes, expires_in).await,
        Command::Permit(PermitCommand::Revoke { file, from }) => {
            permits::revoke_permit(&ctx, &file, &from).await
        }
        Command::Worker(WorkerCommandArgs { run, .. }) => {
            node::run_worker(&ctx, run, Role::Worker).await
        }
        Command::Gatekeeper(args) => node::run_worker(&ctx, args, Role::Gatekeeper).await,
        Command::VerifyChain { data_dir } => node::verify_chain(&ctx, &data_dir),
        Command::Key(command) => key::run(&ctx, command),
        Command::Balance { account } => chain::balance(&ctx, &account).await,
        Command::Transfer { from, to, amount } => chain::transfer(&ctx, &from, &to, &amount).await,
        Command::Block { height } => chain::block(&ctx, height).await,
        Command::Sudo { from, call } => sudo::run(&ctx, &from, call).await,
        Command::Head => chain::head(&ctx).await,
        Command::Info => chain::info(&ctx).await,
        Command::Validators => chain::validators(&ctx).await,
        Command::Events { height } => chain::events(&ctx, height).await,
        Command::Contract(ContractCommand::Command {
            contract,
            from,
            message,
            gas,
            value,
            worker,
        }) => {
            let value = phalanx_primitives::amount::parse_pha(&value)?;
            let worker = worker.as_deref();
            confidential::command(&ctx, &contract, &from, &message, gas, value, worker).await
        }
        Command::Contract(ContractCommand::Events {
            contract,
            from,
            since,
            follow,
            worker,
            metadata,
        }) => {
            let (worker, metadata) = (worker.as_deref(), metadata.as_deref());
            confidential::events(&ctx, &contract, &from, since, follow, worker, metadata).await
        }
        Command::Contract(ContractCommand::Query(query)) => {
            confidential::query(&ctx, &query, None).await
        }
        Command::Contract(ContractCommand::History { at, query }) => {
            confidential::query(&ctx, &query, Some(at)).await
        }
        Command::Contract(ContractCommand::Upload {
            path,
            from,
            metadata,
            no_metadata,
        }) => confidential::upload(&ctx, &path, &from, metadata.as_deref(), no_metadata).await,
        Command::Contract(ContractCommand::Instantiate {
            code_hash,
            cluster,
            from,
            message,
            salt,
            gas,
            worker,
        }) => {
            let request = confidential::InstantiateRequest {
                code_hash: &code_hash,
                cluster: &cluster,
                from: &from,
                init: &message,
                salt: &salt,
                gas,
                worker: worker.as_deref(),
            };
            confidential::instantiate(&ctx, request).await
        }
        Command::Contract(ContractCommand::Show { contract }) => {
            confidential::show(&ctx, &contract).await
        }
        Command::Contract(ContractCommand::Encode {
            contract,
            message,
            json_msg,
            metadata,
            kind,
        }) => {
            let request = encode::EncodeRequest {
                contract: contract.as_deref(),
                words: &message,
                json_msg: json_msg.as_deref(),
                metadata: metadata.as_deref(),
                kind: kind.into(),
            };
            encode::encode(&ctx, request).await
        }
        Command::Contract(ContractCommand::New {
            name,
            dir,
            sdk_path,
            sdk_version,
        }) => scaffold::new_contract(
            &ctx,
            scaffold::NewRequest {
                name,
                dir,
                sdk_path,
                sdk_version,
            },
        ),
        Command::Contract(ContractCommand::Build {
            path,
            out,
            target_dir,
            toolchain,
        }) => contract::build(
            &ctx,
            contract::BuildRequest {
                path,
                out,
                target_dir,
                toolchain,
            },
        ),
    }
}
