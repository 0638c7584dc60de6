//! Chain parameters the runtime needs, derived once from the genesis description.

use phalanx_primitives::{AccountId, FeeSchedule, GenesisConfig, Hash};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainParams {
    /// The genesis hash: transactions for any other chain are refused.
    pub chain_id: Hash,
    pub fees: FeeSchedule,
    /// Where fees go.
    pub treasury: AccountId,
    pub validators: Vec<AccountId>,
}

impl ChainParams {
    pub fn from_genesis(config: &GenesisConfig) -> Self {
        ChainParams {
            chain_id: config.hash(),
            fees: config.fees.clone(),
            treasury: GenesisConfig::treasury_account(),
            validators: config.validators.clone(),
        }
    }
}
