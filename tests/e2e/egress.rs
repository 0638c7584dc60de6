//! Egress with real processes: PHA goes into a PHA-backed private token with a command, moves
//! privately, and comes out to a public account as a payment the cluster's workers send to the
//! chain. Each output lands exactly once although both workers send it; a failed command's PHA
//! comes back; the payments go on when one worker is gone; forged and replayed batches are refused.

use parity_scale_codec::{Decode, Encode};
use phalanx_client::views::EventKindView;
use phalanx_client::{ClientError, ContractClient, NodeClient};
use phalanx_crypto::Keypair;
use phalanx_primitives::amount::UNIT;
use phalanx_primitives::query::{QueryAnswer, QueryRequest, ReceiptOutcome};
use phalanx_primitives::{gas_escrow, AccountId, Balance, Call, ContractOutput, Hash};
use phalanx_testkit::cluster::{deploy, deploy_private_token, submit, wait_synced, worker_status};
use phalanx_testkit::{NodeProcess, WorkerProcess};
use rand_core::OsRng;
use std::time::{Duration, Instant};

fn sdk(account: AccountId) -> phalanx_sdk::AccountId {
    phalanx_sdk::AccountId(*account.as_bytes())
}

async fn free(node: &NodeClient, account: AccountId) -> Balance {
    node.account(account).await.unwrap().free_units
}

/// Waits until `account` holds `expected` units.
async fn wait_balance(node: &NodeClient, account: AccountId, expected: Balance) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = free(node, account).await;
        if now == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{account} holds {now}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The token's answer to `Reserves` once it says `expected` (the worker may be a block behind).
