//! Egress: what contracts send out of their enclaves (public events, PHA payments, messages to
//! other contracts) coming back to the chain.
//!
//! Every worker of a cluster runs the same commands, so every one of them produces the same
//! outputs, numbered per contract from 0. Any of them may send a batch; the chain takes each
//! number exactly once and in order: a batch must start at the next number the contract owes,
//! so a second worker sending the same outputs, or anyone replaying an old batch, is refused.
//! Only a worker of the contract's cluster may send; it signs with its attested identity.
//!
//! An accepted output always spends its number, even when it cannot take effect (the contract's
//! account cannot pay, the message's receiver does not exist): it then emits `OutputFailed`, so
//! one bad output never blocks the ones after it.
//!
//! State layout: `egress/next/` ++ contract id -> u64 little-endian, the next output number.

use crate::clusters::read_cluster;
use crate::contracts;
use crate::error::{Cause, Refusal};
use crate::{balances, StateError, StateOverlay, StateReader, TxError};
use phalanx_primitives::{
    gas_escrow, AccountId, Balance, ContractOutput, Event, MAX_EGRESS_OUTPUTS,
};

/// Why an egress batch is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EgressError {
    #[error("an egress carries 1 to {MAX_EGRESS_OUTPUTS} outputs, not {0}")]
    OutputCount(usize),
    #[error("{worker} is not a worker of contract {contract}'s cluster")]
    NotClusterWorker {
        worker: AccountId,
        contract: AccountId,
    },
    #[error("outputs from {first} of contract {contract} were already accepted (next is {next}): a replay")]
    Replay {
        contract: AccountId,
        first: u64,
        next: u64,
    },
    #[error("outputs of contract {contract} must continue at {next}, not {first}")]
    Gap {
        contract: AccountId,
        first: u64,
        next: u64,
    },
}

impl Cause for EgressError {
    fn cause(&self) -> &'static str {
        match self {
            EgressError::OutputCount(_) => "egress_output_count",
            EgressError::NotClusterWorker { .. } => "not_a_cluster_worker",
            EgressError::Replay { .. } => "egress_replayed",
            EgressError::Gap { .. } => "egress_gap",
        }
    }

    fn refusal(&self) -> Refusal {
        match self {
            EgressError::NotClusterWorker { .. } => Refusal::NotAuthorized,
            _ => Refusal::InvalidCall,
        }
    }
}

const NEXT_PREFIX: &[u8] = b"egress/next/";
/// Longest public event payload (the VM's own limit).
const MAX_EVENT_LEN: usize = phalanx_vm::MAX_EVENT_LEN;

fn next_key(contract: &AccountId) -> Vec<u8> {
    [NEXT_PREFIX, contract.as_bytes().as_slice()].concat()
}

fn decode_next(bytes: Option<Vec<u8>>) -> Result<u64, StateError> {
    match bytes {
        None => Ok(0),
        Some(bytes) => <[u8; 8]>::try_from(bytes.as_slice())
            .map(u64::from_le_bytes)
            .map_err(|_| StateError("corrupt egress counter".into())),
    }
}

/// The number of the next output the chain expects from `contract` (all before it are in).
pub fn next_output(state: &impl StateReader, contract: &AccountId) -> Result<u64, StateError> {
    decode_next(state.get(&next_key(contract))?)
}

/// A batch of outputs as a worker sent it.
pub(crate) struct Batch<'a> {
    pub worker: AccountId,
    pub contract: AccountId,
    pub first_seq: u64,
    pub outputs: &'a [ContractOutput],
    /// PHA per unit of gas, for the gas of messages.
    pub gas_price: Balance,
    /// Where the treasury's part of settled gas goes.
    pub treasury: AccountId,
    /// The cluster workers' percent of settled gas fees.
    pub worker_share_percent: u8,
    /// The most gas a message may carry (`max_command_gas`).
    pub max_message_gas: u64,
}

pub(crate) fn accept(
    overlay: &mut StateOverlay<impl StateReader>,
    batch: Batch<'_>,
) -> Result<Vec<Event>, TxError> {
    let Batch {
        worker, contract, ..
    } = batch;
    if batch.outputs.is_empty() || batch.outputs.len() > MAX_EGRESS_OUTPUTS {
        return Err(EgressError::OutputCount(batch.outputs.len()).into());
    }
    let info = contracts::read_contract(overlay, &contract)?;
    if !read_cluster(overlay, &info.cluster)?
        .workers
        .contains(&worker)
    {
        return Err(EgressError::NotClusterWorker { worker, contract }.into());
    }
    let next = decode_next(overlay.get(&next_key(&contract))?)?;
    if batch.first_seq < next {
        return Err(EgressError::Replay {
            contract,
            first: batch.first_seq,
            next,
        }
        .into());
    }
    if batch.first_seq > next {
        return Err(EgressError::Gap {
            contract,
            first: batch.first_seq,
            next,
        }
        .into());
    }
    let mut events = vec![Event::EgressAccepted {
        contract,
        worker,
        first_seq: batch.first_seq,
        count: batch.outputs.len() as u32,
    }];
    for (seq, output) in (batch.first_seq..).zip(batch.outputs) {
        let event = match take_effect(overlay, &batch, output, seq)? {
            Ok(event) => event,
            Err(reason) => Event::OutputFailed {
                contract,
                seq,
                reason,
            },
        };
        events.push(event);
    }
    let after = batch.first_seq + batch.outputs.len() as u64;
    overlay.set(next_key(&contract), after.to_le_bytes().to_vec());
    Ok(events)
}

