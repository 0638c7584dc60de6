//! `phalanx contract upload | instantiate | show | command | query | history | events`: deploying and
//! talking to confidential contracts. Everything a command needs is read from the chain: the
//! contract's key, its cluster and the query endpoints its workers published. Commands go through
//! the chain sealed to the contract's key; queries and receipts go straight to a worker, signed,
//! and come back sealed to a one-time session key.

use super::messages::{hex_of, MessageArgs, Schema};
use super::{messages, Context};
use crate::args::QueryArgs;
use crate::output::emit;
use anyhow::{anyhow, bail, Context as _, Result};
use phalanx_client::contract::Instantiation;
use phalanx_client::metadata::{MessageKind, Metadata};
use phalanx_client::{ContractClient, NodeClient, DEFAULT_INCLUSION_TIMEOUT};
use phalanx_crypto::Keypair;
use phalanx_primitives::query::{Notification, QueryAnswer, QueryRequest, Receipt, ReceiptOutcome};
use phalanx_primitives::{sha256, AccountId, Balance, Call, Hash};
use rand_core::OsRng;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long `contract command` and `contract instantiate` wait for a worker to have the receipt,
/// and `instantiate` for the gatekeeper to publish the contract's key.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(60);

pub(super) fn decode_hex(text: &str) -> Result<Vec<u8>> {
    hex::decode(text.trim().trim_start_matches("0x"))
        .with_context(|| format!("`{text}` is not hex"))
}

fn parse_hash(text: &str) -> Result<Hash> {
    let bytes: [u8; 32] = decode_hex(text)?
        .try_into()
        .map_err(|_| anyhow!("`{text}` is not a 32-byte hash"))?;
    Ok(Hash(bytes))
}

pub(super) async fn connect(ctx: &Context) -> Result<NodeClient> {
    NodeClient::connect(&ctx.rpc)
        .await
        .with_context(|| format!("connecting to the node at {}", ctx.rpc))
}

/// The contract, with the workers to ask: `--worker` if given, else those the chain lists.
pub(super) async fn open_contract(
    node: &NodeClient,
    contract: AccountId,
    worker: Option<&str>,
) -> Result<ContractClient> {
    let client = ContractClient::open(node, contract).await?;
    Ok(match worker {
        Some(url) => client.only_worker(url)?,
        None => client,
    })
}

/// Signs `call`, submits it and waits until it is final; returns its hash and block height.
pub(super) async fn submit_and_wait(
    node: &NodeClient,
    signer: &Keypair,
    call: Call,
) -> Result<(Hash, u64)> {
    let nonce = node.next_nonce(signer.account_id()).await?;
    let tx = node.sign(signer, nonce, call);
    let hash = node
        .submit(&tx)
        .await
        .context("the node refused the transaction")?;
    let included = node
        .wait_for_inclusion(hash, DEFAULT_INCLUSION_TIMEOUT)
        .await?;
    Ok((hash, included.height))
}

/// The receipt as JSON fields and a line of text.
fn describe(receipt: &Receipt) -> (bool, String) {
    match &receipt.outcome {
        ReceiptOutcome::Ok(output) => (true, hex_of(output)),
        ReceiptOutcome::Failed(reason) => (false, reason.clone()),
    }
}

