//! `crypto`: signs and verifies everything Phalanx signs — transactions, finality certificates,
//! blocks (the one block verifier every side calls, [`verify_next_block`]) —
//! encrypts to keys (envelopes), derives the key hierarchy (master, cluster, contract), seals
//! enclave data, derives the well-known dev keys, and encrypts key files under a passphrase.
//!
//! It never chooses randomness itself: functions that need it take an RNG from the caller (the
//! edges pass `OsRng`), so that pure code such as the runtime can use this crate without drawing
//! randomness. Every signature is made over a domain-separated message (see
//! `phalanx_primitives::TX_SIGNING_DOMAIN`, `CONSENSUS_NAMESPACE`) so one kind never verifies as another.
//!
//! ```
//! use phalanx_crypto::{Keypair, sign_transaction, verify_transactions};
//! use phalanx_primitives::{Call, Hash, Transaction};
//! let alice = Keypair::dev("alice");
//! let tx = Transaction { chain_id: Hash::ZERO, signer: alice.account_id(), nonce: 0, fee: 1,
//!     call: Call::Transfer { to: Keypair::dev("bob").account_id(), amount: 5 } };
//! let signed = sign_transaction(&alice, tx);
//! let verified = verify_transactions(vec![signed]);
//! assert!(verified[0].is_ok());
//! ```
#![forbid(unsafe_code)]

mod block;
pub mod envelope;
pub mod hierarchy;
mod keys;
pub mod passphrase;
pub mod sealing;
mod verify;

pub use block::{verify_events, verify_finalized, verify_link, verify_next_block, BlockError};
pub use envelope::{Envelope, EnvelopeContext, EnvelopeError, Opener, Sealer};
pub use keys::{Keypair, DEV_ACCOUNT_NAMES};
pub use verify::{
    check_signatures, check_signatures_on, is_verifying_key, sign_finality, sign_transaction,
    sign_vote, verify_certificate, verify_signature, verify_transactions,
    verify_transactions_checked_before, CertificateError, SignatureError, VerifiedTransaction,
};
