//! Sends a worker's pending contract outputs to the chain as `Call::Egress`, signed by its
//! attested identity.
//!
//! Every worker of a cluster holds the same outputs and sends them; the chain takes the first
//! batch that continues a contract's numbering and refuses the others (at admission, so a
//! loser pays nothing). A batch not accepted after [`RESEND_AFTER`] blocks is sent again: the
//! node may have dropped it, or the worker that won may have died before its batch landed.

use crate::process::WorkerError;
use crate::store::WorkerStore;
use parity_scale_codec::Encode;
use phalanx_client::contract::{seal_to_contract, PublicKey};
use phalanx_client::NodeClient;
use phalanx_crypto::Keypair;
use phalanx_executor::ChainView;
use phalanx_executor::{Output, PendingOutputs};
use phalanx_primitives::{
    AccountId, Call, ContractOutput, Envelope, MAX_EGRESS_OUTPUTS, MAX_TRANSACTION_SIZE,
};
use rand_core::OsRng;
use std::collections::HashMap;

/// Blocks to wait for a batch to be accepted before sending it again.
pub const RESEND_AFTER: u64 = 5;
/// Most bytes of outputs in one egress transaction: the transaction limit, less room for the
/// rest of the transaction (header, contract, numbering, signature).
pub const MAX_EGRESS_BATCH_BYTES: usize = MAX_TRANSACTION_SIZE - 8 * 1024;
/// Batches sent per contract after one block (in order, with consecutive nonces), so that a
/// contract whose outputs outgrow one transaction a block does not fall behind for ever.
pub const MAX_BATCHES_PER_SEND: usize = 8;

pub(crate) struct EgressSender {
    identity: Keypair,
    /// Per contract, the first output number last sent and the height it was sent at.
    sent: HashMap<AccountId, (u64, u64)>,
}

impl EgressSender {
    pub(crate) fn new(identity: Keypair) -> Self {
        EgressSender {
            identity,
            sent: HashMap::new(),
        }
    }

    /// Sends what is pending and due, after block `height`, and returns how many outputs were
    /// pending (up to a batch per contract). Failures to send are logged, not fatal: the outputs
    /// stay in the store and go out with a later block.
    pub(crate) async fn send(
        &mut self,
        client: &NodeClient,
        view: &ChainView,
        store: &WorkerStore,
        height: u64,
    ) -> Result<u64, WorkerError> {
        let batches = store.pending_outputs(MAX_EGRESS_OUTPUTS * MAX_BATCHES_PER_SEND)?;
        let count = batches.iter().map(|b| b.outputs.len() as u64).sum();
        for pending in batches {
            let due = match self.sent.get(&pending.contract) {
                Some((first_seq, at)) if *first_seq == pending.first_seq => {
                    height >= at + RESEND_AFTER
                }
                _ => true,
            };
            if !due {
                continue;
            }
            self.sent
                .insert(pending.contract, (pending.first_seq, height));
            if let Err(error) = self.send_batches(client, view, &pending).await {
                // Usually another worker of the cluster was first: nothing is lost.
                tracing::debug!(contract = %pending.contract, first = pending.first_seq, "egress not sent: {error}");
            }
        }
        Ok(count)
    }

    async fn send_batches(
        &self,
        client: &NodeClient,
        view: &ChainView,
        pending: &PendingOutputs,
    ) -> Result<(), phalanx_client::ClientError> {
        let mut outputs = Vec::with_capacity(pending.outputs.len());
        for output in &pending.outputs {
            outputs.push(match output {
                Output::Event(data) => ContractOutput::Event(data.clone()),
                Output::Transfer { to, amount } => ContractOutput::Transfer {
                    to: *to,
                    amount: *amount,
                },
                Output::Settle { refunds, fees } => ContractOutput::Settle {
                    refunds: refunds.clone(),
                    fees: *fees,
                },
                Output::Message {
                    to,
                    payload,
                    gas_limit,
                } => ContractOutput::Message {
                    to: *to,
                    envelope: seal_message(view, pending.contract, *to, payload)?,
                    gas_limit: *gas_limit,
                },
            });
        }
        let mut nonce = client.next_nonce(self.identity.account_id()).await?;
        let mut first_seq = pending.first_seq;
        for batch in split_into_batches(outputs) {
            let count = batch.len() as u64;
            let call = Call::Egress {
                contract: pending.contract,
                first_seq,
                outputs: batch,
            };
            // A refusal (usually another worker was first) ends this round; the rest waits.
            client
                .submit(&client.sign(&self.identity, nonce, call))
                .await?;
            nonce += 1;
            first_seq += count;
        }
        Ok(())
    }
}

