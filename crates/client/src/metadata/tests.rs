//! The transcoder against the example contracts' real types (their metadata built natively).

use super::*;
use parity_scale_codec::Encode;
use phalanx_primitives::AccountId;
use serde_json::json;

fn token() -> Metadata {
    let identity = ContractIdentity {
        name: "private_token".into(),
        version: "0.1.0".into(),
        code_hash: Hash([1; 32]),
    };
    Metadata::from_entry_output(identity, &private_token::__phalanx_metadata().encode()).unwrap()
}

fn market() -> Metadata {
    let identity = ContractIdentity {
        name: "data_market".into(),
        version: "0.1.0".into(),
        code_hash: Hash([2; 32]),
    };
    Metadata::from_entry_output(identity, &data_market::__phalanx_metadata().encode()).unwrap()
}

struct Bob;

impl AccountNames for Bob {
    fn account(&self, name: &str) -> Option<AccountId> {
        (name == "bob").then(|| AccountId::from_bytes([0xb0; 32]))
    }
}

fn sdk(bytes: [u8; 32]) -> phalanx_sdk::AccountId {
    phalanx_sdk::AccountId(bytes)
}

#[test]
fn json_messages_encode_exactly_as_the_contract_decodes_them() {
    let metadata = token();
    let transfer = json!({"transfer": {"to": "bob", "amount": "300"}});
    let bytes = metadata
        .encode_message(MessageKind::Command, &transfer, &Bob)
        .unwrap();
    let expected = private_token::Command::Transfer {
        to: sdk([0xb0; 32]),
        amount: 300,
    };
    assert_eq!(bytes, expected.encode());
    // And back, with the account as its address.
    let address = AccountId::from_bytes([0xb0; 32]).to_string();
    assert_eq!(
        metadata
            .decode_message(MessageKind::Command, &bytes)
            .unwrap(),
        json!({"transfer": {"to": address, "amount": "300"}})
    );
    // A unit variant is its name; the Rust spelling is taken too; numbers do for amounts.
    for deposit in [json!("deposit"), json!("Deposit")] {
        let bytes = metadata
            .encode_message(MessageKind::Command, &deposit, &NoNames)
            .unwrap();
        assert_eq!(bytes, private_token::Command::Deposit.encode());
    }
    let mint = json!({"mint": {"to": address, "amount": 5}});
    assert!(metadata
        .encode_message(MessageKind::Command, &mint, &NoNames)
        .is_ok());
    let init =
        json!({"name": "Secret", "symbol": "SCRT", "initial_supply": "1000", "pha_backed": false});
    let bytes = metadata
        .encode_message(MessageKind::Instantiate, &init, &NoNames)
        .unwrap();
    let expected = private_token::Init {
        name: "Secret".into(),
        symbol: "SCRT".into(),
        initial_supply: 1000,
        pha_backed: false,
    };
    assert_eq!(bytes, expected.encode());
    // Results and events decode too.
    assert_eq!(
        metadata
            .decode_result(MessageKind::Query, &12u128.encode())
            .unwrap(),
        json!("12")
    );
    let event = private_token::Transferred {
        from: sdk([1; 32]),
        to: sdk([0xb0; 32]),
        amount: 7,
    };
    let decoded = metadata.decode_event(&event.encode()).unwrap().unwrap();
    assert_eq!(decoded["amount"], "7");
    assert_eq!(decoded["to"], address.as_str());
}

#[test]
fn nested_types_options_and_bytes_take_their_json_forms() {
    let metadata = market();
    let publish = json!({"publish": {
        "topic": "weather",
        "data": "0x0102ff",
        "offer": {"price": "2000000000000", "duration_ms": 60000},
    }});
    let bytes = metadata
        .encode_message(MessageKind::Command, &publish, &NoNames)
        .unwrap();
    let decoded = metadata
        .decode_message(MessageKind::Command, &bytes)
        .unwrap();
    assert_eq!(decoded, publish);
    assert_eq!(
        metadata
            .decode_result(
                MessageKind::Query,
                &data_market::Answer::GrantUntil(5).encode()
            )
            .unwrap(),
        json!({"grant_until": 5})
    );
    assert_eq!(
        metadata
            .decode_result(MessageKind::Query, &data_market::Answer::Done.encode())
            .unwrap(),
        json!("done")
    );
}

