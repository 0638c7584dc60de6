//! The executor: replays a finalized block against the worker's keys and contract state.
//!
//! For each transaction the chain applied (the block's events say which), in order:
//! a key message to this worker yields a cluster key; uploaded code is kept; an instantiation or
//! command for a contract of a served cluster becomes a job. Then each contract's jobs are
//! decrypted and run in the VM in block order, on one instance kept for the block (see
//! `jobs.rs`), and receipts and outputs come back in block order. Anything that cannot be
//! decrypted yields a failed receipt and changes no state.

use crate::chain_view::ChainView;
use crate::egress::{message_id, Addressed, BlockEffects, Output};
use crate::gas_ledger::GasLedger;
use crate::jobs::{
    run_group, ContractCaches, Done, Group, Job, Ran, ReceiptBase, RunContext, Work,
};
use crate::{ContractStates, KeyRing, Receipt, ReceiptOutcome};
use parity_scale_codec::{Decode, Encode};
use phalanx_crypto::envelope::{EnvelopeContext, Opener};
use phalanx_crypto::hierarchy::ClusterKey;
use phalanx_primitives::{
    AccountId, Block, Call, ContractOutput, Envelope, Event, EventRecord, Hash, Phase,
};
use phalanx_vm::{CallContext, CallError, EntryPoint, Vm};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use x25519_dalek::StaticSecret;

/// Fuel a query may burn.
pub const QUERY_GAS_LIMIT: u64 = 50_000_000;

/// Failures that stop the worker (they are not the command's fault).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    #[error("contract storage failed: {0}")]
    Storage(String),
    #[error("the block contradicts what this worker saw before: {0}")]
    Inconsistent(String),
}

#[derive(Clone, Debug, Encode, Decode)]
struct ContractMeta {
    code_hash: Hash,
    cluster: Hash,
    /// The key epoch it was instantiated in, whose keys digest its state.
    epoch: u32,
}

/// What the executor learnt from the chain so far, beyond contract state: the cluster keys it
/// received, the code it saw uploaded and the contracts it runs. Sealed by the worker process
/// with each block that changes it, so a restart resumes without replaying from genesis.
#[derive(Encode, Decode)]
struct Snapshot {
    cluster_keys: Vec<(Hash, u32, [u8; 32])>,
    codes: Vec<(Hash, Vec<u8>)>,
    contracts: Vec<(AccountId, ContractMeta)>,
}

pub struct Executor {
    chain_id: Hash,
    keys: KeyRing,
    vm: Vm,
    codes: BTreeMap<Hash, Vec<u8>>,
    contracts: BTreeMap<AccountId, ContractMeta>,
    /// Whether keys, codes or contracts changed since the last snapshot was taken.
    changed: bool,
    /// Per contract, its openers and derived keys (see [`ContractCaches`]). Memory only.
    caches: HashMap<AccountId, ContractCaches>,
    /// Threads a block's contracts run on (see [`Executor::set_threads`]).
    threads: usize,
}

/// Indices of the transactions the chain applied, read from the events they emitted.
fn applied_transactions(events: &[EventRecord]) -> BTreeSet<u32> {
    events
        .iter()
        .filter_map(|r| match r.phase {
            Phase::Transaction(i) => Some(i),
            Phase::Genesis | Phase::Finalization => None,
        })
        .collect()
}

fn open(secret: &StaticSecret, envelope: &Envelope, context: &EnvelopeContext) -> Option<Vec<u8>> {
    Opener::new(secret.clone(), envelope.epoch)
        .open(context, envelope)
        .ok()
}

