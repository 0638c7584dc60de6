//! The contracts module, the chain side of confidential contracts: code, instances with their
//! published public keys, and the ordered, encrypted commands workers replay (event sourcing).
//! The chain never sees a plaintext: init arguments and commands are envelopes.
//!
//! State layout: `contracts/code/` ++ code hash -> Wasm; `contracts/info/` ++ contract id ->
//! SCALE(ContractInfo); `contracts/seen/` ++ contract id ++ envelope hash -> [] (replay guard);
//! `contracts/of/` ++ cluster id -> `SCALE(Vec<contract id>)` in instantiation order.

use crate::clusters;
use crate::error::{Cause, Refusal};
use crate::master_key::require_holder;
use crate::state::decode_entry;
use crate::{StateError, StateOverlay, StateReader, TxError};
use parity_scale_codec::{Decode, Encode};
pub use phalanx_primitives::contract_id;
use phalanx_primitives::{AccountId, BlockHeight, Envelope, Event, Hash};

/// Why an upload, instantiation or command is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContractError {
    #[error("no contract {0}")]
    NoContract(AccountId),
    #[error("gas limit {0} is outside 1 to {MAX_GAS_LIMIT}")]
    GasLimit(u64),
    #[error("code {0} is already uploaded")]
    CodeExists(Hash),
    #[error("the code is refused: {0}")]
    BadCode(#[source] phalanx_vm::VmError),
    #[error("salt is {0} bytes, longer than {MAX_SALT_LEN}")]
    SaltTooLong(usize),
    #[error("no code {0}")]
    NoCode(Hash),
    #[error("cluster {0} has no public key yet")]
    ClusterUnkeyed(Hash),
    #[error("init is encrypted for epoch {epoch}, the cluster key is epoch {key_epoch}")]
    StaleInit { epoch: u32, key_epoch: u32 },
    #[error("contract {0} exists; use another salt")]
    ContractExists(AccountId),
    #[error("contract {0} has no public key yet")]
    ContractUnkeyed(AccountId),
    #[error("command is encrypted for epoch {epoch}, the contract key is epoch {key_epoch}")]
    StaleCommand { epoch: u32, key_epoch: u32 },
    #[error("this command envelope was already submitted (replay)")]
    Replay,
    #[error("only the uploader of code {code_hash} ({uploader}) may record its metadata")]
    NotUploader {
        code_hash: Hash,
        uploader: AccountId,
    },
    #[error("code {0} has its metadata recorded already")]
    MetadataRecorded(Hash),
    #[error("the code writes debug output (it imports `debug`), which this chain does not allow: build it without `env::debug` calls")]
    DebugNotAllowed,
}

impl Cause for ContractError {
    fn cause(&self) -> &'static str {
        match self {
            ContractError::NoContract(_) => "no_contract",
            ContractError::GasLimit(_) => "gas_limit_out_of_range",
            ContractError::CodeExists(_) => "code_exists",
            ContractError::BadCode(_) => "code_refused",
            ContractError::SaltTooLong(_) => "salt_too_long",
            ContractError::NoCode(_) => "no_code",
            ContractError::ClusterUnkeyed(_) => "cluster_has_no_key",
            ContractError::StaleInit { .. } => "init_wrong_epoch",
            ContractError::ContractExists(_) => "contract_exists",
            ContractError::ContractUnkeyed(_) => "contract_has_no_key",
            ContractError::StaleCommand { .. } => "command_wrong_epoch",
            ContractError::Replay => "command_replayed",
            ContractError::NotUploader { .. } => "not_the_uploader",
            ContractError::MetadataRecorded(_) => "metadata_already_recorded",
            ContractError::DebugNotAllowed => "debug_output_not_allowed",
        }
    }

    fn refusal(&self) -> Refusal {
        match self {
            ContractError::NotUploader { .. } => Refusal::NotAuthorized,
            _ => Refusal::InvalidCall,
        }
    }
}

const CODE_PREFIX: &[u8] = b"contracts/code/";
const INFO_PREFIX: &[u8] = b"contracts/info/";
const SEEN_PREFIX: &[u8] = b"contracts/seen/";
const CODE_INFO_PREFIX: &[u8] = b"contracts/code-info/";
const OF_CLUSTER_PREFIX: &[u8] = b"contracts/of/";
/// Longest instantiation salt.
pub const MAX_SALT_LEN: usize = 32;
/// Gas an upload pays per byte of code (validation and compilation, done by every node).
pub const UPLOAD_GAS_PER_BYTE: u64 = 10;
/// Most gas one command or instantiation may ever reserve; the governed `max_command_gas` (at
/// most this) is the bound in force.
pub const MAX_GAS_LIMIT: u64 = phalanx_primitives::economy::MAX_COMMAND_GAS_CEILING;

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ContractInfo {
    pub code_hash: Hash,
    pub cluster: Hash,
    pub deployer: AccountId,
    pub created_at: BlockHeight,
    /// The contract's x25519 public key and epoch, once a gatekeeper published it.
    pub public_key: Option<([u8; 32], u32)>,
    /// Commands submitted so far.
    pub commands: u64,
}

