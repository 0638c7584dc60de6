//! The PHA economy from the command line: stake pools, rewards, governance and the workers'
//! computing state.

use super::confidential::submit_and_wait;
use super::sudo::privileged_call;
use super::Context;
use crate::args::{PoolCommand, SudoCommand};
use crate::output::emit;
use anyhow::{bail, Result};
use phalanx_client::api::NodeApiClient;
use phalanx_client::views::describe_sudo_call;
use phalanx_primitives::amount::{format_pha, parse_pha};
use phalanx_primitives::Call;
use std::fmt::Write as _;

/// Sends `call` signed by `from`, waits until it is final, prints `what`.
pub(super) async fn send(ctx: &Context, from: &str, call: Call, what: String) -> Result<()> {
    let signer = ctx.keystore.keypair(from, &ctx.passphrase)?;
    let node = super::chain::connect(ctx).await?;
    let (hash, height) = submit_and_wait(&node, &signer, call).await?;
    let value = serde_json::json!({ "hash": hash, "height": height, "done": what });
    emit(ctx.json, &value, || format!("{what} (block {height})"))
}

pub async fn pool(ctx: &Context, command: PoolCommand) -> Result<()> {
    let account = |text: &str| ctx.keystore.resolve_account(text);
    match command {
        PoolCommand::Create { from, commission } => {
            let what =
                format!("pool created with a {commission}% commission (see `phalanx pool list`)");
            send(
                ctx,
                &from,
                Call::CreatePool {
                    commission_percent: commission,
                },
                what,
            )
            .await
        }
        PoolCommand::Deposit { pool, from, amount } => {
            let amount = parse_pha(&amount)?;
            let what = format!("deposited {} PHA into pool {pool}", format_pha(amount));
            send(ctx, &from, Call::Deposit { pool, amount }, what).await
        }
        PoolCommand::Withdraw {
            pool,
            from,
            shares,
            all,
        } => {
            let shares = match (shares, all) {
                (Some(text), _) => parse_pha(&text)?,
                (None, _) => {
                    let who = account(&from)?;
                    let node = super::chain::connect(ctx).await?;
                    let stakes = node.rpc().stakes(who).await?;
                    match stakes.stakes.iter().find(|s| s.pool == pool) {
                        Some(stake) => stake.shares,
                        None => bail!("{who} holds no shares of pool {pool}"),
                    }
                }
            };
            let what = format!(
                "withdrawal of {} shares of pool {pool} requested; paid after the cool-down",
                format_pha(shares)
            );
            send(ctx, &from, Call::Withdraw { pool, shares }, what).await
        }
        PoolCommand::Bind { pool, worker, from } => {
            let worker = account(&worker)?;
            let what = format!("worker {worker} bound to pool {pool}");
            send(ctx, &from, Call::BindWorker { pool, worker }, what).await
        }
        PoolCommand::Start {
            worker,
            from,
            stake,
        } => {
            let worker = account(&worker)?;
            let stake = parse_pha(&stake)?;
            let what = format!(
                "worker {worker} is computing, backed by {} PHA",
                format_pha(stake)
            );
            send(ctx, &from, Call::StartComputing { worker, stake }, what).await
        }
        PoolCommand::Stop { worker, from } => {
            let worker = account(&worker)?;
            let what = format!("worker {worker} stopped computing");
            send(ctx, &from, Call::StopComputing { worker }, what).await
        }
        PoolCommand::Unbind { worker, from } => {
            let worker = account(&worker)?;
            let what = format!("worker {worker} unbound from its pool");
            send(ctx, &from, Call::UnbindWorker { worker }, what).await
        }
        PoolCommand::List => {
            let node = super::chain::connect(ctx).await?;
            let pools = node.rpc().pools().await?;
            emit(ctx.json, &pools, || {
                if pools.is_empty() {
                    return "no pools yet (phalanx pool create)".into();
                }
                let mut text = String::new();
                for p in &pools {
                    let _ = writeln!(
                        text,
                        "pool {}: owner {}, commission {}%, stake {} PHA, {} shares, {} workers; earned {} PHA to stake + {} PHA commission",
                        p.pool,
                        p.owner,
                        p.commission_percent,
                        format_pha(p.total_stake_units),
                        format_pha(p.total_shares),
                        p.workers.len(),
                        format_pha(p.rewards_to_stake_units),
                        format_pha(p.commission_paid_units),
                    );
                }
                text.trim_end().to_string()
            })
        }
        PoolCommand::Stakes { account: who } => {
            let who = account(&who)?;
            let node = super::chain::connect(ctx).await?;
            let view = node.rpc().stakes(who).await?;
            emit(ctx.json, &view, || {
                let mut text = String::new();
                for s in &view.stakes {
                    let _ = writeln!(
                        text,
                        "pool {}: {} shares worth {} PHA",
                        s.pool,
                        format_pha(s.shares),
                        format_pha(s.value_units)
                    );
                }
                for w in &view.withdrawals {
                    let _ = writeln!(
                        text,
                        "pool {}: {} shares waiting until {} ms",
                        w.pool,
                        format_pha(w.shares),
                        w.release_at_ms
                    );
                }
                if text.is_empty() {
                    text = format!("{who} holds no shares");
                }
                text.trim_end().to_string()
            })
        }
    }
}

