//! Applying transactions: one [`BlockExecutor`] per block, fed verified transactions in order.

use crate::balances::{self, AccountInfo};
use crate::block_gas::BlockGas;
use crate::clusters;
use crate::contracts::{self, Instantiation};
use crate::egress::{self, Batch};
use crate::heartbeats;
use crate::master_key;
use crate::registry::{self, Registration};
use crate::{governance, mining, privileged, staking, tokenomics};
use crate::{BlockContext, ChainParams, StateError, StateOverlay, StateReader, TxError, WriteSet};
use phalanx_crypto::VerifiedTransaction;
pub use phalanx_primitives::events_root;
use phalanx_primitives::{
    gas_escrow, Balance, Call, ContractOutput, Event, EventRecord, GenesisConfig, Hash, Phase,
};

/// What a block did: its state changes and events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockOutcome {
    pub write_set: WriteSet,
    pub events: Vec<EventRecord>,
}

impl BlockOutcome {
    pub fn events_root(&self) -> Hash {
        events_root(&self.events)
    }
    pub fn state_root(&self, parent_state_root: &Hash) -> Hash {
        crate::state_root(parent_state_root, &self.write_set)
    }
}

/// Applies the transactions of one block on top of the parent state.
///
/// A transaction that fails changes nothing and emits nothing; the caller decides whether that is
/// fatal (replaying a final block) or means "leave it out" (building a block, admitting to the pool).
pub struct BlockExecutor<R> {
    overlay: StateOverlay<R>,
    params: ChainParams,
    context: BlockContext,
    events: Vec<EventRecord>,
    applied: u32,
    gas: BlockGas,
}

impl<R: StateReader> BlockExecutor<R> {
    /// A block: its clusters' gas budgets hold (see `block_gas.rs`).
    pub fn new(parent_state: R, params: &ChainParams, context: BlockContext) -> Self {
        Self::with_budgets(parent_state, params, context, true)
    }

    /// A transaction pool's view of everything pending, which is not one block: no block gas
    /// budget, every other rule.
    pub fn pool_view(parent_state: R, params: &ChainParams, context: BlockContext) -> Self {
        Self::with_budgets(parent_state, params, context, false)
    }

    fn with_budgets(
        parent_state: R,
        params: &ChainParams,
        context: BlockContext,
        enforced: bool,
    ) -> Self {
        BlockExecutor {
            overlay: StateOverlay::new(parent_state),
            params: params.clone(),
            context,
            events: Vec::new(),
            applied: 0,
            gas: BlockGas::new(enforced),
        }
    }

    /// Gas this block's transactions reserved so far, per cluster (see `block_gas.rs`).
    pub fn cluster_gas(&self) -> Vec<(Hash, u64)> {
        self.gas.reserved()
    }

    /// Number of transactions applied so far.
    pub fn applied(&self) -> u32 {
        self.applied
    }

    /// The account as this block has changed it so far.
    pub fn account(&self, account: &phalanx_primitives::AccountId) -> Result<AccountInfo, TxError> {
        Ok(balances::account(&self.overlay, account)?)
    }

    /// Applies one transaction, or changes nothing and says why not.
    pub fn apply(&mut self, tx: &VerifiedTransaction) -> Result<(), TxError> {
        let phase = Phase::Transaction(self.applied);
        let mut events = Vec::new();
        match self.try_apply(tx, &mut events) {
            Ok(()) => {
                self.overlay.commit_transaction();
                self.gas.commit_transaction();
                self.events
                    .extend(events.into_iter().map(|event| EventRecord { phase, event }));
                self.applied += 1;
                Ok(())
            }
            Err(error) => {
                self.overlay.revert_transaction();
                self.gas.revert_transaction();
                Err(error)
            }
        }
    }