/// A successful result decoded by the schema, as JSON and as text (hex when it does not
/// decode).
fn decoded(
    schema: &Schema,
    kind: MessageKind,
    bytes: &[u8],
) -> (Option<serde_json::Value>, String) {
    match schema.result(kind, bytes) {
        Some(value) => {
            let text = match &value {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            (Some(value), text)
        }
        None => (None, hex_of(bytes)),
    }
}

/// A receipt's events: each decoded where the schema can, with its recipient (`null`: public).
fn receipt_events(schema: &Schema, receipt: &Receipt) -> Vec<serde_json::Value> {
    receipt
        .events
        .iter()
        .map(|(to, data)| {
            serde_json::json!({
                "to": to,
                "data": hex_of(data),
                "decoded": schema.event(data),
            })
        })
        .collect()
}

/// The metadata `contract upload` records: the file given, else the one beside the `.wasm`.
fn metadata_to_upload(path: &Path, given: Option<&Path>, skip: bool) -> Result<Option<Metadata>> {
    if skip {
        return Ok(None);
    }
    let beside = path.with_extension("metadata.json");
    let file = match given {
        Some(file) => file.to_path_buf(),
        None if beside.exists() => beside,
        None => return Ok(None),
    };
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    Ok(Some(
        Metadata::from_json(&text).with_context(|| format!("reading {}", file.display()))?,
    ))
}

pub async fn upload(
    ctx: &Context,
    path: &Path,
    from: &str,
    metadata: Option<&Path>,
    no_metadata: bool,
) -> Result<()> {
    use phalanx_client::api::NodeApiClient;
    let code = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let code_hash = sha256(&code);
    let metadata = metadata_to_upload(path, metadata, no_metadata)?;
    if let Some(metadata) = &metadata {
        metadata.check_code(code_hash)?;
    }
    let signer = ctx.keystore.keypair(from, &ctx.passphrase)?;
    let node = connect(ctx).await?;
    // What the chain knows of the code: its uploader and recorded metadata, if it has it.
    let on_chain = node.rpc().code(code_hash).await?;
    let (height, uploader, recorded_before) = match &on_chain {
        Some(view) => (None, view.uploader, view.metadata_hash),
        None => {
            let call = Call::UploadCode { code: code.clone() };
            let (_, height) = submit_and_wait(&node, &signer, call).await?;
            (Some(height), Some(signer.account_id()), None)
        }
    };
    // The uploader vouches for the metadata on chain (once); anyone keeps a copy to use it.
    let mut recorded = None;
    if let Some(metadata) = &metadata {
        messages::remember(&ctx.keystore, metadata)?;
        let ours = metadata.hash();
        match recorded_before {
            Some(hash) if hash != ours => bail!(
                "the chain records metadata {hash} for code {code_hash}, not this file's {ours}"
            ),
            Some(hash) => recorded = Some(hash),
            None if uploader != Some(signer.account_id()) => {
                eprintln!(
                    "metadata kept for this client; not recorded on chain: only the code's uploader{} may",
                    uploader.map(|u| format!(" ({u})")).unwrap_or_default()
                );
            }
            None => {
                let call = Call::RecordMetadata {
                    code_hash,
                    metadata_hash: ours,
                };
                submit_and_wait(&node, &signer, call).await?;
                recorded = Some(ours);
            }
        }
    }
    let value = serde_json::json!({
        "code_hash": code_hash, "size": code.len(), "height": height, "metadata_hash": recorded,
    });
    emit(ctx.json, &value, || {
        let uploaded = match height {
            Some(h) => format!(
                "uploaded code {code_hash} ({} bytes), final in block {h}",
                code.len()
            ),
            None => format!("code {code_hash} is already on chain; nothing to upload"),
        };
        match recorded {
            Some(hash) => format!("{uploaded}\nmetadata {hash} recorded on chain"),
            None => uploaded,
        }
    })
}

pub struct InstantiateRequest<'a> {
    pub code_hash: &'a str,
    pub cluster: &'a str,
    pub from: &'a str,
    pub init: &'a MessageArgs,
    pub salt: &'a str,
    pub gas: u64,
    pub worker: Option<&'a str>,
}

