//! The JSON-RPC server: `phalanx_api::rpc::NodeApi` over the node's shared state.

use crate::admission::{admit_batch, rejection};
use crate::economy_views;
use crate::refusals::RefusalBudget;
use crate::running::Shared;
use crate::transport::{self, Peer};
use jsonrpsee::core::{async_trait, SubscriptionResult};
use jsonrpsee::server::{PendingSubscriptionSink, ServerHandle, SubscriptionMessage};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::Extensions;
use parity_scale_codec::Encode;
use phalanx_api::economy::{PoolView, ProposalView, RewardsView, StakesView, WorkerEconomyView};
use phalanx_api::error_codes as codes;
use phalanx_api::rpc::{NodeApiServer, MAX_SUBMIT_BATCH};
use phalanx_api::views::{
    AccountView, BlockView, ChainInfo, ClusterView, CodeView, ContractView, EventView, HeaderView,
    MasterKeyView, PublishedKey, SubmitOutcome, TxRejection, TxStatus, WorkerView,
};
use phalanx_primitives::attestation::AttestationPolicy;
use phalanx_primitives::economy::EconomyParams;
use phalanx_primitives::{AccountId, Hash, ValidatorHistory};
use phalanx_runtime::{balances, clusters, contracts, registry, tokenomics};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

pub(crate) async fn serve(
    addr: SocketAddr,
    handler: RpcHandler,
    limits: transport::RpcLimits,
) -> Result<(SocketAddr, ServerHandle), String> {
    transport::serve(addr, handler.into_rpc(), limits)
        .await
        .map_err(|e| e.to_string())
}

pub(crate) struct RpcHandler {
    shared: Arc<Shared>,
    refusals: RefusalBudget,
}

impl RpcHandler {
    pub fn new(shared: Arc<Shared>) -> Self {
        RpcHandler {
            shared,
            refusals: RefusalBudget::default(),
        }
    }
}

fn error_object(r: TxRejection) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(
        r.code,
        r.message,
        Some(serde_json::json!({ "kind": r.kind, "cause": r.cause })),
    )
}

fn internal(e: impl std::fmt::Display) -> ErrorObjectOwned {
    error_object(rejection(codes::INTERNAL, "Internal", e.to_string()))
}

impl RpcHandler {
    async fn admit(
        &self,
        ext: &Extensions,
        texts: Vec<String>,
    ) -> Result<Vec<Result<Hash, TxRejection>>, ErrorObjectOwned> {
        let peer = ext.get::<Peer>().copied();
        if let Err(wait) = self.refusals.check(peer) {
            self.shared.metrics.refused("RateLimited");
            return Err(error_object(rejection(
                codes::RATE_LIMITED,
                "RateLimited",
                format!(
                    "too many of this address's transactions were refused lately; retry in {} ms",
                    wait.as_millis().max(1)
                ),
            )));
        }
        let shared = self.shared.clone();
        // Signature checks and code validation are CPU work: keep them off the async workers.
        let admitted = tokio::task::spawn_blocking(move || admit_batch(&shared, &texts))
            .await
            .map_err(internal)?;
        self.refusals.charge(peer, admitted.refusal_cost);
        for refusal in admitted.results.iter().filter_map(|r| r.as_ref().err()) {
            self.shared.metrics.refused(&refusal.kind);
        }
        Ok(admitted.results)
    }
}

#[async_trait]
impl NodeApiServer for RpcHandler {
    async fn chain_info(&self) -> Result<ChainInfo, ErrorObjectOwned> {
        // The gas price is governed: the current one, not genesis's.
        let snapshot = self.shared.store.state_snapshot().map_err(internal)?;
        let mut info = self.shared.info.clone();
        info.gas_price_units = tokenomics::params(&snapshot).map_err(internal)?.gas_price;
        Ok(info)
    }

    async fn genesis(&self) -> Result<String, ErrorObjectOwned> {
        Ok(format!("0x{}", hex::encode(&self.shared.genesis)))
    }

    async fn validators(&self) -> Result<ValidatorHistory, ErrorObjectOwned> {
        let snapshot = self.shared.store.state_snapshot().map_err(internal)?;
        phalanx_runtime::validators::history(&snapshot, &self.shared.params).map_err(internal)
    }

    async fn head(&self) -> Result<HeaderView, ErrorObjectOwned> {
        let head = self.shared.head.read().unwrap_or_else(|p| p.into_inner());
        Ok(HeaderView::from(&*head))
    }

