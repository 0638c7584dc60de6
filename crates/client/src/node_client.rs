//! A typed client of one node.

use crate::api::NodeApiClient;
use crate::views::{AccountView, ChainInfo, HeaderView, SubmitOutcome, TxStatus};
use jsonrpsee::core::ClientError as RpcError;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use parity_scale_codec::DecodeLimit;
use parity_scale_codec::Encode;
use phalanx_crypto::{sign_transaction, verify_events, verify_finalized, Keypair};
use phalanx_primitives::{
    AccountId, Balance, Block, BlockHeader, Call, EventRecord, GenesisConfig, Hash,
    SignedTransaction, Transaction, ValidatorHistory,
};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Largest response the client accepts (a full block with its JSON view).
const MAX_RESPONSE_SIZE: u32 = 256 * 1024 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long [`NodeClient::transfer`] waits for finality before giving up.
pub const DEFAULT_INCLUSION_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error("cannot reach the node: {0}")]
    Transport(String),
    /// The node refused the request; `kind` is the stable name of the reason.
    #[error("node refused: {message}")]
    Rejected {
        code: i32,
        kind: String,
        /// The precise cause (`data.cause`), e.g. `no_pool`; empty if the node sent none.
        cause: String,
        message: String,
    },
    #[error("timed out after {0:?} waiting for transaction {1} to become final")]
    Timeout(Duration, Hash),
    #[error("node served an invalid block: {0}")]
    InvalidBlock(String),
    /// A confidential contract cannot be reached as asked (unknown, no key yet, no worker, a
    /// malformed answer).
    #[error("{0}")]
    Contract(String),
}

impl From<RpcError> for ClientError {
    fn from(error: RpcError) -> Self {
        match error {
            RpcError::Call(object) => {
                let data = object
                    .data()
                    .and_then(|raw| serde_json::from_str::<serde_json::Value>(raw.get()).ok());
                let field = |name: &str| {
                    data.as_ref()
                        .and_then(|data| data.get(name))
                        .and_then(|value| value.as_str())
                        .unwrap_or_default()
                        .to_string()
                };
                ClientError::Rejected {
                    code: object.code(),
                    kind: field("kind"),
                    cause: field("cause"),
                    message: object.message().to_string(),
                }
            }
            other => ClientError::Transport(other.to_string()),
        }
    }
}

/// Where a transaction ended up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Included {
    pub hash: Hash,
    pub height: u64,
    pub index: u32,
    pub block_hash: Hash,
}

/// A connection to one node, with the chain's identity fetched once at connect. Cloning shares
/// the connection pool.
#[derive(Clone)]
pub struct NodeClient {
    rpc: HttpClient,
    info: ChainInfo,
    /// The validator sets as the node last said (the genesis set until a block needs more).
    validators: Arc<RwLock<ValidatorHistory>>,
}

impl NodeClient {
    pub async fn connect(url: &str) -> Result<Self, ClientError> {
        let rpc = HttpClientBuilder::default()
            .max_response_size(MAX_RESPONSE_SIZE)
            .max_request_size(MAX_RESPONSE_SIZE)
            .request_timeout(REQUEST_TIMEOUT)
            .build(url)
            .map_err(|e| ClientError::Transport(format!("{url}: {e}")))?;
        let info = rpc
            .chain_info()
            .await
            .map_err(|e| match ClientError::from(e) {
                ClientError::Transport(msg) => ClientError::Transport(format!("{url}: {msg}")),
                other => other,
            })?;
        let validators = Arc::new(RwLock::new(ValidatorHistory::genesis(&info.validators)));
        Ok(NodeClient {
            rpc,
            info,
            validators,
        })
    }

    pub fn info(&self) -> &ChainInfo {
        &self.info
    }

    /// The raw generated API client, for calls this wrapper does not cover.
    pub fn rpc(&self) -> &HttpClient {
        &self.rpc
    }

    pub async fn head(&self) -> Result<HeaderView, ClientError> {
        Ok(self.rpc.head().await?)
    }

    pub async fn account(&self, account: AccountId) -> Result<AccountView, ClientError> {
        Ok(self.rpc.account(account).await?)
    }

    pub async fn next_nonce(&self, account: AccountId) -> Result<u64, ClientError> {
        Ok(self.rpc.next_nonce(account).await?)
    }