/// Applies one output: its event, or why it could not take effect (`Ok(Err(reason))`).
fn take_effect(
    overlay: &mut StateOverlay<impl StateReader>,
    batch: &Batch<'_>,
    output: &ContractOutput,
    seq: u64,
) -> Result<Result<Event, String>, TxError> {
    let contract = batch.contract;
    Ok(match output {
        ContractOutput::Event(data) if data.len() > MAX_EVENT_LEN => Err(format!(
            "event of {} bytes exceeds {MAX_EVENT_LEN}",
            data.len()
        )),
        ContractOutput::Event(data) => Ok(Event::ContractEvent {
            contract,
            seq,
            data: data.clone(),
        }),
        ContractOutput::Transfer { to, amount } => {
            pay(overlay, &contract, to, *amount)?.map(|()| Event::Transfer {
                from: contract,
                to: *to,
                amount: *amount,
            })
        }
        ContractOutput::Message { to, gas_limit, .. } => {
            if !contracts::exists(overlay, to)? {
                Err(format!("no contract {to} to receive the message"))
            } else if *gas_limit == 0 || *gas_limit > batch.max_message_gas {
                Err(format!(
                    "a message's gas limit must be 1 to {}",
                    batch.max_message_gas
                ))
            } else {
                let gas_paid = batch.gas_price.saturating_mul((*gas_limit).into());
                pay(overlay, &contract, &gas_escrow(to), gas_paid)?.map(|()| {
                    Event::ContractMessage {
                        from: contract,
                        to: *to,
                        seq,
                        gas_paid,
                    }
                })
            }
        }
        ContractOutput::Settle { refunds, fees } => settle(overlay, batch, refunds, *fees)?,
    })
}

/// Pays a contract's settled gas out of its escrow: refunds to their payers (with `Transfer`
/// events), `fees` split between the cluster's workers (equally, by the share parameter) and
/// the treasury (the rest, remainders included). Refused as a whole if the escrow does not hold
/// it all.
fn settle(
    overlay: &mut StateOverlay<impl StateReader>,
    batch: &Batch<'_>,
    refunds: &[(AccountId, Balance)],
    fees: Balance,
) -> Result<Result<Event, String>, TxError> {
    let contract = batch.contract;
    let escrow = gas_escrow(&contract);
    let refunded = refunds
        .iter()
        .try_fold(0u128, |sum, (_, amount)| sum.checked_add(*amount));
    let (Some(refunded), Some(total)) = (refunded, refunded.and_then(|r| r.checked_add(fees)))
    else {
        return Ok(Err("settlement overflows".into()));
    };
    match balances::debit(overlay, &escrow, total) {
        Ok(()) => {}
        Err(TxError::InsufficientBalance { available, .. }) => {
            return Ok(Err(format!(
                "contract {contract}'s gas escrow holds {available} units, the settlement needs {total}"
            )))
        }
        Err(other) => return Err(other),
    }
    for (payer, amount) in refunds {
        balances::credit(overlay, payer, *amount)?;
    }
    let info = contracts::read_contract(overlay, &contract)?;
    let workers = read_cluster(overlay, &info.cluster)?.workers;
    let share = fees / 100 * Balance::from(batch.worker_share_percent.min(100));
    let each = share.checked_div(workers.len() as Balance).unwrap_or(0);
    for worker in &workers {
        balances::credit(overlay, worker, each)?;
    }
    let to_workers = each * workers.len() as Balance;
    let to_treasury = fees - to_workers;
    balances::credit(overlay, &batch.treasury, to_treasury)?;
    Ok(Ok(Event::GasSettled {
        contract,
        refunded,
        to_workers,
        to_treasury,
    }))
}

/// Moves PHA from a contract's account, or says why it cannot.
fn pay(
    overlay: &mut StateOverlay<impl StateReader>,
    from: &AccountId,
    to: &AccountId,
    amount: Balance,
) -> Result<Result<(), String>, TxError> {
    match balances::transfer(overlay, from, to, amount) {
        Ok(()) => Ok(Ok(())),
        Err(TxError::InsufficientBalance { available, .. }) => Ok(Err(format!(
            "contract {from} holds {available} units and cannot pay {amount}"
        ))),
        Err(other) => Err(other),
    }
}
