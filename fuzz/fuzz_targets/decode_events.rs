//! Workers take a block's events from a node's RPC (`chain_getEventsRaw`) before checking them
//! against the header. Decoding must never panic, and what decodes must re-encode to the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parity_scale_codec::{DecodeLimit, Encode};
use phalanx_primitives::EventRecord;

fuzz_target!(|data: &[u8]| {
    let mut input = data;
    if let Ok(records) = Vec::<EventRecord>::decode_with_depth_limit(16, &mut input) {
        if input.is_empty() {
            assert_eq!(records.encode(), data);
            let _ = phalanx_primitives::events_root(&records);
        }
    }
});