    /// Signs `call` for this chain with the smallest fee it accepts.
    pub fn sign(&self, signer: &Keypair, nonce: u64, call: Call) -> SignedTransaction {
        let tx = Transaction {
            chain_id: self.info.chain_id,
            signer: signer.account_id(),
            nonce,
            fee: 0,
            call,
        };
        // The fee is a fixed-width integer and the signature 64 bytes whatever they hold, so
        // the length is known before either is (signing twice doubled a client's cost).
        let unsigned = SignedTransaction {
            transaction: tx,
            signature: phalanx_primitives::Signature([0; 64]),
        };
        let (len, mut tx) = (unsigned.encoded_size(), unsigned.transaction);
        tx.fee = self
            .info
            .per_byte_fee_units
            .saturating_mul(len as Balance)
            .saturating_add(self.info.base_fee_units);
        sign_transaction(signer, tx)
    }

    pub async fn submit(&self, tx: &SignedTransaction) -> Result<Hash, ClientError> {
        Ok(self.rpc.submit(to_hex(tx)).await?)
    }

    pub async fn submit_batch(
        &self,
        txs: &[SignedTransaction],
    ) -> Result<Vec<SubmitOutcome>, ClientError> {
        Ok(self
            .rpc
            .submit_batch(txs.iter().map(to_hex).collect())
            .await?)
    }

    pub async fn tx_status(&self, hash: Hash) -> Result<TxStatus, ClientError> {
        Ok(self.rpc.tx_status(hash).await?)
    }

    /// Polls until the transaction is in a final block.
    pub async fn wait_for_inclusion(
        &self,
        hash: Hash,
        timeout: Duration,
    ) -> Result<Included, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let TxStatus::Included {
                height,
                index,
                block_hash,
            } = self.tx_status(hash).await?
            {
                return Ok(Included {
                    hash,
                    height,
                    index,
                    block_hash,
                });
            }
            if Instant::now() >= deadline {
                return Err(ClientError::Timeout(timeout, hash));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends `amount` units from `from` to `to` and waits until the transfer is final.
    pub async fn transfer(
        &self,
        from: &Keypair,
        to: AccountId,
        amount: Balance,
    ) -> Result<Included, ClientError> {
        let nonce = self.next_nonce(from.account_id()).await?;
        let tx = self.sign(from, nonce, Call::Transfer { to, amount });
        let hash = self.submit(&tx).await?;
        self.wait_for_inclusion(hash, DEFAULT_INCLUSION_TIMEOUT)
            .await
    }

    /// Fetches a block and checks it before returning it: the header hash, the transactions root
    /// and the finality certificate against the validators the node announced at connect. An
    /// enclave, which believes no node, checks blocks against its own pinned validators instead
    /// ([`NodeClient::unverified_block`] and `phalanx_crypto::verify_next_block`).
    pub async fn verified_block(&self, height: u64) -> Result<Option<Block>, ClientError> {
        let Some(block) = self.unverified_block(height).await? else {
            return Ok(None);
        };
        // The height was checked on fetching; body and certificate by the one block verifier.
        let known = self.validators_at(height);
        if verify_finalized(&block, &known).is_err() {
            // The set may have changed since the client last asked: ask once, then decide.
            let history = self.refresh_validators().await?;
            verify_finalized(&block, &history.at(height).accounts())
                .map_err(|e| ClientError::InvalidBlock(e.to_string()))?;
        }
        Ok(Some(block))
    }

    /// The validators that certify block `height`, as far as the client knows.
    fn validators_at(&self, height: u64) -> Vec<AccountId> {
        let history = self.validators.read().unwrap_or_else(|p| p.into_inner());
        history.at(height).accounts()
    }

    /// The node's validator history, which must start from the genesis set it announced.
    pub async fn refresh_validators(&self) -> Result<ValidatorHistory, ClientError> {
        let history = self.rpc.validators().await?;
        if history.sets()[0].accounts() != self.info.validators {
            return Err(ClientError::InvalidBlock(
                "the node's validator history does not start from its genesis validators".into(),
            ));
        }
        *self.validators.write().unwrap_or_else(|p| p.into_inner()) = history.clone();
        Ok(history)
    }

    /// Fetches and decodes a block (depth-limited, no trailing bytes) without checking it: the
    /// caller verifies it against a validator set it trusts.
    pub async fn unverified_block(&self, height: u64) -> Result<Option<Block>, ClientError> {
        let Some(raw) = self.rpc.block_raw(height).await? else {
            return Ok(None);
        };
        let bytes = decode_raw(&raw)
            .ok_or_else(|| ClientError::InvalidBlock("raw block is not 0x-hex".into()))?;
        let block = Block::decode_untrusted(&bytes)
            .map_err(|e| ClientError::InvalidBlock(e.to_string()))?;
        if block.header.height != height {
            return Err(ClientError::InvalidBlock(format!(
                "asked for block {height}, got block {}",
                block.header.height
            )));
        }
        Ok(Some(block))
    }

    /// The chain's genesis description as the node serves it (the caller checks its hash).
    pub async fn genesis(&self) -> Result<GenesisConfig, ClientError> {
        let raw = self.rpc.genesis().await?;
        let bytes = decode_raw(&raw)
            .ok_or_else(|| ClientError::InvalidBlock("the genesis is not 0x-hex".into()))?;
        GenesisConfig::decode_with_depth_limit(16, &mut &bytes[..])
            .map_err(|e| ClientError::InvalidBlock(format!("the genesis does not decode: {e}")))
    }
}

impl NodeClient {
    /// Fetches a block's events and checks them against the (already verified) header's
    /// `events_root`, so a node cannot add, drop or alter one.
    pub async fn verified_events(
        &self,
        header: &BlockHeader,
    ) -> Result<Vec<EventRecord>, ClientError> {
        let records = self.unverified_events(header.height).await?;
        verify_events(header, &records).map_err(|e| ClientError::InvalidBlock(e.to_string()))?;
        Ok(records)
    }

