//! `phalanx worker status [URL]`: what a running worker reports about itself, put beside the
//! node's head: how far it has replayed, how far behind it is, its checkpoints, the clusters and
//! contracts it serves and each contract's keyed state digest (equal across a cluster's workers).

use super::Context;
use crate::output::emit;
use anyhow::{Context as _, Result};
use phalanx_client::query::WorkerClient;
use phalanx_client::NodeClient;
use phalanx_primitives::AccountId;

pub async fn worker_status(ctx: &Context, worker_url: &str) -> Result<()> {
    let worker = WorkerClient::connect(worker_url)?;
    let status = worker
        .status()
        .await
        .with_context(|| format!("asking the worker at {worker_url}"))?;
    // The worker's own report matters most when the node is down: print it without the head.
    let head = match NodeClient::connect(&ctx.rpc).await {
        Ok(node) => Some(node.head().await?.height),
        Err(error) => {
            eprintln!(
                "note: the node at {} does not answer here: {error}",
                ctx.rpc
            );
            None
        }
    };
    let synced = status["synced_height"].as_u64().unwrap_or(0);
    let contracts: Vec<AccountId> = serde_json::from_value(status["contracts"].clone())?;
    let mut digests = Vec::new();
    for contract in contracts {
        digests.push(worker.state_digest(contract, None).await?);
    }
    let value = serde_json::json!({
        "worker": worker_url,
        "status": status,
        "node_head": head,
        "lag": head.map(|head| head.saturating_sub(synced)),
        "digests": digests,
    });
    emit(ctx.json, &value, || {
        let text = |key: &str| match &status[key] {
            serde_json::Value::Null => "none".to_string(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let mut lines = vec![
            format!("worker          {}  ({worker_url})", text("identity")),
            match head {
                Some(head) => format!(
                    "synced          block {synced} of {head} ({} behind)",
                    head.saturating_sub(synced)
                ),
                None => format!("synced          block {synced} (node head unknown)"),
            },
            format!("last checkpoint {}", text("last_checkpoint")),
            format!("egress pending  {} outputs", text("pending_outputs")),
        ];
        if !status["restored_from"].is_null() {
            lines.push(format!(
                "restored        from checkpoint {} at this start",
                text("restored_from")
            ));
        }
        if let Some(since) = status["node_unreachable_since_ms"].as_u64() {
            lines.push(format!(
                "NODE UNREACHABLE since {} ({} s): {}",
                crate::output::utc(since),
                crate::output::now_ms().saturating_sub(since) / 1000,
                text("node_error")
            ));
        }
        if !status["refused"].is_null() {
            lines.push(format!(
                "REFUSING        the node's next block: {}",
                text("refused")
            ));
        }
        if status["holds_master_key"] == true {
            lines.push("master key      held (gatekeeper)".into());
        }
        let clusters = status["clusters"].as_array().cloned().unwrap_or_default();
        lines.push(format!("clusters        {}", clusters.len()));
        for cluster in clusters {
            lines.push(format!("  {}", cluster.as_str().unwrap_or_default()));
        }
        lines.push(format!("contracts       {}", digests.len()));
        for view in &digests {
            let digest = view
                .digest
                .map(|d| d.to_string())
                .unwrap_or_else(|| "(no state)".into());
            lines.push(format!("  {}  digest {digest}", view.contract));
        }
        lines.join("\n")
    })
}
