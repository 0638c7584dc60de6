//! The registry module: enclaves register only with evidence the chain's policy accepts,
//! committing to the very keys they register, and only sudo changes the allow-list.

mod common;

use common::Chain;
use phalanx_attestation::{DevProvider, Enrollment, QuoteProvider};
use phalanx_crypto::Keypair;
use phalanx_primitives::amount::UNIT;
use phalanx_primitives::attestation::{
    AttestationReport, ConfidenceLevel, Measurement, Role, TeeKind,
};
use phalanx_primitives::{AccountId, Call, SudoCall};
use phalanx_runtime::genesis::{dev_measurement, DEV_ATTESTATION_KEY};
use phalanx_runtime::Refusal;
use phalanx_runtime::{registry, TxError};

const FEE: u128 = UNIT / 10;
const ENDPOINT: &[u8] = b"http://127.0.0.1:8000";
/// The account every test registers enclaves with.
const OPERATOR: &str = "bob";

fn dev_quote(
    chain: &Chain,
    identity: &AccountId,
    ecdh: &[u8; 32],
    role: Role,
    measurement: [u8; 32],
) -> AttestationReport {
    let provider = DevProvider::new_insecure(Keypair::dev(DEV_ATTESTATION_KEY), measurement);
    provider
        .quote(
            &Enrollment {
                identity,
                ecdh_public: ecdh,
                chain_id: &chain.params.chain_id,
                role,
                operator: &Keypair::dev(OPERATOR).account_id(),
                endpoint: ENDPOINT,
            }
            .report_data(),
        )
        .unwrap()
}

/// The enclave every test registers: its identity key signs its registrations.
const ENCLAVE: &str = "worker-1";

fn register_call(
    chain: &Chain,
    identity: AccountId,
    ecdh: [u8; 32],
    role: Role,
    attestation: AttestationReport,
) -> Call {
    let enclave = Keypair::dev(ENCLAVE);
    assert_eq!(identity, enclave.account_id(), "tests register {ENCLAVE}");
    Enrollment {
        identity: &identity,
        ecdh_public: &ecdh,
        chain_id: &chain.params.chain_id,
        role,
        operator: &Keypair::dev(OPERATOR).account_id(),
        endpoint: ENDPOINT,
    }
    .register_call(&enclave, attestation)
}

fn dev_measurement_bytes() -> [u8; 32] {
    match dev_measurement() {
        Measurement::Dev(m) => m,
        _ => unreachable!(),
    }
}

#[test]
fn an_attested_worker_is_recorded_with_its_keys_and_confidence() {
    let mut chain = Chain::dev();
    let operator = Keypair::dev(OPERATOR);
    let identity = Keypair::dev("worker-1").account_id();
    let quote = dev_quote(
        &chain,
        &identity,
        &[7; 32],
        Role::Worker,
        dev_measurement_bytes(),
    );
    let tx = chain.signed(
        &operator,
        0,
        FEE,
        register_call(&chain, identity, [7; 32], Role::Worker, quote),
    );
    assert_eq!(chain.block(&[tx]), vec![Ok(())]);
    let worker = registry::worker(&chain.state, &identity).unwrap().unwrap();
    assert_eq!(worker.operator, operator.account_id());
    assert_eq!(worker.ecdh_public, [7; 32]);
    assert_eq!(
        (worker.tee, worker.confidence),
        (TeeKind::Dev, ConfidenceLevel::UpToDate)
    );
    assert_eq!(worker.endpoint, "http://127.0.0.1:8000");
}

#[test]
fn a_quote_copied_into_another_registration_is_refused() {
    let mut chain = Chain::dev();
    let identity = Keypair::dev("worker-1").account_id();
    let quote = dev_quote(
        &chain,
        &identity,
        &[7; 32],
        Role::Worker,
        dev_measurement_bytes(),
    );
    // Someone else lifts the quote from the pool to become the enclave's operator...
    let thief = chain.signed(
        &Keypair::dev("alice"),
        0,
        FEE,
        register_call(&chain, identity, [7; 32], Role::Worker, quote.clone()),
    );
    // ...or to point the chain's clients at their own server.
    let mut elsewhere = register_call(&chain, identity, [7; 32], Role::Worker, quote);
    if let Call::RegisterWorker { endpoint, .. } = &mut elsewhere {
        *endpoint = b"http://attacker.example".to_vec();
    }
    let redirect = chain.signed(&Keypair::dev(OPERATOR), 0, FEE, elsewhere);
    // The identity's signature covers the operator and the endpoint as the quote does: a
    // lifted registration fails on it before the quote is even checked.
    for result in chain.block(&[thief, redirect]) {
        assert!(
            matches!(&result, Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized) && e.to_string().contains("not signed by that identity")),
            "{result:?}"
        );
    }
    assert_eq!(registry::worker(&chain.state, &identity).unwrap(), None);
}

