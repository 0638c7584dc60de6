//! Simulated quotes and the file protocols of the real providers.

use phalanx_attestation::*;
use phalanx_crypto::Keypair;
use phalanx_primitives::{AccountId, Hash};

const NOW: u64 = 1_767_225_600;

fn enrollment_data(change: impl FnOnce(&mut [[u8; 32]; 5], &mut Role, &mut Vec<u8>)) -> [u8; 64] {
    let mut parts = [[1u8; 32], [2; 32], [3; 32], [4; 32], [0; 32]];
    let mut role = Role::Worker;
    let mut endpoint = b"http://127.0.0.1:9946".to_vec();
    change(&mut parts, &mut role, &mut endpoint);
    let [identity, ecdh, chain, operator, _] = parts;
    Enrollment {
        identity: &AccountId::from_bytes(identity),
        ecdh_public: &ecdh,
        chain_id: &Hash(chain),
        role,
        operator: &AccountId::from_bytes(operator),
        endpoint: &endpoint,
    }
    .report_data()
}

fn data() -> [u8; 64] {
    enrollment_data(|_, _, _| {})
}

#[test]
fn report_data_commits_to_every_part() {
    let base = data();
    for part in 0..4 {
        let changed = enrollment_data(|parts, _, _| parts[part] = [9; 32]);
        assert_ne!(base, changed, "part {part}");
    }
    assert_ne!(base, enrollment_data(|_, role, _| *role = Role::Gatekeeper));
    assert_ne!(base, enrollment_data(|_, _, e| e.push(b'0')));
    // The keys' half is DESIGN.md's digest; the operator and endpoint only change the second half.
    assert_eq!(
        base[..32],
        enrollment_data(|parts, _, e| {
            parts[3] = [9; 32];
            e.clear()
        })[..32]
    );
}

#[test]
fn dev_quotes_verify_only_where_the_chain_accepts_them() {
    let provider = DevProvider::new_insecure(Keypair::dev("dev-attestation"), [5; 32]);
    let quote = provider.quote(&data()).unwrap();
    let dev_policy =
        AttestationPolicy::dev(provider.attestation_key(), vec![Measurement::Dev([5; 32])]);
    assert_eq!(
        verify(&quote, &data(), NOW, &dev_policy).unwrap().kind(),
        TeeKind::Dev
    );

    let production =
        AttestationPolicy::production(vec![Measurement::Dev([5; 32])], ConfidenceLevel::OutOfDate);
    assert!(matches!(
        verify(&quote, &data(), NOW, &production),
        Err(AttestationError::DevNotAccepted(_))
    ));

    let AttestationReport::Dev(mut forged) = quote.clone() else {
        unreachable!()
    };
    forged.measurement = [6; 32];
    let forged = AttestationReport::Dev(forged);
    let lenient =
        AttestationPolicy::dev(provider.attestation_key(), vec![Measurement::Dev([6; 32])]);
    assert_eq!(
        verify(&forged, &data(), NOW, &lenient),
        Err(AttestationError::BadDevQuote)
    );

    let stranger = DevProvider::new_insecure(Keypair::dev("someone-else"), [5; 32])
        .quote(&data())
        .unwrap();
    assert!(matches!(
        verify(&stranger, &data(), NOW, &dev_policy),
        Err(AttestationError::DevNotAccepted(_))
    ));
}

#[test]
fn gramine_provider_writes_report_data_and_reads_the_quote() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("quote"), b"quote bytes").unwrap();
    std::fs::write(dir.path().join("collateral.json"), b"{}").unwrap();
    let provider = GramineSgxProvider::new(dir.path(), dir.path().join("collateral.json"));
    let report = provider.quote(&data()).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("user_report_data")).unwrap(),
        data()
    );
    assert_eq!(
        report,
        AttestationReport::Dcap {
            quote: b"quote bytes".to_vec(),
            collateral_json: b"{}".to_vec()
        }
    );

    let missing = GramineSgxProvider::new(
        dir.path().join("absent"),
        dir.path().join("collateral.json"),
    );
    let error = missing.quote(&data()).unwrap_err().to_string();
    assert!(error.contains("writing report data"), "{error}");
}

#[test]
fn tdx_provider_says_clearly_when_configfs_is_absent() {
    let dir = tempfile::tempdir().unwrap();
    let provider = TdxConfigfsProvider::new(dir.path().join("no-tsm"), dir.path().join("c.json"));
    let error = provider.quote(&data()).unwrap_err().to_string();
    assert!(error.contains("configfs-tsm"), "{error}");
}
