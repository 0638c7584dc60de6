//! A block's contract calls, run contract by contract.
//!
//! The executor first walks the block in order (keys, code, registrations, balances) and lists
//! the calls it must make; then it runs each contract's calls, in their block order, on one
//! kept instance (`phalanx_vm::ContractSession`); then it puts receipts, outputs and gas records
//! back in block order. Contracts of one block cannot see each other's state (messages between
//! them travel through egress, into a later block), so the order across contracts changes
//! nothing, and what a worker produces is what the call-by-call order produced.

use crate::egress::Output;
use crate::{ExecError, Receipt, ReceiptOutcome};
use phalanx_primitives::{AccountId, Balance, Envelope, Hash};
use phalanx_vm::{
    CallContext, CallError, CallOutcome, ContractStorage, EntryPoint, StorageWrite, Vm,
};

/// Who a receipt is for, and the block it is in.
#[derive(Clone)]
pub(crate) struct ReceiptBase {
    pub tx_hash: Hash,
    pub sender: AccountId,
    pub height: u64,
    pub time_ms: u64,
    pub block_hash: Hash,
    /// PHA the command carried into the contract.
    pub value: Balance,
}

impl ReceiptBase {
    pub fn failed(&self, contract: AccountId, reason: &str) -> Receipt {
        self.receipt(contract, ReceiptOutcome::Failed(reason.to_string()), 0)
    }

    /// A receipt of this transaction that emitted no events.
    pub fn receipt(&self, contract: AccountId, outcome: ReceiptOutcome, gas_used: u64) -> Receipt {
        Receipt {
            tx_hash: self.tx_hash,
            contract,
            sender: self.sender,
            block: self.height,
            outcome,
            gas_used,
            events: vec![],
            debug: vec![],
        }
    }
}

/// What a call is, before it is decrypted.
pub(crate) enum Work<'b> {
    Instantiate {
        cluster: Hash,
        init: &'b Envelope,
    },
    /// A command, or a message from another contract (then `base.sender` is that contract).
    Command {
        envelope: &'b Envelope,
    },
}

/// One call the block asks of this worker, in block order.
pub(crate) struct Job<'b> {
    pub base: ReceiptBase,
    pub contract: AccountId,
    pub work: Work<'b>,
    pub gas_limit: u64,
    /// The gas ledger's entry: who prepaid the gas, and how much.
    pub payer: AccountId,
    pub prepaid: Balance,
}

/// A call decrypted and ready to run, or what stopped it.
pub(crate) enum Ready {
    Run {
        entry: EntryPoint,
        input: Vec<u8>,
        seed: [u8; 32],
    },
    /// A permit revocation: the worker's own record under this key, never run by the contract.
    Revoke {
        key: Vec<u8>,
        gas_used: u64,
    },
    Failed(&'static str),
}

/// What one job produced.
pub(crate) struct Done {
    pub receipt: Receipt,
    pub outputs: Vec<(AccountId, Output)>,
}

impl Job<'_> {
    pub fn context(&self, seed: [u8; 32]) -> CallContext {
        CallContext {
            contract: self.contract,
            caller: self.base.sender,
            block_height: self.base.height,
            block_time_ms: self.base.time_ms,
            random_seed: seed,
            value: self.base.value,
            scopes: None,
        }
    }

    /// The receipt and outputs of a call the VM ran; a storage failure is the worker's, not the
    /// call's, and stops the block.
    pub fn finish(&self, outcome: CallOutcome) -> Result<Done, ExecError> {
        let result = match outcome.result {
            Err(CallError::Storage(e)) => return Err(ExecError::Storage(e)),
            Ok(output) => ReceiptOutcome::Ok(output),
            Err(error) => ReceiptOutcome::Failed(error.to_string()),
        };
        let contract = self.contract;
        // The VM returns no effects from a failed call, so these are a successful call's.
        let public_events = outcome.events.iter().filter(|e| e.recipient.is_none());
        let outputs = public_events
            .map(|e| Output::Event(e.data.clone()))
            .chain(outcome.transfers.into_iter().map(|t| Output::Transfer {
                to: t.to,
                amount: t.amount,
            }))
            .chain(outcome.messages.into_iter().map(|m| Output::Message {
                to: m.to,
                payload: m.payload,
                gas_limit: m.gas_limit,
            }))
            .map(|output| (contract, output))
            .collect();
        let receipt = Receipt {
            tx_hash: self.base.tx_hash,
            contract,
            sender: self.base.sender,
            block: self.base.height,
            outcome: result,
            gas_used: outcome.gas_used,
            events: outcome
                .events
                .into_iter()
                .map(|e| (e.recipient, e.data))
                .collect(),
            debug: outcome.debug,
        };
        Ok(Done { receipt, outputs })
    }

    /// A job that produced only a receipt.
    pub fn receipt_only(receipt: Receipt) -> Done {
        Done {
            receipt,
            outputs: Vec::new(),
        }
    }
}

/// One contract's jobs of a block, decrypted, in block order.
pub(crate) struct Group {
    pub contract: AccountId,
    /// (index in the block's jobs, what to do).
    pub jobs: Vec<(usize, Ready)>,
    /// The contract's code, prepared in the VM, when any job runs it.
    pub code_hash: Option<Hash>,
}

/// Runs one contract's jobs on one kept instance and applies their writes to its storage.
/// Touches nothing but that storage, so contracts can run on different threads.
pub(crate) fn run_group(
    vm: &Vm,
    jobs: &[Job<'_>],
    group: Group,
    storage: &mut (dyn ContractStorage + Send),
) -> Result<Vec<(usize, Done)>, ExecError> {
    let contract = group.contract;
    let mut done = Vec::with_capacity(group.jobs.len());
    // Writes of a contract none of whose jobs runs (revocations only).
    let mut unrun = Vec::new();
    let writes = {
        let mut session = match &group.code_hash {
            Some(hash) => Some(
                vm.session(hash, &*storage)
                    .map_err(|e| ExecError::Inconsistent(e.to_string()))?,
            ),
            None => None,
        };
        for (i, ready) in group.jobs {
            let job = &jobs[i];
            let one = match (ready, session.as_mut()) {
                (Ready::Failed(reason), _) => Job::receipt_only(job.base.failed(contract, reason)),
                (Ready::Run { entry, input, seed }, Some(session)) => {
                    let outcome = session.call(entry, &job.context(seed), &input, job.gas_limit);
                    job.finish(outcome)?
                }
                (Ready::Revoke { key, gas_used }, session) => {
                    match session {
                        Some(session) => session
                            .set(&key, &[])
                            .map_err(|e| ExecError::Storage(e.0))?,
                        None => unrun.push(StorageWrite::Set {
                            key,
                            value: Vec::new(),
                        }),
                    }
                    let ok = ReceiptOutcome::Ok(Vec::new());
                    Job::receipt_only(job.base.receipt(contract, ok, gas_used))
                }
                (Ready::Run { .. }, None) => {
                    return Err(ExecError::Inconsistent(format!(
                        "contract {contract} runs without its code"
                    )))
                }
            };
            done.push((i, one));
        }
        session.map_or(unrun, |s| s.finish())
    };
    for write in writes {
        match write {
            StorageWrite::Set { key, value } => storage.set(&key, &value),
            StorageWrite::Remove { key } => storage.remove(&key),
        }
        .map_err(|e| ExecError::Storage(e.0))?;
    }
    Ok(done)
}