#[test]
fn only_the_identity_key_re_registers_an_identity_and_only_from_its_measurement() {
    let mut chain = Chain::dev();
    let operator = Keypair::dev(OPERATOR);
    let enclave = Keypair::dev(ENCLAVE);
    let identity = enclave.account_id();
    let quote = dev_quote(
        &chain,
        &identity,
        &[7; 32],
        Role::Worker,
        dev_measurement_bytes(),
    );
    let first = chain.signed(
        &operator,
        0,
        FEE,
        register_call(&chain, identity, [7; 32], Role::Worker, quote),
    );
    assert!(chain.block(&[first])[0].is_ok());

    // A dev quote anyone can make, for the same identity with the attacker's ECDH key, signed by
    // the attacker's key instead of the identity's: refused, the enclave keeps its keys.
    let attacker_ecdh = [66; 32];
    let quote = dev_quote(
        &chain,
        &identity,
        &attacker_ecdh,
        Role::Worker,
        dev_measurement_bytes(),
    );
    let enrollment = Enrollment {
        identity: &identity,
        ecdh_public: &attacker_ecdh,
        chain_id: &chain.params.chain_id,
        role: Role::Worker,
        operator: &operator.account_id(),
        endpoint: ENDPOINT,
    };
    let mut takeover = enrollment.register_call(&enclave, quote.clone());
    if let Call::RegisterWorker { identity_proof, .. } = &mut takeover {
        *identity_proof = Keypair::dev("mallory").sign(&enrollment.identity_message());
    }
    let takeover = chain.signed(&operator, 1, FEE, takeover);
    assert!(matches!(
        &chain.block(&[takeover])[0],
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized)
    ));
    let kept = registry::worker(&chain.state, &identity).unwrap().unwrap();
    assert_eq!(kept.ecdh_public, [7; 32]);

    // The identity itself moving to new keys: fine. From another build: refused.
    let rekey = chain.signed(
        &operator,
        1,
        FEE,
        register_call(&chain, identity, attacker_ecdh, Role::Worker, quote),
    );
    assert!(chain.block(&[rekey])[0].is_ok());
    let other_build = [9; 32];
    let allow = chain.signed(
        &Keypair::dev("alice"),
        0,
        FEE,
        Call::Sudo(SudoCall::AddMeasurement(Measurement::Dev(other_build))),
    );
    assert!(chain.block(&[allow])[0].is_ok());
    let quote = dev_quote(&chain, &identity, &[8; 32], Role::Worker, other_build);
    let moved = chain.signed(
        &operator,
        2,
        FEE,
        register_call(&chain, identity, [8; 32], Role::Worker, quote),
    );
    assert!(matches!(
        &chain.block(&[moved])[0],
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized) && e.to_string().contains("measurement")
    ));
}

