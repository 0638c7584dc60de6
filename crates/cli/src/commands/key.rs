//! `phalanx key new | list | show`.

use super::Context;
use crate::args::KeyCommand;
use crate::output::emit;
use anyhow::Result;

pub fn run(ctx: &Context, command: KeyCommand) -> Result<()> {
    match command {
        KeyCommand::New { name } => {
            let entry = ctx.keystore.create(&name, &ctx.passphrase)?;
            emit(ctx.json, &entry, || {
                format!(
                    "created key `{}`\naccount: {}\nfile:    {}",
                    entry.name,
                    entry.account,
                    entry
                        .file
                        .as_ref()
                        .map(|f| f.display().to_string())
                        .unwrap_or_default()
                )
            })
        }
        KeyCommand::List => {
            let keys = ctx.keystore.list()?;
            emit(ctx.json, &serde_json::json!({ "keys": keys }), || {
                keys.iter()
                    .map(|k| format!("{:<20} {} ({})", k.name, k.account, k.source))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        KeyCommand::Show { name } => {
            let entry = ctx.keystore.entry(&name)?;
            emit(ctx.json, &entry, || {
                format!(
                    "{}\naccount: {}\nsource:  {}",
                    entry.name, entry.account, entry.source
                )
            })
        }
    }
}
