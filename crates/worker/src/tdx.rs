//! TDX enclaves have no sealing key in hardware, so they get their sealing root from the chain's
//! key custodians: at every start the enclave quotes a one-time reply key and the salt naming its
//! data (kept in clear beside it), asks a gatekeeper found from the chain (`gatekeeper_sealingRoot`),
//! and opens the root the gatekeeper sealed back. The gatekeeper releases it only to a quote the
//! chain's policy accepts, and derives it from the master key, the enclave's measurement and the
//! salt: the same TD build gets the same root on every start, anything else gets another.
//!
//! Which gatekeepers to ask is not the node's word either: before it has a root the enclave has
//! no sealed store, so it builds its chain view in memory from the pinned genesis (`--chain-id`,
//! needed at every start of a TDX enclave) and the verified blocks up to the head, and asks only
//! the gatekeepers that view shows holding the master key, at the endpoints they registered. A
//! root from anyone else would not open: it is sealed by the gatekeeper's identity.

use crate::follower::Follower;
use crate::process::WorkerError;
use crate::trust::genesis_view;
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::HttpClientBuilder;
use jsonrpsee::rpc_params;
use parity_scale_codec::{Decode, Encode};
use phalanx_attestation::{QuoteProvider, SealingRequest};
use phalanx_client::NodeClient;
use phalanx_executor::open_sealing_root;
use phalanx_executor::ChainView;
use phalanx_primitives::attestation::SealingRootRequest;
use phalanx_primitives::{AccountId, Envelope, Hash};
use rand_core::{OsRng, RngCore};
use std::path::Path;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

const SALT_FILE: &str = "tdx-sealing.salt";

/// The salt naming this enclave's sealed data, created on first start.
fn salt(data_dir: &Path) -> Result<[u8; 32], WorkerError> {
    let path = data_dir.join(SALT_FILE);
    let unreadable =
        |e: std::io::Error| WorkerError::NoSealingRoot(format!("{}: {e}", path.display()));
    match std::fs::read(&path) {
        Ok(bytes) => bytes
            .try_into()
            .map_err(|_| WorkerError::NoSealingRoot(format!("{} is not 32 bytes", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir).map_err(unreadable)?;
            let mut salt = [0u8; 32];
            OsRng.fill_bytes(&mut salt);
            std::fs::write(&path, salt).map_err(unreadable)?;
            Ok(salt)
        }
        Err(e) => Err(unreadable(e)),
    }
}

/// Obtains the sealing root of the enclave whose quotes `provider` makes (in production a
/// [`phalanx_attestation::TdxConfigfsProvider`]) and whose data lives in `data_dir`, from a
/// gatekeeper holding the master key.
pub async fn sealing_root(
    client: &NodeClient,
    chain_id: Hash,
    data_dir: &Path,
    provider: &dyn QuoteProvider,
) -> Result<Zeroizing<[u8; 32]>, WorkerError> {
    let view = verified_view(client, chain_id).await?;
    let salt = salt(data_dir)?;
    let reply = StaticSecret::random_from_rng(OsRng);
    let reply_key = PublicKey::from(&reply).to_bytes();
    let data = SealingRequest {
        chain_id: &chain_id,
        reply_key: &reply_key,
        salt: &salt,
    }
    .report_data();
    let request = SealingRootRequest {
        quote: provider.quote(&data)?,
        reply_key,
        salt,
    };
    let request = format!("0x{}", hex::encode(request.encode()));
    let holders: Vec<(AccountId, String)> = view
        .master_key()
        .map(|m| m.holders.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|holder| view.is_holder(holder))
        .filter_map(|holder| {
            let endpoint = view.enclave(&holder)?.endpoint.clone();
            (!endpoint.is_empty()).then_some((holder, endpoint))
        })
        .collect();
    let mut last = "no gatekeeper holds the master key yet".to_string();
    for (holder, endpoint) in holders {
        let answer: Result<String, _> = match HttpClientBuilder::default().build(&endpoint) {
            Ok(rpc) => rpc
                .request("gatekeeper_sealingRoot", rpc_params![request.clone()])
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let opened = answer.and_then(|hex_envelope| {
            let bytes = hex_envelope
                .strip_prefix("0x")
                .and_then(|h| hex::decode(h).ok())
                .ok_or("the answer is not 0x-hex")?;
            let envelope = Envelope::decode(&mut &bytes[..]).map_err(|e| e.to_string())?;
            open_sealing_root(chain_id, holder, &reply, &envelope).map_err(|e| e.to_string())
        });
        match opened {
            Ok(root) => return Ok(Zeroizing::new(root)),
            Err(error) => last = format!("gatekeeper {holder} at {endpoint}: {error}"),
        }
    }
    Err(WorkerError::NoSealingRoot(last))
}

/// The chain view at the node's head, built in memory from the genesis that hashes to
/// `chain_id` and every block since, each verified.
async fn verified_view(client: &NodeClient, chain_id: Hash) -> Result<ChainView, WorkerError> {
    let mut view = genesis_view(client, chain_id).await?;
    let mut follower = Follower::new(client.clone(), &view)?;
    while let Some((block, events)) = follower.next().await? {
        view.apply(&block, &events);
    }
    Ok(view)
}