    /// Fetches and decodes a block's events without checking them (the caller checks them
    /// against a header it verified, `phalanx_crypto::verify_events`).
    pub async fn unverified_events(&self, height: u64) -> Result<Vec<EventRecord>, ClientError> {
        let raw =
            self.rpc.events_raw(height).await?.ok_or_else(|| {
                ClientError::InvalidBlock(format!("no events for block {height}"))
            })?;
        let bytes = decode_raw(&raw)
            .ok_or_else(|| ClientError::InvalidBlock("events are not 0x-hex".into()))?;
        Vec::<EventRecord>::decode_with_depth_limit(16, &mut &bytes[..])
            .map_err(|e| ClientError::InvalidBlock(format!("events do not decode: {e}")))
    }
}

/// Decodes a `0x`-hex payload from the node (blocks and events are megabytes when a worker
/// replays: a table lookup per digit instead of the general-purpose decoder).
fn decode_raw(text: &str) -> Option<Vec<u8>> {
    const INVALID: u8 = 0xff;
    const TABLE: [u8; 256] = {
        let mut table = [INVALID; 256];
        let mut i = 0;
        while i < 10 {
            table[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            table[b'a' as usize + i] = 10 + i as u8;
            table[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        table
    };
    let digits = text.strip_prefix("0x")?.as_bytes();
    if digits.len() % 2 != 0 {
        return None;
    }
    let mut bytes = Vec::with_capacity(digits.len() / 2);
    for pair in digits.chunks_exact(2) {
        let (high, low) = (TABLE[pair[0] as usize], TABLE[pair[1] as usize]);
        if high == INVALID || low == INVALID {
            return None;
        }
        bytes.push(high << 4 | low);
    }
    Some(bytes)
}

fn to_hex(tx: &SignedTransaction) -> String {
    format!("0x{}", hex::encode(tx.encode()))
}

#[cfg(test)]
mod tests {
    use super::decode_raw;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn raw_payloads_decode_like_hex(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let lower = format!("0x{}", hex::encode(&bytes));
            prop_assert_eq!(decode_raw(&lower), Some(bytes.clone()));
            prop_assert_eq!(decode_raw(&lower.to_uppercase().replacen("0X", "0x", 1)), Some(bytes));
        }

        #[test]
        fn anything_else_is_refused_not_mangled(text in ".{0,40}") {
            let expected = text.strip_prefix("0x").and_then(|h| hex::decode(h).ok());
            prop_assert_eq!(decode_raw(&text), expected);
        }
    }
}