    fn try_apply(
        &mut self,
        tx: &VerifiedTransaction,
        events: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let t = tx.transaction();
        if t.chain_id != self.params.chain_id {
            return Err(TxError::WrongChain {
                expected: self.params.chain_id,
                found: t.chain_id,
            });
        }
        let minimum = self.params.fees.min_fee(tx.encoded_len());
        if t.fee < minimum {
            return Err(TxError::FeeTooLow {
                minimum,
                offered: t.fee,
            });
        }
        let mut sender = balances::account(&self.overlay, &t.signer)?;
        if t.nonce < sender.nonce {
            return Err(TxError::StaleNonce {
                expected: sender.nonce,
                found: t.nonce,
            });
        }
        if t.nonce > sender.nonce {
            return Err(TxError::FutureNonce {
                expected: sender.nonce,
                found: t.nonce,
            });
        }
        let gas_limit = match &t.call {
            Call::Instantiate { gas_limit, .. } | Call::Command { gas_limit, .. } => *gas_limit,
            // Validating and compiling code is the chain's own work: priced by size.
            Call::UploadCode { code } => code.len() as u64 * contracts::UPLOAD_GAS_PER_BYTE,
            _ => 0,
        };
        // The governed price, read only when there is gas to pay (not for plain transfers).
        let economy = match gas_limit {
            0 => None,
            _ => Some(tokenomics::params(&self.overlay)?),
        };
        let gas_price = economy.as_ref().map_or(0, |e| e.gas_price);
        if let (Some(economy), Some(cluster)) = (&economy, self.cluster_run_in(&t.call)?) {
            self.gas.reserve(economy, cluster, t.signer, gas_limit)?;
        }
        let gas_cost =
            gas_price
                .checked_mul(gas_limit.into())
                .ok_or(TxError::InsufficientBalance {
                    needed: Balance::MAX,
                    available: sender.free,
                })?;
        let spend = match &t.call {
            Call::Transfer { amount, .. } => *amount,
            Call::Command { value, .. } => gas_cost.saturating_add(*value),
            _ => gas_cost,
        };
        let needed = spend
            .checked_add(t.fee)
            .filter(|needed| *needed <= sender.free)
            .ok_or(TxError::InsufficientBalance {
                needed: spend.saturating_add(t.fee),
                available: sender.free,
            })?;
        sender.free -= needed;
        sender.nonce += 1;
        balances::write(&mut self.overlay, &t.signer, sender);
        balances::credit(&mut self.overlay, &self.params.treasury, t.fee)?;
        events.push(Event::FeePaid {
            payer: t.signer,
            fee: t.fee,
        });
        if gas_cost > 0 {
            // Prepaid gas waits in the contract's escrow until its workers settle it: unused gas
            // back to the payer, the rest to the workers and the treasury (egress `Settle`).
            let holder = match &t.call {
                Call::Command { contract, .. } => gas_escrow(contract),
                Call::Instantiate {
                    code_hash,
                    cluster,
                    salt,
                    ..
                } => gas_escrow(&contracts::contract_id(code_hash, cluster, &t.signer, salt)),
                // An upload's gas is spent at once, by the chain: the treasury takes it.
                _ => self.params.treasury,
            };
            balances::credit(&mut self.overlay, &holder, gas_cost)?;
            events.push(Event::GasPrepaid {
                payer: t.signer,
                gas_limit,
                amount: gas_cost,
            });
        }

        match &t.call {
            Call::Transfer { to, amount } => {
                balances::credit(&mut self.overlay, to, *amount)?;
                events.push(Event::Transfer {
                    from: t.signer,
                    to: *to,
                    amount: *amount,
                });
            }
            call @ Call::RegisterWorker { .. } => {
                let registration = Registration::of_call(
                    call,
                    t.signer,
                    self.params.chain_id,
                    self.context.height,
                    self.context.timestamp_ms,
                )
                .expect("a RegisterWorker call");
                events.extend(registry::register(&mut self.overlay, registration)?);
            }
            Call::Sudo(call) => {
                if self.params.sudo != Some(t.signer) {
                    return Err(TxError::NotSudo);
                }
                events.extend(privileged::dispatch(
                    &mut self.overlay,
                    call,
                    &self.params,
                    self.context.height,
                )?);
            }
            Call::PublishClusterKey {
                cluster,
                epoch,
                public_key,
            } => {
                events.push(clusters::publish_key(
                    &mut self.overlay,
                    &t.signer,
                    *cluster,
                    *epoch,
                    *public_key,
                )?);
            }
            Call::KeyMessage {
                recipient,
                cluster,
                envelope,
            } => {
                events.push(clusters::key_message(
                    &mut self.overlay,
                    &t.signer,
                    *recipient,
                    *cluster,
                    envelope,
                )?);
            }
            Call::UploadCode { code } => {
                let allow_debug = self.params.allow_debug_output;
                events.push(contracts::upload(
                    &mut self.overlay,
                    t.signer,
                    code,
                    allow_debug,
                )?)
            }
            Call::Instantiate {
                code_hash,
                cluster,
                salt,
                init,
                gas_limit,
            } => {
                let instantiation = Instantiation {
                    deployer: t.signer,
                    code_hash: *code_hash,
                    cluster: *cluster,
                    salt,
                    init,
                    gas_limit: *gas_limit,
                    height: self.context.height,
                };
                events.push(contracts::instantiate(&mut self.overlay, instantiation)?);
            }
            Call::PublishContractKey {
                contract,
                epoch,
                public_key,
            } => {
                events.push(contracts::publish_key(
                    &mut self.overlay,
                    &t.signer,
                    *contract,
                    *epoch,
                    *public_key,
                )?);
            }
            Call::PublishMasterKey { epoch, public_key } => events.push(master_key::publish(
                &mut self.overlay,
                t.signer,
                *epoch,
                *public_key,
            )?),
            Call::ShareMasterKey {
                recipient,
                envelope,
            } => events.push(master_key::share(
                &mut self.overlay,
                t.signer,
                *recipient,
                envelope,
            )?),
            Call::Heartbeat {
                performance,
                digests,
            } => {
                clusters::require_worker(&self.overlay, &t.signer)?;
                events.extend(heartbeats::record(
                    &mut self.overlay,
                    t.signer,
                    digests,
                    self.context.height,
                )?);
                if let Some(score) = performance {
                    staking::record_benchmark(&mut self.overlay, &t.signer, *score)?;
                }
                events.extend(mining::answer_challenge(&mut self.overlay, t.signer)?);
            }
            Call::CreatePool { commission_percent } => events.push(staking::create_pool(
                &mut self.overlay,
                t.signer,
                *commission_percent,
            )?),
            Call::Deposit { pool, amount } => events.push(staking::deposit(
                &mut self.overlay,
                t.signer,
                *pool,
                *amount,
            )?),
            Call::Withdraw { pool, shares } => events.push(staking::withdraw(
                &mut self.overlay,
                t.signer,
                *pool,
                *shares,
                self.context.timestamp_ms,
            )?),
            Call::BindWorker { pool, worker } => {
                events.push(staking::bind(&mut self.overlay, t.signer, *pool, *worker)?)
            }
            Call::StartComputing { worker, stake } => events.push(staking::start_computing(
                &mut self.overlay,
                t.signer,
                *worker,
                *stake,
                self.context.height,
            )?),
            Call::UnbindWorker { worker } => {
                events.push(staking::unbind(&mut self.overlay, t.signer, *worker)?)
            }
            Call::RecordMetadata {
                code_hash,
                metadata_hash,
            } => events.push(contracts::record_metadata(
                &mut self.overlay,
                t.signer,
                *code_hash,
                *metadata_hash,
            )?),
            Call::StopComputing { worker } => events.push(staking::stop_computing(
                &mut self.overlay,
                t.signer,
                *worker,
            )?),
            Call::Randomness { value } => events.push(mining::mix_randomness(
                &mut self.overlay,
                t.signer,
                *value,
                self.context.height,
            )?),
            Call::Propose { call } => events.push(governance::propose(
                &mut self.overlay,
                t.signer,
                call.clone(),
                self.context.height,
            )?),
            Call::Vote {
                proposal,
                aye,
                amount,
            } => events.push(governance::vote(
                &mut self.overlay,
                t.signer,
                *proposal,
                *aye,
                *amount,
                self.context.height,
            )?),
            Call::Command {
                contract,
                envelope,
                gas_limit,
                value,
            } => {
                events.push(contracts::command(
                    &mut self.overlay,
                    t.signer,
                    *contract,
                    envelope,
                    *gas_limit,
                )?);
                if *value > 0 {
                    balances::credit(&mut self.overlay, contract, *value)?;
                    events.push(Event::Transfer {
                        from: t.signer,
                        to: *contract,
                        amount: *value,
                    });
                }
            }
            Call::Egress {
                contract,
                first_seq,
                outputs,
            } => {
                let economy = tokenomics::params(&self.overlay)?;
                let accepted = egress::accept(
                    &mut self.overlay,
                    Batch {
                        worker: t.signer,
                        contract: *contract,
                        first_seq: *first_seq,
                        outputs,
                        gas_price: economy.gas_price,
                        treasury: self.params.treasury,
                        worker_share_percent: economy.worker_gas_share_percent,
                        max_message_gas: economy.max_command_gas,
                    },
                )?;
                // Messages run in their receivers' clusters next: their gas takes room there.
                for event in &accepted {
                    if let Event::ContractMessage { to, seq, .. } = event {
                        let output = outputs.get(seq.saturating_sub(*first_seq) as usize);
                        if let Some(ContractOutput::Message { gas_limit, .. }) = output {
                            let cluster = contracts::read_contract(&self.overlay, to)?.cluster;
                            self.gas.consume(cluster, *gas_limit);
                        }
                    }
                }
                events.extend(accepted)
            }
        }
        Ok(())
    }

