//! The gas budget of a block, per cluster: what a cluster's workers must execute before the
//! next block must not exceed what they can in a block time.
//!
//! Commands and instantiations reserve their gas *limits* (what they may use, which is what the
//! workers must be ready to run), not what they will use (which nobody knows before running):
//! - one reservation is at most `max_command_gas`, always (a pool refuses more);
//! - a cluster's reservations in one block are at most `cluster_block_gas`;
//! - one sender's in one cluster and block at most half of that ([`SENDER_SHARE_DIVISOR`]), so
//!   that one account, however much it pays, leaves room for everyone else.
//!
//! Messages between contracts (egress) were paid when sent and cannot wait: their gas counts
//! against the receiving cluster's budget, taking room from later commands of that block.
//!
//! A transaction over the block's budget is refused with [`TxError::BlockGasFull`], which means
//! "not in this block": the producer leaves it in the pool for the next. The pool's own view of
//! pending transactions is not a block and has no budget.

use crate::TxError;
use phalanx_primitives::economy::EconomyParams;
use phalanx_primitives::{AccountId, Hash};
use std::collections::BTreeMap;

/// One sender may reserve at most `cluster_block_gas / SENDER_SHARE_DIVISOR` in a cluster and
/// block.
pub const SENDER_SHARE_DIVISOR: u64 = 2;

#[derive(Debug, Default)]
pub(crate) struct BlockGas {
    /// False for the pool's view: every pending transaction, not one block.
    enforced: bool,
    clusters: BTreeMap<Hash, u64>,
    senders: BTreeMap<(Hash, AccountId), u64>,
    /// Reservations of the transaction being applied, kept if it succeeds.
    pending: Vec<(Hash, Option<AccountId>, u64)>,
}

impl BlockGas {
    pub fn new(enforced: bool) -> Self {
        BlockGas {
            enforced,
            ..BlockGas::default()
        }
    }

    fn used(&self, cluster: &Hash, sender: Option<&AccountId>) -> (u64, u64) {
        let mut in_cluster = self.clusters.get(cluster).copied().unwrap_or(0);
        let mut by_sender = sender
            .and_then(|s| self.senders.get(&(*cluster, *s)).copied())
            .unwrap_or(0);
        for (c, s, gas) in &self.pending {
            if c == cluster {
                in_cluster += gas;
                if s.as_ref() == sender && sender.is_some() {
                    by_sender += gas;
                }
            }
        }
        (in_cluster, by_sender)
    }

    /// Reserves `gas_limit` for `sender`'s command or instantiation in `cluster`.
    pub fn reserve(
        &mut self,
        economy: &EconomyParams,
        cluster: Hash,
        sender: AccountId,
        gas_limit: u64,
    ) -> Result<(), TxError> {
        if gas_limit > economy.max_command_gas {
            return Err(TxError::GasLimitTooHigh {
                gas_limit,
                max: economy.max_command_gas,
            });
        }
        if self.enforced {
            let (in_cluster, by_sender) = self.used(&cluster, Some(&sender));
            let share = economy.cluster_block_gas / SENDER_SHARE_DIVISOR;
            if in_cluster.saturating_add(gas_limit) > economy.cluster_block_gas
                || by_sender.saturating_add(gas_limit) > share
            {
                return Err(TxError::BlockGasFull {
                    cluster,
                    used: in_cluster,
                    budget: economy.cluster_block_gas,
                });
            }
        }
        self.pending.push((cluster, Some(sender), gas_limit));
        Ok(())
    }

    /// Counts a message's gas against `cluster`, whatever room is left.
    pub fn consume(&mut self, cluster: Hash, gas: u64) {
        self.pending.push((cluster, None, gas));
    }

    /// Gas reserved so far in this block, per cluster.
    pub fn reserved(&self) -> Vec<(Hash, u64)> {
        self.clusters.iter().map(|(c, g)| (*c, *g)).collect()
    }

    pub fn commit_transaction(&mut self) {
        for (cluster, sender, gas) in self.pending.drain(..) {
            let total = self.clusters.entry(cluster).or_default();
            *total = total.saturating_add(gas);
            if let Some(sender) = sender {
                let by = self.senders.entry((cluster, sender)).or_default();
                *by = by.saturating_add(gas);
            }
        }
    }

    pub fn revert_transaction(&mut self) {
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn economy() -> EconomyParams {
        EconomyParams {
            cluster_block_gas: 100,
            max_command_gas: 40,
            ..EconomyParams::dev()
        }
    }

    fn account(n: u8) -> AccountId {
        AccountId::from_bytes([n; 32])
    }

    #[test]
    fn one_sender_cannot_take_a_whole_clusters_block() {
        let (economy, cluster) = (economy(), Hash([1; 32]));
        let mut gas = BlockGas::new(true);
        gas.reserve(&economy, cluster, account(1), 40).unwrap();
        gas.commit_transaction();
        // 40 + 40 would pass half the budget (50) for this sender: next block.
        assert!(matches!(
            gas.reserve(&economy, cluster, account(1), 40),
            Err(TxError::BlockGasFull { .. })
        ));
        gas.revert_transaction();
        gas.reserve(&economy, cluster, account(2), 40).unwrap();
        gas.commit_transaction();
        gas.reserve(&economy, cluster, account(3), 20).unwrap();
        gas.commit_transaction();
        // The cluster is full; another cluster is not.
        assert!(gas.reserve(&economy, cluster, account(4), 1).is_err());
        gas.revert_transaction();
        gas.reserve(&economy, Hash([2; 32]), account(4), 40)
            .unwrap();
    }

    #[test]
    fn the_per_command_maximum_holds_everywhere_and_the_pool_has_no_block_budget() {
        let (economy, cluster) = (economy(), Hash([1; 32]));
        let mut pool = BlockGas::new(false);
        for _ in 0..10 {
            pool.reserve(&economy, cluster, account(1), 40).unwrap();
            pool.commit_transaction();
        }
        assert!(matches!(
            pool.reserve(&economy, cluster, account(1), 41),
            Err(TxError::GasLimitTooHigh { max: 40, .. })
        ));
    }

    #[test]
    fn a_reverted_transaction_reserves_nothing_and_messages_take_room() {
        let (economy, cluster) = (economy(), Hash([1; 32]));
        let mut gas = BlockGas::new(true);
        gas.reserve(&economy, cluster, account(1), 40).unwrap();
        gas.revert_transaction();
        gas.consume(cluster, 70);
        gas.commit_transaction();
        assert!(gas.reserve(&economy, cluster, account(1), 31).is_err());
        gas.revert_transaction();
        gas.reserve(&economy, cluster, account(1), 30).unwrap();
    }
}
