//! Where a gatekeeper stands with the master key, and how a verified block moves it on.

use crate::master_key_file::{MasterKeyFile, MasterKeyFileError};
use phalanx_crypto::hierarchy::MasterKey;
use phalanx_crypto::Keypair;
use phalanx_executor::{open_master_share, ChainView, Gatekeeper};
use phalanx_primitives::{AccountId, Block, Call, Envelope, Event, EventRecord, Phase};
use rand_core::OsRng;
use x25519_dalek::StaticSecret;

/// What the answer loop needs of the enclave.
pub(crate) struct GatekeeperEnclave {
    pub(crate) identity: Keypair,
    pub(crate) ecdh: StaticSecret,
    pub(crate) file: MasterKeyFile,
}

/// Where this gatekeeper stands with the chain's master key. Decided from the sealed key file and
/// the enclave's chain view only: the node is never asked whether a key is declared.
pub(crate) enum Custody {
    /// It holds the chain's master key.
    Holds(Gatekeeper),
    /// Another gatekeeper declared the key; this one waits for a holder to share it.
    Awaiting { declared: [u8; 32] },
    /// It has a sealed key that no verified block declared yet: it declares it once caught up
    /// with the chain, and holds it once a verified block shows the declaration (or, if another
    /// key is declared first, discards it and waits for a share).
    Declaring {
        master: MasterKey,
        /// The height its declaration was last sent at.
        sent_at: Option<u64>,
    },
}

/// A gatekeeper mixes fresh randomness into the challenge seed after every this many blocks
/// (every holder sends it; the chain takes the first in a block and refuses the rest).
pub const RANDOMNESS_EVERY: u64 = 10;

/// A second handle on the same key (a `MasterKey` is deliberately not `Clone`).
pub(crate) fn copy_of(master: &MasterKey) -> MasterKey {
    MasterKey::from_bytes(master.epoch(), *master.expose_secret())
}

/// Decides custody at start, from the sealed key and the view (as of the synced block). The key
/// is sealed before it is declared, so a crash between the two loses nothing.
pub(crate) fn establish_custody(
    me: AccountId,
    view: &ChainView,
    file: &MasterKeyFile,
) -> Result<Custody, MasterKeyFileError> {
    let sealed = file.load()?;
    let declared = view.master_key().map(|m| m.public_key);
    Ok(match (sealed, declared) {
        (Some(master), Some(declared)) if master.public_key() == declared => {
            Custody::Holds(Gatekeeper::new(me, view.chain_id(), master))
        }
        (Some(_), Some(declared)) => {
            tracing::warn!("the chain declared another master key; discarding this one");
            file.discard()?;
            Custody::Awaiting { declared }
        }
        (None, Some(declared)) => Custody::Awaiting { declared },
        (Some(master), None) => Custody::Declaring {
            master,
            sent_at: None,
        },
        (None, None) => {
            let master = MasterKey::generate(0, &mut OsRng);
            file.store(&master)?;
            tracing::info!("generated and sealed a new master key");
            Custody::Declaring {
                master,
                sent_at: None,
            }
        }
    })
}

/// A share of the master key sent to this gatekeeper in `block` (and applied by the chain).
fn share_for_me<'b>(
    me: &AccountId,
    view: &ChainView,
    block: &'b Block,
    events: &[EventRecord],
) -> Option<(AccountId, &'b Envelope)> {
    let index = events
        .iter()
        .find_map(|record| match (&record.event, record.phase) {
            (Event::MasterKeyShared { to, .. }, Phase::Transaction(i)) if to == me => Some(i),
            _ => None,
        })?;
    let signed = block.transactions.get(index as usize)?;
    match &signed.transaction.call {
        Call::ShareMasterKey {
            recipient,
            envelope,
        } if recipient == me && view.is_holder(&signed.transaction.signer) => {
            Some((signed.transaction.signer, envelope))
        }
        _ => None,
    }
}

/// Moves custody on with a verified block: a declaration it shows decides a declaring
/// gatekeeper; a share to this one, from a holder, opened and checked against the declared key,
/// makes a waiting one a holder.
pub(crate) fn advance_custody(
    custody: &mut Custody,
    me: &AccountId,
    enclave: &GatekeeperEnclave,
    view: &ChainView,
    block: &Block,
    events: &[EventRecord],
) -> Result<(), MasterKeyFileError> {
    match custody {
        Custody::Declaring { master, .. } => {
            let Some(declared) = view.master_key().map(|m| m.public_key) else {
                return Ok(());
            };
            if declared == master.public_key() {
                tracing::info!("the chain declared this gatekeeper's master key");
                *custody = Custody::Holds(Gatekeeper::new(*me, view.chain_id(), copy_of(master)));
            } else {
                tracing::info!("another gatekeeper declared the master key first");
                enclave.file.discard()?;
                *custody = Custody::Awaiting { declared };
            }
        }
        Custody::Awaiting { declared } => {
            let Some((sender, envelope)) = share_for_me(me, view, block, events) else {
                return Ok(());
            };
            let opened = open_master_share(
                view.chain_id(),
                *me,
                &enclave.ecdh,
                sender,
                envelope,
                declared,
            );
            match opened {
                Ok(master) => {
                    enclave.file.store(&master)?;
                    tracing::info!(%sender, "received the master key");
                    *custody = Custody::Holds(Gatekeeper::new(*me, view.chain_id(), master));
                }
                Err(error) => tracing::error!(%sender, "a master key share was refused: {error}"),
            }
        }
        Custody::Holds(_) => {}
    }
    Ok(())
}

/// A holder's answers to a verified block: keys for new members, clusters and contracts, the
/// master key for new gatekeepers, all encrypted only to ECDH keys this enclave's view verified;
/// and challenge randomness every [`RANDOMNESS_EVERY`] blocks.
pub(crate) fn answers(
    gatekeeper: &Gatekeeper,
    view: &ChainView,
    block: &Block,
    events: &[EventRecord],
) -> Vec<Call> {
    let attested = |identity: &AccountId| view.enclave(identity).map(|e| e.ecdh_public());
    let mut calls = gatekeeper.respond(events, view.epoch(), attested, &mut OsRng);
    let height = block.header.height;
    if height.is_multiple_of(RANDOMNESS_EVERY) {
        calls.push(gatekeeper.randomness(height));
    }
    calls
}