/// Splits `outputs`, in order, into batches of at most [`MAX_EGRESS_OUTPUTS`] outputs and
/// [`MAX_EGRESS_BATCH_BYTES`] bytes; an output is never split (each is far below the limit:
/// the VM bounds events and messages, the executor the refunds of one settlement).
pub(crate) fn split_into_batches(outputs: Vec<ContractOutput>) -> Vec<Vec<ContractOutput>> {
    let mut batches = Vec::new();
    let mut batch = Vec::new();
    let mut bytes = 0;
    for output in outputs {
        let size = output.encoded_size();
        if !batch.is_empty()
            && (batch.len() == MAX_EGRESS_OUTPUTS || bytes + size > MAX_EGRESS_BATCH_BYTES)
        {
            batches.push(std::mem::take(&mut batch));
            bytes = 0;
        }
        bytes += size;
        batch.push(output);
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    batches.truncate(MAX_BATCHES_PER_SEND);
    batches
}

/// Seals a message to its receiving contract's published key, as the enclave's view knows it
/// (never as the node says: a lying node would get the message). A receiver that does not exist
/// or has no key yet gets an empty envelope: the chain spends the output as failed (no such
/// contract) or the receiver's workers fail to open it, and the numbering goes on.
fn seal_message(
    view: &ChainView,
    from: AccountId,
    to: AccountId,
    payload: &[u8],
) -> Result<Envelope, phalanx_client::ClientError> {
    let Some((epoch, bytes)) = view.contract_key(&to) else {
        return Ok(Envelope {
            version: 1,
            epoch: 0,
            ephemeral: [0; 32],
            nonce: [0; 12],
            ciphertext: Vec::new(),
        });
    };
    let key = PublicKey { bytes, epoch };
    seal_to_contract(&key, view.chain_id(), to, from, payload, &mut OsRng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use phalanx_primitives::Transaction;

    #[test]
    fn forty_large_events_go_out_in_batches_that_each_fit_a_transaction() {
        let outputs: Vec<ContractOutput> = (0..40u8)
            .map(|i| ContractOutput::Event(vec![i; phalanx_vm::MAX_EVENT_LEN]))
            .collect();
        let batches = split_into_batches(outputs.clone());
        assert!(batches.len() >= 2);
        assert_eq!(batches.concat(), outputs, "every output, in order, once");
        let signer = Keypair::dev("worker");
        let mut first_seq = 0;
        for batch in batches {
            let count = batch.len() as u64;
            let tx = Transaction {
                chain_id: phalanx_primitives::Hash([7; 32]),
                signer: signer.account_id(),
                nonce: u64::MAX,
                fee: u128::MAX,
                call: Call::Egress {
                    contract: AccountId::from_bytes([9; 32]),
                    first_seq,
                    outputs: batch,
                },
            };
            let signed = phalanx_crypto::sign_transaction(&signer, tx);
            assert!(signed.encoded_size() <= MAX_TRANSACTION_SIZE);
            first_seq += count;
        }
    }

    #[test]
    fn many_small_outputs_are_cut_at_the_output_count() {
        let outputs: Vec<ContractOutput> =
            (0..200u8).map(|i| ContractOutput::Event(vec![i])).collect();
        let batches = split_into_batches(outputs);
        assert_eq!(batches.len(), 4);
        assert!(batches.iter().all(|b| b.len() <= MAX_EGRESS_OUTPUTS));
    }
}
