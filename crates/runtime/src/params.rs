//! Chain parameters the runtime needs, derived once from the genesis description.

use phalanx_primitives::{AccountId, BlockHeight, FeeSchedule, GenesisConfig, Hash};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainParams {
    /// The genesis hash: transactions for any other chain are refused.
    pub chain_id: Hash,
    pub fees: FeeSchedule,
    /// Where fees go.
    pub treasury: AccountId,
    pub validators: Vec<AccountId>,
    /// May make `Sudo` calls; `None` on production chains.
    pub sudo: Option<AccountId>,
    /// Whether code writing debug output may be uploaded (dev chains).
    pub allow_debug_output: bool,
    /// Blocks per consensus epoch; `None`: the genesis validators for ever.
    pub blocks_per_epoch: Option<u64>,
}

/// Where in the chain a block is being applied: what the runtime may know of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockContext {
    pub height: BlockHeight,
    /// The block's timestamp (from its header, or the producer's clock when building it).
    pub timestamp_ms: u64,
}

impl ChainParams {
    pub fn from_genesis(config: &GenesisConfig) -> Self {
        ChainParams {
            chain_id: config.hash(),
            fees: config.fees.clone(),
            treasury: GenesisConfig::treasury_account(),
            validators: config.validators.clone(),
            sudo: config.sudo,
            allow_debug_output: config.allow_debug_output,
            blocks_per_epoch: config.blocks_per_epoch,
        }
    }
}
