//! Privileged calls: `phalanx sudo …` sends one as a dev chain's sudo account; `phalanx propose …`
//! puts the same call to a governance vote. Both build it here.

use super::Context;
use crate::args::SudoCommand;
use anyhow::{anyhow, Context as _, Result};
use phalanx_client::views::describe_sudo_call;
use phalanx_primitives::amount::parse_pha;
use phalanx_primitives::attestation::Measurement;
use phalanx_primitives::economy::Parameter;
use phalanx_primitives::{Call, Hash, SudoCall, Validator};

fn cluster_id(text: &str) -> Result<Hash> {
    text.parse()
        .with_context(|| format!("`{text}` is not a 32-byte hex cluster id"))
}

fn measurement(text: &str) -> Result<Measurement> {
    text.parse()
        .map_err(|e| anyhow!("{e} (expected sgx:HEX, tdx:HEX or dev:HEX)"))
}

/// The call a command names, resolving names and amounts.
pub(super) fn privileged_call(ctx: &Context, command: SudoCommand) -> Result<SudoCall> {
    let account = |text: &str| ctx.keystore.resolve_account(text);
    Ok(match command {
        SudoCommand::CreateCluster { cluster, workers } => SudoCall::CreateCluster {
            cluster: cluster_id(&cluster)?,
            workers: workers
                .iter()
                .map(|w| account(w))
                .collect::<Result<Vec<_>>>()?,
        },
        SudoCommand::AddToCluster { cluster, worker } => SudoCall::AddToCluster {
            cluster: cluster_id(&cluster)?,
            worker: account(&worker)?,
        },
        SudoCommand::RemoveWorker { worker } => SudoCall::RemoveWorker {
            worker: account(&worker)?,
        },
        SudoCommand::RotateMasterKey => SudoCall::RotateMasterKey,
        SudoCommand::SetParam { name, value } => {
            let parameter: Parameter = name.parse().map_err(|e: String| anyhow!(e))?;
            let value = if parameter.is_amount() {
                parse_pha(&value)?
            } else {
                value
                    .parse()
                    .with_context(|| format!("`{value}` is not a whole number for {parameter}"))?
            };
            SudoCall::SetParameter { parameter, value }
        }
        SudoCommand::Spend { to, amount } => SudoCall::SpendTreasury {
            to: account(&to)?,
            amount: parse_pha(&amount)?,
        },
        SudoCommand::ElectGatekeeper { identity } => SudoCall::ElectGatekeeper {
            identity: account(&identity)?,
        },
        SudoCommand::RemoveGatekeeper { identity } => SudoCall::RemoveGatekeeper {
            identity: account(&identity)?,
        },
        SudoCommand::AddMeasurement { measurement: m } => {
            SudoCall::AddMeasurement(measurement(&m)?)
        }
        SudoCommand::RemoveMeasurement { measurement: m } => {
            SudoCall::RemoveMeasurement(measurement(&m)?)
        }
        SudoCommand::SetValidators { validators } => SudoCall::SetValidators {
            validators: validators
                .iter()
                .map(|v| {
                    let (who, address) = v.split_once('@').ok_or_else(|| {
                        anyhow!(
                            "`{v}` is not ACCOUNT@HOST:PORT (the validator and its p2p address)"
                        )
                    })?;
                    Ok(Validator {
                        account: account(who)?,
                        p2p_address: address.to_string(),
                    })
                })
                .collect::<Result<Vec<_>>>()?,
        },
    })
}

/// What follows a call, for people.
fn next_step(call: &SudoCall) -> &'static str {
    match call {
        SudoCall::RemoveWorker { .. } | SudoCall::RemoveGatekeeper { .. } => {
            "; rotate the master key next"
        }
        SudoCall::RotateMasterKey => "; gatekeepers publish the new epoch's keys",
        SudoCall::SetValidators { .. } => {
            "; the chain's events say from which height (`phalanx chain validators`)"
        }
        _ => "",
    }
}

pub async fn run(ctx: &Context, from: &str, command: SudoCommand) -> Result<()> {
    let call = privileged_call(ctx, command)?;
    let what = format!("done: {}{}", describe_sudo_call(&call), next_step(&call));
    super::economy::send(ctx, from, Call::Sudo(call), what).await
}
