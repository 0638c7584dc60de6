//! The client side of confidential queries: sign a query, seal it to the contract's published
//! key with a fresh session key, send it to a worker, open the answer with the session secret.

use crate::ClientError;
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use parity_scale_codec::{DecodeAll, Encode};
use phalanx_crypto::envelope::{EnvelopeContext, Opener, Sealer};
use phalanx_crypto::Keypair;
use phalanx_primitives::query::{Answered, Query, QueryRequest, SignedQuery};
use phalanx_primitives::{AccountId, Envelope, Hash};
use rand_core::CryptoRngCore;

/// How long a query stays valid.
pub const QUERY_LIFETIME_MS: u64 = 60_000;

/// A sealed query and the session secret that opens its answer.
pub struct PreparedQuery {
    pub envelope: Envelope,
    session: Sealer,
    context: EnvelopeContext,
}

fn context(chain_id: Hash, contract: AccountId) -> EnvelopeContext {
    EnvelopeContext {
        chain_id,
        contract,
        sender: AccountId::from_bytes([0; 32]),
    }
}

/// Signs `request` as `signer` and seals it to the contract's key (`contract_key`, `epoch`).
#[allow(clippy::too_many_arguments)]
pub fn prepare_query(
    chain_id: Hash,
    contract: AccountId,
    contract_key: &[u8; 32],
    epoch: u32,
    signer: &Keypair,
    request: QueryRequest,
    now_ms: u64,
    rng: &mut impl CryptoRngCore,
) -> Result<PreparedQuery, ClientError> {
    let mut nonce = [0u8; 16];
    rng.fill_bytes(&mut nonce);
    let query = Query {
        origin: signer.account_id(),
        contract,
        expiry_ms: now_ms + QUERY_LIFETIME_MS,
        nonce,
        request,
    };
    let signed = SignedQuery {
        signature: signer.sign(&query.signing_message()),
        query,
    };
    let session = Sealer::new(rng);
    let context = context(chain_id, contract);
    let envelope = session
        .seal(contract_key, epoch, &context, &signed.encode(), rng)
        .map_err(|e| ClientError::Contract(format!("cannot seal the query: {e}")))?;
    Ok(PreparedQuery {
        envelope,
        session,
        context,
    })
}

impl PreparedQuery {
    /// Opens the worker's answer with this query's session secret: the answer and the block it
    /// was computed at (check that block against the chain, as [`crate::ContractClient`] does).
    pub fn open_answer(&self, answer: &Envelope) -> Result<Answered, ClientError> {
        let plaintext = Opener::new(self.session.secret().clone(), answer.epoch)
            .open(&self.context, answer)
            .map_err(|e| {
                ClientError::Contract(format!("the worker's answer does not open: {e}"))
            })?;
        Answered::decode_all(&mut &plaintext[..])
            .map_err(|e| ClientError::Contract(format!("malformed answer: {e}")))
    }
}

/// A connection to one worker's query endpoint.
pub struct WorkerClient {
    rpc: HttpClient,
}

impl WorkerClient {
    pub fn connect(url: &str) -> Result<Self, ClientError> {
        let rpc = HttpClientBuilder::default()
            .build(url)
            .map_err(|e| ClientError::Transport(format!("{url}: {e}")))?;
        Ok(WorkerClient { rpc })
    }

    /// The worker's `worker_status` report, as JSON (its shape belongs to the worker).
    pub async fn status(&self) -> Result<serde_json::Value, ClientError> {
        Ok(self.rpc.request("worker_status", rpc_params![]).await?)
    }

    /// The height the worker has replayed up to, from its status.
    pub async fn synced_height(&self) -> Result<u64, ClientError> {
        self.status().await?["synced_height"]
            .as_u64()
            .ok_or_else(|| ClientError::Contract("the worker's status has no synced_height".into()))
    }

    /// The keyed digest of `contract`'s state after block `height` (None: the worker's synced
    /// height).
    pub async fn state_digest(
        &self,
        contract: AccountId,
        height: Option<u64>,
    ) -> Result<crate::views::DigestView, ClientError> {
        Ok(self
            .rpc
            .request("worker_stateDigest", rpc_params![contract, height])
            .await?)
    }

    /// Sends a prepared query and opens the answer (not yet checked against the chain).
    pub async fn query(
        &self,
        contract: AccountId,
        prepared: &PreparedQuery,
    ) -> Result<Answered, ClientError> {
        let sealed = format!("0x{}", hex::encode(prepared.envelope.encode()));
        let answer: String = self
            .rpc
            .request("worker_query", rpc_params![contract, sealed])
            .await?;
        let bytes = answer
            .strip_prefix("0x")
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(|| ClientError::Contract("answer is not hex".into()))?;
        let envelope = <Envelope as parity_scale_codec::Decode>::decode(&mut &bytes[..])
            .map_err(|e| ClientError::Contract(format!("answer is not an envelope: {e}")))?;
        prepared.open_answer(&envelope)
    }
}
