//! `gatekeeper_sealingRoot`: a TDX enclave's sealing root, released to a quote this gatekeeper's
//! own view of the chain accepts.

use crate::custody::Custody;
use jsonrpsee::server::RpcModule;
use jsonrpsee::types::ErrorObjectOwned;
use parity_scale_codec::{DecodeAll, Encode};
use phalanx_executor::ChainView;
use phalanx_primitives::attestation::{AttestationPolicy, SealingRootRequest};
use phalanx_worker::WorkerError;
use rand_core::OsRng;
use std::sync::{Arc, Mutex};

/// JSON-RPC error code of a refused sealing-root request.
pub const SEALING_REFUSED: i32 = 2100;

/// The policy and time a sealing-root request is judged by: the attestation policy of the
/// enclave's view, at the later of the newest verified block's time and the host's clock (the
/// host may set its clock back to revive expired collateral, but cannot move a block's time).
pub(crate) struct SealingPolicy {
    pub(crate) policy: AttestationPolicy,
    pub(crate) block_time_secs: u64,
}

impl SealingPolicy {
    pub(crate) fn of(view: &ChainView) -> Self {
        SealingPolicy {
            policy: view.policy().clone(),
            block_time_secs: view.head().timestamp_ms / 1000,
        }
    }

    fn now_secs(&self) -> u64 {
        let host = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        host.max(self.block_time_secs)
    }
}

/// What `gatekeeper_sealingRoot` needs.
pub(crate) struct SealingService {
    pub(crate) custody: Arc<Mutex<Custody>>,
    pub(crate) policy: Arc<Mutex<SealingPolicy>>,
}

/// The `gatekeeper_sealingRoot` method: 0x-hex SCALE [`SealingRootRequest`] -> 0x-hex SCALE
/// envelope of the sealing root, sealed to the request's reply key. The quote is checked against
/// the policy of this enclave's chain view (see [`SealingPolicy`]), never one the node reports.
pub(crate) fn sealing_module(
    addr: std::net::SocketAddr,
    service: SealingService,
) -> Result<RpcModule<SealingService>, WorkerError> {
    let mut module = RpcModule::new(service);
    module
        .register_method("gatekeeper_sealingRoot", |params, service, _| {
            let refused =
                |message: String| ErrorObjectOwned::owned(SEALING_REFUSED, message, None::<()>);
            let request: String = params.one()?;
            let bytes = request
                .strip_prefix("0x")
                .and_then(|h| hex::decode(h).ok())
                .ok_or_else(|| refused("the request is not 0x-hex".into()))?;
            let request = SealingRootRequest::decode_all(&mut &bytes[..])
                .map_err(|e| refused(format!("malformed sealing-root request: {e}")))?;
            let (policy, now_secs) = {
                let sealing = service.policy.lock().unwrap_or_else(|p| p.into_inner());
                (sealing.policy.clone(), sealing.now_secs())
            };
            let custody = service.custody.lock().unwrap_or_else(|p| p.into_inner());
            let Custody::Holds(gatekeeper) = &*custody else {
                return Err(refused(
                    "this gatekeeper does not hold the master key yet".into(),
                ));
            };
            let envelope = gatekeeper
                .release_sealing_root(&request, &policy, now_secs, &mut OsRng)
                .map_err(|e| refused(e.to_string()))?;
            Ok::<_, ErrorObjectOwned>(format!("0x{}", hex::encode(envelope.encode())))
        })
        .map_err(|e| WorkerError::Rpc(addr, e.to_string()))?;
    Ok(module)
}
