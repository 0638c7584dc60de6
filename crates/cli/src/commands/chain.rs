//! Commands that talk to a node: balance, transfer, block, head, events.

use super::Context;
use crate::output::emit;
use anyhow::{Context as _, Result};
use phalanx_client::views::{BlockView, CallView, EventKindView, EventView};
use phalanx_client::NodeClient;
use phalanx_primitives::amount::{format_pha, parse_pha};
use phalanx_primitives::Call;

pub(super) async fn connect(ctx: &Context) -> Result<NodeClient> {
    NodeClient::connect(&ctx.rpc).await.with_context(|| {
        format!(
            "connecting to the node at {} (is it running? see --rpc)",
            ctx.rpc
        )
    })
}

pub async fn balance(ctx: &Context, account: &str) -> Result<()> {
    let account = ctx.keystore.resolve_account(account)?;
    let node = connect(ctx).await?;
    let view = node.account(account).await?;
    emit(ctx.json, &view, || {
        format!("{}: {} PHA (nonce {})", view.account, view.free, view.nonce)
    })
}

pub async fn transfer(ctx: &Context, from: &str, to: &str, amount: &str) -> Result<()> {
    let amount_units = parse_pha(amount)?;
    let to = ctx.keystore.resolve_account(to)?;
    let signer = ctx.keystore.keypair(from, &ctx.passphrase)?;
    let node = connect(ctx).await?;
    let nonce = node.next_nonce(signer.account_id()).await?;
    let tx = node.sign(
        &signer,
        nonce,
        Call::Transfer {
            to,
            amount: amount_units,
        },
    );
    let fee = tx.transaction.fee;
    let hash = node
        .submit(&tx)
        .await
        .context("the node refused the transfer")?;
    let included = node
        .wait_for_inclusion(hash, phalanx_client::DEFAULT_INCLUSION_TIMEOUT)
        .await?;
    let value = serde_json::json!({
        "hash": hash,
        "from": signer.account_id(),
        "to": to,
        "amount": format_pha(amount_units),
        "amount_units": amount_units.to_string(),
        "fee": format_pha(fee),
        "fee_units": fee.to_string(),
        "height": included.height,
        "block_hash": included.block_hash,
    });
    emit(ctx.json, &value, || {
        format!(
            "sent {} PHA from {} to {} (fee {} PHA)\ntransaction {hash}\nfinal in block {} ({})",
            format_pha(amount_units),
            signer.account_id(),
            to,
            format_pha(fee),
            included.height,
            included.block_hash
        )
    })
}

pub async fn head(ctx: &Context) -> Result<()> {
    let node = connect(ctx).await?;
    let head = node.head().await?;
    emit(ctx.json, &head, || {
        format!(
            "height {}\nhash   {}\nstate  {}\ntime   {} ms",
            head.height, head.hash, head.state_root, head.timestamp_ms
        )
    })
}

pub async fn info(ctx: &Context) -> Result<()> {
    let node = connect(ctx).await?;
    let info = node.info().clone();
    emit(ctx.json, &info, || {
        let validators: Vec<String> = info.validators.iter().map(ToString::to_string).collect();
        format!(
            "chain      {}
chain id   {}
genesis    {}
validators {}",
            info.chain_name,
            info.chain_id,
            info.genesis_block_hash,
            validators.join(", ")
        )
    })
}

pub async fn block(ctx: &Context, height: Option<u64>) -> Result<()> {
    let node = connect(ctx).await?;
    let height = match height {
        Some(height) => height,
        None => node.head().await?.height,
    };
    let block = node
        .verified_block(height)
        .await?
        .with_context(|| format!("no block at height {height} yet"))?;
    let view = BlockView::from(&block);
    emit(ctx.json, &view, || {
        let h = &view.header;
        let mut lines = vec![
            format!("block {} {}", h.height, h.hash),
            format!("parent       {}", h.parent_hash),
            format!("state root   {}", h.state_root),
            format!("timestamp    {} ms", h.timestamp_ms),
            format!("proposer     {}", h.proposer),
            format!(
                "finality     verified, signed by {} validator(s)",
                view.finalized_by.len()
            ),
            format!("transactions {}", view.transactions.len()),
        ];
        for tx in &view.transactions {
            lines.push(format!(
                "  {} {} (by {}, nonce {}, fee {} PHA)",
                tx.hash,
                describe_call(&tx.call),
                tx.signer,
                tx.nonce,
                format_pha(tx.fee_units)
            ));
        }
        lines.join("\n")
    })
}

fn describe_call(call: &CallView) -> String {
    match call {
        CallView::Transfer { to, amount_units } => {
            format!("transfer {} PHA to {to}", format_pha(*amount_units))
        }
        CallView::RegisterWorker {
            identity,
            role,
            evidence,
            endpoint,
        } => {
            format!("register {role} {identity} ({evidence} quote, endpoint `{endpoint}`)")
        }
        CallView::AddMeasurement { measurement } => {
            format!("sudo: allow measurement {measurement}")
        }
        CallView::RemoveMeasurement { measurement } => {
            format!("sudo: disallow measurement {measurement}")
        }
        // The rest read well enough as their JSON view.
        other => compact_json(other),
    }
}

