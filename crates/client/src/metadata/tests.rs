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