#[test]
fn evidence_that_does_not_commit_to_the_registered_keys_is_refused() {
    let mut chain = Chain::dev();
    let operator = Keypair::dev(OPERATOR);
    let identity = Keypair::dev("worker-1").account_id();
    // A genuine quote for other keys, another role, or another chain.
    let for_other_ecdh = dev_quote(
        &chain,
        &identity,
        &[8; 32],
        Role::Worker,
        dev_measurement_bytes(),
    );
    let for_gatekeeper = dev_quote(
        &chain,
        &identity,
        &[7; 32],
        Role::Gatekeeper,
        dev_measurement_bytes(),
    );
    let mut other_chain = Chain::dev();
    other_chain.params.chain_id.0[0] ^= 1;
    let for_other_chain = dev_quote(
        &other_chain,
        &identity,
        &[7; 32],
        Role::Worker,
        dev_measurement_bytes(),
    );
    for quote in [for_other_ecdh, for_gatekeeper, for_other_chain] {
        let tx = chain.signed(
            &operator,
            0,
            FEE,
            register_call(&chain, identity, [7; 32], Role::Worker, quote),
        );
        assert!(
            matches!(&chain.block(&[tx])[0], Err(TxError::Attestation(m)) if m.contains("report data"))
        );
    }
    // A measurement not on the allow-list, and a key the chain does not trust.
    let unknown_code = dev_quote(&chain, &identity, &[7; 32], Role::Worker, [0xaa; 32]);
    let tx = chain.signed(
        &operator,
        0,
        FEE,
        register_call(
            &chain,
            identity,
            [7; 32],
            Role::Worker,
            unknown_code.clone(),
        ),
    );
    assert!(
        matches!(&chain.block(&[tx])[0], Err(TxError::Attestation(m)) if m.contains("allow-list"))
    );
    let forger = DevProvider::new_insecure(Keypair::dev("forger"), dev_measurement_bytes());
    let forged = forger
        .quote(
            &Enrollment {
                identity: &identity,
                ecdh_public: &[7; 32],
                chain_id: &chain.params.chain_id,
                role: Role::Worker,
                operator: &operator.account_id(),
                endpoint: ENDPOINT,
            }
            .report_data(),
        )
        .unwrap();
    let tx = chain.signed(
        &operator,
        0,
        FEE,
        register_call(&chain, identity, [7; 32], Role::Worker, forged),
    );
    assert!(matches!(
        &chain.block(&[tx])[0],
        Err(TxError::Attestation(_))
    ));
    assert_eq!(registry::worker(&chain.state, &identity).unwrap(), None);

    // Once sudo allows that measurement, the same evidence registers.
    let allow = chain.signed(
        &Keypair::dev("alice"),
        0,
        FEE,
        Call::Sudo(SudoCall::AddMeasurement(Measurement::Dev([0xaa; 32]))),
    );
    let tx = chain.signed(
        &operator,
        0,
        FEE,
        register_call(&chain, identity, [7; 32], Role::Worker, unknown_code),
    );
    assert_eq!(chain.block(&[allow, tx]), vec![Ok(()), Ok(())]);
    assert!(registry::policy(&chain.state)
        .unwrap()
        .measurements
        .contains(&Measurement::Dev([0xaa; 32])));
}

#[test]
fn a_real_sgx_quote_for_other_keys_is_refused() {
    let mut chain = Chain::dev();
    let samples = concat!(env!("CARGO_MANIFEST_DIR"), "/../attestation/tests/samples");
    let quote = AttestationReport::Dcap {
        quote: std::fs::read(format!("{samples}/sgx_quote")).unwrap(),
        collateral_json: std::fs::read(format!("{samples}/sgx_quote_collateral.json")).unwrap(),
    };
    let identity = Keypair::dev("worker-1").account_id();
    let tx = chain.signed(
        &Keypair::dev("bob"),
        0,
        FEE,
        register_call(&chain, identity, [7; 32], Role::Worker, quote),
    );
    // The test chain's blocks are dated 2026, after the sample collateral expired: refused
    // either way, and never recorded.
    assert!(matches!(
        &chain.block(&[tx])[0],
        Err(TxError::Attestation(_))
    ));
    assert_eq!(registry::worker(&chain.state, &identity).unwrap(), None);
}

#[test]
fn only_sudo_changes_the_allow_list() {
    let mut chain = Chain::dev();
    let call = Call::Sudo(SudoCall::AddMeasurement(Measurement::SgxMrEnclave([1; 32])));
    let by_bob = chain.signed(&Keypair::dev("bob"), 0, FEE, call.clone());
    assert_eq!(chain.block(&[by_bob]), vec![Err(TxError::NotSudo)]);
    let by_alice = chain.signed(&Keypair::dev("alice"), 0, FEE, call);
    assert_eq!(chain.block(&[by_alice]), vec![Ok(())]);
    let remove = chain.signed(
        &Keypair::dev("alice"),
        1,
        FEE,
        Call::Sudo(SudoCall::RemoveMeasurement(Measurement::SgxMrEnclave(
            [1; 32],
        ))),
    );
    let again = chain.signed(
        &Keypair::dev("alice"),
        2,
        FEE,
        Call::Sudo(SudoCall::RemoveMeasurement(Measurement::SgxMrEnclave(
            [1; 32],
        ))),
    );
    let results = chain.block(&[remove, again]);
    assert_eq!(results[0], Ok(()));
    assert!(matches!(results[1], Err(ref e) if e.refusal() == Some(Refusal::InvalidCall)));
    assert_eq!(
        registry::policy(&chain.state).unwrap().measurements,
        vec![dev_measurement()]
    );
}
