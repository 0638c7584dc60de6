//! The ledger's public face: chain identity, headers, blocks, transactions, accounts and what
//! a submission came to.

use super::CallView;
use parity_scale_codec::Encode;
use phalanx_primitives::amount::{format_pha, serde_units, Balance};
use phalanx_primitives::{AccountId, Block, BlockHeader, Hash, SignedTransaction};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenInfo {
    pub symbol: String,
    pub decimals: u32,
    #[serde(with = "serde_units")]
    pub total_supply_units: Balance,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChainInfo {
    pub chain_name: String,
    /// The chain id every transaction must carry: hash of the genesis description.
    pub chain_id: Hash,
    pub genesis_block_hash: Hash,
    pub validators: Vec<AccountId>,
    pub token: TokenInfo,
    #[serde(with = "serde_units")]
    pub base_fee_units: Balance,
    #[serde(with = "serde_units")]
    pub per_byte_fee_units: Balance,
    /// PHA units per unit of gas a command or instantiation reserves.
    #[serde(with = "serde_units")]
    pub gas_price_units: Balance,
    pub max_transaction_size: usize,
    pub treasury: AccountId,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HeaderView {
    pub hash: Hash,
    pub height: u64,
    pub parent_hash: Hash,
    pub state_root: Hash,
    pub transactions_root: Hash,
    pub events_root: Hash,
    pub timestamp_ms: u64,
    pub proposer: AccountId,
}

impl From<&BlockHeader> for HeaderView {
    fn from(header: &BlockHeader) -> Self {
        HeaderView {
            hash: header.hash(),
            height: header.height,
            parent_hash: header.parent_hash,
            state_root: header.state_root,
            transactions_root: header.transactions_root,
            events_root: header.events_root,
            timestamp_ms: header.timestamp_ms,
            proposer: header.proposer,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TransactionView {
    pub hash: Hash,
    pub signer: AccountId,
    pub nonce: u64,
    #[serde(with = "serde_units")]
    pub fee_units: Balance,
    pub call: CallView,
}

impl From<&SignedTransaction> for TransactionView {
    fn from(signed: &SignedTransaction) -> Self {
        let tx = &signed.transaction;
        let call = CallView::from(&tx.call);
        TransactionView {
            hash: tx.hash(),
            signer: tx.signer,
            nonce: tx.nonce,
            fee_units: tx.fee,
            call,
        }
    }
}

/// `HASH CALL (by SIGNER, nonce N, fee F PHA)`, as the CLI lists a block's transactions.
impl fmt::Display for TransactionView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} (by {}, nonce {}, fee {} PHA)",
            self.hash,
            self.call,
            self.signer,
            self.nonce,
            format_pha(self.fee_units)
        )
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BlockView {
    pub header: HeaderView,
    pub transactions: Vec<TransactionView>,
    /// Validators that signed the finality certificate.
    pub finalized_by: Vec<AccountId>,
    /// The whole block, SCALE-encoded, `0x` hex: what a client verifies.
    pub raw: String,
}

impl From<&Block> for BlockView {
    fn from(block: &Block) -> Self {
        BlockView {
            header: HeaderView::from(&block.header),
            transactions: block
                .transactions
                .iter()
                .map(TransactionView::from)
                .collect(),
            finalized_by: block
                .certificate
                .signatures
                .iter()
                .map(|s| s.validator)
                .collect(),
            raw: format!("0x{}", hex::encode(block.encode())),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccountView {
    pub account: AccountId,
    /// Free balance as a PHA decimal, e.g. "12.5".
    pub free: String,
    #[serde(with = "serde_units")]
    pub free_units: Balance,
    pub nonce: u64,
}

impl AccountView {
    pub fn new(account: AccountId, free_units: Balance, nonce: u64) -> Self {
        AccountView {
            account,
            free: format_pha(free_units),
            free_units,
            nonce,
        }
    }
}

/// Why one transaction of a batch was refused.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TxRejection {
    pub code: i32,
    /// What kind of refusal (e.g. `StaleNonce`, `InvalidCall`): it decides `code`.
    pub kind: String,
    /// The precise cause in snake_case (e.g. `stale_nonce`, `no_cluster`, `not_pool_owner`),
    /// stable across releases: what a client matches on.
    pub cause: String,
    pub message: String,
}

/// The outcome of one transaction of a `tx_submitBatch` call: a hash, or a rejection.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SubmitOutcome {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hash: Option<Hash>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<TxRejection>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "status")]
pub enum TxStatus {
    #[serde(rename = "pending")]
    Pending,
    /// In a final block.
    #[serde(rename = "included")]
    Included {
        height: u64,
        index: u32,
        block_hash: Hash,
    },
    #[serde(rename = "unknown")]
    Unknown,
}
