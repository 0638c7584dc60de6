//! The gas of one block's commands, per contract: prepaid, used, refunded, earned.

use crate::egress::Output;
use phalanx_primitives::amount::Balance;
use phalanx_primitives::AccountId;
use std::collections::BTreeMap;

/// Most payers one `Settle` output refunds (48 bytes each: about 96 KiB).
pub const MAX_REFUNDS_PER_SETTLE: usize = 2_048;

/// The gas of one block's commands, per contract: what to give back to whom, and the fees.
#[derive(Default)]
pub(crate) struct GasLedger(BTreeMap<AccountId, (BTreeMap<AccountId, Balance>, Balance)>);

impl GasLedger {
    /// `payer` prepaid `prepaid` PHA for `gas_limit` gas, of which the run used `used`.
    pub(crate) fn record(
        &mut self,
        contract: AccountId,
        payer: AccountId,
        prepaid: Balance,
        gas_limit: u64,
        used: u64,
    ) {
        if prepaid == 0 {
            return;
        }
        let price = prepaid / Balance::from(gas_limit.max(1));
        let fee = price
            .saturating_mul(used.min(gas_limit).into())
            .min(prepaid);
        let (refunds, fees) = self.0.entry(contract).or_default();
        *fees += fee;
        if prepaid > fee {
            *refunds.entry(payer).or_default() += prepaid - fee;
        }
    }

    /// `Settle` outputs per contract, in contract order: one, or one per
    /// [`MAX_REFUNDS_PER_SETTLE`] payers (the fees go with the first), so that each fits an
    /// egress transaction.
    pub(crate) fn settlements(self) -> impl Iterator<Item = (AccountId, Output)> {
        self.0.into_iter().flat_map(|(contract, (refunds, fees))| {
            let refunds: Vec<(AccountId, Balance)> = refunds.into_iter().collect();
            let mut chunks: Vec<Vec<(AccountId, Balance)>> = refunds
                .chunks(MAX_REFUNDS_PER_SETTLE)
                .map(<[_]>::to_vec)
                .collect();
            if chunks.is_empty() {
                chunks.push(Vec::new());
            }
            chunks.into_iter().enumerate().map(move |(i, refunds)| {
                let fees = if i == 0 { fees } else { 0 };
                (contract, Output::Settle { refunds, fees })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_of_many_payers_settles_in_outputs_that_each_fit_a_batch() {
        let contract = AccountId::from_bytes([1; 32]);
        let mut ledger = GasLedger::default();
        let payers = MAX_REFUNDS_PER_SETTLE * 2 + 5;
        for i in 0..payers as u32 {
            let mut payer = [0u8; 32];
            payer[..4].copy_from_slice(&i.to_le_bytes());
            ledger.record(contract, AccountId::from_bytes(payer), 1_000, 100, 40);
        }
        let settles: Vec<(Vec<(AccountId, Balance)>, Balance)> = ledger
            .settlements()
            .map(|(to, output)| match output {
                Output::Settle { refunds, fees } if to == contract => (refunds, fees),
                other => panic!("not a settlement: {other:?}"),
            })
            .collect();
        assert_eq!(settles.len(), 3);
        assert!(settles
            .iter()
            .all(|(r, _)| r.len() <= MAX_REFUNDS_PER_SETTLE));
        let refunded: usize = settles.iter().map(|(r, _)| r.len()).sum();
        assert_eq!(refunded, payers, "every payer once");
        // The fees, once, with the first.
        assert_eq!(settles[0].1, 400 * payers as Balance);
        assert!(settles[1..].iter().all(|(_, fees)| *fees == 0));
    }
}
