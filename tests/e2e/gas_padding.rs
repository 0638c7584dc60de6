//! What an observer of the chain sees of a private_token transfer that succeeds and of one that
//! fails for lack of balance: the same. The token pads every command's gas
//! (`private_token::COMMAND_GAS`), its envelopes are padded to a size bucket, and it emits nothing
//! public; so the transactions, their events, the egress batches and the gas settlements match.

use parity_scale_codec::Encode;
use phalanx_client::api::NodeApiClient;
use phalanx_client::views::{CallView, EventKindView, OutputView};
use phalanx_client::{ContractClient, NodeClient};
use phalanx_crypto::Keypair;
use phalanx_primitives::query::ReceiptOutcome;
use phalanx_primitives::{AccountId, Hash, SignedTransaction};
use phalanx_testkit::cluster::deploy_private_token;
use phalanx_testkit::{NodeProcess, WorkerProcess};
use rand_core::OsRng;
use std::time::{Duration, Instant};

/// Everything the chain shows of one command and its settlement, with who sent it left out.
#[derive(Debug, PartialEq, Eq)]
struct Observed {
    transaction_size: usize,
    call: CallView,
    events: Vec<EventKindView>,
    settlement: Vec<EventKindView>,
    settle_outputs: Vec<OutputView>,
}

/// The events and egress of the blocks from `from` on that settle `contract`'s gas, up to the
/// first `GasSettled`.
async fn settlement(
    node: &NodeClient,
    contract: AccountId,
    from: u64,
) -> (Vec<EventKindView>, Vec<OutputView>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut height = from;
    let (mut events, mut outputs) = (Vec::new(), Vec::new());
    loop {
        assert!(
            Instant::now() < deadline,
            "no gas settlement for {contract}"
        );
        let Some(block) = node.rpc().block(height).await.unwrap() else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        for tx in block.transactions {
            if let CallView::Egress {
                contract: c,
                outputs: o,
                ..
            } = tx.call
            {
                if c == contract {
                    outputs.extend(o.into_iter().map(|output| {
                        match output {
                            // Who is refunded is the payer, public anyway; how much is the point.
                            OutputView::Settle {
                                refunds,
                                fees_units,
                            } => OutputView::Settle {
                                refunds: refunds
                                    .into_iter()
                                    .map(|(_, amount)| (AccountId::from_bytes([0; 32]), amount))
                                    .collect(),
                                fees_units,
                            },
                            other => other,
                        }
                    }));
                }
            }
        }
        let block_events = node.rpc().events(height).await.unwrap().unwrap_or_default();
        let mut settled = false;
        for record in block_events {
            match record.event {
                e @ EventKindView::GasSettled { contract: c, .. } if c == contract => {
                    events.push(e);
                    settled = true;
                }
                e @ EventKindView::EgressAccepted { contract: c, .. } if c == contract => {
                    events.push(match e {
                        EventKindView::EgressAccepted {
                            contract, count, ..
                        } => EventKindView::EgressAccepted {
                            contract,
                            worker: AccountId::from_bytes([0; 32]),
                            // The numbering advances by construction; the count is what could tell.
                            first_seq: 0,
                            count,
                        },
                        other => other,
                    });
                }
                _ => {}
            }
        }
        if settled {
            return (events, outputs);
        }
        height += 1;
    }
}

