//! Clients decode what a worker answers (results, receipt events, notifications) by a
//! contract's metadata. A lying worker's bytes must never panic the decoder, loop or recurse
//! without end; what decodes must encode back, from its JSON, to the same bytes. The first byte
//! picks the example contract and what the rest is.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phalanx_client::metadata::{MessageKind, Metadata, NoNames};
use std::sync::OnceLock;

const EXAMPLES: [&str; 4] = [
    include_str!("../../contracts/counter/counter.metadata.json"),
    include_str!("../../contracts/private_token/private_token.metadata.json"),
    include_str!("../../contracts/data_market/data_market.metadata.json"),
    include_str!("../../contracts/sealed_auction/sealed_auction.metadata.json"),
];

fn examples() -> &'static [Metadata] {
    static PARSED: OnceLock<Vec<Metadata>> = OnceLock::new();
    PARSED.get_or_init(|| {
        EXAMPLES
            .iter()
            .map(|text| Metadata::from_json(text).expect("the committed metadata reads"))
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let metadata = &examples()[usize::from(selector) % EXAMPLES.len()];
    let kind = [MessageKind::Instantiate, MessageKind::Command, MessageKind::Query]
        [usize::from(selector / 4) % 3];
    if let Ok(json) = metadata.decode_message(kind, bytes) {
        // No account names are involved: decoded accounts are addresses.
        let again = metadata.encode_message(kind, &json, &NoNames).expect("decoded JSON encodes");
        assert_eq!(again, bytes);
    }
    let _ = metadata.decode_result(kind, bytes);
    let _ = metadata.decode_event(bytes);
});