async fn reserves(client: &ContractClient, who: &Keypair, expected: Balance) -> Balance {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let query = QueryRequest::Contract(private_token::Query::Reserves.encode());
        let answer = client.query(who, query, &mut OsRng).await.unwrap();
        let QueryAnswer::Ok(bytes) = answer else {
            panic!("reserves refused: {answer:?}")
        };
        let held = Balance::decode(&mut &bytes[..]).unwrap();
        if held == expected || Instant::now() > deadline {
            return held;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every event of blocks 1..=head.
async fn all_events(node: &NodeClient) -> Vec<EventKindView> {
    use phalanx_client::api::NodeApiClient;
    let head = node.head().await.unwrap().height;
    let mut events = vec![];
    for height in 1..=head {
        let block_events = node.rpc().events(height).await.unwrap().unwrap_or_default();
        events.extend(block_events.into_iter().map(|e| e.event));
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_token_pays_out_to_a_public_account_exactly_once() {
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let node_process = NodeProcess::start(dirs[0].path(), "100ms");
    let node = NodeClient::connect(&node_process.url).await.unwrap();
    let _gatekeeper = WorkerProcess::start_as("gatekeeper", &node_process.url, dirs[1].path());
    let mut first = WorkerProcess::start(&node_process.url, dirs[2].path());
    let second = WorkerProcess::start(&node_process.url, dirs[3].path());
    let members = vec![
        first.identity.parse().unwrap(),
        second.identity.parse().unwrap(),
    ];
    let token = deploy_private_token(
        &node,
        Hash([0xe1; 32]),
        members,
        private_token::Init {
            name: "Private PHA".into(),
            symbol: "pPHA".into(),
            initial_supply: 0,
            pha_backed: true,
        },
        b"egress",
    )
    .await;
    let client = ContractClient::open(&node, token).await.unwrap();
    let bob = Keypair::dev("bob");
    let carol = Keypair::dev("carol").account_id();
    // A fresh account: nothing but the payout will ever reach it.
    let payee = Keypair::generate(&mut OsRng).account_id();
    let command = |from: &Keypair, message: private_token::Command, value: Balance| {
        client
            .command_call(
                from.account_id(),
                &message.encode(),
                1_000_000,
                value,
                &mut OsRng,
            )
            .unwrap()
    };

    // Bob deposits 10 PHA, sends 4 privately to carol and withdraws 3 to the payee.
    submit(
        &node,
        &bob,
        vec![command(&bob, private_token::Command::Deposit, 10 * UNIT)],
    )
    .await;
    assert_eq!(free(&node, token).await, 10 * UNIT);
    let to_carol = private_token::Command::Transfer {
        to: sdk(carol),
        amount: 4 * UNIT,
    };
    let withdraw = private_token::Command::Withdraw {
        to: sdk(payee),
        amount: 3 * UNIT,
    };
    submit(
        &node,
        &bob,
        vec![command(&bob, to_carol, 0), command(&bob, withdraw, 0)],
    )
    .await;
    wait_balance(&node, payee, 3 * UNIT).await;
    assert_eq!(free(&node, token).await, 7 * UNIT);
    // The contract reads what its account holds, as the chain announced it: the token is fully
    // backed. PHA sent to it by a plain transfer is counted as soon as its block is replayed.
    assert_eq!(reserves(&client, &bob, 7 * UNIT).await, 7 * UNIT);
    let gift = Call::Transfer {
        to: token,
        amount: UNIT,
    };
    submit(&node, &Keypair::dev("charlie"), vec![gift]).await;
    assert_eq!(reserves(&client, &bob, 8 * UNIT).await, 8 * UNIT);
    assert_eq!(free(&node, token).await, 8 * UNIT);

    // One worker gone: the other still pays. A withdrawal beyond bob's tokens (3 left) fails
    // and the 2 PHA it carried come back to him.
    first.kill_9();
    let bob_before = free(&node, bob.account_id()).await;
    let too_much = private_token::Command::Withdraw {
        to: sdk(payee),
        amount: 5 * UNIT,
    };
    let nonce = node.next_nonce(bob.account_id()).await.unwrap();
    let tx = node.sign(&bob, nonce, command(&bob, too_much, 2 * UNIT));
    node.submit(&tx).await.unwrap();
    let receipt = client
        .receipt(&bob, tx.hash(), Duration::from_secs(30), &mut OsRng)
        .await
        .unwrap();
    assert!(matches!(receipt.outcome, ReceiptOutcome::Failed(_)));
    // He pays the fee and the gas the run used; the 2 PHA and the unused gas come back.
    let used = node.info().gas_price_units * Balance::from(receipt.gas_used);
    let fee = tx.transaction.fee;
    wait_balance(&node, bob.account_id(), bob_before - fee - used).await;
    assert_eq!(free(&node, payee).await, 3 * UNIT);
    assert_eq!(free(&node, token).await, 8 * UNIT);

    // Each output number was accepted once, in order, and both workers' outboxes drain.
    let head = node.head().await.unwrap().height;
    wait_synced(&second.url, head, Duration::from_secs(30)).await;
    let events = all_events(&node).await;
    let accepted: Vec<(u64, u32)> = events
        .iter()
        .filter_map(|e| match e {
            EventKindView::EgressAccepted {
                contract,
                first_seq,
                count,
                ..
            } if *contract == token => Some((*first_seq, *count)),
            _ => None,
        })
        .collect();
    let mut next = 0;
    for (first_seq, count) in &accepted {
        assert_eq!(*first_seq, next, "batches {accepted:?}");
        next += u64::from(*count);
    }
    assert!(
        next >= 2,
        "a payout, a refund and gas settlements: {accepted:?}"
    );
    let payments = events
        .iter()
        .filter(|e| matches!(e, EventKindView::Transfer { from, .. } if *from == token))
        .count();
    assert_eq!(payments, 2);
    // The outbox drains, and every unit of gas prepaid to the token (instantiation included)
    // is settled: the escrow ends empty.
    let deadline = Instant::now() + Duration::from_secs(30);
    while worker_status(&second.url).await["pending_outputs"] != 0
        || free(&node, gas_escrow(&token)).await != 0
    {
        assert!(Instant::now() < deadline, "outputs or gas left unsettled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A batch from someone who is not a worker of the cluster is refused; so is the worker's
    // accepted transaction sent again.
    let forged = Call::Egress {
        contract: token,
        first_seq: 2,
        outputs: vec![ContractOutput::Transfer {
            to: bob.account_id(),
            amount: 7 * UNIT,
        }],
    };
    let nonce = node.next_nonce(bob.account_id()).await.unwrap();
    let refused = node.submit(&node.sign(&bob, nonce, forged)).await;
    assert!(
        matches!(&refused, Err(ClientError::Rejected { message, .. }) if message.contains("not a worker")),
        "{refused:?}"
    );
    let mut replayed = None;
    for height in 1..=head {
        let block = node.verified_block(height).await.unwrap().unwrap();
        if let Some(tx) = block
            .transactions
            .into_iter()
            .find(|tx| matches!(tx.transaction.call, Call::Egress { .. }))
        {
            replayed = Some(node.submit(&tx).await);
            break;
        }
    }
    let replayed = replayed.expect("an egress transaction is on chain");
    assert!(
        matches!(replayed, Err(ClientError::Rejected { .. })),
        "{replayed:?}"
    );
    assert_eq!(free(&node, token).await, 8 * UNIT);
}

/// Answers a data_market query for `who`, asked of any worker of the contract. A worker still
/// behind the contract's instantiation (a loaded machine) is asked again, for up to 10 s.
async fn ask(client: &ContractClient, who: &Keypair, query: data_market::Query) -> QueryAnswer {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match client
            .query(who, QueryRequest::Contract(query.encode()), &mut OsRng)
            .await
        {
            Ok(answer) => return answer,
            Err(e)
                if e.to_string().contains("does not run contract")
                    && std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_owner_sells_grants_to_a_private_record_and_withdraws_the_fees() {
    use data_market::{Answer, Command, Query};
    use phalanx_sdk::grants::Offer;
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let node_process = NodeProcess::start(dirs[0].path(), "100ms");
    let node = NodeClient::connect(&node_process.url).await.unwrap();
    let _gatekeeper = WorkerProcess::start_as("gatekeeper", &node_process.url, dirs[1].path());
    let worker = WorkerProcess::start(&node_process.url, dirs[2].path());
    // Alice deploys the market, so she owns it.
    let market = deploy(
        &node,
        Hash([0xe2; 32]),
        vec![worker.identity.parse().unwrap()],
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/contracts/data_market/data_market.wasm"
        ),
        &data_market::Init {}.encode(),
        b"market",
    )
    .await;
    let client = ContractClient::open(&node, market).await.unwrap();
    let (alice, bob) = (Keypair::dev("alice"), Keypair::dev("bob"));
    let send = |from: &Keypair, command: Command, value: Balance| {
        client
            .command_call(
                from.account_id(),
                &command.encode(),
                1_000_000,
                value,
                &mut OsRng,
            )
            .unwrap()
    };
    let price = 3 * UNIT;
    let publish = Command::Publish {
        topic: "salary".into(),
        data: b"RECORD-42000".to_vec(),
        offer: Offer {
            price,
            duration_ms: 3_600_000,
        },
    };
    submit(&node, &alice, vec![send(&alice, publish, 0)]).await;
    let read = || Query::Read {
        topic: "salary".into(),
    };
    let refused = ask(&client, &bob, read()).await;
    assert!(
        matches!(&refused, QueryAnswer::Refused(r) if r.contains("no grant")),
        "{refused:?}"
    );

    // Bob pays the price with his Buy command and reads; the PHA sits in the market's account.
    let buy = Command::Buy {
        topic: "salary".into(),
    };
    submit(&node, &bob, vec![send(&bob, buy, price)]).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let data = loop {
        match ask(&client, &bob, read()).await {
            QueryAnswer::Ok(bytes) => break Answer::decode(&mut &bytes[..]).unwrap(),
            other => {
                assert!(Instant::now() < deadline, "{other:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert_eq!(data, Answer::Data(b"RECORD-42000".to_vec()));
    assert_eq!(free(&node, market).await, price);

    // Alice withdraws her earnings to a fresh public account, through egress.
    let payee = Keypair::generate(&mut OsRng).account_id();
    let withdraw = Command::Withdraw {
        to: phalanx_sdk::AccountId(*payee.as_bytes()),
        amount: price,
    };
    submit(&node, &alice, vec![send(&alice, withdraw, 0)]).await;
    wait_balance(&node, payee, price).await;
    assert_eq!(free(&node, market).await, 0);
    let earnings = ask(&client, &alice, Query::Earnings).await;
    assert_eq!(earnings, QueryAnswer::Ok(Answer::Earnings(0).encode()));
}

/// A contract whose every command emits one public event of the largest size the VM allows.
fn loud_contract() -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
            (import "env" "emit_event" (func $emit (param i32 i32)))
            (memory (export "memory") 1)
            (func (export "instantiate") (result i32) i32.const 0)
            (func (export "execute") (result i32)
              (call $emit (i32.const 0) (i32.const {}))
              i32.const 0)
            (func (export "query") (result i32) i32.const 0))"#,
        phalanx_vm::MAX_EVENT_LEN
    ))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_larger_than_a_transaction_land_in_several_batches_with_every_refund() {
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let node_process = NodeProcess::start(dirs[0].path(), "100ms");
    let node = NodeClient::connect(&node_process.url).await.unwrap();
    let _gatekeeper = WorkerProcess::start_as("gatekeeper", &node_process.url, dirs[1].path());
    let first = WorkerProcess::start(&node_process.url, dirs[2].path());
    let second = WorkerProcess::start(&node_process.url, dirs[3].path());
    let members = vec![
        first.identity.parse().unwrap(),
        second.identity.parse().unwrap(),
    ];
    let loud = phalanx_testkit::cluster::deploy_code(
        &node,
        Hash([0xe2; 32]),
        members,
        loud_contract(),
        b"",
        b"loud",
    )
    .await;
    let client = ContractClient::open(&node, loud).await.unwrap();

    // Forty commands in one block: 640 KiB of public events, more than one transaction holds.
    let bob = Keypair::dev("bob");
    let before = free(&node, bob.account_id()).await;
    let commands: Vec<Call> = (0..40)
        .map(|_| {
            client
                .command_call(bob.account_id(), b"", 1_000_000, 0, &mut OsRng)
                .unwrap()
        })
        .collect();
    submit(&node, &bob, commands).await;

    // Every event lands, once, in order; the gas is settled and the escrow emptied.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (events, refunded) = loop {
        let all = all_events(&node).await;
        let events: Vec<u64> = all
            .iter()
            .filter_map(|e| match e {
                EventKindView::ContractEvent {
                    contract,
                    seq,
                    data,
                } if *contract == loud => {
                    assert_eq!(data.len(), 2 * phalanx_vm::MAX_EVENT_LEN);
                    Some(*seq)
                }
                _ => None,
            })
            .collect();
        let refunded: Balance = all
            .iter()
            .filter_map(|e| match e {
                EventKindView::GasSettled {
                    contract,
                    refunded_units,
                    ..
                } if *contract == loud => Some(*refunded_units),
                _ => None,
            })
            .sum();
        if events.len() >= 40 && refunded > 0 {
            break (events, refunded);
        }
        assert!(
            Instant::now() < deadline,
            "{} of 40 events landed, {refunded} refunded",
            events.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(events.len(), 40, "each output exactly once");
    assert!(
        events.windows(2).all(|w| w[0] < w[1]),
        "in order: {events:?}"
    );
    assert_eq!(
        free(&node, gas_escrow(&loud)).await,
        0,
        "every prepaid unit settled"
    );
    assert!(free(&node, bob.account_id()).await < before);
    assert!(refunded > 0);
    // And the workers know it: nothing is left to send.
    for url in [&first.url, &second.url] {
        loop {
            let status = worker_status(url).await;
            if status["pending_outputs"] == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "outputs still pending: {status}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
