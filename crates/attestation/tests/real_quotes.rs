//! The verifier on real Intel SGX and TDX quotes (tests/samples, see its README): they verify at
//! a time inside their collateral's window, and every alteration is refused — a flipped byte in
//! the signed body or the collateral, another measurement, expired collateral, wrong report data.

use dcap_qvl::quote::{Quote, Report};
use phalanx_attestation::*;

/// 2025-07-01T00:00:00Z: inside the SGX and TDX samples' collateral windows.
const JULY_2025: u64 = 1_751_328_000;
/// 2026-03-01T00:00:00Z: inside the outdated TDX sample's window.
const MARCH_2026: u64 = 1_772_323_200;

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn evidence(quote: &str) -> AttestationReport {
    AttestationReport::Dcap {
        quote: sample(quote),
        collateral_json: sample(&format!("{quote}_collateral.json")),
    }
}

/// The measurement and report data inside a quote, read without verifying it.
fn contents(quote: &[u8]) -> (Measurement, [u8; 64]) {
    match Quote::parse(quote).unwrap().report {
        Report::SgxEnclave(r) => (Measurement::SgxMrEnclave(r.mr_enclave), r.report_data),
        Report::TD10(r) => (Measurement::TdxMrTd(r.mr_td), r.report_data),
        Report::TD15(r) => (Measurement::TdxMrTd(r.base.mr_td), r.base.report_data),
        Report::TD15Ex(r) => (
            Measurement::TdxMrTd(r.base.base.mr_td),
            r.base.base.report_data,
        ),
    }
}

fn policy_for(quote: &str) -> (AttestationPolicy, [u8; 64]) {
    let (measurement, data) = contents(&sample(quote));
    (
        AttestationPolicy::production(vec![measurement], ConfidenceLevel::OutOfDate),
        data,
    )
}

#[test]
fn sgx_quote_verifies_with_its_tcb_status() {
    let (policy, data) = policy_for("sgx_quote");
    let verified = verify(&evidence("sgx_quote"), &data, JULY_2025, &policy).unwrap();
    assert_eq!(verified.kind(), TeeKind::Sgx);
    assert_eq!(verified.tcb_status(), "ConfigurationAndSWHardeningNeeded");
    assert_eq!(verified.confidence(), ConfidenceLevel::ConfigurationNeeded);
    assert!(verified
        .advisory_ids()
        .iter()
        .any(|a| a == "INTEL-SA-00289"));
    assert!(verified
        .advisory_ids()
        .iter()
        .any(|a| a == "INTEL-SA-00615"));
}

#[test]
fn tdx_quote_verifies_up_to_date() {
    let (policy, data) = policy_for("tdx_quote");
    let verified = verify(&evidence("tdx_quote"), &data, JULY_2025, &policy).unwrap();
    assert_eq!(verified.kind(), TeeKind::Tdx);
    assert_eq!(verified.confidence(), ConfidenceLevel::UpToDate);
    assert!(matches!(verified.measurement(), Measurement::TdxMrTd(_)));
}

#[test]
fn outdated_tdx_platform_is_refused() {
    let (policy, data) = policy_for("tdx_quote_outdated");
    let error = verify(&evidence("tdx_quote_outdated"), &data, MARCH_2026, &policy).unwrap_err();
    assert!(matches!(error, AttestationError::Dcap(_)), "{error}");
}

/// Positions of PEM line breaks and of the bytes of `-----…-----` armor lines.
fn pem_armor(bytes: &[u8]) -> std::collections::HashSet<usize> {
    let mut armor = std::collections::HashSet::new();
    let mut line_start = 0;
    for (i, byte) in bytes.iter().enumerate() {
        if *byte == b'\n' {
            if bytes[line_start..i].starts_with(b"-----") {
                armor.extend(line_start..i);
            }
            armor.insert(i);
            line_start = i + 1;
        }
    }
    armor
}

