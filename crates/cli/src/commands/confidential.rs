//! `phalanx contract command | query | encode`: talking to confidential contracts. Commands go
//! through the chain encrypted to the contract's published key; queries and receipts go straight
//! to a worker, signed, and come back encrypted to this process's session key.

use super::Context;
use crate::output::emit;
use anyhow::{anyhow, bail, Context as _, Result};
use parity_scale_codec::{Decode, Encode};
use phalanx_client::api::NodeApiClient;
use phalanx_client::query::{prepare_query, WorkerClient};
use phalanx_client::{NodeClient, DEFAULT_INCLUSION_TIMEOUT};
use phalanx_crypto::envelope::EnvelopeContext;
use phalanx_crypto::{Keypair, Sealer};
use phalanx_primitives::query::{QueryAnswer, QueryRequest};
use phalanx_primitives::{AccountId, Call};
use phalanx_worker::{Receipt, ReceiptOutcome};
use rand_core::OsRng;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long `contract command` waits for a worker to have the receipt.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(60);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn decode_hex(text: &str) -> Result<Vec<u8>> {
    hex::decode(text.trim().trim_start_matches("0x"))
        .with_context(|| format!("`{text}` is not hex"))
}

async fn connect(ctx: &Context) -> Result<NodeClient> {
    NodeClient::connect(&ctx.rpc)
        .await
        .with_context(|| format!("connecting to the node at {}", ctx.rpc))
}

/// The contract's published key and epoch.
async fn contract_key(node: &NodeClient, contract: AccountId) -> Result<([u8; 32], u32)> {
    let info = node
        .rpc()
        .contract(contract)
        .await?
        .ok_or_else(|| anyhow!("no contract {contract} on this chain"))?;
    let key = info.key.ok_or_else(|| {
        anyhow!("contract {contract} has no published key yet; try again in a moment")
    })?;
    Ok((
        key.bytes()
            .ok_or_else(|| anyhow!("malformed contract key"))?,
        key.epoch,
    ))
}

async fn ask(
    node: &NodeClient,
    worker_url: &str,
    contract: AccountId,
    signer: &Keypair,
    request: QueryRequest,
) -> Result<QueryAnswer> {
    let (key, epoch) = contract_key(node, contract).await?;
    let prepared = prepare_query(
        node.info().chain_id,
        contract,
        &key,
        epoch,
        signer,
        request,
        now_ms(),
        &mut OsRng,
    )?;
    let worker = WorkerClient::connect(worker_url)?;
    worker
        .query(contract, &prepared)
        .await
        .with_context(|| format!("asking the worker at {worker_url}"))
}

