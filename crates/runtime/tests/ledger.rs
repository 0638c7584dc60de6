//! Ledger rules and invariants, exercised through the public API with an in-memory state.

mod common;

use phalanx_crypto::{sign_transaction, verify_transactions, Keypair, VerifiedTransaction};
use phalanx_primitives::amount::{TOTAL_SUPPLY, UNIT};
use phalanx_primitives::{Balance, Call, Hash, Transaction};
use phalanx_runtime::balances::account;
use phalanx_runtime::TxError;
use proptest::prelude::*;

use common::Chain;

const FEE: Balance = UNIT / 100;

#[test]
fn transfer_moves_amount_and_pays_fee_to_treasury() {
    let mut chain = Chain::dev();
    let (alice, bob) = (Keypair::dev("alice"), Keypair::dev("bob"));
    let before = (chain.balance(&alice).free, chain.balance(&bob).free);
    let treasury_before = account(&chain.state, &chain.params.treasury).unwrap().free;
    let tx = chain.transfer(&alice, 0, bob.account_id(), 5 * UNIT, FEE);
    assert_eq!(chain.block(&[tx]), vec![Ok(())]);
    assert_eq!(chain.balance(&alice).free, before.0 - 5 * UNIT - FEE);
    assert_eq!(chain.balance(&alice).nonce, 1);
    assert_eq!(chain.balance(&bob).free, before.1 + 5 * UNIT);
    assert_eq!(
        account(&chain.state, &chain.params.treasury).unwrap().free,
        treasury_before + FEE
    );
    assert_eq!(chain.total(), TOTAL_SUPPLY);
}

#[test]
fn bad_transactions_change_nothing() {
    let mut chain = Chain::dev();
    let (alice, bob) = (Keypair::dev("alice"), Keypair::dev("bob"));
    let root_before = chain.root;
    let state_before = chain.state.clone();
    let wrong_chain = Transaction {
        chain_id: Hash([1; 32]),
        signer: alice.account_id(),
        nonce: 0,
        fee: FEE,
        call: Call::Transfer {
            to: bob.account_id(),
            amount: 1,
        },
    };
    let wrong_chain_tx = verify_transactions(vec![sign_transaction(&alice, wrong_chain)])
        .remove(0)
        .unwrap();
    let results = chain.block(&[
        wrong_chain_tx,
        chain.transfer(&alice, 1, bob.account_id(), 1, FEE),
        chain.transfer(&alice, 0, bob.account_id(), 1, 1),
        chain.transfer(&alice, 0, bob.account_id(), 2_000_000 * UNIT, FEE),
        chain.transfer(&alice, 0, bob.account_id(), u128::MAX, FEE),
    ]);
    assert!(matches!(results[0], Err(TxError::WrongChain { .. })));
    assert!(matches!(
        results[1],
        Err(TxError::FutureNonce {
            expected: 0,
            found: 1
        })
    ));
    assert!(matches!(results[2], Err(TxError::FeeTooLow { .. })));
    assert!(matches!(
        results[3],
        Err(TxError::InsufficientBalance { .. })
    ));
    assert!(matches!(
        results[4],
        Err(TxError::InsufficientBalance { .. })
    ));
    assert_eq!(chain.state, state_before);
    // An empty write set still advances the root chain, deterministically.
    assert_ne!(chain.root, root_before);

    let ok = chain.transfer(&alice, 0, bob.account_id(), 1, FEE);
    assert_eq!(chain.block(std::slice::from_ref(&ok)), vec![Ok(())]);
    assert!(matches!(
        chain.block(&[ok])[0],
        Err(TxError::StaleNonce {
            expected: 1,
            found: 0
        })
    ));
}

#[test]
fn replay_gives_the_same_roots() {
    let run = || {
        let mut chain = Chain::dev();
        let alice = Keypair::dev("alice");
        let mut roots = vec![];
        for n in 0..5 {
            let tx = chain.transfer(
                &alice,
                n,
                Keypair::dev("charlie").account_id(),
                n as u128 * UNIT,
                FEE,
            );
            chain.block(&[tx]);
            roots.push(chain.root);
        }
        roots
    };
    assert_eq!(run(), run());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever sequence of transfers is attempted, valid or not, the sum of all balances stays
    /// exactly the total supply and no account's nonce skips.
    #[test]
    fn supply_is_invariant(ops in proptest::collection::vec((0usize..4, 0usize..4, any::<u64>(), 0u64..3, any::<bool>()), 1..60), block_size in 1usize..8) {
        let names = ["alice", "bob", "charlie", "dave"];
        let keys: Vec<Keypair> = names.iter().map(|n| Keypair::dev(n)).collect();
        let mut chain = Chain::dev();
        let mut nonces = [0u64; 4];
        let mut pending = Vec::new();
        for (from, to, raw_amount, nonce_skew, low_fee) in ops {
            let amount = (raw_amount as u128) * 1_000_000;
            let fee = if low_fee { 1 } else { FEE };
            let nonce = nonces[from] + nonce_skew.saturating_sub(1);
            pending.push((from, chain.transfer(&keys[from], nonce, keys[to].account_id(), amount, fee)));
            if pending.len() >= block_size {
                let (senders, txs): (Vec<usize>, Vec<VerifiedTransaction>) = pending.drain(..).unzip();
                for (sender, result) in senders.into_iter().zip(chain.block(&txs)) {
                    if result.is_ok() { nonces[sender] += 1; }
                }
                prop_assert_eq!(chain.total(), TOTAL_SUPPLY);
                for (i, key) in keys.iter().enumerate() {
                    prop_assert_eq!(chain.balance(key).nonce, nonces[i]);
                }
            }
        }
    }
}

/// Code that writes debug output runs on dev chains only: another chain refuses its upload.
#[test]
fn only_a_chain_that_allows_debug_output_takes_code_that_writes_it() {
    let debugging = wat::parse_str(
        r#"(module
             (import "env" "debug" (func $debug (param i32 i32)))
             (memory (export "memory") 1)
             (func (export "instantiate") (result i32) i32.const 0)
             (func (export "execute") (result i32) i32.const 0)
             (func (export "query") (result i32) i32.const 0))"#,
    )
    .unwrap();
    let alice = Keypair::dev("alice");
    let upload = |chain: &Chain| {
        chain.signed(
            &alice,
            0,
            UNIT,
            Call::UploadCode {
                code: debugging.clone(),
            },
        )
    };
    let mut dev = Chain::dev();
    assert!(dev.params.allow_debug_output);
    let tx = upload(&dev);
    assert_eq!(dev.block(&[tx]), vec![Ok(())]);

    let mut config = phalanx_runtime::genesis::dev_config();
    config.allow_debug_output = false;
    let mut production = Chain::with_config(config);
    let tx = upload(&production);
    let refused = production.block(&[tx]).remove(0).unwrap_err();
    assert_eq!(refused.cause(), "debug_output_not_allowed", "{refused}");
    assert!(refused.to_string().contains("debug output"), "{refused}");
}