    async fn header(&self, height: u64) -> Result<Option<HeaderView>, ErrorObjectOwned> {
        Ok(self
            .shared
            .store
            .header(height)
            .map_err(internal)?
            .map(|header| HeaderView::from(&header)))
    }

    async fn block(&self, height: u64) -> Result<Option<BlockView>, ErrorObjectOwned> {
        Ok(self
            .shared
            .store
            .block(height)
            .map_err(internal)?
            .as_ref()
            .map(BlockView::from))
    }

    async fn block_raw(&self, height: u64) -> Result<Option<String>, ErrorObjectOwned> {
        let bytes = self.shared.store.block_bytes(height).map_err(internal)?;
        Ok(bytes.map(|b| format!("0x{}", hex::encode(b))))
    }

    async fn block_by_hash(&self, hash: Hash) -> Result<Option<BlockView>, ErrorObjectOwned> {
        match self.shared.store.height_of(&hash).map_err(internal)? {
            Some(height) => self.block(height).await,
            None => Ok(None),
        }
    }

    async fn events(&self, height: u64) -> Result<Option<Vec<EventView>>, ErrorObjectOwned> {
        let events = self.shared.store.events(height).map_err(internal)?;
        Ok(events.map(|records| records.iter().map(EventView::from).collect()))
    }

    async fn events_raw(&self, height: u64) -> Result<Option<String>, ErrorObjectOwned> {
        let events = self.shared.store.events(height).map_err(internal)?;
        Ok(events.map(|records| format!("0x{}", hex::encode(records.encode()))))
    }

    async fn account(&self, account: AccountId) -> Result<AccountView, ErrorObjectOwned> {
        let snapshot = self.shared.store.state_snapshot().map_err(internal)?;
        let info = balances::account(&snapshot, &account).map_err(internal)?;
        Ok(AccountView::new(account, info.free, info.nonce))
    }

    async fn next_nonce(&self, account: AccountId) -> Result<u64, ErrorObjectOwned> {
        let pool = self.shared.pool.lock().unwrap_or_else(|p| p.into_inner());
        pool.next_nonce(&account).map_err(internal)
    }

    async fn submit(
        &self,
        ext: &Extensions,
        transaction: String,
    ) -> Result<Hash, ErrorObjectOwned> {
        let mut results = self.admit(ext, vec![transaction]).await?;
        results.remove(0).map_err(error_object)
    }

    async fn submit_batch(
        &self,
        ext: &Extensions,
        transactions: Vec<String>,
    ) -> Result<Vec<SubmitOutcome>, ErrorObjectOwned> {
        if transactions.len() > MAX_SUBMIT_BATCH {
            return Err(error_object(rejection(
                codes::BATCH_TOO_LARGE,
                "BatchTooLarge",
                format!(
                    "{} transactions in one batch; the limit is {MAX_SUBMIT_BATCH}",
                    transactions.len()
                ),
            )));
        }
        let results = self.admit(ext, transactions).await?;
        Ok(results
            .into_iter()
            .map(|result| match result {
                Ok(hash) => SubmitOutcome {
                    hash: Some(hash),
                    error: None,
                },
                Err(rejection) => SubmitOutcome {
                    hash: None,
                    error: Some(rejection),
                },
            })
            .collect())
    }

    async fn tx_status(&self, hash: Hash) -> Result<TxStatus, ErrorObjectOwned> {
        // Under the pool lock a transaction is either pending or committed, never in between.
        let pool = self.shared.pool.lock().unwrap_or_else(|p| p.into_inner());
        if pool.contains(&hash) {
            return Ok(TxStatus::Pending);
        }
        Ok(
            match self.shared.store.tx_location(&hash).map_err(internal)? {
                Some(l) => TxStatus::Included {
                    height: l.height,
                    index: l.index,
                    block_hash: l.block_hash,
                },
                None => TxStatus::Unknown,
            },
        )
    }

    async fn worker(&self, identity: AccountId) -> Result<Option<WorkerView>, ErrorObjectOwned> {
        let snapshot = self.shared.store.state_snapshot().map_err(internal)?;
        let info = registry::worker(&snapshot, &identity).map_err(internal)?;
        Ok(info.map(|w| {
            WorkerView::new(
                w.identity,
                w.operator,
                w.role,
                &w.ecdh_public,
                w.tee,
                w.measurement,
                w.confidence,
                w.endpoint,
                w.registered_at,
            )
        }))
    }

