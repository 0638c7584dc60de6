//! Commands that talk to a node: balance, transfer, block, head, events.

use super::Context;
use crate::output::emit;
use anyhow::{Context as _, Result};
use phalanx_client::views::{BlockView, EventKindView};
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

pub async fn validators(ctx: &Context) -> Result<()> {
    let node = connect(ctx).await?;
    let history = node.refresh_validators().await?;
    emit(ctx.json, &history, || {
        let mut lines = Vec::new();
        for set in history.sets() {
            lines.push(format!(
                "from height {} (epoch {}):",
                set.from_height, set.epoch
            ));
            for v in &set.validators {
                let at = if v.p2p_address.is_empty() {
                    "(address in the genesis file)"
                } else {
                    &v.p2p_address
                };
                lines.push(format!("  {} {at}", v.account));
            }
        }
        lines.join("\n")
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
            lines.push(format!("  {tx}"));
        }
        lines.join("\n")
    })
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
    // Contracts' public events, decoded where their metadata is known.
    let mut schemas = std::collections::BTreeMap::new();
    let mut decoded = Vec::with_capacity(events.len());
    for event in &events {
        let EventKindView::ContractEvent { contract, data, .. } = &event.event else {
            decoded.push(None);
            continue;
        };
        if !schemas.contains_key(contract) {
            let schema = super::messages::Schema::for_contract(ctx, &node, *contract, None).await;
            schemas.insert(*contract, schema.ok());
        }
        let bytes = hex::decode(data.trim_start_matches("0x")).unwrap_or_default();
        let schema = schemas.get(contract).and_then(Option::as_ref);
        decoded.push(schema.and_then(|s| s.event(&bytes)));
    }
    let mut json_events = serde_json::to_value(&events)?;
    if let Some(list) = json_events.as_array_mut() {
        for (entry, decoded) in list.iter_mut().zip(&decoded) {
            if let Some(decoded) = decoded {
                entry["event"]["decoded"] = decoded.clone();
            }
        }
    }
    emit(
        ctx.json,
        &serde_json::json!({ "height": height, "events": json_events }),
        || {
            let mut lines = vec![format!("block {height}: {} event(s)", events.len())];
            for (event, decoded) in events.iter().zip(&decoded) {
                lines.push(format!("  {event}"));
                if let Some(decoded) = decoded {
                    lines.push(format!("    {decoded}"));
                }
            }
            lines.join("\n")
        },
    )
}
