//! Confidential queries against a running devnet: a query goes straight to a worker, sealed to
//! the contract's key and signed by its origin; the answer comes back sealed to the client's
//! session key. `private_token` answers a balance only to its owner; a replayed, expired or
//! forged query is refused with a clear error.

use parity_scale_codec::{Decode, Encode};
use phalanx_client::api::NodeApiClient;
use phalanx_client::query::{prepare_query, WorkerClient};
use phalanx_client::{ClientError, NodeClient};
use phalanx_crypto::Keypair;
use phalanx_primitives::query::{QueryAnswer, QueryRequest};
use phalanx_primitives::AccountId;
use phalanx_testkit::DevnetProcess;
use private_token::Query as TokenQuery;
use rand_core::OsRng;
use std::time::{SystemTime, UNIX_EPOCH};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_owner_reads_a_private_balance() {
    let devnet = DevnetProcess::start("200ms");
    let summary = &devnet.summary;
    let node = NodeClient::connect(summary["node"]["rpc_http"].as_str().unwrap())
        .await
        .unwrap();
    let token: AccountId = summary["contracts"]["private_token"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let worker =
        WorkerClient::connect(summary["workers"][0]["rpc_http"].as_str().unwrap()).unwrap();
    let published = node
        .rpc()
        .contract(token)
        .await
        .unwrap()
        .unwrap()
        .key
        .unwrap();
    let key = published.bytes().unwrap();
    let chain_id = node.info().chain_id;

    let alice = Keypair::dev("alice");
    let alice_balance = TokenQuery::Balance {
        account: phalanx_sdk::AccountId(*alice.account_id().as_bytes()),
    }
    .encode();
    let ask = |signer: &Keypair, expiry_base: u64| {
        prepare_query(
            chain_id,
            token,
            &key,
            published.epoch,
            signer,
            QueryRequest::Contract(alice_balance.clone()),
            expiry_base,
            &mut OsRng,
        )
        .unwrap()
    };

    // Alice reads her own balance: the devnet minted 1,000,000 SCRT to her.
    let query = ask(&alice, now_ms());
    let answered = worker.query(token, &query).await.unwrap();
    let QueryAnswer::Ok(answer) = &answered.answer else {
        panic!("alice was refused")
    };
    assert_eq!(u128::decode(&mut &answer[..]).unwrap(), 1_000_000);
    // The answer says, inside its encryption, the block it was computed at: one of this chain's.
    let header = node.rpc().header(answered.height).await.unwrap().unwrap();
    assert_eq!(header.hash, answered.block_hash);

    // The same sealed query again is a replay.
    let replay = worker.query(token, &query).await;
    assert!(
        matches!(&replay, Err(ClientError::Rejected { message, .. }) if message.contains("nonce")),
        "{replay:?}"
    );

    // Bob may ask, but the contract refuses to tell him.
    let answer = worker
        .query(token, &ask(&Keypair::dev("bob"), now_ms()))
        .await
        .unwrap()
        .answer;
    assert!(
        matches!(&answer, QueryAnswer::Refused(m) if m.contains("only the owner")),
        "{answer:?}"
    );

    // An expired query, and one sealed to another key, are refused.
    let expired = worker.query(token, &ask(&alice, now_ms() - 120_000)).await;
    assert!(
        matches!(&expired, Err(ClientError::Rejected { message, .. }) if message.contains("expired")),
        "{expired:?}"
    );
    let wrong_key = prepare_query(
        chain_id,
        token,
        &[9; 32],
        published.epoch,
        &alice,
        QueryRequest::Contract(alice_balance.clone()),
        now_ms(),
        &mut OsRng,
    )
    .unwrap();
    let refused = worker.query(token, &wrong_key).await;
    assert!(
        matches!(&refused, Err(ClientError::Rejected { message, .. }) if message.contains("decrypt")),
        "{refused:?}"
    );
    // Sealed for an epoch the worker holds no key of, or in an envelope version it does not
    // know: each refusal says which.
    let later_epoch = prepare_query(
        chain_id,
        token,
        &key,
        published.epoch + 5,
        &alice,
        QueryRequest::Contract(alice_balance.clone()),
        now_ms(),
        &mut OsRng,
    )
    .unwrap();
    let refused = worker.query(token, &later_epoch).await;
    assert!(
        matches!(&refused, Err(ClientError::Rejected { message, .. }) if message.contains(&format!("epoch {}", published.epoch + 5))),
        "{refused:?}"
    );
    let mut next_version = ask(&alice, now_ms());
    next_version.envelope.version = 2;
    let refused = worker.query(token, &next_version).await;
    assert!(
        matches!(&refused, Err(ClientError::Rejected { message, .. }) if message.contains("version 2 is not supported")),
        "{refused:?}"
    );
}