    async fn attestation_policy(&self) -> Result<AttestationPolicy, ErrorObjectOwned> {
        let snapshot = self.shared.store.state_snapshot().map_err(internal)?;
        registry::policy(&snapshot).map_err(internal)
    }

    async fn master_key(&self) -> Result<Option<MasterKeyView>, ErrorObjectOwned> {
        let snapshot = self.shared.store.state_snapshot().map_err(internal)?;
        let info = phalanx_runtime::master_key::master_key(&snapshot).map_err(internal)?;
        let current_epoch = clusters::key_epoch(&snapshot).map_err(internal)?;
        Ok(info.map(|m| MasterKeyView {
            epoch: m.epoch,
            current_epoch,
            public_key: hex::encode(m.public_key),
            holders: m.holders,
        }))
    }

    async fn cluster(&self, cluster: Hash) -> Result<Option<ClusterView>, ErrorObjectOwned> {
        let snapshot = self.shared.store.state_snapshot().map_err(internal)?;
        let info = clusters::cluster(&snapshot, &cluster).map_err(internal)?;
        Ok(info.map(|c| ClusterView {
            cluster,
            workers: c.workers,
            key: PublishedKey::new(&c.public_key),
        }))
    }

    async fn code(&self, code_hash: Hash) -> Result<Option<CodeView>, ErrorObjectOwned> {
        let snapshot = self.shared.store.state_snapshot().map_err(internal)?;
        let code = contracts::code(&snapshot, &code_hash).map_err(internal)?;
        let info = contracts::code_info(&snapshot, &code_hash).map_err(internal)?;
        Ok(code.map(|c| CodeView {
            code_hash,
            size: c.len() as u32,
            uploader: info.as_ref().map(|i| i.uploader),
            metadata_hash: info.and_then(|i| i.metadata_hash),
        }))
    }

    async fn contract(
        &self,
        contract: AccountId,
    ) -> Result<Option<ContractView>, ErrorObjectOwned> {
        let snapshot = self.shared.store.state_snapshot().map_err(internal)?;
        let info = contracts::contract(&snapshot, &contract).map_err(internal)?;
        Ok(info.map(|c| ContractView {
            contract,
            code_hash: c.code_hash,
            cluster: c.cluster,
            deployer: c.deployer,
            created_at: c.created_at,
            key: PublishedKey::new(&c.public_key),
            commands: c.commands,
        }))
    }

    async fn economy_params(&self) -> Result<EconomyParams, ErrorObjectOwned> {
        let snapshot = self.shared.store.state_snapshot().map_err(internal)?;
        tokenomics::params(&snapshot).map_err(internal)
    }

    async fn pools(&self) -> Result<Vec<PoolView>, ErrorObjectOwned> {
        let snapshot = self.shared.store.state_snapshot().map_err(internal)?;
        economy_views::pools(&snapshot).map_err(internal)
    }

    async fn stakes(&self, account: AccountId) -> Result<StakesView, ErrorObjectOwned> {
        let snapshot = self.shared.store.state_snapshot().map_err(internal)?;
        economy_views::stakes(&snapshot, account).map_err(internal)
    }

    async fn economy_workers(&self) -> Result<Vec<WorkerEconomyView>, ErrorObjectOwned> {
        let snapshot = self.shared.store.state_snapshot().map_err(internal)?;
        economy_views::workers(&snapshot).map_err(internal)
    }

    async fn rewards(&self) -> Result<RewardsView, ErrorObjectOwned> {
        // The head may trail the snapshot by a block: the budget shown is the next block's.
        let head = self.shared.head_height();
        let snapshot = self.shared.store.state_snapshot().map_err(internal)?;
        economy_views::rewards(&snapshot, head).map_err(internal)
    }

    async fn proposals(&self) -> Result<Vec<ProposalView>, ErrorObjectOwned> {
        let snapshot = self.shared.store.state_snapshot().map_err(internal)?;
        economy_views::proposals(&snapshot).map_err(internal)
    }

    async fn subscribe_finalized_heads(
        &self,
        pending: PendingSubscriptionSink,
    ) -> SubscriptionResult {
        let mut heads = self.shared.heads.subscribe();
        let sink = pending.accept().await?;
        loop {
            tokio::select! {
                _ = sink.closed() => break,
                head = heads.recv() => match head {
                    Ok(head) => {
                        let message = SubscriptionMessage::from_json(&head)?;
                        if sink.send(message).await.is_err() {
                            break;
                        }
                    }
                    // A slow subscriber skips heads; it can fetch any block by height.
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                },
            }
        }
        Ok(())
    }
}
