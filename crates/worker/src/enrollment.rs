//! What every enclave process does before its own work: open the enclave, bind its RPC socket,
//! register on chain (funded by its operator), and serve `worker_status`.

use crate::enclave::Enclave;
use crate::node_link::{connect_patiently, Backoff};
use crate::process::{Tee, WorkerConfig, WorkerError, WorkerStatus};
use crate::trust::TrustError;
use jsonrpsee::server::{RpcModule, Server, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::Methods;
use phalanx_attestation::{Enrollment, TdxConfigfsProvider};
use phalanx_client::api::NodeApiClient;
use phalanx_client::{ClientError, NodeClient, DEFAULT_INCLUSION_TIMEOUT};
use phalanx_executor::ChainView;
use phalanx_primitives::attestation::Role;
use phalanx_primitives::Call;
use rand_core::OsRng;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Registers the enclave in `role` unless these keys are registered at this endpoint already (a
/// restarted worker that moved re-registers, with a fresh quote for the new endpoint); the
/// operator pays, and also sends `fund` units to the enclave's identity when it signs
/// transactions of its own.
///
/// Whether to register is a liveness decision, not a fact the enclave acts on, so the node's
/// word is taken as a hint beside the enclave's own view (a view at genesis, after a lost store,
/// does not know yet): a lying node can only make the enclave pay for a registration again, or
/// skip one and get no keys, which hurts the operator who runs that node.
async fn register_if_needed(
    client: &NodeClient,
    enclave: &Enclave,
    config: &WorkerConfig,
    view: &ChainView,
    endpoint: &str,
    role: Role,
    fund: u128,
) -> Result<(), WorkerError> {
    let identity = enclave.identity.account_id();
    let operator = &config.operator;
    let chain_id = view.chain_id();
    if let Some(known) = view.enclave(&identity) {
        if known.ecdh_public() == enclave.ecdh_public() && known.endpoint == endpoint {
            return Ok(());
        }
    }
    let hint = client
        .rpc()
        .worker(identity)
        .await
        .map_err(ClientError::from)?;
    if hint.is_some_and(|known| {
        known.ecdh_public == hex::encode(enclave.ecdh_public()) && known.endpoint == endpoint
    }) {
        return Ok(());
    }
    let ecdh_public = enclave.ecdh_public();
    let operator_account = operator.account_id();
    let enrollment = Enrollment {
        identity: &identity,
        ecdh_public: &ecdh_public,
        chain_id: &chain_id,
        role,
        operator: &operator_account,
        endpoint: endpoint.as_bytes(),
    };
    let quote = config
        .tee
        .quote_provider()
        .quote(&enrollment.report_data())?;
    let mut calls = vec![enrollment.register_call(&enclave.identity, quote)];
    if fund > 0 {
        calls.push(Call::Transfer {
            to: identity,
            amount: fund,
        });
    }
    // The operator may start several enclaves at once, all paying from its account: one that
    // loses the race for a nonce asks for the next one and tries again.
    let mut backoff = Backoff::default();
    let mut attempt = 0;
    let last = loop {
        attempt += 1;
        let nonce = client.next_nonce(operator.account_id()).await?;
        let txs: Vec<_> = calls
            .iter()
            .zip(nonce..)
            .map(|(call, n)| client.sign(operator, n, call.clone()))
            .collect();
        let refused = client
            .submit_batch(&txs)
            .await?
            .into_iter()
            .find_map(|outcome| outcome.error);
        match refused {
            None => break txs.last().expect("one or two").hash(),
            Some(error) if nonce_race(&error.kind) && attempt < REGISTRATION_ATTEMPTS => {
                tracing::info!(
                    attempt,
                    "the operator's nonce was taken ({}); trying again",
                    error.message
                );
                tokio::time::sleep(backoff.step()).await;
            }
            Some(error) => {
                return Err(ClientError::Rejected {
                    code: error.code,
                    kind: error.kind,
                    cause: error.cause,
                    message: error.message,
                }
                .into())
            }
        }
    };
    client
        .wait_for_inclusion(last, DEFAULT_INCLUSION_TIMEOUT)
        .await?;
    tracing::info!(%identity, ?role, endpoint, "registered with the chain");
    Ok(())
}

/// Tries at registering before a lost nonce race is an error.
const REGISTRATION_ATTEMPTS: u32 = 20;

/// Whether a refusal means another transaction of the same account took the nonce first.
fn nonce_race(kind: &str) -> bool {
    matches!(kind, "StaleNonce" | "FutureNonce" | "Duplicate")
}

/// Opens the enclave (a dev one loudly insecure) and connects to the node.
pub async fn open_enclave(config: &WorkerConfig) -> Result<(Enclave, NodeClient), WorkerError> {
    let client = connect_patiently(&config.node_url).await?;
    let enclave = match &config.tee {
        Tee::Dev => {
            tracing::warn!(
                "dev enclave: the sealing key is a plain file in the data directory (INSECURE)"
            );
            Enclave::open_dev(&config.data_dir, &mut OsRng)?
        }
        Tee::Sgx {
            attestation_dir, ..
        } => Enclave::open_sgx(&config.data_dir, attestation_dir, &mut OsRng)?,
        Tee::Tdx {
            report_dir,
            collateral,
        } => {
            let provider = TdxConfigfsProvider::new(report_dir, collateral);
            // Its pin is sealed under the root it is about to fetch: it must be told its chain.
            let chain_id = config.chain_id.ok_or(TrustError::NotPinned)?;
            let root =
                crate::tdx::sealing_root(&client, chain_id, &config.data_dir, &provider).await?;
            Enclave::open_with_root(&config.data_dir, *root, &mut OsRng)?
        }
    };
    Ok((enclave, client))
}

/// What every enclave process does once it knows its chain: bind its RPC socket (so the
/// endpoint it publishes names the real port) and register in `role` on `view`'s chain, the
/// operator funding its identity with `funding`.
pub async fn enroll(
    config: &WorkerConfig,
    enclave: &Enclave,
    client: &NodeClient,
    view: &ChainView,
    role: Role,
    funding: u128,
) -> Result<RpcListener, WorkerError> {
    let listener = RpcListener::bind(config).await?;
    register_if_needed(
        client,
        enclave,
        config,
        view,
        &listener.public_url,
        role,
        funding,
    )
    .await?;
    Ok(listener)
}

/// The `worker_status` method.
pub fn status_module(
    addr: SocketAddr,
    status: Arc<Mutex<WorkerStatus>>,
) -> Result<RpcModule<Arc<Mutex<WorkerStatus>>>, WorkerError> {
    let mut module = RpcModule::new(status);
    module
        .register_method("worker_status", |_, status, _| {
            let status = status.lock().unwrap_or_else(|p| p.into_inner()).clone();
            Ok::<_, ErrorObjectOwned>(status)
        })
        .map_err(|e| WorkerError::Rpc(addr, e.to_string()))?;
    Ok(module)
}

/// The RPC socket, bound before registration so the published endpoint names the real port.
pub struct RpcListener {
    server: Server,
    addr: SocketAddr,
    /// What the chain will tell clients.
    pub public_url: String,
}

impl RpcListener {
    pub async fn bind(config: &WorkerConfig) -> Result<Self, WorkerError> {
        let rpc_error =
            |e: &dyn std::fmt::Display| WorkerError::Rpc(config.rpc_addr, e.to_string());
        let server = Server::builder()
            .build(config.rpc_addr)
            .await
            .map_err(|e| rpc_error(&e))?;
        let addr = server.local_addr().map_err(|e| rpc_error(&e))?;
        let public_url = match &config.public_url {
            Some(url) => url.clone(),
            None if addr.ip().is_unspecified() => return Err(WorkerError::NoPublicUrl(addr)),
            None => format!("http://{addr}"),
        };
        Ok(Self {
            server,
            addr,
            public_url,
        })
    }

    /// Starts serving `methods`; returns the bound address.
    pub fn serve(self, methods: impl Into<Methods>) -> (SocketAddr, ServerHandle) {
        (self.addr, self.server.start(methods))
    }
}
