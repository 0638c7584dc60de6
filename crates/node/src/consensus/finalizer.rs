//! Commits what simplex finalized. Marshal hands over finalized blocks in height order, each
//! with an acknowledgement; this actor gives each its certificate (the engine's finalization of
//! the block, or of the first finalized descendant with the headers in between), commits it
//! with its execution's writes and events, and only then acknowledges, so a crash between the
//! two redelivers the block rather than losing it.

use super::block::{digest_of, hash_of, Proposal};
use super::epochs::EpochSchemes;
use super::ledger::{account_of, Ledger};
use crate::producer;
use crate::running::NodeError;
use commonware_consensus::marshal::{self, standard::Standard, Update};
use commonware_consensus::simplex::{scheme::ed25519::Scheme, types::Finalization};
use commonware_consensus::types::Height;
use commonware_cryptography::{ed25519, sha256::Digest, Digestible};
use commonware_utils::{
    ordered::{Quorum as _, Set},
    Acknowledgement,
};
use futures::channel::mpsc;
use futures::StreamExt;
use phalanx_primitives::{
    ConsensusRound, FinalityCertificate, Signature, ValidatorSignature, MAX_CERTIFICATE_DESCENDANTS,
};

pub(crate) type Marshal = marshal::core::Mailbox<Scheme, Standard<Proposal>>;
type Delivery = (
    commonware_cryptography::Digested<Proposal>,
    commonware_utils::acknowledgement::Exact,
);

/// Marshal's reporter: queues finalized blocks for the finalizer actor.
#[derive(Clone)]
pub(crate) struct Deliveries {
    queue: mpsc::UnboundedSender<Delivery>,
}

impl commonware_consensus::Reporter for Deliveries {
    type Activity = Update<Proposal>;

    fn report(&mut self, activity: Self::Activity) -> commonware_actor::Feedback {
        if let Update::Block(block, ack) = activity {
            // Marshal bounds how many blocks await acknowledgement, so the queue is bounded too.
            let _ = self.queue.unbounded_send((block, ack));
        }
        commonware_actor::Feedback::Ok
    }
}

pub(crate) fn channel() -> (Deliveries, mpsc::UnboundedReceiver<Delivery>) {
    let (queue, receiver) = mpsc::unbounded();
    (Deliveries { queue }, receiver)
}

/// The engine's finalization, in the chain's certificate form.
pub(crate) fn certificate_of(
    finalization: &Finalization<Scheme, Digest>,
    participants: &Set<ed25519::PublicKey>,
    descendants: Vec<phalanx_primitives::BlockHeader>,
) -> Option<FinalityCertificate> {
    let proposal = &finalization.proposal;
    let certificate = &finalization.certificate;
    let mut signatures = Vec::with_capacity(certificate.signatures.len());
    for (signer, signature) in certificate.signers.iter().zip(&certificate.signatures) {
        let key = participants.key(signer)?;
        let bytes: &[u8] = signature.get()?.as_ref();
        signatures.push(ValidatorSignature {
            validator: account_of(key),
            signature: Signature(bytes.try_into().ok()?),
        });
    }
    Some(FinalityCertificate {
        descendants,
        round: ConsensusRound {
            epoch: proposal.round.epoch().get(),
            view: proposal.round.view().get(),
            parent_view: proposal.parent.get(),
        },
        signatures,
    })
}

/// Finds the certificate of the block at `height` with `digest`: its own finalization, or the
/// first finalized descendant's with the headers in between.
async fn find_certificate(
    marshal: &Marshal,
    schemes: &EpochSchemes,
    proposal: &Proposal,
) -> Option<FinalityCertificate> {
    // Each finalization is in the chain's form under its own epoch's participants.
    let of = |finalization: &Finalization<Scheme, Digest>, descendants| {
        let participants = schemes.participants(finalization.proposal.round.epoch())?;
        certificate_of(finalization, &participants, descendants)
    };
    let height = proposal.header.height;
    let digest = digest_of(&proposal.hash());
    if let Some(finalization) = marshal.get_finalization(Height::new(height)).await {
        if finalization.proposal.payload == digest {
            return of(&finalization, Vec::new());
        }
    }
    let mut descendants = Vec::new();
    let mut parent = proposal.header.clone();
    for next in height + 1..=height + MAX_CERTIFICATE_DESCENDANTS as u64 {
        let block = marshal.get_block(Height::new(next)).await?;
        let header = &block.inner().header;
        if header.parent_hash != parent.hash() {
            return None;
        }
        descendants.push(header.clone());
        parent = header.clone();
        if let Some(finalization) = marshal.get_finalization(Height::new(next)).await {
            if hash_of(&finalization.proposal.payload) == parent.hash() {
                return of(&finalization, descendants);
            }
        }
    }
    None
}

/// Commits finalized blocks until the queue closes. A block that cannot be committed (its
/// execution disagrees with its header, or the disk fails) stops the node: every honest
/// validator checked it, so this node's state or storage is what is wrong.
pub(crate) async fn run<E: commonware_runtime::Spawner>(
    runtime: E,
    ledger: Ledger,
    marshal: Marshal,
    schemes: EpochSchemes,
    mut deliveries: mpsc::UnboundedReceiver<Delivery>,
) -> Result<(), NodeError> {
    while let Some((block, ack)) = deliveries.next().await {
        let proposal = block.inner().clone();
        let head_height = ledger.shared().head_height();
        if proposal.header.height <= head_height {
            // Redelivered after a restart: committed already.
            ack.acknowledge();
            continue;
        }
        let Some(certificate) = find_certificate(&marshal, &schemes, &proposal).await else {
            return Err(NodeError::Producer(format!(
                "block {} ({}) is final but no finalization for it or a descendant is known",
                proposal.header.height,
                block.digest()
            )));
        };
        let committer = ledger.clone();
        runtime
            .child("commit")
            .shared(true)
            .spawn(move |_| async move { commit(&committer, proposal, certificate) })
            .await
            .map_err(|e| NodeError::Producer(format!("commit stopped: {e}")))??;
        ack.acknowledge();
    }
    Ok(())
}

fn commit(
    ledger: &Ledger,
    proposal: Proposal,
    certificate: FinalityCertificate,
) -> Result<(), NodeError> {
    let shared = ledger.shared();
    // Executed already when this validator built or voted for it; otherwise (it was behind)
    // executed now, on the committed head, which is its parent.
    let executed = ledger.execute_finalized(&proposal).map_err(|e| {
        NodeError::Producer(format!(
            "finalized block {} does not follow from the committed state: {e}",
            proposal.header.height
        ))
    })?;
    let block = proposal.into_block(certificate);
    let mut pool = shared.pool.lock().unwrap_or_else(|p| p.into_inner());
    producer::commit(
        shared,
        &mut pool,
        &block,
        &executed.events,
        &executed.writes,
        &executed.transactions,
    )?;
    drop(pool);
    ledger
        .pending()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .prune(block.header.height);
    shared.metrics.block(block.transactions.len(), 0.0, &[]);
    Ok(())
}