pub async fn instantiate(ctx: &Context, request: InstantiateRequest<'_>) -> Result<()> {
    let signer = ctx.keystore.keypair(request.from, &ctx.passphrase)?;
    let cluster = parse_hash(request.cluster)?;
    let code_hash = parse_hash(request.code_hash)?;
    let node = connect(ctx).await?;
    if !node.has_code(code_hash).await? {
        bail!("no code {code_hash} on this chain; `phalanx contract upload` it first");
    }
    let cluster_key = node.cluster_key(cluster).await?.ok_or_else(|| {
        anyhow!("cluster {cluster} has no published key yet; try again in a moment")
    })?;
    let subject = format!("code {code_hash}");
    let schema = Schema::for_code(
        ctx,
        &node,
        code_hash,
        request.init.metadata.as_deref(),
        subject,
    )
    .await?;
    let init = schema
        .message(ctx, MessageKind::Instantiate, request.init)?
        .unwrap_or_default();
    let (contract, call) = Instantiation {
        code_hash,
        cluster,
        cluster_key,
        salt: request.salt.as_bytes(),
        init: &init,
        gas_limit: request.gas,
    }
    .call(node.info().chain_id, signer.account_id(), &mut OsRng)?;
    let (hash, height) = submit_and_wait(&node, &signer, call).await?;

    // The contract is usable once its key is published; its init's receipt says if it started.
    let deadline = Instant::now() + RECEIPT_TIMEOUT;
    while node.contract_key(contract).await?.is_none() {
        if Instant::now() > deadline {
            bail!("contract {contract} is on chain but no gatekeeper published its key in {RECEIPT_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let client = open_contract(&node, contract, request.worker).await?;
    let receipt = client
        .receipt(&signer, hash, RECEIPT_TIMEOUT, &mut OsRng)
        .await?;
    let (ok, output) = describe(&receipt);
    let result = match &receipt.outcome {
        ReceiptOutcome::Ok(bytes) => schema.result(MessageKind::Instantiate, bytes),
        ReceiptOutcome::Failed(_) => None,
    };
    let value = serde_json::json!({
        "contract": contract, "hash": hash, "height": height, "ok": ok,
        "output": output, "result": result, "gas_used": receipt.gas_used,
        "debug": receipt.debug,
    });
    emit(ctx.json, &value, || {
        if ok {
            format!(
                "contract {contract} instantiated in block {height} (gas used {})",
                receipt.gas_used
            )
        } else {
            format!(
                "contract {contract} is on chain (block {height}) but its init failed: {output}"
            )
        }
    })?;
    if !ok {
        let failed = format!("the contract's init failed: {output}");
        return Err(crate::output::Reported(failed).into());
    }
    Ok(())
}

pub async fn show(ctx: &Context, contract: &str) -> Result<()> {
    use phalanx_client::api::NodeApiClient;
    let contract = ctx.keystore.resolve_account(contract)?;
    let node = connect(ctx).await?;
    let info = node
        .rpc()
        .contract(contract)
        .await?
        .ok_or_else(|| anyhow!("no contract {contract} on this chain"))?;
    let workers = node.contract_workers(contract).await?;
    let code = node.rpc().code(info.code_hash).await?;
    let metadata_hash = code.and_then(|c| c.metadata_hash);
    let value = serde_json::json!({
        "contract": info, "workers": workers, "metadata_hash": metadata_hash,
    });
    emit(ctx.json, &value, || {
        let key = match &info.key {
            Some(k) => format!("{} (epoch {})", k.public_key, k.epoch),
            None => "not published yet".into(),
        };
        format!(
            "contract   {contract}\ncode       {}\nmetadata   {}\ncluster    {}\ndeployer   {}\ncreated    block {}\nkey        {key}\ncommands   {}\nworkers    {}",
            info.code_hash,
            metadata_hash.map_or("none recorded".to_string(), |h| h.to_string()),
            info.cluster, info.deployer, info.created_at, info.commands,
            if workers.is_empty() { "none published".to_string() } else { workers.join(", ") }
        )
    })
}

pub async fn command(
    ctx: &Context,
    contract: &str,
    from: &str,
    message: &MessageArgs,
    gas: u64,
    value: Balance,
    worker: Option<&str>,
) -> Result<()> {
    let contract = ctx.keystore.resolve_account(contract)?;
    let signer = ctx.keystore.keypair(from, &ctx.passphrase)?;
    let node = connect(ctx).await?;
    let schema = Schema::for_contract(ctx, &node, contract, message.metadata.as_deref()).await?;
    let message = schema.required_message(ctx, MessageKind::Command, message)?;
    let client = open_contract(&node, contract, worker).await?;
    let call = client.command_call(signer.account_id(), &message, gas, value, &mut OsRng)?;
    let (hash, height) = submit_and_wait(&node, &signer, call).await?;
    // The receipt is private: ask a worker for it, as the sender.
    let receipt = client
        .receipt(&signer, hash, RECEIPT_TIMEOUT, &mut OsRng)
        .await?;
    let (ok, output) = describe(&receipt);
    let (result, result_text) = match &receipt.outcome {
        ReceiptOutcome::Ok(bytes) => decoded(&schema, MessageKind::Command, bytes),
        ReceiptOutcome::Failed(reason) => (None, reason.clone()),
    };
    let events = receipt_events(&schema, &receipt);
    let value = serde_json::json!({
        "hash": hash,
        "contract": contract,
        "height": height,
        "ok": ok,
        "output": output,
        "result": result,
        "gas_used": receipt.gas_used,
        "events": events,
        "debug": receipt.debug,
    });
    emit(ctx.json, &value, || {
        let outcome = if ok {
            format!("ok: {result_text}")
        } else {
            format!("failed: {output}")
        };
        let mut text = format!(
            "command {hash} final in block {height}\n{outcome} (gas used {})",
            receipt.gas_used
        );
        for event in &events {
            let shown = match &event["decoded"] {
                serde_json::Value::Null => event["data"].to_string(),
                decoded => decoded.to_string(),
            };
            let to = match &event["to"] {
                serde_json::Value::Null => "public".to_string(),
                to => format!("to {}", to.as_str().unwrap_or_default()),
            };
            text.push_str(&format!("\nevent ({to}): {shown}"));
        }
        for line in &receipt.debug {
            text.push_str(&format!("\ndebug: {line}"));
        }
        text
    })?;
    if !ok {
        let failed = format!("the command failed in the contract: {output}");
        return Err(crate::output::Reported(failed).into());
    }
    Ok(())
}

/// How often `contract events --follow` asks again.
const FOLLOW_EVERY: Duration = Duration::from_secs(1);

pub async fn events(
    ctx: &Context,
    contract: &str,
    from: &str,
    since: u64,
    follow: bool,
    worker: Option<&str>,
    metadata: Option<&Path>,
) -> Result<()> {
    let contract = ctx.keystore.resolve_account(contract)?;
    let signer = ctx.keystore.keypair(from, &ctx.passphrase)?;
    let node = connect(ctx).await?;
    let schema = Schema::for_contract(ctx, &node, contract, metadata).await?;
    let client = open_contract(&node, contract, worker).await?;
    let as_json = |n: &Notification| {
        serde_json::json!({
            "seq": n.seq,
            "block": n.block,
            "tx_hash": n.tx_hash,
            "data": hex_of(&n.data),
            "decoded": schema.event(&n.data),
        })
    };
    let as_text = |n: &Notification| {
        let shown = match schema.event(&n.data) {
            Some(decoded) => decoded.to_string(),
            None => hex_of(&n.data),
        };
        format!("#{} block {} (tx {}): {shown}", n.seq, n.block, n.tx_hash)
    };
    let mut next = since;
    let mut shown = Vec::new();
    loop {
        let page = client.notifications(&signer, next, &mut OsRng).await?;
        let Some(last) = page.last() else {
            if !follow {
                break;
            }
            tokio::time::sleep(FOLLOW_EVERY).await;
            continue;
        };
        next = last.seq + 1;
        if follow {
            // One line each as they come: JSON lines with --json.
            for notification in &page {
                emit(ctx.json, &as_json(notification), || as_text(notification))?;
            }
        } else {
            shown.extend(page);
        }
    }
    let value = serde_json::json!({
        "contract": contract,
        "account": signer.account_id(),
        "notifications": shown.iter().map(as_json).collect::<Vec<_>>(),
    });
    emit(ctx.json, &value, || {
        if shown.is_empty() {
            format!(
                "no notifications from {contract} for {} since #{since}",
                signer.account_id()
            )
        } else {
            shown.iter().map(as_text).collect::<Vec<_>>().join("\n")
        }
    })
}

/// Asks a query now, or as of block `at` (a history query).
pub async fn query(ctx: &Context, args: &QueryArgs, at: Option<u64>) -> Result<()> {
    let contract = ctx.keystore.resolve_account(&args.contract)?;
    let signer = ctx.keystore.keypair(&args.from, &ctx.passphrase)?;
    let node = connect(ctx).await?;
    let schema =
        Schema::for_contract(ctx, &node, contract, args.message.metadata.as_deref()).await?;
    let message = schema.required_message(ctx, MessageKind::Query, &args.message)?;
    let client = open_contract(&node, contract, args.worker.as_deref())
        .await?
        .with_max_lag(args.max_lag);
    let request = match (at, &args.permit) {
        (Some(_), Some(_)) => bail!("a permit query asks about the state now, not as of a block"),
        (Some(height), None) => QueryRequest::ContractAt { height, message },
        (None, Some(file)) => QueryRequest::WithPermit {
            permit: Box::new(super::permits::read_permit(file)?),
            message,
        },
        (None, None) => QueryRequest::Contract(message),
    };
    // Taken only if computed at a block of this node's chain, and recent (see ContractClient).
    let answered = client.query_answered(&signer, request, &mut OsRng).await?;
    let (height, block_hash) = (answered.height, answered.block_hash);
    match answered.answer {
        QueryAnswer::Ok(output) => {
            let hex_output = hex_of(&output);
            let (result, text) = decoded(&schema, MessageKind::Query, &output);
            let value = serde_json::json!({
                "contract": contract, "at": at, "ok": true, "output": hex_output, "result": result,
                "height": height, "block_hash": block_hash,
            });
            emit(ctx.json, &value, || text.clone())
        }
        QueryAnswer::Refused(reason) => bail!("the contract refused the query: {reason}"),
        QueryAnswer::Stale { synced_height, .. } => {
            bail!("the worker is stale (it has block {synced_height} and no newer one)")
        }
    }
}