fn code_key(hash: &Hash) -> Vec<u8> {
    [CODE_PREFIX, hash.0.as_slice()].concat()
}

/// Who uploaded a code, and the metadata it vouched for.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CodeInfo {
    pub uploader: AccountId,
    /// SHA-256 of the code's metadata file, once the uploader recorded it.
    pub metadata_hash: Option<Hash>,
}

fn code_info_key(hash: &Hash) -> Vec<u8> {
    [CODE_INFO_PREFIX, hash.0.as_slice()].concat()
}

/// A code's uploader and metadata, from committed state.
pub fn code_info(state: &impl StateReader, hash: &Hash) -> Result<Option<CodeInfo>, StateError> {
    decode_entry(state.get(&code_info_key(hash))?, "code entry")
}

fn info_key(contract: &AccountId) -> Vec<u8> {
    [INFO_PREFIX, contract.as_bytes().as_slice()].concat()
}

/// Code by hash, from committed state.
pub fn code(state: &impl StateReader, hash: &Hash) -> Result<Option<Vec<u8>>, StateError> {
    state.get(&code_key(hash))
}

/// A contract, from committed state.
pub fn contract(
    state: &impl StateReader,
    id: &AccountId,
) -> Result<Option<ContractInfo>, StateError> {
    decode_entry(state.get(&info_key(id))?, "contract entry")
}

/// The block's `ContractBalance` events: what each contract's account holds at the end of the
/// block, for every contract whose account the block changed and every contract it
/// instantiated (PHA sent to the address before the contract existed is thus announced too).
pub(crate) fn balance_events(
    overlay: &StateOverlay<impl StateReader>,
    instantiated: impl IntoIterator<Item = AccountId>,
) -> Result<Vec<Event>, StateError> {
    let changed = overlay
        .changed_keys()
        .filter_map(|key| crate::balances::account_of_key(key));
    let mut accounts: Vec<AccountId> = changed.chain(instantiated).collect();
    accounts.sort();
    accounts.dedup();
    let mut events = Vec::new();
    for account in accounts {
        if overlay.get(&info_key(&account))?.is_some() {
            let balance = crate::balances::account(overlay, &account)?.free;
            events.push(Event::ContractBalance {
                contract: account,
                balance,
            });
        }
    }
    Ok(events)
}

pub(crate) fn read_contract(
    overlay: &StateOverlay<impl StateReader>,
    id: &AccountId,
) -> Result<ContractInfo, TxError> {
    decode_entry(overlay.get(&info_key(id))?, "contract entry")?
        .ok_or(ContractError::NoContract(*id).into())
}

fn of_cluster_key(cluster: &Hash) -> Vec<u8> {
    [OF_CLUSTER_PREFIX, cluster.0.as_slice()].concat()
}

/// The contracts of a cluster, in instantiation order.
pub(crate) fn contracts_of(
    overlay: &StateOverlay<impl StateReader>,
    cluster: &Hash,
) -> Result<Vec<AccountId>, StateError> {
    Ok(decode_entry(overlay.get(&of_cluster_key(cluster))?, "contract list")?.unwrap_or_default())
}

pub(crate) fn exists(
    overlay: &StateOverlay<impl StateReader>,
    id: &AccountId,
) -> Result<bool, StateError> {
    Ok(overlay.get(&info_key(id))?.is_some())
}

fn check_gas(gas_limit: u64) -> Result<(), TxError> {
    if gas_limit == 0 || gas_limit > MAX_GAS_LIMIT {
        return Err(ContractError::GasLimit(gas_limit).into());
    }
    Ok(())
}

/// Refuses code the chain would never run: invalid by the VM's rules, or writing debug output
/// on a chain that does not allow it.
pub fn check_upload(code: &[u8], allow_debug_output: bool) -> Result<Hash, ContractError> {
    let checked = phalanx_vm::check(code).map_err(ContractError::BadCode)?;
    if checked.uses_debug && !allow_debug_output {
        return Err(ContractError::DebugNotAllowed);
    }
    Ok(checked.code_hash)
}

pub(crate) fn upload(
    overlay: &mut StateOverlay<impl StateReader>,
    uploader: AccountId,
    code: &[u8],
    allow_debug_output: bool,
) -> Result<Event, TxError> {
    let code_hash = phalanx_primitives::sha256(code);
    if overlay.get(&code_key(&code_hash))?.is_some() {
        return Err(ContractError::CodeExists(code_hash).into());
    }
    // The same rules every worker's VM applies: refuse here what could never run there. The
    // verdict is kept per code hash, and the node asked already at admission, outside the lock
    // block production needs: here it is a lookup.
    check_upload(code, allow_debug_output)?;
    overlay.set(code_key(&code_hash), code.to_vec());
    let info = CodeInfo {
        uploader,
        metadata_hash: None,
    };
    overlay.set(code_info_key(&code_hash), info.encode());
    Ok(Event::CodeUploaded {
        code_hash,
        uploader,
        size: code.len() as u32,
    })
}

