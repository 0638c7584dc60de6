//! Blocks arrive from the node's RPC at clients and (later) workers. Decoding must never panic,
//! and what decodes must re-encode to exactly the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parity_scale_codec::Encode;
use phalanx_primitives::Block;

fuzz_target!(|data: &[u8]| {
    if let Ok(block) = Block::decode_untrusted(data) {
        assert_eq!(block.encode(), data);
        let _ = Block::transactions_root(&block.transactions);
    }
});