#[test]
fn every_flipped_byte_of_the_signed_body_is_refused() {
    // Header (48 bytes) plus the report body: 384 bytes for SGX, 584 for TDX 1.0.
    for (quote, body_len) in [("sgx_quote", 48 + 384), ("tdx_quote", 48 + 584)] {
        let (policy, data) = policy_for(quote);
        let collateral_json = sample(&format!("{quote}_collateral.json"));
        let original = sample(quote);
        for position in 0..body_len {
            let mut altered = original.clone();
            altered[position] ^= 0x01;
            let report = AttestationReport::Dcap {
                quote: altered,
                collateral_json: collateral_json.clone(),
            };
            assert!(
                verify(&report, &data, JULY_2025, &policy).is_err(),
                "{quote}: flipping byte {position} went unnoticed"
            );
        }
        // And a spread of positions in the signature data and the PEM certification chain after
        // it, up to the chain's root certificate: the verifier trusts Intel's root CA built into
        // dcap-qvl, not the copy a quote carries, so that copy is rightly ignored. PEM armor (line
        // breaks, `-----BEGIN/END` lines) is skipped too: altering it changes no certificate byte.
        let armor = pem_armor(&original);
        let root_cert = original
            .windows(27)
            .rposition(|w| w == b"-----BEGIN CERTIFICATE-----")
            .unwrap();
        // The 4-byte length of the signature data that follows the body is framing, not content.
        for position in (body_len + 4..root_cert)
            .step_by(7)
            .filter(|p| !armor.contains(p))
        {
            let mut altered = original.clone();
            altered[position] ^= 0x01;
            let report = AttestationReport::Dcap {
                quote: altered,
                collateral_json: collateral_json.clone(),
            };
            assert!(
                verify(&report, &data, JULY_2025, &policy).is_err(),
                "{quote}: flipping byte {position} went unnoticed"
            );
        }
    }
}

#[test]
fn altered_collateral_is_refused() {
    let (policy, data) = policy_for("sgx_quote");
    let original: serde_json::Value =
        serde_json::from_slice(&sample("sgx_quote_collateral.json")).unwrap();
    let fields = [
        "tcb_info",
        "tcb_info_signature",
        "qe_identity",
        "qe_identity_signature",
        "pck_crl",
        "root_ca_crl",
    ];
    for field in fields {
        let text = original[field].as_str().unwrap();
        for position in [text.len() / 3, text.len() / 2, text.len() - 5] {
            let mut bytes = text.as_bytes().to_vec();
            // Change one hex digit or one JSON character to another of the same kind.
            bytes[position] = match bytes[position] {
                b'0'..=b'8' => bytes[position] + 1,
                b'9' => b'0',
                b'a'..=b'e' => bytes[position] + 1,
                b'f' => b'a',
                other => other ^ 0x01,
            };
            let mut altered = original.clone();
            altered[field] =
                serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned());
            let report = AttestationReport::Dcap {
                quote: sample("sgx_quote"),
                collateral_json: serde_json::to_vec(&altered).unwrap(),
            };
            assert!(
                verify(&report, &data, JULY_2025, &policy).is_err(),
                "altering {field} at {position} went unnoticed"
            );
        }
    }
    let report = AttestationReport::Dcap {
        quote: sample("sgx_quote"),
        collateral_json: b"{not json".to_vec(),
    };
    assert!(matches!(
        verify(&report, &data, JULY_2025, &policy),
        Err(AttestationError::MalformedCollateral(_))
    ));
}

#[test]
fn expired_or_not_yet_valid_collateral_is_refused() {
    let (policy, data) = policy_for("sgx_quote");
    // 2025-08-01 (after nextUpdate) and 2025-06-01 (before issue).
    for time in [1_754_006_400, 1_748_736_000] {
        assert!(
            matches!(
                verify(&evidence("sgx_quote"), &data, time, &policy),
                Err(AttestationError::Dcap(_))
            ),
            "time {time}"
        );
    }
}

#[test]
fn policy_decides_measurements_confidence_and_report_data() {
    let (policy, data) = policy_for("sgx_quote");
    let other = AttestationPolicy {
        measurements: vec![Measurement::SgxMrEnclave([0; 32])],
        ..policy.clone()
    };
    assert!(matches!(
        verify(&evidence("sgx_quote"), &data, JULY_2025, &other),
        Err(AttestationError::MeasurementNotAllowed(_))
    ));
    let strict = AttestationPolicy {
        worst_accepted_confidence: ConfidenceLevel::UpToDate,
        ..policy.clone()
    };
    assert!(matches!(
        verify(&evidence("sgx_quote"), &data, JULY_2025, &strict),
        Err(AttestationError::ConfidenceNotAccepted { .. })
    ));
    let mut wrong = data;
    wrong[0] ^= 1;
    assert_eq!(
        verify(&evidence("sgx_quote"), &wrong, JULY_2025, &policy),
        Err(AttestationError::ReportDataMismatch)
    );
    let no_dcap = AttestationPolicy {
        accept_dcap: false,
        ..policy
    };
    assert_eq!(
        verify(&evidence("sgx_quote"), &data, JULY_2025, &no_dcap),
        Err(AttestationError::DcapNotAccepted)
    );
}