pub async fn command(
    ctx: &Context,
    contract: &str,
    from: &str,
    msg: &str,
    gas: u64,
    worker_url: &str,
) -> Result<()> {
    let contract = ctx.keystore.resolve_account(contract)?;
    let signer = ctx.keystore.keypair(from, &ctx.passphrase)?;
    let message = decode_hex(msg)?;
    let node = connect(ctx).await?;
    let (key, epoch) = contract_key(&node, contract).await?;
    let context = EnvelopeContext {
        chain_id: node.info().chain_id,
        contract,
        sender: signer.account_id(),
    };
    let envelope = Sealer::new(&mut OsRng).seal(&key, epoch, &context, &message, &mut OsRng)?;
    let nonce = node.next_nonce(signer.account_id()).await?;
    let tx = node.sign(
        &signer,
        nonce,
        Call::Command {
            contract,
            envelope,
            gas_limit: gas,
        },
    );
    let hash = node
        .submit(&tx)
        .await
        .context("the node refused the command")?;
    let included = node
        .wait_for_inclusion(hash, DEFAULT_INCLUSION_TIMEOUT)
        .await?;

    // The receipt is private: ask a worker for it, as the sender.
    let deadline = Instant::now() + RECEIPT_TIMEOUT;
    let receipt = loop {
        match ask(
            &node,
            worker_url,
            contract,
            &signer,
            QueryRequest::Receipt(hash),
        )
        .await?
        {
            QueryAnswer::Ok(bytes) => {
                break Receipt::decode(&mut &bytes[..]).context("malformed receipt")?
            }
            QueryAnswer::Refused(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            QueryAnswer::Refused(reason) => bail!("no receipt from the worker: {reason}"),
        }
    };
    let (ok, output) = match &receipt.outcome {
        ReceiptOutcome::Ok(output) => (true, format!("0x{}", hex::encode(output))),
        ReceiptOutcome::Failed(reason) => (false, reason.clone()),
    };
    let value = serde_json::json!({
        "hash": hash,
        "contract": contract,
        "height": included.height,
        "ok": ok,
        "output": output,
        "gas_used": receipt.gas_used,
        "events": receipt.events.len(),
    });
    emit(ctx.json, &value, || {
        let outcome = if ok {
            format!("ok, output {output}")
        } else {
            format!("failed: {output}")
        };
        format!(
            "command {hash} final in block {}\n{outcome} (gas used {})",
            included.height, receipt.gas_used
        )
    })
}

pub async fn query(
    ctx: &Context,
    contract: &str,
    from: &str,
    msg: &str,
    worker_url: &str,
) -> Result<()> {
    let contract = ctx.keystore.resolve_account(contract)?;
    let signer = ctx.keystore.keypair(from, &ctx.passphrase)?;
    let node = connect(ctx).await?;
    let answer = ask(
        &node,
        worker_url,
        contract,
        &signer,
        QueryRequest::Contract(decode_hex(msg)?),
    )
    .await?;
    match answer {
        QueryAnswer::Ok(output) => {
            let hex_output = format!("0x{}", hex::encode(&output));
            // Both examples answer with integers; show them as such too.
            let number = match output.len() {
                16 => u128::decode(&mut &output[..]).ok().map(|n| n.to_string()),
                8 => u64::decode(&mut &output[..]).ok().map(|n| n.to_string()),
                _ => None,
            };
            let value = serde_json::json!({ "contract": contract, "ok": true, "output": hex_output, "number": number });
            emit(ctx.json, &value, || match &number {
                Some(n) => format!("{n} ({hex_output})"),
                None => hex_output.clone(),
            })
        }
        QueryAnswer::Refused(reason) => bail!("the contract refused the query: {reason}"),
    }
}

/// Encodes a message of the example contracts.
pub fn encode(ctx: &Context, contract: &str, words: &[String]) -> Result<()> {
    let account = |name: &str| -> Result<phalanx_sdk_account::AccountId> {
        Ok(phalanx_sdk_account::from(
            ctx.keystore.resolve_account(name)?,
        ))
    };
    let number = |text: &str| -> Result<u128> {
        text.parse()
            .with_context(|| format!("`{text}` is not a whole number"))
    };
    let bytes = match (contract, words.iter().map(String::as_str).collect::<Vec<_>>().as_slice()) {
        ("private-token", ["transfer", to, amount]) => private_token::Command::Transfer { to: account(to)?, amount: number(amount)? }.encode(),
        ("private-token", ["mint", to, amount]) => private_token::Command::Mint { to: account(to)?, amount: number(amount)? }.encode(),
        ("private-token", ["balance", who]) => private_token::Query::Balance { account: account(who)? }.encode(),
        ("private-token", ["total-supply"]) => private_token::Query::TotalSupply.encode(),
        ("counter", ["increment", by]) => counter::Command::Increment { by: number(by)? as u64 }.encode(),
        ("counter", ["reset"]) => counter::Command::Reset.encode(),
        ("counter", ["value"]) => counter::Query::Value.encode(),
        _ => bail!(
            "unknown message; try: private-token transfer TO AMOUNT | mint TO AMOUNT | balance WHO | total-supply; counter increment N | reset | value"
        ),
    };
    let text = format!("0x{}", hex::encode(bytes));
    emit(ctx.json, &serde_json::json!({ "message": text }), || {
        text.clone()
    })
}

/// Account ids as the contract SDK spells them.
mod phalanx_sdk_account {
    pub use phalanx_sdk::AccountId;

    pub fn from(account: phalanx_primitives::AccountId) -> AccountId {
        AccountId(*account.as_bytes())
    }
}
