//! The transaction pool: verified transactions waiting for a block, in arrival order.
//!
//! Admission runs the same runtime rules as block production, against a *pool view*: the
//! committed state with every pending transaction already applied. So a transaction is admitted
//! only if it would apply right after those before it — its nonce is the next one, its sender can
//! pay — and the producer, taking a prefix of the pool in order, finds every one still valid.
//! After each block the view is rebuilt over the new state from the transactions still waiting.

use crate::storage::StateSnapshot;
use phalanx_crypto::VerifiedTransaction;
use phalanx_primitives::{AccountId, Hash, Signature, SignedTransaction};
use phalanx_runtime::{BlockContext, BlockExecutor, ChainParams, TxError};
use std::collections::{HashMap, HashSet, VecDeque};

/// Why the pool refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    #[error("transaction {0} is already in the pool")]
    AlreadyPending(Hash),
    #[error("the pool is full ({0} transactions); retry later")]
    Full(usize),
    #[error(transparent)]
    Ledger(#[from] TxError),
}

pub struct Pool {
    params: ChainParams,
    view: BlockExecutor<StateSnapshot>,
    pending: VecDeque<VerifiedTransaction>,
    /// Each pending transaction's signature, by hash (the hash leaves the signature out).
    signatures: HashMap<Hash, Signature>,
    capacity: usize,
}

impl Pool {
    /// `next` is the block the pending transactions are expected in: its height, and the
    /// producer's clock now (attestation collateral is judged at that time).
    pub fn new(
        params: ChainParams,
        committed: StateSnapshot,
        next: BlockContext,
        capacity: usize,
    ) -> Self {
        let view = BlockExecutor::pool_view(committed, &params, next);
        Pool {
            params,
            view,
            pending: VecDeque::new(),
            signatures: HashMap::new(),
            capacity,
        }
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn contains(&self, hash: &Hash) -> bool {
        self.signatures.contains_key(hash)
    }

    /// Whether `tx`, with this very signature, is pending here: this process checked its
    /// signature when it admitted it, so a block holding it need not check it again. The hash
    /// does not cover the signature, hence the comparison: the same transaction under another
    /// (forged) signature is not the one that was checked.
    pub fn holds(&self, tx: &SignedTransaction) -> bool {
        self.signatures.get(&tx.hash()) == Some(&tx.signature)
    }

    /// [`Pool::holds`] for each of a block's transactions: what need not be checked again.
    pub fn holds_each(&self, transactions: &[SignedTransaction]) -> Vec<bool> {
        transactions.iter().map(|tx| self.holds(tx)).collect()
    }

    /// The nonce the account's next transaction needs, counting pending ones.
    pub fn next_nonce(&self, account: &AccountId) -> Result<u64, TxError> {
        Ok(self.view.account(account)?.nonce)
    }

    pub fn admit(&mut self, tx: VerifiedTransaction) -> Result<Hash, PoolError> {
        let hash = tx.hash();
        if self.signatures.contains_key(&hash) {
            return Err(PoolError::AlreadyPending(hash));
        }
        if self.pending.len() >= self.capacity {
            return Err(PoolError::Full(self.capacity));
        }
        self.view.apply(&tx)?;
        self.signatures.insert(hash, tx.signed().signature);
        self.pending.push_back(tx);
        Ok(hash)
    }

    /// The oldest pending transactions but those in `exclude` (already in a block that is not
    /// committed yet, so still pooled), up to `max_count` and `max_bytes` in total.
    pub fn oldest(
        &self,
        max_count: usize,
        max_bytes: usize,
        exclude: &HashSet<Hash>,
    ) -> Vec<VerifiedTransaction> {
        let mut bytes = 0;
        self.pending
            .iter()
            .filter(|tx| exclude.is_empty() || !exclude.contains(&tx.hash()))
            .take(max_count)
            .take_while(|tx| {
                bytes += tx.encoded_len();
                bytes <= max_bytes
            })
            .cloned()
            .collect()
    }

    /// Called after a block is committed: forgets the `settled` transactions (included or
    /// dropped) and re-admits the rest over the new state. Returns those that no longer apply.
    pub fn rebase(
        &mut self,
        committed: StateSnapshot,
        next: BlockContext,
        settled: &HashSet<Hash>,
    ) -> Vec<(Hash, TxError)> {
        self.view = BlockExecutor::pool_view(committed, &self.params, next);
        let waiting = std::mem::take(&mut self.pending);
        self.signatures.clear();
        let mut evicted = Vec::new();
        for tx in waiting {
            let hash = tx.hash();
            if settled.contains(&hash) {
                continue;
            }
            match self.view.apply(&tx) {
                Ok(()) => {
                    self.signatures.insert(hash, tx.signed().signature);
                    self.pending.push_back(tx);
                }
                Err(error) => evicted.push((hash, error)),
            }
        }
        evicted
    }
}
