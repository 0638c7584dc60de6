//! Confidential contracts from a user's side, with nothing but the chain to start from: the
//! contract's public key and the query endpoints of its cluster's workers are read from the node;
//! commands are sealed to that key and go through the chain; queries and receipts go straight to a
//! worker, signed, and come back sealed to a one-time session key.

use crate::api::NodeApiClient;
use crate::query::{prepare_query, WorkerClient};
use crate::views::PublishedKey;
use crate::{ClientError, NodeClient};
use parity_scale_codec::DecodeAll;
use phalanx_crypto::envelope::EnvelopeContext;
use phalanx_crypto::{Keypair, Sealer};
use phalanx_primitives::query::{
    Answered, Notification, Permit, QueryAnswer, QueryRequest, Receipt, SignedPermit,
};
use phalanx_primitives::{contract_id, AccountId, Balance, Call, Envelope, Hash};
use rand_core::CryptoRngCore;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often [`ContractClient::receipt`] asks again while the workers catch up.
const RECEIPT_POLL: Duration = Duration::from_millis(50);
/// Default of [`ContractClient::with_max_lag`], in blocks.
pub const DEFAULT_MAX_ANSWER_LAG: u64 = 5;

/// A published x25519 key and its epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKey {
    pub bytes: [u8; 32],
    pub epoch: u32,
}

impl PublicKey {
    fn from_view(view: &PublishedKey, whose: &str) -> Result<Self, ClientError> {
        let bytes = view.bytes().ok_or_else(|| {
            ClientError::Contract(format!("the node served a malformed key for {whose}"))
        })?;
        Ok(PublicKey {
            bytes,
            epoch: view.epoch,
        })
    }
}

