//! Helpers for tests and benchmarks that run confidential contracts on real processes: submit
//! calls, wait for published keys, deploy a private token into a fresh cluster, read workers.

use parity_scale_codec::Encode;
use phalanx_client::api::NodeApiClient;
use phalanx_client::contract::Instantiation;
use phalanx_client::query::WorkerClient;
use phalanx_client::views::DigestView;
use phalanx_client::{ContractClient, NodeClient, PublicKey};
use phalanx_crypto::Keypair;
use phalanx_primitives::query::{QueryAnswer, QueryRequest};
use phalanx_primitives::{sha256, AccountId, Call, Hash, SudoCall};
use rand_core::OsRng;
use std::time::{Duration, Instant};

const TOKEN_WASM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../contracts/private_token/private_token.wasm"
);

/// Signs `calls` as `signer` with consecutive nonces, submits them and waits until the last one
/// is final; every one must be admitted.
pub async fn submit(node: &NodeClient, signer: &Keypair, calls: Vec<Call>) {
    let nonce = node.next_nonce(signer.account_id()).await.unwrap();
    let txs: Vec<_> = calls
        .into_iter()
        .zip(nonce..)
        .map(|(call, n)| node.sign(signer, n, call))
        .collect();
    for outcome in node.submit_batch(&txs).await.unwrap() {
        assert!(outcome.error.is_none(), "{:?}", outcome.error);
    }
    node.wait_for_inclusion(txs.last().unwrap().hash(), Duration::from_secs(30))
        .await
        .unwrap();
}

/// Raises the clusters' gas budget a block so far that one sender is bound by the machine, not
/// by its share of a block: for load generators that send everything from one account.
pub async fn raise_cluster_budget(node: &NodeClient) {
    let call = Call::Sudo(SudoCall::SetParameter {
        parameter: phalanx_primitives::economy::Parameter::ClusterBlockGas,
        value: 20_000_000_000,
    });
    submit(node, &Keypair::dev("alice"), vec![call]).await;
}

/// Polls `probe` until a gatekeeper has published the key it looks for.
pub async fn poll_key<F, Fut>(probe: F) -> PublicKey
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<PublicKey>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(key) = probe().await {
            return key;
        }
        assert!(Instant::now() < deadline, "no key published");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Alice (the dev sudo) creates `cluster` of `workers` and deploys a private token into it with
/// `init` and `salt`; returns the token's address once its key is published.
pub async fn deploy_private_token(
    node: &NodeClient,
    cluster: Hash,
    workers: Vec<AccountId>,
    init: private_token::Init,
    salt: &[u8],
) -> AccountId {
    deploy(node, cluster, workers, TOKEN_WASM, &init.encode(), salt).await
}

/// Alice (the dev sudo) creates `cluster` of `workers` and deploys the contract at `wasm` (a path)
/// into it with the encoded `init` and `salt`; returns its address once its key is published.
pub async fn deploy(
    node: &NodeClient,
    cluster: Hash,
    workers: Vec<AccountId>,
    wasm: &str,
    init: &[u8],
    salt: &[u8],
) -> AccountId {
    let code = std::fs::read(wasm).unwrap();
    deploy_code(node, cluster, workers, code, init, salt).await
}

/// As [`deploy`], with the module's bytes.
pub async fn deploy_code(
    node: &NodeClient,
    cluster: Hash,
    workers: Vec<AccountId>,
    code: Vec<u8>,
    init: &[u8],
    salt: &[u8],
) -> AccountId {
    let alice = Keypair::dev("alice");
    submit(
        node,
        &alice,
        vec![Call::Sudo(SudoCall::CreateCluster { cluster, workers })],
    )
    .await;
    instantiate_in(node, cluster, code, init, salt).await
}

/// Alice uploads `code` and instantiates it with `init` and `salt` in `cluster`, which exists;
/// returns the contract's address once its key is published.
pub async fn instantiate_in(
    node: &NodeClient,
    cluster: Hash,
    code: Vec<u8>,
    init: &[u8],
    salt: &[u8],
) -> AccountId {
    let alice = Keypair::dev("alice");
    let cluster_key = poll_key(|| async { node.cluster_key(cluster).await.unwrap() }).await;
    let (contract, instantiate) = Instantiation {
        code_hash: sha256(&code),
        cluster,
        cluster_key,
        salt,
        init,
        gas_limit: 10_000_000,
    }
    .call(node.info().chain_id, alice.account_id(), &mut OsRng)
    .unwrap();
    let mut calls = vec![instantiate];
    if node.rpc().code(sha256(&code)).await.unwrap().is_none() {
        calls.insert(0, Call::UploadCode { code });
    }
    submit(node, &alice, calls).await;
    poll_key(|| async { node.contract_key(contract).await.unwrap() }).await;
    contract
}

/// A worker's `worker_status` report.
pub async fn worker_status(url: &str) -> serde_json::Value {
    WorkerClient::connect(url).unwrap().status().await.unwrap()
}

/// The height a worker has replayed up to.
pub async fn synced_height(url: &str) -> u64 {
    WorkerClient::connect(url)
        .unwrap()
        .synced_height()
        .await
        .unwrap()
}

/// Waits up to `within` until the worker at `url` has replayed block `height`; returns its
/// synced height.
pub async fn wait_synced(url: &str, height: u64, within: Duration) -> u64 {
    let deadline = Instant::now() + within;
    loop {
        let synced = synced_height(url).await;
        if synced >= height {
            return synced;
        }
        assert!(
            Instant::now() < deadline,
            "worker {url} stuck at {synced}, wanted {height}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A worker's keyed digest of `contract` after block `height`.
pub async fn digest(url: &str, contract: AccountId, height: u64) -> DigestView {
    WorkerClient::connect(url)
        .unwrap()
        .state_digest(contract, Some(height))
        .await
        .unwrap()
}

/// `owner`'s private_token balance in `token`, asked of the worker at `url` only.
pub async fn balance_from(node: &NodeClient, url: &str, token: AccountId, owner: &Keypair) -> u128 {
    let query = private_token::Query::Balance {
        account: phalanx_sdk::AccountId(*owner.account_id().as_bytes()),
    };
    let answer = ContractClient::open(node, token)
        .await
        .unwrap()
        .only_worker(url)
        .unwrap()
        .query(owner, QueryRequest::Contract(query.encode()), &mut OsRng)
        .await
        .unwrap();
    match answer {
        QueryAnswer::Ok(bytes) => parity_scale_codec::Decode::decode(&mut &bytes[..]).unwrap(),
        other => panic!("balance not answered by {url}: {other:?}"),
    }
}

/// The header hash of every block `1..=to` as the node at `url` serves it, each block checked
/// against the certificate of its height's validators (a certificate's signers may differ
/// between nodes, the block they certify may not).
pub async fn chain_at(url: &str, to: u64) -> Vec<Hash> {
    let node = NodeClient::connect(url).await.expect("the node answers");
    let mut hashes = Vec::new();
    for height in 1..=to {
        let block = node
            .verified_block(height)
            .await
            .unwrap_or_else(|e| panic!("{url} block {height}: {e}"))
            .unwrap_or_else(|| panic!("{url} has no block {height}"));
        hashes.push(block.hash());
    }
    hashes
}
