//! Transactions arrive from anyone over RPC. Decoding must never panic, and whatever decodes must
//! be canonical: re-encoding gives back exactly the input (else two byte strings would carry the
//! same transaction, and size-based fees or hashes could be gamed).
#![no_main]

use libfuzzer_sys::fuzz_target;
use parity_scale_codec::Encode;
use phalanx_primitives::SignedTransaction;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = SignedTransaction::decode_untrusted(data) {
        assert_eq!(tx.encode(), data);
        let _ = tx.hash();
    }
});
