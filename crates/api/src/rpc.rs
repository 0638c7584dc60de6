//! The node's JSON-RPC 2.0 API, served over HTTP and WebSocket on one port.
//!
//! Transactions travel as `0x`-prefixed hex of their SCALE encoding; amounts as decimal strings of
//! units. Every refusal carries a code from [`crate::error_codes`] and `data.kind`, a stable name.

use crate::economy::{PoolView, ProposalView, RewardsView, StakesView, WorkerEconomyView};
use crate::views::{
    AccountView, BlockView, ChainInfo, ClusterView, CodeView, ContractView, EventView, HeaderView,
    MasterKeyView, SubmitOutcome, TxStatus, WorkerView,
};
use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::types::ErrorObjectOwned;
use phalanx_primitives::attestation::AttestationPolicy;
use phalanx_primitives::economy::EconomyParams;
use phalanx_primitives::{AccountId, Hash, ValidatorHistory};

/// Most transactions one `tx_submitBatch` call may carry.
pub const MAX_SUBMIT_BATCH: usize = 10_000;

#[rpc(server, client)]
pub trait NodeApi {
    /// Chain identity, token, fee schedule and validators.
    #[method(name = "chain_info")]
    async fn chain_info(&self) -> Result<ChainInfo, ErrorObjectOwned>;

    /// The genesis description as `0x` hex of its SCALE encoding: its SHA-256 (domain-separated,
    /// see `GenesisConfig::hash`) is the chain id, so an enclave pinned to a chain id checks what
    /// it receives here before it believes any of it (validators, attestation policy).
    #[method(name = "chain_getGenesis")]
    async fn genesis(&self) -> Result<String, ErrorObjectOwned>;

    /// Every validator set of the chain as of the newest final block, the genesis set first:
    /// which validators certify which heights (`ValidatorHistory`), for clients that trust
    /// this node; an enclave builds the same from the events of blocks it verified.
    #[method(name = "chain_getValidators")]
    async fn validators(&self) -> Result<ValidatorHistory, ErrorObjectOwned>;

    /// Header of the newest final block.
    #[method(name = "chain_getHead")]
    async fn head(&self) -> Result<HeaderView, ErrorObjectOwned>;

    /// The header of the block at a height, or null past the head (what a client checks a
    /// worker's answer against: is the block it was computed at on this chain).
    #[method(name = "chain_getHeader")]
    async fn header(&self, height: u64) -> Result<Option<HeaderView>, ErrorObjectOwned>;

    /// Block at a height, or null past the head.
    #[method(name = "chain_getBlock")]
    async fn block(&self, height: u64) -> Result<Option<BlockView>, ErrorObjectOwned>;

    /// The block at a height as `0x` hex of its SCALE encoding, or null: what a worker fetches
    /// and verifies itself (cheaper for the node than the JSON view).
    #[method(name = "chain_getBlockRaw")]
    async fn block_raw(&self, height: u64) -> Result<Option<String>, ErrorObjectOwned>;

    #[method(name = "chain_getBlockByHash")]
    async fn block_by_hash(&self, hash: Hash) -> Result<Option<BlockView>, ErrorObjectOwned>;

    /// Events of the block at a height, or null past the head.
    #[method(name = "chain_getEvents")]
    async fn events(&self, height: u64) -> Result<Option<Vec<EventView>>, ErrorObjectOwned>;

    /// Events of the block at a height as `0x` hex of SCALE `Vec<EventRecord>`, or null: what a
    /// worker checks against the header's `events_root`.
    #[method(name = "chain_getEventsRaw")]
    async fn events_raw(&self, height: u64) -> Result<Option<String>, ErrorObjectOwned>;

    /// Balance and nonce of an account as of the head (zero for an unknown account).
    #[method(name = "state_getAccount")]
    async fn account(&self, account: AccountId) -> Result<AccountView, ErrorObjectOwned>;