/// The uploader of `code_hash` vouches for its metadata file, once.
pub(crate) fn record_metadata(
    overlay: &mut StateOverlay<impl StateReader>,
    signer: AccountId,
    code_hash: Hash,
    metadata_hash: Hash,
) -> Result<Event, TxError> {
    let mut info = code_info(overlay, &code_hash)?.ok_or(ContractError::NoCode(code_hash))?;
    if info.uploader != signer {
        return Err(ContractError::NotUploader {
            code_hash,
            uploader: info.uploader,
        }
        .into());
    }
    if info.metadata_hash.is_some() {
        return Err(ContractError::MetadataRecorded(code_hash).into());
    }
    info.metadata_hash = Some(metadata_hash);
    overlay.set(code_info_key(&code_hash), info.encode());
    Ok(Event::MetadataRecorded {
        code_hash,
        metadata_hash,
    })
}

pub(crate) struct Instantiation<'a> {
    pub deployer: AccountId,
    pub code_hash: Hash,
    pub cluster: Hash,
    pub salt: &'a [u8],
    pub init: &'a Envelope,
    pub gas_limit: u64,
    pub height: BlockHeight,
}

pub(crate) fn instantiate(
    overlay: &mut StateOverlay<impl StateReader>,
    i: Instantiation<'_>,
) -> Result<Event, TxError> {
    check_gas(i.gas_limit)?;
    if i.salt.len() > MAX_SALT_LEN {
        return Err(ContractError::SaltTooLong(i.salt.len()).into());
    }
    if overlay.get(&code_key(&i.code_hash))?.is_none() {
        return Err(ContractError::NoCode(i.code_hash).into());
    }
    let cluster = clusters::read_cluster(overlay, &i.cluster)?;
    let Some((_, epoch)) = cluster.public_key else {
        return Err(ContractError::ClusterUnkeyed(i.cluster).into());
    };
    if i.init.epoch != epoch {
        return Err(ContractError::StaleInit {
            epoch: i.init.epoch,
            key_epoch: epoch,
        }
        .into());
    }
    let contract = contract_id(&i.code_hash, &i.cluster, &i.deployer, i.salt);
    if overlay.get(&info_key(&contract))?.is_some() {
        return Err(ContractError::ContractExists(contract).into());
    }
    let info = ContractInfo {
        code_hash: i.code_hash,
        cluster: i.cluster,
        deployer: i.deployer,
        created_at: i.height,
        public_key: None,
        commands: 0,
    };
    overlay.set(info_key(&contract), info.encode());
    let mut of_cluster = contracts_of(overlay, &i.cluster)?;
    of_cluster.push(contract);
    overlay.set(of_cluster_key(&i.cluster), of_cluster.encode());
    Ok(Event::ContractInstantiated {
        contract,
        code_hash: i.code_hash,
        cluster: i.cluster,
        deployer: i.deployer,
    })
}

pub(crate) fn publish_key(
    overlay: &mut StateOverlay<impl StateReader>,
    signer: &AccountId,
    contract: AccountId,
    epoch: u32,
    public_key: [u8; 32],
) -> Result<Event, TxError> {
    require_holder(overlay, signer)?;
    let mut info = read_contract(overlay, &contract)?;
    clusters::accept_key(
        overlay,
        &mut info.public_key,
        &format!("contract {contract}"),
        epoch,
        public_key,
    )?;
    overlay.set(info_key(&contract), info.encode());
    Ok(Event::ContractKeyPublished {
        contract,
        epoch,
        public_key,
    })
}

pub(crate) fn command(
    overlay: &mut StateOverlay<impl StateReader>,
    sender: AccountId,
    contract: AccountId,
    envelope: &Envelope,
    gas_limit: u64,
) -> Result<Event, TxError> {
    check_gas(gas_limit)?;
    let mut info = read_contract(overlay, &contract)?;
    let Some((_, epoch)) = info.public_key else {
        return Err(ContractError::ContractUnkeyed(contract).into());
    };
    if envelope.epoch != epoch {
        return Err(ContractError::StaleCommand {
            epoch: envelope.epoch,
            key_epoch: epoch,
        }
        .into());
    }
    // The same ciphertext twice is a replay: refuse it, whoever sends it.
    let seen = [
        SEEN_PREFIX,
        contract.as_bytes().as_slice(),
        &envelope.hash().0,
    ]
    .concat();
    if overlay.get(&seen)?.is_some() {
        return Err(ContractError::Replay.into());
    }
    overlay.set(seen, Vec::new());
    let sequence = info.commands;
    info.commands += 1;
    overlay.set(info_key(&contract), info.encode());
    Ok(Event::CommandSubmitted {
        contract,
        sender,
        sequence,
    })
}
