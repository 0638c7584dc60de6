//! Carries transactions between validators, so that one submitted to any validator's RPC reaches
//! the pool of whichever validator leads the next view.
//!
//! What a validator's RPC admits is batched and sent once to every other validator; what arrives
//! from a peer goes through the same admission as RPC input (decoded with limits, signatures and
//! ledger checks, the pool's bounds) and is not sent on again, so a transaction crosses each link
//! at most once. Only authenticated validators can send, at the channel's per-peer rate.

use crate::admission;
use crate::running::Shared;
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::Spawner;
use futures::channel::mpsc;
use futures::StreamExt;
use parity_scale_codec::{Decode, DecodeLimit, Encode};
use phalanx_primitives::SignedTransaction;
use std::sync::{Arc, Mutex};

/// Batches of admitted transactions waiting to be sent; when full, new ones are not relayed
/// (they stay in this validator's pool and reach the chain when it proposes).
pub const RELAY_QUEUE_BATCHES: usize = 1_024;
/// Most transactions in one relayed message.
pub const MAX_RELAY_BATCH: usize = 4_096;
/// Nesting limit when decoding a peer's batch.
const DECODE_DEPTH_LIMIT: u32 = 16;

pub(crate) type Queue = mpsc::Receiver<Vec<SignedTransaction>>;

/// The admission side's handle: hands admitted transactions to the relay without waiting.
pub(crate) struct Outbox {
    sender: Mutex<mpsc::Sender<Vec<SignedTransaction>>>,
}

impl Outbox {
    pub fn new() -> (Outbox, Queue) {
        let (sender, queue) = mpsc::channel(RELAY_QUEUE_BATCHES);
        (
            Outbox {
                sender: Mutex::new(sender),
            },
            queue,
        )
    }

    pub fn relay(&self, transactions: Vec<SignedTransaction>) {
        if transactions.is_empty() {
            return;
        }
        let mut sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
        if sender.try_send(transactions).is_err() {
            tracing::debug!("relay queue full: transactions stay in this validator's pool");
        }
    }
}

/// Decodes a peer's batch: a SCALE `Vec<SignedTransaction>` of at most [`MAX_RELAY_BATCH`].
pub(crate) fn decode_batch(bytes: &[u8]) -> Option<Vec<SignedTransaction>> {
    let mut input = bytes;
    let count = parity_scale_codec::Compact::<u32>::decode(&mut input)
        .ok()?
        .0 as usize;
    if count > MAX_RELAY_BATCH {
        return None;
    }
    let batch =
        Vec::<SignedTransaction>::decode_with_depth_limit(DECODE_DEPTH_LIMIT, &mut &bytes[..])
            .ok()?;
    Some(batch)
}

/// Starts the two relay tasks: out (this RPC's admissions to every peer) and in (peers' batches
/// into this pool).
pub(crate) fn start<E, S, R>(
    runtime: &E,
    shared: Arc<Shared>,
    mut queue: Queue,
    (mut sender, mut receiver): (S, R),
) where
    E: Spawner,
    S: Sender,
    R: Receiver,
{
    runtime.child("relay_out").spawn(move |_| async move {
        while let Some(mut batch) = queue.next().await {
            while batch.len() > MAX_RELAY_BATCH {
                let rest = batch.split_off(MAX_RELAY_BATCH);
                let _ = sender.send(Recipients::All, batch.encode(), false);
                batch = rest;
            }
            let _ = sender.send(Recipients::All, batch.encode(), false);
        }
    });
    runtime.child("relay_in").spawn(move |runtime| async move {
        while let Ok((peer, bytes)) = receiver.recv().await {
            let Some(batch) = decode_batch(bytes.as_ref()) else {
                tracing::warn!(%peer, "a validator relayed an undecodable batch");
                continue;
            };
            let shared = Arc::clone(&shared);
            let admitted = runtime
                .child("admit")
                .shared(true)
                .spawn(move |_| async move { admission::admit_relayed(&shared, batch) })
                .await;
            if admitted.is_err() {
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_admitted_batches_never_blocks_admission_and_holds_at_most_the_bound() {
        // Nobody drains the queue (the peers are slow or gone): relaying returns at once, and
        // the queue holds at most its bound; the rest stay in the pool only.
        let (outbox, mut queue) = Outbox::new();
        let batch = || vec![phalanx_testkit_free_tx()];
        let started = std::time::Instant::now();
        for _ in 0..RELAY_QUEUE_BATCHES * 4 {
            outbox.relay(batch());
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let mut queued = 0;
        while queue.try_recv().is_ok() {
            queued += 1;
        }
        // futures' channel holds its bound plus one slot per sender.
        assert!(
            (RELAY_QUEUE_BATCHES..=RELAY_QUEUE_BATCHES + 1).contains(&queued),
            "{queued}"
        );
        outbox.relay(Vec::new());
        assert!(queue.try_recv().is_err(), "an empty batch is not queued");
    }

    /// Any signed transaction (the relay does not look inside).
    fn phalanx_testkit_free_tx() -> SignedTransaction {
        let key = phalanx_crypto::Keypair::dev("alice");
        phalanx_crypto::sign_transaction(
            &key,
            phalanx_primitives::Transaction {
                chain_id: phalanx_primitives::Hash::ZERO,
                signer: key.account_id(),
                nonce: 0,
                fee: 1,
                call: phalanx_primitives::Call::Transfer {
                    to: key.account_id(),
                    amount: 1,
                },
            },
        )
    }

    #[test]
    fn a_batch_over_the_limit_is_refused_before_decoding() {
        let mut bytes = parity_scale_codec::Compact((MAX_RELAY_BATCH + 1) as u32).encode();
        bytes.extend_from_slice(&[0; 64]);
        assert!(decode_batch(&bytes).is_none());
        assert_eq!(
            decode_batch(&Vec::<SignedTransaction>::new().encode()),
            Some(vec![])
        );
        assert!(decode_batch(&[0xff, 0xff]).is_none());
    }
}
