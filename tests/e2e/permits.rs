//! Query permits with real processes: alice lets bob read her private_token balance; the
//! permit holds for its scope, its grantee, its contract and its time only, and not after alice
//! revokes it; a forged one is refused.

use parity_scale_codec::Encode;
use phalanx_client::contract::now_ms;
use phalanx_client::{ContractClient, NodeClient};
use phalanx_crypto::Keypair;
use phalanx_primitives::query::{QueryAnswer, SignedPermit};
use phalanx_primitives::{AccountId, Hash};
use phalanx_testkit::cluster::{deploy_private_token, submit};
use phalanx_testkit::{NodeProcess, WorkerProcess};
use rand_core::OsRng;
use std::time::Duration;

fn token_init() -> private_token::Init {
    private_token::Init {
        name: "Token".into(),
        symbol: "TOK".into(),
        initial_supply: 1_000,
        pha_backed: false,
    }
}

fn balance_of(account: AccountId) -> Vec<u8> {
    private_token::Query::Balance {
        account: phalanx_sdk::AccountId(*account.as_bytes()),
    }
    .encode()
}

/// The answer's balance, or why it was refused.
async fn ask(
    token: &ContractClient,
    grantee: &Keypair,
    permit: &SignedPermit,
    of: AccountId,
) -> Result<u128, String> {
    match token
        .query_with_permit(grantee, permit, balance_of(of), &mut OsRng)
        .await
        .map_err(|e| e.to_string())?
    {
        QueryAnswer::Ok(output) => {
            Ok(parity_scale_codec::Decode::decode(&mut &output[..]).unwrap())
        }
        QueryAnswer::Refused(reason) => Err(reason),
        QueryAnswer::Stale { .. } => Err("stale".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permit_reads_for_its_owner_within_its_scope_until_revoked() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let node_process = NodeProcess::start(dirs[0].path(), "100ms");
    let node = NodeClient::connect(&node_process.url).await.unwrap();
    let _gatekeeper = WorkerProcess::start_as("gatekeeper", &node_process.url, dirs[1].path());
    let worker = WorkerProcess::start(&node_process.url, dirs[2].path());
    let cluster = Hash([0x9e; 32]);
    let members = vec![worker.identity.parse().unwrap()];
    let contract = deploy_private_token(&node, cluster, members, token_init(), b"permits").await;
    let other = phalanx_testkit::cluster::instantiate_in(
        &node,
        cluster,
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/contracts/private_token/private_token.wasm"
        ))
        .unwrap(),
        &token_init().encode(),
        b"permits-other",
    )
    .await;
    let token = ContractClient::open(&node, contract).await.unwrap();
    let other_token = ContractClient::open(&node, other).await.unwrap();
    let (alice, bob, charlie) = (
        Keypair::dev("alice"),
        Keypair::dev("bob"),
        Keypair::dev("charlie"),
    );
    let in_a_minute = now_ms() + 60_000;
    // Alice's permits for bob.
    let for_bob = |scope: &str, expiry_ms| {
        token.sign_permit(
            &alice,
            bob.account_id(),
            vec![scope.into()],
            expiry_ms,
            &mut OsRng,
        )
    };
    let permit = for_bob("balance", in_a_minute);

    // Bob reads alice's balance as alice, with the permit only.
    assert_eq!(
        ask(&token, &bob, &permit, alice.account_id()).await,
        Ok(1_000)
    );
    // Not another account's: the permit makes him alice, not anyone.
    assert!(ask(&token, &bob, &permit, charlie.account_id())
        .await
        .is_err());
    // Charlie cannot use bob's permit.
    let stolen = ask(&token, &charlie, &permit, alice.account_id()).await;
    assert!(
        stolen.as_ref().unwrap_err().contains("grantee"),
        "{stolen:?}"
    );
    // Not for another scope.
    let history_only = for_bob("history", in_a_minute);
    let out_of_scope = ask(&token, &bob, &history_only, alice.account_id()).await;
    assert!(
        out_of_scope
            .as_ref()
            .unwrap_err()
            .contains("does not cover balances"),
        "{out_of_scope:?}"
    );
    // Not for another contract, not expired, not forged.
    let elsewhere = ask(&other_token, &bob, &permit, alice.account_id()).await;
    assert!(
        elsewhere.as_ref().unwrap_err().contains("contract"),
        "{elsewhere:?}"
    );
    let expired = for_bob("balance", now_ms() - 1);
    let late = ask(&token, &bob, &expired, alice.account_id()).await;
    assert!(late.as_ref().unwrap_err().contains("expired"), "{late:?}");
    let mut forged = token.sign_permit(
        &Keypair::dev("mallory"),
        bob.account_id(),
        vec!["balance".into()],
        in_a_minute,
        &mut OsRng,
    );
    forged.permit.owner = alice.account_id();
    let fake = ask(&token, &bob, &forged, alice.account_id()).await;
    assert!(
        fake.as_ref().unwrap_err().contains("not signed"),
        "{fake:?}"
    );

    // Alice revokes it; once that block is final, it is refused, and her other permit is not.
    let revoke = token
        .revoke_permit_call(alice.account_id(), &permit.permit.id, &mut OsRng)
        .unwrap();
    submit(&node, &alice, vec![revoke]).await;
    let mut answer = Ok(0);
    for _ in 0..100 {
        answer = ask(&token, &bob, &permit, alice.account_id()).await;
        if answer.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        answer.as_ref().unwrap_err().contains("revoked"),
        "{answer:?}"
    );
    let second = for_bob("balance", in_a_minute);
    assert_eq!(
        ask(&token, &bob, &second, alice.account_id()).await,
        Ok(1_000)
    );
}