impl Executor {
    pub fn new(chain_id: Hash, keys: KeyRing) -> Self {
        Executor {
            chain_id,
            keys,
            vm: Vm::new(),
            codes: BTreeMap::new(),
            contracts: BTreeMap::new(),
            changed: false,
            caches: HashMap::new(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    /// Rebuilds an executor from `keys` (identity and ECDH secret) and a [`Executor::snapshot`].
    pub fn restore(chain_id: Hash, mut keys: KeyRing, snapshot: &[u8]) -> Result<Self, ExecError> {
        let snapshot = Snapshot::decode(&mut &snapshot[..])
            .map_err(|e| ExecError::Inconsistent(format!("executor snapshot: {e}")))?;
        for (cluster, epoch, secret) in snapshot.cluster_keys {
            keys.insert_cluster_key(cluster, ClusterKey::from_bytes(epoch, secret));
        }
        let mut executor = Executor::new(chain_id, keys);
        executor.codes = snapshot.codes.into_iter().collect();
        executor.contracts = snapshot.contracts.into_iter().collect();
        Ok(executor)
    }

    /// The executor's learnt state as bytes to seal; contains secrets (cluster keys).
    pub fn snapshot(&self) -> Vec<u8> {
        Snapshot {
            cluster_keys: self
                .keys
                .cluster_keys()
                .map(|(cluster, key)| (*cluster, key.epoch(), *key.expose_secret()))
                .collect(),
            codes: self
                .codes
                .iter()
                .map(|(hash, code)| (*hash, code.clone()))
                .collect(),
            contracts: self
                .contracts
                .iter()
                .map(|(id, meta)| (*id, meta.clone()))
                .collect(),
        }
        .encode()
    }

    /// A snapshot if anything changed since the last call, so unchanged blocks write nothing.
    pub fn take_snapshot_if_changed(&mut self) -> Option<Vec<u8>> {
        std::mem::take(&mut self.changed).then(|| self.snapshot())
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    pub fn chain_id(&self) -> Hash {
        self.chain_id
    }

    /// The keys of a contract this worker runs, in `epoch`.
    pub fn contract_keys(
        &self,
        contract: &AccountId,
        epoch: u32,
    ) -> Option<phalanx_crypto::hierarchy::ContractKeys> {
        let meta = self.contracts.get(contract)?;
        self.keys.contract_keys(&meta.cluster, epoch, contract)
    }

    /// The key of `contract`'s state digests: the same in every worker of its cluster.
    pub fn digest_key(&self, contract: &AccountId) -> Option<[u8; 32]> {
        let meta = self.contracts.get(contract)?;
        let keys = self
            .keys
            .contract_keys(&meta.cluster, meta.epoch, contract)?;
        Some(*keys.digest_key())
    }

    /// An independent copy (keys, code, contracts; no caches), to replay history beside the
    /// live executor.
    pub fn fork(&self) -> Executor {
        let keys = KeyRing::new(self.keys.identity(), self.keys.ecdh_secret().clone());
        Executor::restore(self.chain_id, keys, &self.snapshot())
            .expect("an executor's own snapshot decodes")
    }

    /// The cluster a contract this worker runs belongs to.
    pub fn cluster_of(&self, contract: &AccountId) -> Option<Hash> {
        self.contracts.get(contract).map(|meta| meta.cluster)
    }

    /// The state key of every contract this worker runs, in every epoch it holds a key of:
    /// `(contract, epoch, key)`, for the store (see the `state_keys` module).
    pub fn state_keys(&self) -> Vec<(AccountId, u32, [u8; 32])> {
        let mut keys = Vec::new();
        for (contract, meta) in &self.contracts {
            for epoch in self.keys.epochs(&meta.cluster) {
                if let Some(contract_keys) = self.keys.contract_keys(&meta.cluster, epoch, contract)
                {
                    keys.push((*contract, epoch, *contract_keys.state_key()));
                }
            }
        }
        keys
    }

    /// The contracts this worker runs.
    pub fn contracts(&self) -> impl Iterator<Item = &AccountId> {
        self.contracts.keys()
    }

    /// Applies one finalized block (with its events, which say which transactions the chain
    /// applied) and returns what it produced: receipts of the instantiations, commands and
    /// messages it ran, their outputs for egress, and the outputs the chain accepted.
    ///
    /// `view` is the enclave's chain view after this block: a cluster key is taken only from a
    /// gatekeeper it lists as holding the master key, and only if it matches the cluster's
    /// published public key where one is known.
    pub fn apply_block(
        &mut self,
        block: &Block,
        events: &[EventRecord],
        view: &ChainView,
        states: &mut impl ContractStates,
    ) -> Result<BlockEffects, ExecError> {
        self.apply(block, events, Scope::Live(view), states)
    }

    /// Takes the cluster keys a block brings this worker (of every epoch: a late joiner gets the
    /// old epochs' too) before the block is applied, and returns the clusters it serves from now
    /// on. A cluster that already has history must be caught up ([`Executor::catch_up_block`]
    /// over every earlier block) before the block is applied, or its contracts would run on
    /// missing state.
    pub fn receive_keys(
        &mut self,
        block: &Block,
        events: &[EventRecord],
        view: &ChainView,
    ) -> Vec<Hash> {
        let applied = applied_transactions(events);
        let mut new = Vec::new();
        for (index, signed) in block.transactions.iter().enumerate() {
            let tx = &signed.transaction;
            if let Call::KeyMessage {
                recipient,
                cluster,
                envelope,
            } = &tx.call
            {
                if applied.contains(&(index as u32)) && *recipient == self.keys.identity() {
                    let served = self.keys.serves(cluster);
                    self.receive_key(view, tx.signer, *cluster, envelope);
                    if !served && self.keys.serves(cluster) && !new.contains(cluster) {
                        new.push(*cluster);
                    }
                }
            }
        }
        new
    }

    /// Replays an earlier block for `cluster` only: its instantiations and its contracts'
    /// commands, exactly as the cluster's other workers ran them then.
    pub fn catch_up_block(
        &mut self,
        block: &Block,
        events: &[EventRecord],
        cluster: Hash,
        states: &mut impl ContractStates,
    ) -> Result<BlockEffects, ExecError> {
        self.apply(block, events, Scope::CatchUp(cluster), states)
    }

    fn apply(
        &mut self,
        block: &Block,
        events: &[EventRecord],
        scope: Scope<'_>,
        states: &mut impl ContractStates,
    ) -> Result<BlockEffects, ExecError> {
        let (only, view) = match scope {
            Scope::Live(view) => (None, Some(view)),
            Scope::CatchUp(cluster) => (Some(cluster), None),
        };
        let block_hash = block.hash();
        let mut effects = BlockEffects::default();
        let mut gas = GasLedger::default();
        // Each transaction's events, by index; the chain applied exactly those with events
        // (every applied transaction at least pays its fee), as in `applied_transactions`.
        let mut events_of: Vec<Vec<&Event>> = vec![Vec::new(); block.transactions.len()];
        for record in events {
            if let Phase::Transaction(i) = record.phase {
                if let Some(list) = events_of.get_mut(i as usize) {
                    list.push(&record.event);
                }
            }
        }
        let balances = crate::balance::announced(events);
        for (contract, units) in &balances {
            if self.runs(contract, only) {
                crate::balance::record(states.storage(contract), *units)?;
            }
        }
        let mut jobs: Vec<Job<'_>> = Vec::new();
        for (index, signed) in block.transactions.iter().enumerate() {
            if events_of[index].is_empty() {
                continue;
            }
            let tx = &signed.transaction;
            let tx_events = events_of[index].iter().copied();
            let prepaid = tx_events
                .clone()
                .find_map(|e| match e {
                    Event::GasPrepaid { amount, .. } => Some(*amount),
                    _ => None,
                })
                .unwrap_or(0);
            let base = ReceiptBase {
                tx_hash: signed.hash(),
                sender: tx.signer,
                height: block.header.height,
                time_ms: block.header.timestamp_ms,
                block_hash,
                value: 0,
            };

            match &tx.call {
                Call::KeyMessage {
                    recipient,
                    cluster,
                    envelope,
                } if *recipient == self.keys.identity() => {
                    if let Some(view) = view {
                        self.receive_key(view, tx.signer, *cluster, envelope);
                    }
                }
                Call::UploadCode { code } if only.is_none() => {
                    self.codes
                        .insert(phalanx_primitives::sha256(code), code.clone());
                    self.changed = true;
                }
                Call::Instantiate {
                    code_hash,
                    cluster,
                    init,
                    gas_limit,
                    ..
                } if self.in_scope(cluster, only) => {
                    let contract = tx_events
                        .filter_map(|e| match e {
                            Event::ContractInstantiated { contract, .. } => Some(*contract),
                            _ => None,
                        })
                        .next()
                        .ok_or_else(|| {
                            ExecError::Inconsistent(format!(
                                "instantiation {} without its event",
                                base.tx_hash
                            ))
                        })?;
                    if let Some(units) = balances.get(&contract) {
                        crate::balance::record(states.storage(&contract), *units)?;
                    }
                    self.contracts.insert(
                        contract,
                        ContractMeta {
                            code_hash: *code_hash,
                            cluster: *cluster,
                            epoch: init.epoch,
                        },
                    );
                    self.changed = true;
                    jobs.push(Job {
                        payer: base.sender,
                        base,
                        contract,
                        work: Work::Instantiate {
                            cluster: *cluster,
                            init,
                        },
                        gas_limit: *gas_limit,
                        prepaid,
                    });
                }
                Call::Command {
                    contract,
                    envelope,
                    gas_limit,
                    value,
                } if self.runs(contract, only) => {
                    jobs.push(Job {
                        payer: base.sender,
                        base: ReceiptBase {
                            value: *value,
                            ..base
                        },
                        contract: *contract,
                        work: Work::Command { envelope },
                        gas_limit: *gas_limit,
                        prepaid,
                    });
                }
                Call::Egress {
                    contract,
                    first_seq,
                    outputs,
                } => {
                    let tx_events: Vec<&Event> = tx_events.collect();
                    if self.runs(contract, only) {
                        let count = outputs.len() as u64;
                        effects.accepted.push((*contract, first_seq + count));
                    }
                    for (seq, output) in (*first_seq..).zip(outputs) {
                        let ContractOutput::Message {
                            to,
                            envelope,
                            gas_limit,
                        } = output
                        else {
                            continue;
                        };
                        let delivered = tx_events.iter().find_map(|e| match e {
                            Event::ContractMessage {
                                from,
                                to: receiver,
                                seq: s,
                                gas_paid,
                            } if from == contract && receiver == to && *s == seq => Some(*gas_paid),
                            _ => None,
                        });
                        if let Some(gas_paid) = delivered.filter(|_| self.runs(to, only)) {
                            jobs.push(Job {
                                base: ReceiptBase {
                                    tx_hash: message_id(contract, seq),
                                    sender: *contract,
                                    ..base.clone()
                                },
                                contract: *to,
                                work: Work::Command { envelope },
                                gas_limit: *gas_limit,
                                payer: *contract,
                                prepaid: gas_paid,
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        let done = self.run_jobs(&jobs, states)?;
        for (job, done) in jobs.iter().zip(done) {
            let Done { receipt, outputs } = done;
            effects.outputs.extend(outputs);
            let failed = matches!(receipt.outcome, ReceiptOutcome::Failed(_));
            if matches!(job.work, Work::Command { .. }) && job.base.value > 0 && failed {
                // A failed command's PHA goes back to its sender.
                let refund = Output::Transfer {
                    to: job.base.sender,
                    amount: job.base.value,
                };
                effects.outputs.push((job.contract, refund));
            }
            let gas_limit = job.gas_limit;
            gas.record(
                job.contract,
                job.payer,
                job.prepaid,
                gas_limit,
                receipt.gas_used,
            );
            effects.receipts.push(receipt);
        }
        effects.outputs.extend(gas.settlements());
        effects.notifications = address_notifications(&mut effects.receipts);
        Ok(effects)
    }

    /// Runs the block's jobs contract by contract, each contract's in block order on one kept
    /// instance, the contracts spread over [`Executor::set_threads`] threads (decryption
    /// included: each contract's session-key caches go with it), and returns what each job
    /// produced, in the order of `jobs`.
    fn run_jobs(
        &mut self,
        jobs: &[Job<'_>],
        states: &mut impl ContractStates,
    ) -> Result<Vec<Done>, ExecError> {
        let mut by_contract: BTreeMap<AccountId, Vec<usize>> = BTreeMap::new();
        for (i, job) in jobs.iter().enumerate() {
            by_contract.entry(job.contract).or_default().push(i);
        }
        let mut groups = Vec::with_capacity(by_contract.len());
        for (contract, indices) in by_contract {
            groups.push(Group {
                contract,
                jobs: indices,
                // A contract whose code cannot be had fails only if one of its jobs runs.
                code_hash: self.prepare(&contract),
                cluster: self.contracts.get(&contract).map(|meta| meta.cluster),
                caches: self.caches.remove(&contract).unwrap_or_default(),
            });
        }
        let contracts: Vec<AccountId> = groups.iter().map(|g| g.contract).collect();
        let storages = states.storages(&contracts);
        let work: Vec<_> = groups.into_iter().zip(storages).collect();
        let context = RunContext {
            vm: &self.vm,
            keys: &self.keys,
            chain_id: self.chain_id,
            jobs,
        };
        let context = &context;
        let finished: Vec<Result<Ran, ExecError>> = if self.threads <= 1 {
            work.into_iter()
                .map(|(group, storage)| run_group(context, group, storage))
                .collect()
        } else {
            // Round-robin over the threads: contracts are independent within a block, and each
            // result goes back to its job's place, so how they are spread changes nothing.
            let threads = self.threads.min(work.len()).max(1);
            let mut shares: Vec<Vec<_>> = (0..threads).map(|_| Vec::new()).collect();
            for (n, item) in work.into_iter().enumerate() {
                shares[n % threads].push(item);
            }
            std::thread::scope(|scope| {
                let handles: Vec<_> = shares
                    .into_iter()
                    .map(|share| {
                        scope.spawn(move || {
                            share
                                .into_iter()
                                .map(|(group, storage)| run_group(context, group, storage))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().expect("a contract run panicked"))
                    .collect()
            })
        };
        let mut done: Vec<Option<Done>> =
            std::iter::repeat_with(|| None).take(jobs.len()).collect();
        for result in finished {
            let ran = result?;
            for (i, one) in ran.done {
                done[i] = Some(one);
            }
            self.caches.insert(ran.contract, ran.caches);
        }
        Ok(done
            .into_iter()
            .map(|d| d.expect("every job ran"))
            .collect())
    }

    /// How many threads run a block's contracts (1: all on the calling thread). Results do not
    /// depend on it.
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Whether this block's `cluster` work is this worker's (`only`: the cluster being caught up).
    fn in_scope(&self, cluster: &Hash, only: Option<Hash>) -> bool {
        self.keys.serves(cluster) && only.is_none_or(|c| c == *cluster)
    }

    fn runs(&self, contract: &AccountId, only: Option<Hash>) -> bool {
        self.contracts
            .get(contract)
            .is_some_and(|meta| self.in_scope(&meta.cluster, only))
    }

    fn receive_key(
        &mut self,
        view: &ChainView,
        gatekeeper: AccountId,
        cluster: Hash,
        envelope: &Envelope,
    ) {
        if !view.is_holder(&gatekeeper) {
            tracing::warn!(%gatekeeper, %cluster, "ignored a key message from a sender that does not hold the master key");
            return;
        }
        let context = EnvelopeContext {
            chain_id: self.chain_id,
            contract: self.keys.identity(),
            sender: gatekeeper,
        };
        // A key message this worker cannot open is the sender's mistake; there is nothing to do.
        if let Some(bytes) = open(self.keys.ecdh_secret(), envelope, &context) {
            if let Ok(secret) = <[u8; 32]>::try_from(bytes.as_slice()) {
                let key = ClusterKey::from_bytes(envelope.epoch, secret);
                if let Some(published) = view.cluster_public_key(&cluster, envelope.epoch) {
                    if key.public_key() != published {
                        tracing::warn!(%gatekeeper, %cluster, "ignored a cluster key that is not the published one");
                        return;
                    }
                }
                self.keys.insert_cluster_key(cluster, key);
                self.changed = true;
            }
        }
    }

    /// Makes sure the VM has the contract's module (it may have been evicted from its cache).
    fn prepare(&mut self, contract: &AccountId) -> Result<Hash, ExecError> {
        let code_hash = self.contracts[contract].code_hash;
        if !self.vm.is_prepared(&code_hash) {
            let code = self.codes.get(&code_hash).ok_or_else(|| {
                ExecError::Inconsistent(format!("code {code_hash} was never uploaded"))
            })?;
            self.vm.prepare(code).map_err(|e| {
                ExecError::Inconsistent(format!("uploaded code no longer validates: {e}"))
            })?;
        }
        Ok(code_hash)
    }

    /// Runs a read-only query for `origin` (who signed it) against the contract's current state.
    pub fn query(
        &mut self,
        contract: &AccountId,
        origin: AccountId,
        input: &[u8],
        height: u64,
        time_ms: u64,
        states: &mut impl ContractStates,
    ) -> Result<Vec<u8>, CallError> {
        self.query_as(contract, origin, None, input, height, time_ms, states)
    }

    /// As [`Executor::query`], run as `caller` under a permit's `scopes` (checked by
    /// [`crate::check_permit`] first) when there are any.
    #[allow(clippy::too_many_arguments)]
    pub fn query_as(
        &mut self,
        contract: &AccountId,
        caller: AccountId,
        scopes: Option<Vec<String>>,
        input: &[u8],
        height: u64,
        time_ms: u64,
        states: &mut impl ContractStates,
    ) -> Result<Vec<u8>, CallError> {
        let origin = caller;
        if !self.contracts.contains_key(contract) {
            return Err(CallError::Trap(format!(
                "this worker does not run contract {contract}"
            )));
        }
        let code_hash = self
            .prepare(contract)
            .map_err(|e| CallError::Trap(e.to_string()))?;
        // Queries get no randomness: answers must not depend on who asks when.
        let context = CallContext {
            contract: *contract,
            caller: origin,
            block_height: height,
            block_time_ms: time_ms,
            random_seed: [0; 32],
            value: 0,
            scopes,
        };
        self.vm
            .call(
                &code_hash,
                EntryPoint::Query,
                &context,
                input,
                QUERY_GAS_LIMIT,
                states.storage(contract),
            )
            .result
    }
}

/// Takes the events addressed to an account out of the receipts (each sender keeps only the
/// public ones and those addressed to itself) and returns them, in order, for their recipients.
fn address_notifications(receipts: &mut [Receipt]) -> Vec<Addressed> {
    let mut notifications = Vec::new();
    for receipt in receipts {
        for (recipient, data) in &receipt.events {
            if let Some(recipient) = recipient {
                notifications.push(Addressed {
                    contract: receipt.contract,
                    recipient: *recipient,
                    block: receipt.block,
                    tx_hash: receipt.tx_hash,
                    data: data.clone(),
                });
            }
        }
        let sender = receipt.sender;
        receipt
            .events
            .retain(|(recipient, _)| recipient.is_none_or(|r| r == sender));
    }
    notifications
}

/// Which of a block's work an application does.
enum Scope<'a> {
    /// A block as it comes: everything for this worker, key messages judged by the view.
    Live(&'a ChainView),
    /// An earlier block replayed for one cluster joined late (key messages and code uploads were
    /// taken live).
    CatchUp(Hash),
}