pub async fn rewards(ctx: &Context) -> Result<()> {
    let node = super::chain::connect(ctx).await?;
    let rewards = node.rpc().rewards().await?;
    let pools = node.rpc().pools().await?;
    let workers = node.rpc().economy_workers().await?;
    let value = serde_json::json!({ "emission": rewards, "pools": pools, "workers": workers });
    emit(ctx.json, &value, || {
        let mut text = format!(
            "block {}: {} PHA a block ({}% to the treasury), halving at block {}; {} computing workers\nmining pool: {} PHA left, {} PHA released",
            rewards.height,
            format_pha(rewards.budget_per_block_units),
            rewards.treasury_reward_percent,
            rewards.next_halving_at,
            rewards.computing_workers,
            format_pha(rewards.mining_pool_units),
            format_pha(rewards.emitted_units),
        );
        for p in &pools {
            let _ = write!(
                text,
                "\npool {}: {} PHA to its stake, {} PHA commission to {}",
                p.pool,
                format_pha(p.rewards_to_stake_units),
                format_pha(p.commission_paid_units),
                p.owner
            );
        }
        for w in workers.iter().filter(|w| w.rewards_units > 0) {
            let _ = write!(
                text,
                "\nworker {}: earned {} PHA",
                w.identity,
                format_pha(w.rewards_units)
            );
        }
        text
    })
}

pub async fn propose(ctx: &Context, from: &str, command: SudoCommand) -> Result<()> {
    let call = privileged_call(ctx, command)?;
    let what = format!(
        "proposed: {} (see `phalanx proposals`)",
        describe_sudo_call(&call)
    );
    send(ctx, from, Call::Propose { call }, what).await
}

pub async fn vote(ctx: &Context, proposal: u32, from: &str, nay: bool, amount: &str) -> Result<()> {
    let amount = parse_pha(amount)?;
    let aye = !nay;
    let what = format!(
        "voted {} on proposal {proposal} with {} PHA, locked until the vote ends",
        if aye { "aye" } else { "nay" },
        format_pha(amount)
    );
    send(
        ctx,
        from,
        Call::Vote {
            proposal,
            aye,
            amount,
        },
        what,
    )
    .await
}

pub async fn proposals(ctx: &Context) -> Result<()> {
    let node = super::chain::connect(ctx).await?;
    let proposals = node.rpc().proposals().await?;
    emit(ctx.json, &proposals, || {
        if proposals.is_empty() {
            return "no proposals yet (phalanx propose)".into();
        }
        let mut text = String::new();
        for p in &proposals {
            let when = match (p.status.as_str(), p.enact_at) {
                ("voting", _) => format!("voting until block {}", p.voting_ends),
                ("passed", Some(at)) => format!("passed, enacted at block {at}"),
                (status, _) => status.to_string(),
            };
            let _ = writeln!(
                text,
                "#{} {}: {} — ayes {} PHA, nays {} PHA ({} votes), by {}",
                p.proposal,
                when,
                p.call,
                format_pha(p.ayes_units),
                format_pha(p.nays_units),
                p.votes.len(),
                p.proposer
            );
        }
        text.trim_end().to_string()
    })
}

pub async fn worker_list(ctx: &Context) -> Result<()> {
    let node = super::chain::connect(ctx).await?;
    let workers = node.rpc().economy_workers().await?;
    emit(ctx.json, &workers, || {
        if workers.is_empty() {
            return "no workers registered".into();
        }
        let mut text = String::new();
        for w in &workers {
            let pool = w.pool.map_or("-".to_string(), |p| p.to_string());
            let p = match (w.performance, w.benchmark) {
                (0, Some(b)) => format!("{b} (benchmark)"),
                (p, _) => p.to_string(),
            };
            let _ = writeln!(
                text,
                "{} pool {pool} {} V {} PHA P {p} confidence {:?} ({}%) earned {} PHA",
                w.identity,
                w.state,
                format_pha(w.v_units),
                w.confidence,
                w.confidence_percent,
                format_pha(w.rewards_units),
            );
        }
        text.trim_end().to_string()
    })
}