    /// The nonce the account's next transaction must carry: its applied count plus its
    /// transactions waiting in the pool.
    #[method(name = "tx_nextNonce")]
    async fn next_nonce(&self, account: AccountId) -> Result<u64, ErrorObjectOwned>;

    /// Submits one signed transaction; returns its hash once it is in the pool.
    #[method(name = "tx_submit", with_extensions)]
    async fn submit(&self, transaction: String) -> Result<Hash, ErrorObjectOwned>;

    /// Submits many; each gets its own outcome, in order. Valid ones are pooled even if others fail.
    #[method(name = "tx_submitBatch", with_extensions)]
    async fn submit_batch(
        &self,
        transactions: Vec<String>,
    ) -> Result<Vec<SubmitOutcome>, ErrorObjectOwned>;

    /// Where a transaction is: pending, included (final), or unknown to this node.
    #[method(name = "tx_status")]
    async fn tx_status(&self, hash: Hash) -> Result<TxStatus, ErrorObjectOwned>;

    /// A registered worker or gatekeeper, or null.
    #[method(name = "registry_getWorker")]
    async fn worker(&self, identity: AccountId) -> Result<Option<WorkerView>, ErrorObjectOwned>;

    /// The chain's attestation policy, with the current measurement allow-list.
    #[method(name = "registry_getPolicy")]
    async fn attestation_policy(&self) -> Result<AttestationPolicy, ErrorObjectOwned>;

    /// The master key's public part: epoch, declared public key and the gatekeepers holding it;
    /// null until the first gatekeeper declares it.
    #[method(name = "registry_getMasterKey")]
    async fn master_key(&self) -> Result<Option<MasterKeyView>, ErrorObjectOwned>;

    /// A cluster: its workers and, once published, its public key.
    #[method(name = "contracts_getCluster")]
    async fn cluster(&self, cluster: Hash) -> Result<Option<ClusterView>, ErrorObjectOwned>;

    /// Uploaded code by hash (its size; the bytes are in the block that uploaded it), or null.
    #[method(name = "contracts_getCode")]
    async fn code(&self, code_hash: Hash) -> Result<Option<CodeView>, ErrorObjectOwned>;

    /// A contract: code, cluster, deployer and, once published, its public key.
    #[method(name = "contracts_getContract")]
    async fn contract(&self, contract: AccountId)
        -> Result<Option<ContractView>, ErrorObjectOwned>;

    /// The economy's governed parameters (amounts as PHA decimals).
    #[method(name = "economy_getParams")]
    async fn economy_params(&self) -> Result<EconomyParams, ErrorObjectOwned>;

    /// Every stake pool.
    #[method(name = "economy_getPools")]
    async fn pools(&self) -> Result<Vec<PoolView>, ErrorObjectOwned>;

    /// An account's shares in each pool and its waiting withdrawals.
    #[method(name = "economy_getStakes")]
    async fn stakes(&self, account: AccountId) -> Result<StakesView, ErrorObjectOwned>;

    /// Every registered worker with its pool, V, P, confidence and computing state.
    #[method(name = "economy_getWorkers")]
    async fn economy_workers(&self) -> Result<Vec<WorkerEconomyView>, ErrorObjectOwned>;

    /// The mining pool's emission: budget, halving, what is left.
    #[method(name = "economy_getRewards")]
    async fn rewards(&self) -> Result<RewardsView, ErrorObjectOwned>;

    /// Every governance proposal, newest last.
    #[method(name = "governance_getProposals")]
    async fn proposals(&self) -> Result<Vec<ProposalView>, ErrorObjectOwned>;

    /// A header for every new final block.
    #[subscription(name = "chain_subscribeFinalizedHeads" => "chain_finalizedHead", unsubscribe = "chain_unsubscribeFinalizedHeads", item = HeaderView)]
    async fn subscribe_finalized_heads(&self) -> SubscriptionResult;
}
