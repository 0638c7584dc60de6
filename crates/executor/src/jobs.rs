//! A block's contract calls, run contract by contract.
//!
//! The executor first walks the block in order (keys, code, registrations, balances) and lists
//! the calls it must make; then it runs each contract's calls, in their block order, on one
//! kept instance (`phalanx_vm::ContractSession`); then it puts receipts, outputs and gas records
//! back in block order. Contracts of one block cannot see each other's state (messages between
//! them travel through egress, into a later block), so the order across contracts changes
//! nothing, and what a worker produces is what the call-by-call order produced.

use crate::egress::Output;
use crate::{ExecError, KeyRing, Receipt, ReceiptOutcome};
use phalanx_crypto::envelope::{EnvelopeContext, Opener};
use phalanx_crypto::hierarchy::ContractKeys;
use phalanx_primitives::{AccountId, Balance, Envelope, Hash};
use phalanx_vm::{
    CallContext, CallError, CallOutcome, ContractStorage, EntryPoint, StorageWrite, Vm,
};
use std::collections::hash_map::{Entry, HashMap};

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

/// A contract's decryption state, per key epoch: openers that remember the keys shared with
/// recent senders' sessions (so a session's later commands cost no public-key work), and the
/// contract keys derived so far (five HKDFs; a command needs them for its random seed). It
/// travels with the contract's jobs to whichever thread runs them.
#[derive(Default)]
pub(crate) struct ContractCaches {
    openers: HashMap<u32, Opener>,
    derived: HashMap<u32, ContractKeys>,
}

/// What every contract's run of a block shares, read-only.
pub(crate) struct RunContext<'r, 'b> {
    pub vm: &'r Vm,
    pub keys: &'r KeyRing,
    pub chain_id: Hash,
    pub jobs: &'r [Job<'b>],
}

/// One contract's jobs of a block, in block order.
pub(crate) struct Group {
    pub contract: AccountId,
    /// Indices in the block's jobs.
    pub jobs: Vec<usize>,
    /// The contract's code, prepared in the VM (an error matters only if a job runs).
    pub code_hash: Result<Hash, ExecError>,
    /// The contract's cluster, once registered.
    pub cluster: Option<Hash>,
    pub caches: ContractCaches,
}

/// What a contract's run produced: each job's result by index, and its caches to keep.
pub(crate) struct Ran {
    pub contract: AccountId,
    pub done: Vec<(usize, Done)>,
    pub caches: ContractCaches,
}

/// Decrypts a job's input, or says why it cannot run.
fn ready(run: &RunContext<'_, '_>, group: &mut Group, job: &Job<'_>) -> Ready {
    let context = EnvelopeContext {
        chain_id: run.chain_id,
        contract: job.contract,
        sender: job.base.sender,
    };
    match job.work {
        Work::Instantiate { cluster, init } => {
            let Some(cluster_key) = run.keys.cluster_key(&cluster, init.epoch) else {
                return Ready::Failed(
                    "this worker has no key of the epoch the init is encrypted for",
                );
            };
            let opened = Opener::new(cluster_key.ecdh_secret(), init.epoch).open(&context, init);
            let Ok(input) = opened else {
                return Ready::Failed("init arguments do not decrypt for this contract and sender");
            };
            let seed = cluster_key
                .contract_keys(&job.contract)
                .random_seed(&job.base.block_hash);
            Ready::Run {
                entry: EntryPoint::Instantiate,
                input,
                seed,
            }
        }
        Work::Command { envelope } => {
            let Some(cluster) = group.cluster else {
                return Ready::Failed("the contract is not registered with this worker");
            };
            let caches = &mut group.caches;
            let keys = match caches.derived.entry(envelope.epoch) {
                Entry::Occupied(known) => known.into_mut(),
                Entry::Vacant(slot) => {
                    let derived = run
                        .keys
                        .contract_keys(&cluster, envelope.epoch, &job.contract);
                    let Some(keys) = derived else {
                        return Ready::Failed(
                            "this worker has no key of the epoch the command is encrypted for",
                        );
                    };
                    slot.insert(keys)
                }
            };
            let opener = caches
                .openers
                .entry(envelope.epoch)
                .or_insert_with(|| Opener::new(keys.ecdh_secret().clone(), envelope.epoch));
            let Ok(input) = opener.open(&context, envelope) else {
                return Ready::Failed("command does not decrypt for this contract and sender");
            };
            if let Some(id) = crate::permits::revocation_of(&input) {
                // The worker's own business: recorded where no contract can write, never run.
                return Ready::Revoke {
                    key: crate::permits::revoked_key(&job.base.sender, &id),
                    gas_used: crate::permits::REVOKE_PERMIT_GAS.min(job.gas_limit),
                };
            }
            Ready::Run {
                entry: EntryPoint::Execute,
                input,
                seed: keys.random_seed(&job.base.block_hash),
            }
        }
    }
}

/// Decrypts and runs one contract's jobs on one kept instance and applies their writes to its
/// storage. Touches nothing but that storage and the contract's own caches, so contracts can
/// run on different threads.
pub(crate) fn run_group(
    run: &RunContext<'_, '_>,
    mut group: Group,
    storage: &mut (dyn ContractStorage + Send),
) -> Result<Ran, ExecError> {
    let contract = group.contract;
    let indices = std::mem::take(&mut group.jobs);
    let ready: Vec<Ready> = indices
        .iter()
        .map(|&i| ready(run, &mut group, &run.jobs[i]))
        .collect();
    let runs = ready.iter().any(|r| matches!(r, Ready::Run { .. }));
    let mut done = Vec::with_capacity(indices.len());
    // Writes of a contract none of whose jobs runs (revocations only).
    let mut unrun = Vec::new();
    let writes = {
        let mut session = match (&group.code_hash, runs) {
            (Ok(hash), true) => Some(
                run.vm
                    .session(hash, &*storage)
                    .map_err(|e| ExecError::Inconsistent(e.to_string()))?,
            ),
            (Err(error), true) => return Err(error.clone()),
            (_, false) => None,
        };
        for (i, ready) in indices.into_iter().zip(ready) {
            let job = &run.jobs[i];
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
    Ok(Ran {
        contract,
        done,
        caches: group.caches,
    })
}