fn compact_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn describe(event: &EventView) -> String {
    match &event.event {
        EventKindView::Endowed {
            account,
            amount_units,
        } => format!("endowed {account} with {} PHA", format_pha(*amount_units)),
        EventKindView::Transfer {
            from,
            to,
            amount_units,
        } => format!("transfer {} PHA {from} -> {to}", format_pha(*amount_units)),
        EventKindView::FeePaid { payer, fee_units } => {
            format!("fee {} PHA paid by {payer}", format_pha(*fee_units))
        }
        EventKindView::WorkerRegistered {
            identity,
            operator,
            role,
            tee,
            measurement,
            confidence,
        } => {
            format!("{role} {identity} registered by {operator}: {tee}, {measurement}, confidence {confidence:?}")
        }
        EventKindView::MeasurementAdded { measurement } => {
            format!("measurement {measurement} allowed")
        }
        EventKindView::MeasurementRemoved { measurement } => {
            format!("measurement {measurement} disallowed")
        }
        EventKindView::StateDivergence {
            contract,
            height,
            worker,
            digest,
            other_worker,
            other_digest,
        } => format!(
            "STATE DIVERGENCE in {contract} at block {height}: {worker} has {digest}, {other_worker} has {other_digest}"
        ),
        EventKindView::EgressAccepted {
            contract,
            worker,
            first_seq,
            count,
        } => format!(
            "egress of {contract}: outputs {first_seq}..{} sent by worker {worker}",
            first_seq + u64::from(*count)
        ),
        EventKindView::ContractEvent {
            contract,
            seq,
            data,
        } => format!("event #{seq} of {contract}: 0x{data}"),
        EventKindView::ContractMessage { from, to, seq, .. } => {
            format!("message #{seq} from contract {from} to contract {to}")
        }
        EventKindView::GasSettled {
            contract,
            refunded_units,
            to_workers_units,
            to_treasury_units,
        } => format!(
            "gas of {contract} settled: {} PHA refunded, {} PHA to its workers, {} PHA to the treasury",
            format_pha(*refunded_units),
            format_pha(*to_workers_units),
            format_pha(*to_treasury_units)
        ),
        EventKindView::OutputFailed {
            contract,
            seq,
            reason,
        } => format!("output #{seq} of {contract} failed: {reason}"),
        EventKindView::MasterKeyRotated { epoch } => {
            format!("KEY ROTATION: epoch {epoch} starts; gatekeepers publish its keys")
        }
        EventKindView::ClusterRekeyed {
            cluster,
            epoch,
            workers,
        } => format!(
            "cluster {cluster} due keys of epoch {epoch} for {} workers",
            workers.len()
        ),
        EventKindView::ContractRekeyed {
            contract, epoch, ..
        } => format!("contract {contract} due a key of epoch {epoch}"),
        EventKindView::WorkerRemoved { worker, clusters } => format!(
            "worker {worker} deregistered, removed from {} clusters",
            clusters.len()
        ),
        EventKindView::RewardsDistributed {
            to_pools_units,
            to_treasury_units,
            workers,
        } => format!(
            "REWARDS {} PHA to the pools of {workers} workers, {} PHA to the treasury",
            format_pha(*to_pools_units),
            format_pha(*to_treasury_units)
        ),
        EventKindView::WorkerChallenged { worker, deadline } => {
            format!("CHALLENGE worker {worker} must send a heartbeat by block {deadline}")
        }
        EventKindView::WorkerUnresponsive { worker } => {
            format!("worker {worker} missed its challenge: UNRESPONSIVE, earns nothing")
        }
        EventKindView::WorkerResponsive { worker } => {
            format!("worker {worker} answered: responsive again")
        }
        EventKindView::ProposalCreated {
            proposal,
            call,
            voting_ends,
            ..
        } => format!("proposal #{proposal}: {call} (voting until block {voting_ends})"),
        EventKindView::ProposalPassed {
            proposal, enact_at, ..
        } => format!("proposal #{proposal} PASSED, enacted at block {enact_at}"),
        EventKindView::ProposalRejected {
            proposal, reason, ..
        } => format!("proposal #{proposal} REJECTED: {reason}"),
        EventKindView::ProposalEnacted { proposal } => format!("proposal #{proposal} ENACTED"),
        EventKindView::ProposalFailed { proposal, reason } => {
            format!("proposal #{proposal} passed but FAILED when enacted: {reason}")
        }
        other => compact_json(other),
    }
}

pub async fn events(ctx: &Context, height: Option<u64>) -> Result<()> {
    use phalanx_client::api::NodeApiClient;
    let node = connect(ctx).await?;
    let height = match height {
        Some(height) => height,
        None => node.head().await?.height,
    };
    let events = node
        .rpc()
        .events(height)
        .await?
        .with_context(|| format!("no block at height {height} yet"))?;
    emit(
        ctx.json,
        &serde_json::json!({ "height": height, "events": events }),
        || {
            let mut lines = vec![format!("block {height}: {} event(s)", events.len())];
            lines.extend(events.iter().map(|e| match e.transaction_index {
                Some(i) => format!("  tx {i}: {}", describe(e)),
                None if e.end_of_block => format!("  end of block: {}", describe(e)),
                None => format!("  genesis: {}", describe(e)),
            }));
            lines.join("\n")
        },
    )
}