/// The heights of the blocks holding `contract`'s gas settlements so far, once there are at least
/// `count` of them.
async fn settled(node: &NodeClient, contract: AccountId, count: usize) -> Vec<u64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let head = node.head().await.unwrap().height;
        let mut heights = Vec::new();
        for height in 1..=head {
            let events = node.rpc().events(height).await.unwrap().unwrap_or_default();
            if events.iter().any(|e| {
                matches!(e.event, EventKindView::GasSettled { contract: c, .. } if c == contract)
            }) {
                heights.push(height);
            }
        }
        if heights.len() >= count {
            return heights;
        }
        assert!(
            Instant::now() < deadline,
            "{contract} has {} settlements, not {count}",
            heights.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends `signer`'s transfer of 1 token to bob, in a block of its own, once the contract's
/// `earlier` runs (its instantiation, an earlier command) are settled, so that the next
/// settlement is this command's alone; returns what the chain shows of it.
async fn observe(
    earlier: usize,
    node: &NodeClient,
    token: &ContractClient,
    contract: AccountId,
    signer: &Keypair,
) -> (Observed, ReceiptOutcome) {
    let last_settled = *settled(node, contract, earlier).await.last().unwrap();
    let transfer = private_token::Command::Transfer {
        to: phalanx_sdk::AccountId(*Keypair::dev("bob").account_id().as_bytes()),
        amount: 1,
    };
    let call = token
        .command_call(
            signer.account_id(),
            &transfer.encode(),
            1_000_000,
            0,
            &mut OsRng,
        )
        .unwrap();
    let nonce = node.next_nonce(signer.account_id()).await.unwrap();
    let tx: SignedTransaction = node.sign(signer, nonce, call);
    let hash = node.submit(&tx).await.unwrap();
    let included = node
        .wait_for_inclusion(hash, Duration::from_secs(20))
        .await
        .unwrap();
    let block = node.rpc().block(included.height).await.unwrap().unwrap();
    let view = block.transactions[included.index as usize].clone();
    let events: Vec<EventKindView> = node
        .rpc()
        .events(included.height)
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .filter(|e| e.transaction_index == Some(included.index))
        .map(|e| match e.event {
            // The sender and its command's number are public and differ by construction.
            EventKindView::CommandSubmitted { contract, .. } => EventKindView::CommandSubmitted {
                contract,
                sender: AccountId::from_bytes([0; 32]),
                sequence: 0,
            },
            EventKindView::GasPrepaid {
                gas_limit,
                amount_units,
                ..
            } => EventKindView::GasPrepaid {
                payer: AccountId::from_bytes([0; 32]),
                gas_limit,
                amount_units,
            },
            EventKindView::FeePaid { fee_units, .. } => EventKindView::FeePaid {
                payer: AccountId::from_bytes([0; 32]),
                fee_units,
            },
            other => other,
        })
        .collect();
    let (settlement, settle_outputs) = settlement(node, contract, last_settled + 1).await;
    let receipt = token
        .receipt(signer, hash, Duration::from_secs(20), &mut OsRng)
        .await
        .unwrap();
    (
        Observed {
            transaction_size: tx.encode().len(),
            call: view.call,
            events,
            settlement,
            settle_outputs,
        },
        receipt.outcome,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_and_a_successful_transfer_look_the_same_on_chain() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let node_process = NodeProcess::start(dirs[0].path(), "100ms");
    let node = NodeClient::connect(&node_process.url).await.unwrap();
    let _gatekeeper = WorkerProcess::start_as("gatekeeper", &node_process.url, dirs[1].path());
    let worker = WorkerProcess::start(&node_process.url, dirs[2].path());
    let contract = deploy_private_token(
        &node,
        Hash([0x9a; 32]),
        vec![worker.identity.parse().unwrap()],
        private_token::Init {
            name: "Token".into(),
            symbol: "TOK".into(),
            initial_supply: 1_000,
            pha_backed: false,
        },
        b"padding",
    )
    .await;
    let token = ContractClient::open(&node, contract).await.unwrap();
    // Alice holds the supply; charlie holds nothing.
    let (succeeded, ok) = observe(1, &node, &token, contract, &Keypair::dev("alice")).await;
    let (failed, refused) = observe(2, &node, &token, contract, &Keypair::dev("charlie")).await;
    assert!(matches!(ok, ReceiptOutcome::Ok(_)), "{ok:?}");
    assert!(matches!(refused, ReceiptOutcome::Failed(_)), "{refused:?}");
    assert_eq!(succeeded, failed);
    // And what was charged is the padded total, not what either run used.
    let refunded = |observed: &Observed| match observed.settlement.last() {
        Some(EventKindView::GasSettled {
            to_workers_units,
            to_treasury_units,
            ..
        }) => to_workers_units + to_treasury_units,
        other => panic!("no settlement: {other:?}"),
    };
    let gas_price = node.info().gas_price_units;
    assert_eq!(
        refunded(&succeeded),
        u128::from(private_token::COMMAND_GAS) * gas_price
    );
}
