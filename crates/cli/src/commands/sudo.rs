//! `phalanx sudo …`: the dev chain's sudo calls (clusters, deregistration, key rotation).

use super::confidential::submit_and_wait;
use super::Context;
use crate::args::SudoCommand;
use crate::output::emit;
use anyhow::{Context as _, Result};
use phalanx_primitives::{Call, Hash, SudoCall};

fn cluster_id(text: &str) -> Result<Hash> {
    text.parse()
        .with_context(|| format!("`{text}` is not a 32-byte hex cluster id"))
}

pub async fn run(ctx: &Context, from: &str, command: SudoCommand) -> Result<()> {
    let signer = ctx.keystore.keypair(from, &ctx.passphrase)?;
    let account = |text: &str| ctx.keystore.resolve_account(text);
    let (call, what) = match command {
        SudoCommand::CreateCluster { cluster, workers } => {
            let workers = workers
                .iter()
                .map(|w| account(w))
                .collect::<Result<Vec<_>>>()?;
            let cluster = cluster_id(&cluster)?;
            let text = format!("cluster {cluster} created with {} workers", workers.len());
            (SudoCall::CreateCluster { cluster, workers }, text)
        }
        SudoCommand::AddToCluster { cluster, worker } => {
            let (cluster, worker) = (cluster_id(&cluster)?, account(&worker)?);
            let text = format!("worker {worker} added to cluster {cluster}");
            (SudoCall::AddToCluster { cluster, worker }, text)
        }
        SudoCommand::RemoveWorker { worker } => {
            let worker = account(&worker)?;
            let text = format!("worker {worker} deregistered; rotate the master key next");
            (SudoCall::RemoveWorker { worker }, text)
        }
        SudoCommand::RotateMasterKey => (
            SudoCall::RotateMasterKey,
            "key rotation started; gatekeepers publish the new epoch's keys".to_string(),
        ),
    };
    let node = super::chain::connect(ctx).await?;
    let (hash, height) = submit_and_wait(&node, &signer, Call::Sudo(call)).await?;
    let value = serde_json::json!({ "hash": hash, "height": height, "done": what });
    emit(ctx.json, &value, || format!("{what} (block {height})"))
}