#[test]
fn wrong_messages_are_refused_with_the_path_and_the_type_expected() {
    let metadata = token();
    let refusal = |json: serde_json::Value| {
        metadata
            .encode_message(MessageKind::Command, &json, &Bob)
            .unwrap_err()
            .to_string()
    };
    let unknown_field = refusal(json!({"transfer": {"to": "bob", "amount": "1", "memo": "x"}}));
    assert!(
        unknown_field.contains("`command.transfer`")
            && unknown_field.contains("unknown field `memo`"),
        "{unknown_field}"
    );
    let missing = refusal(json!({"transfer": {"to": "bob"}}));
    assert!(
        missing.contains("`command.transfer.amount`") && missing.contains("missing"),
        "{missing}"
    );
    let wrong_type = refusal(json!({"transfer": {"to": "bob", "amount": true}}));
    assert!(
        wrong_type.contains("`command.transfer.amount`") && wrong_type.contains("u128"),
        "{wrong_type}"
    );
    let negative = refusal(json!({"transfer": {"to": "bob", "amount": "-1"}}));
    assert!(negative.contains("u128"), "{negative}");
    let fraction = refusal(json!({"transfer": {"to": "bob", "amount": 1.5}}));
    assert!(fraction.contains("u128"), "{fraction}");
    // The whole u128 range goes in, past i128::MAX too (found by the fuzzer).
    let top = json!({"transfer": {"to": "bob", "amount": u128::MAX.to_string()}});
    assert!(metadata
        .encode_message(MessageKind::Command, &top, &Bob)
        .is_ok());
    let stranger = refusal(json!({"transfer": {"to": "mallory", "amount": "1"}}));
    assert!(stranger.contains("`mallory` is neither"), "{stranger}");
    let variant = refusal(json!({"steal": {}}));
    assert!(
        variant.contains("unknown `steal`")
            && variant.contains("transfer, mint, deposit, withdraw"),
        "{variant}"
    );
    let needs_fields = refusal(json!("transfer"));
    assert!(
        needs_fields.contains("object with fields to, amount"),
        "{needs_fields}"
    );
}

#[test]
fn bytes_that_do_not_decode_say_where_and_as_what() {
    let metadata = token();
    let short = metadata
        .decode_message(MessageKind::Command, &[0, 1, 2])
        .unwrap_err()
        .to_string();
    assert!(short.contains("command.transfer.to"), "{short}");
    let mut long = private_token::Command::Deposit.encode();
    long.push(9);
    let left_over = metadata
        .decode_message(MessageKind::Command, &long)
        .unwrap_err()
        .to_string();
    assert!(left_over.contains("1 bytes left over"), "{left_over}");
    let bad_variant = metadata
        .decode_message(MessageKind::Command, &[9])
        .unwrap_err()
        .to_string();
    assert!(bad_variant.contains("variant index 9"), "{bad_variant}");
}

#[test]
fn the_file_round_trips_and_is_checked() {
    let metadata = token();
    let text = metadata.to_json();
    let read = Metadata::from_json(&text).unwrap();
    assert_eq!(read, metadata);
    assert_eq!(read.hash(), metadata.hash());
    assert!(metadata.check_code(Hash([1; 32])).is_ok());
    assert!(matches!(
        metadata.check_code(Hash([3; 32])),
        Err(MetadataError::OtherCode { .. })
    ));
    let newer = text.replacen("\"phalanx_metadata\": 1", "\"phalanx_metadata\": 9", 1);
    assert!(matches!(
        Metadata::from_json(&newer),
        Err(MetadataError::UnsupportedVersion { found: 9 })
    ));
    assert!(matches!(
        Metadata::from_json("{}"),
        Err(MetadataError::NotMetadata(_))
    ));
}

/// A registry of `T` alone, as a metadata whose every message is `T`.
fn metadata_of<T: scale_info::TypeInfo + 'static>() -> Metadata {
    let mut registry = scale_info::Registry::new();
    let id = registry.register_type(&scale_info::MetaType::new::<T>()).id;
    let types = MessageTypes {
        input: id,
        output: id,
    };
    Metadata {
        phalanx_metadata: phalanx_sdk::metadata::METADATA_VERSION,
        contract: ContractIdentity {
            name: "t".into(),
            version: "0".into(),
            code_hash: Hash([0; 32]),
        },
        instantiate: types,
        command: types,
        query: types,
        events: None,
        types: registry.into(),
    }
}

#[test]
fn a_lying_answer_cannot_make_the_decoder_loop_or_recurse_without_end() {
    // Zero-sized elements cost no bytes: a length prefix alone could claim billions of them.
    let empties = metadata_of::<Vec<()>>();
    let claim = parity_scale_codec::Compact(u32::MAX).encode();
    let refused = empties
        .decode_result(MessageKind::Query, &claim)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("claims 4294967295 elements"), "{refused}");
    // A recursive type, nested past the depth followed.
    #[derive(parity_scale_codec::Encode, scale_info::TypeInfo)]
    #[allow(dead_code)]
    struct Node {
        next: Option<Box<Node>>,
    }
    let deep = metadata_of::<Node>();
    let bytes = vec![1u8; 10_000];
    let refused = deep
        .decode_result(MessageKind::Query, &bytes)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("nest deeper"), "{refused}");
    // (As deep as serde_json parses, 128: deeper JSON never reaches the encoder.)
    let nested = (0..128).fold(serde_json::Value::Null, |inner, _| json!({ "next": inner }));
    let refused = deep
        .encode_message(MessageKind::Command, &nested, &NoNames)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("nest deeper"), "{refused}");
}