/// Seals `plaintext` from `sender` to `key` for `contract` on `chain_id`, with a fresh ephemeral
/// key: the envelope of a command or an instantiation's init argument.
pub fn seal_to_contract(
    key: &PublicKey,
    chain_id: Hash,
    contract: AccountId,
    sender: AccountId,
    plaintext: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<Envelope, ClientError> {
    let session = Sealer::new(rng);
    seal_in(&session, key, chain_id, contract, sender, plaintext, rng)
}

/// Seals in an existing session (see [`Sealer`]).
fn seal_in(
    session: &Sealer,
    key: &PublicKey,
    chain_id: Hash,
    contract: AccountId,
    sender: AccountId,
    plaintext: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<Envelope, ClientError> {
    let context = EnvelopeContext {
        chain_id,
        contract,
        sender,
    };
    session
        .seal(&key.bytes, key.epoch, &context, plaintext, rng)
        .map_err(|e| ClientError::Contract(format!("cannot seal to contract {contract}: {e}")))
}

/// What an instantiation needs besides the deployer.
pub struct Instantiation<'a> {
    pub code_hash: Hash,
    pub cluster: Hash,
    /// The cluster's published key: the init argument is sealed to it, since the contract has no
    /// key of its own before it exists.
    pub cluster_key: PublicKey,
    pub salt: &'a [u8],
    /// The SCALE-encoded init message.
    pub init: &'a [u8],
    pub gas_limit: u64,
}

impl Instantiation<'_> {
    /// The new contract's id and the `Instantiate` call that creates it.
    pub fn call(
        &self,
        chain_id: Hash,
        deployer: AccountId,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(AccountId, Call), ClientError> {
        let contract = contract_id(&self.code_hash, &self.cluster, &deployer, self.salt);
        let init = seal_to_contract(
            &self.cluster_key,
            chain_id,
            contract,
            deployer,
            self.init,
            rng,
        )?;
        Ok((
            contract,
            Call::Instantiate {
                code_hash: self.code_hash,
                cluster: self.cluster,
                salt: self.salt.to_vec(),
                init,
                gas_limit: self.gas_limit,
            },
        ))
    }
}

impl NodeClient {
    /// Whether code with this hash is on chain.
    pub async fn has_code(&self, code_hash: Hash) -> Result<bool, ClientError> {
        Ok(self.rpc().code(code_hash).await?.is_some())
    }

    /// A cluster's published key; `Ok(None)` while its gatekeeper has not published it.
    pub async fn cluster_key(&self, cluster: Hash) -> Result<Option<PublicKey>, ClientError> {
        let view =
            self.rpc().cluster(cluster).await?.ok_or_else(|| {
                ClientError::Contract(format!("no cluster {cluster} on this chain"))
            })?;
        view.key
            .map(|k| PublicKey::from_view(&k, &format!("cluster {cluster}")))
            .transpose()
    }

    /// A contract's published key; `Ok(None)` while it has none yet.
    pub async fn contract_key(
        &self,
        contract: AccountId,
    ) -> Result<Option<PublicKey>, ClientError> {
        let view = self.rpc().contract(contract).await?.ok_or_else(|| {
            ClientError::Contract(format!("no contract {contract} on this chain"))
        })?;
        view.key
            .map(|k| PublicKey::from_view(&k, &format!("contract {contract}")))
            .transpose()
    }

    /// The query endpoints the workers of `contract`'s cluster published on chain.
    pub async fn contract_workers(&self, contract: AccountId) -> Result<Vec<String>, ClientError> {
        let view = self.rpc().contract(contract).await?.ok_or_else(|| {
            ClientError::Contract(format!("no contract {contract} on this chain"))
        })?;
        let cluster = self.rpc().cluster(view.cluster).await?.ok_or_else(|| {
            ClientError::Contract(format!("contract {contract} names a missing cluster"))
        })?;
        let mut endpoints = Vec::new();
        for worker in cluster.workers {
            if let Some(info) = self.rpc().worker(worker).await? {
                if !info.endpoint.is_empty() {
                    endpoints.push(info.endpoint);
                }
            }
        }
        Ok(endpoints)
    }
}

/// One contract, ready to be commanded and queried: its key and its workers, read once.
///
/// Commands are sealed in one session (one ephemeral key, see [`Sealer`]): the public-key work is
/// done once per client, not per command. Open one client per sender.
pub struct ContractClient {
    contract: AccountId,
    chain_id: Hash,
    /// The node answers are checked against.
    node: NodeClient,
    /// Most blocks an answer about the present may lag behind that node's head.
    max_lag: u64,
    key: PublicKey,
    workers: Vec<(String, WorkerClient)>,
    session: Sealer,
}

impl ContractClient {
    /// Reads the contract's key and its workers' endpoints from the chain.
    pub async fn open(node: &NodeClient, contract: AccountId) -> Result<Self, ClientError> {
        let key = node.contract_key(contract).await?.ok_or_else(|| {
            ClientError::Contract(format!(
                "contract {contract} has no published key yet; try again in a moment"
            ))
        })?;
        let endpoints = node.contract_workers(contract).await?;
        let mut client = ContractClient {
            contract,
            chain_id: node.info().chain_id,
            node: node.clone(),
            max_lag: DEFAULT_MAX_ANSWER_LAG,
            key,
            workers: Vec::new(),
            session: Sealer::new(&mut rand_core::OsRng),
        };
        for url in endpoints {
            client = client.add_worker(&url)?;
        }
        Ok(client)
    }

    /// Refuses answers about the present computed more than `blocks` behind the node's head.
    pub fn with_max_lag(mut self, blocks: u64) -> Self {
        self.max_lag = blocks;
        self
    }

    /// Asks only the worker at `url` (instead of those the chain lists).
    pub fn only_worker(mut self, url: &str) -> Result<Self, ClientError> {
        self.workers.clear();
        self.add_worker(url)
    }

    fn add_worker(mut self, url: &str) -> Result<Self, ClientError> {
        self.workers
            .push((url.to_string(), WorkerClient::connect(url)?));
        Ok(self)
    }

    pub fn contract(&self) -> AccountId {
        self.contract
    }

    pub fn key(&self) -> PublicKey {
        self.key
    }

    /// The workers this client asks, in order.
    pub fn worker_urls(&self) -> impl Iterator<Item = &str> {
        self.workers.iter().map(|(url, _)| url.as_str())
    }

    /// A `Command` call carrying `message` sealed to the contract, from `sender`, and `value`
    /// PHA (units) into the contract's account.
    pub fn command_call(
        &self,
        sender: AccountId,
        message: &[u8],
        gas_limit: u64,
        value: Balance,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Call, ClientError> {
        let envelope = seal_in(
            &self.session,
            &self.key,
            self.chain_id,
            self.contract,
            sender,
            message,
            rng,
        )?;
        Ok(Call::Command {
            contract: self.contract,
            envelope,
            gas_limit,
            value,
        })
    }

    /// Asks the contract's workers, in order, until one answers; a worker that cannot be reached
    /// or refuses the query's form is skipped, the last such error returned if none answers.
    pub async fn query(
        &self,
        signer: &Keypair,
        request: QueryRequest,
        rng: &mut impl CryptoRngCore,
    ) -> Result<QueryAnswer, ClientError> {
        Ok(self.query_answered(signer, request, rng).await?.answer)
    }

    /// As [`ContractClient::query`], with the block the answer was computed at. An answer is
    /// taken only if that block is on the chain of this client's node and, for a query of the
    /// contract's state now, at most [`ContractClient::with_max_lag`] blocks behind its head; a
    /// worker that says it is stale is skipped too.
    pub async fn query_answered(
        &self,
        signer: &Keypair,
        request: QueryRequest,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Answered, ClientError> {
        let mut last_error = ClientError::Contract(format!(
            "no worker of contract {}'s cluster has published a query endpoint",
            self.contract
        ));
        // Receipts and history are facts of a past block; only state now can be stale.
        let about_the_present = matches!(request, QueryRequest::Contract(_));
        for (url, worker) in &self.workers {
            // A fresh query per worker: each nonce is good for one answer.
            let prepared = prepare_query(
                self.chain_id,
                self.contract,
                &self.key.bytes,
                self.key.epoch,
                signer,
                request.clone(),
                now_ms(),
                rng,
            )?;
            let answered = match worker.query(self.contract, &prepared).await {
                Ok(answered) => answered,
                Err(error) => {
                    last_error = ClientError::Contract(format!("worker {url}: {error}"));
                    continue;
                }
            };
            match self.check_fresh(&answered, about_the_present).await {
                Ok(()) => return Ok(answered),
                Err(reason) => {
                    last_error = ClientError::Contract(format!("worker {url}: {reason}"))
                }
            }
        }
        Err(last_error)
    }

    /// Why an answer cannot be taken as this chain's, now; Ok if it can.
    async fn check_fresh(
        &self,
        answered: &Answered,
        about_the_present: bool,
    ) -> Result<(), String> {
        if let QueryAnswer::Stale {
            synced_height,
            silent_ms,
        } = answered.answer
        {
            return Err(format!(
                "the worker is stale: it saw no new block for {} s (it has block {synced_height})",
                silent_ms / 1000
            ));
        }
        let header = self
            .node
            .rpc()
            .header(answered.height)
            .await
            .map_err(|e| e.to_string())?;
        if header.is_none_or(|h| h.hash != answered.block_hash) {
            return Err(format!(
                "the answer was computed at block {} {}, which is not on this node's chain",
                answered.height, answered.block_hash
            ));
        }
        if about_the_present {
            let head = self.node.head().await.map_err(|e| e.to_string())?.height;
            let lag = head.saturating_sub(answered.height);
            if lag > self.max_lag {
                return Err(format!(
                    "the answer is as of block {}, {lag} blocks behind the head (at most {} taken)",
                    answered.height, self.max_lag
                ));
            }
        }
        Ok(())
    }

    /// Signs, as `owner`, a permit letting `grantee` query this contract on `owner`'s behalf for
    /// `scopes` until `expiry_ms` (Unix ms). Made off chain; hand it to the grantee.
    pub fn sign_permit(
        &self,
        owner: &Keypair,
        grantee: AccountId,
        scopes: Vec<String>,
        expiry_ms: u64,
        rng: &mut impl CryptoRngCore,
    ) -> SignedPermit {
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        let permit = Permit {
            chain_id: self.chain_id,
            contract: self.contract,
            owner: owner.account_id(),
            grantee,
            scopes,
            expiry_ms,
            id,
        };
        SignedPermit {
            signature: owner.sign(&permit.signing_message()),
            permit,
        }
    }

    /// Asks the contract's `query` entry point `message` as `permit`'s owner, signed by the
    /// permit's grantee.
    pub async fn query_with_permit(
        &self,
        grantee: &Keypair,
        permit: &SignedPermit,
        message: Vec<u8>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<QueryAnswer, ClientError> {
        let request = QueryRequest::WithPermit {
            permit: Box::new(permit.clone()),
            message,
        };
        self.query(grantee, request, rng).await
    }

    /// The command by which `owner` revokes its permit `id` (send it like any command; once its
    /// block is final, workers refuse the permit).
    pub fn revoke_permit_call(
        &self,
        owner: AccountId,
        id: &[u8; 16],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Call, ClientError> {
        self.command_call(owner, &Permit::revocation_message(id), 1_000_000, 0, rng)
    }

    /// The events this contract addressed to `signer`, numbered from `since` on (a bounded
    /// page: ask again from the last number plus one for more). Only `signer`'s own are ever
    /// answered: the worker takes the account from the query's signature.
    pub async fn notifications(
        &self,
        signer: &Keypair,
        since: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<Notification>, ClientError> {
        match self
            .query(signer, QueryRequest::Notifications { since }, rng)
            .await?
        {
            QueryAnswer::Ok(bytes) => Vec::<Notification>::decode_all(&mut &bytes[..])
                .map_err(|e| ClientError::Contract(format!("malformed notifications: {e}"))),
            QueryAnswer::Refused(reason) => Err(ClientError::Contract(reason)),
            QueryAnswer::Stale { .. } => Err(ClientError::Contract(
                "the worker answered a notification query as stale".into(),
            )),
        }
    }

    /// Waits up to `timeout` for every worker of this client to have replayed block `height`;
    /// returns those that have not (unreachable ones included), by URL. After a revocation,
    /// say: a worker still behind its block would yet honour the permit.
    pub async fn workers_behind(&self, height: u64, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut behind: Vec<&(String, WorkerClient)> = self.workers.iter().collect();
        loop {
            let mut still = Vec::new();
            for worker in behind {
                let synced = worker.1.synced_height().await.ok();
                if synced.is_none_or(|synced| synced < height) {
                    still.push(worker);
                }
            }
            behind = still;
            if behind.is_empty() || Instant::now() >= deadline {
                return behind.into_iter().map(|(url, _)| url.clone()).collect();
            }
            tokio::time::sleep(RECEIPT_POLL).await;
        }
    }

    /// The receipt of `tx_hash` (sent by `signer`), waiting up to `timeout` for a worker to have
    /// executed it.
    pub async fn receipt(
        &self,
        signer: &Keypair,
        tx_hash: Hash,
        timeout: Duration,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Receipt, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            let answer = match self
                .query(signer, QueryRequest::Receipt(tx_hash), rng)
                .await
            {
                Ok(answer) => answer,
                // A worker behind the block that instantiated the contract does not run it
                // yet: like a refusal, worth asking again until the deadline.
                Err(ClientError::Contract(reason))
                    if reason.contains("does not run contract") && Instant::now() < deadline =>
                {
                    tokio::time::sleep(RECEIPT_POLL).await;
                    continue;
                }
                Err(error) => return Err(error),
            };
            match answer {
                QueryAnswer::Ok(bytes) => {
                    return Receipt::decode_all(&mut &bytes[..])
                        .map_err(|e| ClientError::Contract(format!("malformed receipt: {e}")))
                }
                QueryAnswer::Refused(_) | QueryAnswer::Stale { .. }
                    if Instant::now() < deadline =>
                {
                    tokio::time::sleep(RECEIPT_POLL).await
                }
                QueryAnswer::Refused(reason) => {
                    return Err(ClientError::Contract(format!(
                        "no receipt for {tx_hash}: {reason}"
                    )))
                }
                QueryAnswer::Stale { .. } => {
                    return Err(ClientError::Contract(format!(
                        "no receipt for {tx_hash}: every worker is stale"
                    )))
                }
            }
        }
    }
}

/// The client's clock, in Unix milliseconds (what query and permit expiries are judged by).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
