//! `phalanx contract encode`: a message as hex, from JSON through metadata or from the example
//! contracts' words.

use super::confidential::connect;
use super::messages::{self, hex_of, Schema};
use super::Context;
use crate::output::emit;
use anyhow::{anyhow, bail, Context as _, Result};
use parity_scale_codec::Encode;
use phalanx_client::metadata::MessageKind;
use std::path::Path;

pub struct EncodeRequest<'a> {
    pub contract: Option<&'a str>,
    pub words: &'a [String],
    pub json_msg: Option<&'a str>,
    pub metadata: Option<&'a Path>,
    pub kind: MessageKind,
}

/// Encodes a message: JSON through metadata (a file, or a deployed contract's), or the words
/// of the example contracts.
pub async fn encode(ctx: &Context, request: EncodeRequest<'_>) -> Result<()> {
    let bytes = match (request.json_msg, request.contract) {
        (Some(json), _) => {
            let metadata = match (request.metadata, request.contract) {
                (Some(file), _) => messages::read_metadata_file(file)?,
                (None, Some(contract)) => {
                    let contract = ctx.keystore.resolve_account(contract)?;
                    let node = connect(ctx).await?;
                    Schema::for_contract(ctx, &node, contract, None)
                        .await?
                        .into_metadata()
                        .ok_or_else(|| {
                            anyhow!(
                                "contract {contract} has no metadata here: pass --metadata FILE"
                            )
                        })?
                }
                (None, None) => bail!("--json-msg needs --metadata FILE or a contract"),
            };
            messages::encode_json(ctx, &metadata, request.kind, json)?
        }
        (None, Some(contract)) => example_words(ctx, contract, request.words)?,
        (None, None) => bail!("give a message: --json-msg with --metadata, or example words"),
    };
    let text = hex_of(&bytes);
    emit(ctx.json, &serde_json::json!({ "message": text }), || {
        text.clone()
    })
}

/// The example contracts' messages from words (kept for scripts; `--json-msg` does any).
fn example_words(ctx: &Context, contract: &str, words: &[String]) -> Result<Vec<u8>> {
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
        ("data-market", ["init"]) => data_market::Init {}.encode(),
        ("data-market", ["publish", topic, data, price, seconds]) => data_market::Command::Publish {
            topic: topic.to_string(),
            data: data.as_bytes().to_vec(),
            offer: phalanx_sdk::grants::Offer {
                price: phalanx_primitives::amount::parse_pha(price)?,
                duration_ms: (number(seconds)? as u64).saturating_mul(1_000),
            },
        }
        .encode(),
        ("data-market", ["buy", topic]) => data_market::Command::Buy { topic: topic.to_string() }.encode(),
        ("data-market", ["withdraw", to, amount]) => data_market::Command::Withdraw {
            to: account(to)?,
            amount: phalanx_primitives::amount::parse_pha(amount)?,
        }
        .encode(),
        ("data-market", ["read", topic]) => data_market::Query::Read { topic: topic.to_string() }.encode(),
        ("data-market", ["offer", topic]) => data_market::Query::Offer { topic: topic.to_string() }.encode(),
        ("data-market", ["earnings"]) => data_market::Query::Earnings.encode(),
        ("private-token", ["deposit"]) => private_token::Command::Deposit.encode(),
        ("private-token", ["withdraw", to, amount]) => private_token::Command::Withdraw { to: account(to)?, amount: number(amount)? }.encode(),
        ("private-token", ["init-pha", name, symbol]) => private_token::Init {
            name: name.to_string(),
            symbol: symbol.to_string(),
            initial_supply: 0,
            pha_backed: true,
        }
        .encode(),
        ("private-token", ["mint", to, amount]) => private_token::Command::Mint { to: account(to)?, amount: number(amount)? }.encode(),
        ("private-token", ["balance", who]) => private_token::Query::Balance { account: account(who)? }.encode(),
        ("private-token", ["total-supply"]) => private_token::Query::TotalSupply.encode(),
        ("counter", ["increment", by]) => counter::Command::Increment { by: number(by)? as u64 }.encode(),
        ("counter", ["reset"]) => counter::Command::Reset.encode(),
        ("counter", ["value"]) => counter::Query::Value.encode(),
        ("counter", ["init", start]) => counter::Init { start: number(start)? as u64 }.encode(),
        ("private-token", ["init", name, symbol, supply]) => private_token::Init {
            name: name.to_string(),
            symbol: symbol.to_string(),
            initial_supply: number(supply)?,
            pha_backed: false,
        }
        .encode(),
        _ => bail!(
            "unknown message for `{contract}`: words are known for the examples only; for any contract with metadata use --json-msg (with --metadata NAME.metadata.json, or the contract's address); examples: private-token init NAME SYMBOL SUPPLY | init-pha NAME SYMBOL | transfer TO AMOUNT | mint TO AMOUNT | deposit | withdraw TO UNITS | balance WHO | total-supply; counter init START | increment N | reset | value; data-market init | publish TOPIC TEXT PRICE_PHA SECONDS | buy TOPIC | withdraw TO PHA | read TOPIC | offer TOPIC | earnings"
        ),
    };
    Ok(bytes)
}

/// Account ids as the contract SDK spells them.
mod phalanx_sdk_account {
    pub use phalanx_sdk::AccountId;

    pub fn from(account: phalanx_primitives::AccountId) -> AccountId {
        AccountId(*account.as_bytes())
    }
}
