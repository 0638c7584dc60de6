//! `phalanx permit sign | revoke`, and reading a permit file for `contract query --permit`.

use super::confidential::{connect, decode_hex, open_contract, submit_and_wait};
use super::Context;
use crate::output::emit;
use anyhow::{anyhow, bail, Context as _, Result};
use parity_scale_codec::{DecodeAll, Encode};
use phalanx_primitives::query::SignedPermit;
use rand_core::OsRng;
use std::path::Path;
use std::time::Duration;

/// How long `permit revoke` waits for the contract's workers to replay the revocation's block.
const REVOCATION_REPLAY_WAIT: Duration = Duration::from_secs(30);

/// A permit file: JSON with its fields for people and `permit`, 0x-hex SCALE `SignedPermit`.
pub(super) fn read_permit(file: &Path) -> Result<SignedPermit> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    let hex_permit = json["permit"]
        .as_str()
        .ok_or_else(|| anyhow!("{} has no `permit` field (0x-hex)", file.display()))?;
    let bytes = decode_hex(hex_permit)?;
    SignedPermit::decode_all(&mut &bytes[..])
        .map_err(|e| anyhow!("{} does not hold a permit: {e}", file.display()))
}

pub async fn sign_permit(
    ctx: &Context,
    contract: &str,
    from: &str,
    grantee: &str,
    scopes: Vec<String>,
    expires_in: u64,
) -> Result<()> {
    let contract = ctx.keystore.resolve_account(contract)?;
    let owner = ctx.keystore.keypair(from, &ctx.passphrase)?;
    let grantee = ctx.keystore.resolve_account(grantee)?;
    let node = connect(ctx).await?;
    let client = open_contract(&node, contract, None).await?;
    let expiry_ms =
        phalanx_client::contract::now_ms().saturating_add(expires_in.saturating_mul(1_000));
    let signed = client.sign_permit(&owner, grantee, scopes, expiry_ms, &mut OsRng);
    let p = &signed.permit;
    let value = serde_json::json!({
        "contract": p.contract, "owner": p.owner, "grantee": p.grantee, "scopes": p.scopes,
        "expiry_ms": p.expiry_ms, "id": hex::encode(p.id),
        "permit": format!("0x{}", hex::encode(signed.encode())),
    });
    // The file is the JSON either way (one line with --json): what `--permit` and `permit
    // revoke` read.
    let text = if ctx.json {
        serde_json::to_string(&value)?
    } else {
        serde_json::to_string_pretty(&value)?
    };
    println!("{text}");
    Ok(())
}

pub async fn revoke_permit(ctx: &Context, file: &Path, from: &str) -> Result<()> {
    let signed = read_permit(file)?;
    let owner = ctx.keystore.keypair(from, &ctx.passphrase)?;
    if owner.account_id() != signed.permit.owner {
        bail!(
            "this permit was signed by {}, not by {from}",
            signed.permit.owner
        );
    }
    let node = connect(ctx).await?;
    let client = open_contract(&node, signed.permit.contract, None).await?;
    let call = client.revoke_permit_call(owner.account_id(), &signed.permit.id, &mut OsRng)?;
    let (hash, height) = submit_and_wait(&node, &owner, call).await?;
    // Final is not yet replayed: say so for any worker that would still honour the permit.
    let behind = client.workers_behind(height, REVOCATION_REPLAY_WAIT).await;
    let value = serde_json::json!({
        "hash": hash, "height": height, "revoked": hex::encode(signed.permit.id),
        "workers_behind": behind,
    });
    emit(ctx.json, &value, || {
        let id = hex::encode(signed.permit.id);
        if behind.is_empty() {
            format!("permit {id} revoked in block {height}: every worker of the contract refuses it now")
        } else {
            format!(
                "permit {id} revoked in block {height}; not yet replayed by {} (each refuses it once it has)",
                behind.join(", ")
            )
        }
    })
}