    /// The cluster whose workers run `call` (a command or an instantiation), if it names one
    /// that exists; the call's own checks refuse the others.
    fn cluster_run_in(&self, call: &Call) -> Result<Option<Hash>, TxError> {
        match call {
            Call::Instantiate { cluster, .. } => Ok(Some(*cluster)),
            Call::Command { contract, .. } => {
                match contracts::read_contract(&self.overlay, contract) {
                    Ok(info) => Ok(Some(info.cluster)),
                    Err(TxError::Contract(crate::contracts::ContractError::NoContract(_))) => {
                        Ok(None)
                    }
                    Err(other) => Err(other),
                }
            }
            _ => Ok(None),
        }
    }

    /// Ends the block: pays due withdrawals, runs heartbeat challenges and computation rewards,
    /// closes votes and enacts proposals (events in phase `Finalization`). Fails only when state
    /// cannot be read, or is corrupt.
    pub fn finish(mut self) -> Result<BlockOutcome, StateError> {
        let mut events = Vec::new();
        let height = self.context.height;
        let accounts = mining::Accounts {
            mining_pool: GenesisConfig::mining_pool_account(),
            treasury: self.params.treasury,
        };
        // Each step's changes are kept before the next: governance may revert its own alone.
        let steps = (|| -> Result<(), TxError> {
            events.extend(staking::release_withdrawals(
                &mut self.overlay,
                self.context.timestamp_ms,
            )?);
            self.overlay.commit_transaction();
            events.extend(mining::end_block(&mut self.overlay, height, &accounts)?);
            self.overlay.commit_transaction();
            events.extend(governance::end_block(
                &mut self.overlay,
                height,
                &self.params,
            )?);
            self.overlay.commit_transaction();
            Ok(())
        })();
        match steps {
            Ok(()) => {}
            Err(TxError::Storage(e)) => return Err(e),
            // Nothing a user sends reaches here unchecked: another error means corrupt state.
            Err(other) => return Err(StateError(format!("end of block {height}: {other}"))),
        }
        // Last, so that every change of the block (its end included) is in the balances.
        let instantiated = self.events.iter().filter_map(|r| match r.event {
            Event::ContractInstantiated { contract, .. } => Some(contract),
            _ => None,
        });
        let balances = contracts::balance_events(&self.overlay, instantiated)?;
        events.extend(balances);
        self.events
            .extend(events.into_iter().map(|event| EventRecord {
                phase: Phase::Finalization,
                event,
            }));
        Ok(BlockOutcome {
            write_set: self.overlay.into_write_set(),
            events: self.events,
        })
    }
}
