//! Confidential queries (DESIGN.md "Queries"): what a client sends a worker, inside an envelope
//! encrypted to the contract's key, and what comes back, encrypted to the client's session key.
//! Nothing of it goes on chain.
//!
//! The envelope's context is (chain id, contract, sender = the all-zero account): the origin is
//! proven by the signature inside, not by the envelope.

use crate::{AccountId, Hash, Signature};
use parity_scale_codec::{Decode, Encode};

/// Signing domain of queries.
pub const QUERY_DOMAIN: &[u8] = b"PHALANX_QUERY_V1";
/// Furthest in the future a query's expiry may be.
pub const MAX_QUERY_LIFETIME_MS: u64 = 5 * 60 * 1000;

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum QueryRequest {
    /// Run the contract's `query` entry point on this SCALE message.
    #[codec(index = 0)]
    Contract(Vec<u8>),
    /// The receipt of a command or instantiation this origin sent.
    #[codec(index = 1)]
    Receipt(Hash),
    /// Run the contract's `query` entry point on this message against its state as of block
    /// `height` (a history query; the contract's own rules decide who may ask).
    #[codec(index = 2)]
    ContractAt { height: u64, message: Vec<u8> },
    /// The events the contract addressed to the origin, numbered from `since` on (at most
    /// [`MAX_NOTIFICATIONS_PER_ANSWER`] of them, or [`MAX_NOTIFICATION_BYTES_PER_ANSWER`]):
    /// answered `Ok(SCALE(Vec<Notification>))`. Only the origin's own are ever answered.
    #[codec(index = 3)]
    Notifications { since: u64 },
    /// Run the contract's `query` entry point on `message` as the permit's owner, by the
    /// permit's grantee (the query's origin): the contract sees the owner as its caller and the
    /// permit's scopes, and decides what they cover.
    #[codec(index = 4)]
    WithPermit {
        /// Boxed: it is most of the size of the rare query that carries one.
        permit: Box<SignedPermit>,
        message: Vec<u8>,
    },
}

/// Signing domain of permits.
pub const PERMIT_DOMAIN: &[u8] = b"PHALANX_PERMIT_V1";
/// Longest a permit may run, from when a worker checks it.
pub const MAX_PERMIT_LIFETIME_MS: u64 = 366 * 24 * 60 * 60 * 1000;
/// Most scopes a permit names, and the longest a scope may be.
pub const MAX_PERMIT_SCOPES: usize = 16;
pub const MAX_PERMIT_SCOPE_LEN: usize = 64;
/// What a command's plaintext starts with to revoke one of its sender's permits for the
/// contract (followed by the permit's 16-byte id): the worker handles it, the contract never
/// sees it. Contracts cannot send it by mistake: their messages are their own SCALE types, and
/// this prefix is also the VM's reserved storage prefix.
pub const REVOKE_PERMIT_PREFIX: &[u8] = b"\xffphalanx/revoke-permit";

/// An owner's signed word, made off chain, that `grantee` may query `contract` as the owner, for
/// the query kinds `scopes` name (the contract decides what each covers), until `expiry_ms`
/// (Unix ms, judged by the worker's clock) or until the owner revokes `id` by a command.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Permit {
    pub chain_id: Hash,
    pub contract: AccountId,
    pub owner: AccountId,
    pub grantee: AccountId,
    pub scopes: Vec<String>,
    pub expiry_ms: u64,
    /// Random: what a revocation names.
    pub id: [u8; 16],
}

impl Permit {
    pub fn signing_message(&self) -> Vec<u8> {
        [PERMIT_DOMAIN, &self.encode()].concat()
    }

    /// The plaintext of the command that revokes permit `id`.
    pub fn revocation_message(id: &[u8; 16]) -> Vec<u8> {
        [REVOKE_PERMIT_PREFIX, id.as_slice()].concat()
    }
}

/// A permit with its owner's signature.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SignedPermit {
    pub permit: Permit,
    pub signature: Signature,
}

/// Most notifications one answer carries.
pub const MAX_NOTIFICATIONS_PER_ANSWER: usize = 256;
/// Most bytes of notification data one answer carries (one notification always fits).
pub const MAX_NOTIFICATION_BYTES_PER_ANSWER: usize = 1024 * 1024;

/// An event a contract addressed to one account (`emit_event_to`): the workers keep it sealed
/// for that account alone, numbered per account and contract from 0.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Notification {
    /// Its number among the events this contract addressed to this account.
    pub seq: u64,
    pub block: u64,
    /// The command (or instantiation, or delivered message's egress) whose run emitted it.
    pub tx_hash: Hash,
    /// The contract's own encoding.
    pub data: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Query {
    pub origin: AccountId,
    pub contract: AccountId,
    /// Milliseconds since the epoch after which the worker refuses the query.
    pub expiry_ms: u64,
    /// Random; a worker refuses a nonce it has seen.
    pub nonce: [u8; 16],
    pub request: QueryRequest,
}

impl Query {
    pub fn signing_message(&self) -> Vec<u8> {
        [QUERY_DOMAIN, &self.encode()].concat()
    }
}

/// The plaintext of a query envelope.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SignedQuery {
    pub query: Query,
    pub signature: Signature,
}

/// What a worker answers, and as of which block.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum QueryAnswer {
    /// The query entry point's output, or the SCALE-encoded receipt.
    #[codec(index = 0)]
    Ok(Vec<u8>),
    /// The contract refused (e.g. not the owner), or no such receipt for this origin.
    #[codec(index = 1)]
    Refused(String),
    /// The worker has seen no new final block for longer than it may serve state: it may be cut
    /// off from the chain (or kept from it), so a permit revoked or a grant expired since would
    /// go unnoticed. Ask another worker.
    #[codec(index = 2)]
    Stale {
        /// The newest block it has.
        synced_height: u64,
        /// How long ago it accepted that block.
        silent_ms: u64,
    },
}

/// The plaintext of the answer envelope: the answer and the block it was computed at, inside
/// the encryption so that nobody between can change them. A client refuses an answer whose
/// block is not on the chain it follows, or (for answers about the present) is too far behind
/// that chain's head: a cloned or isolated worker cannot pass off old state as current.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Answered {
    /// The block the answer was computed at: the worker's synced block, or the block a history
    /// query asked for.
    pub height: u64,
    pub block_hash: Hash,
    pub answer: QueryAnswer,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ReceiptOutcome {
    /// The entry point's output (SCALE, contract-defined).
    #[codec(index = 0)]
    Ok(Vec<u8>),
    /// Why it failed: a contract error, a trap, out of gas, or an undecryptable envelope.
    #[codec(index = 1)]
    Failed(String),
}

/// What one instantiation or command did, kept by the worker for its sender to query
/// (`QueryRequest::Receipt`).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Receipt {
    pub tx_hash: Hash,
    pub contract: AccountId,
    pub sender: AccountId,
    pub block: u64,
    pub outcome: ReceiptOutcome,
    pub gas_used: u64,
    /// Events the contract emitted that the sender may read: the public ones (`None`) and those
    /// addressed to the sender. Events addressed to others reach only them, as notifications.
    pub events: Vec<(Option<AccountId>, Vec<u8>)>,
    /// The lines the contract wrote with `env::debug` (chains allowing debug output only),
    /// whether the call succeeded or failed.
    pub debug: Vec<String>,
}
