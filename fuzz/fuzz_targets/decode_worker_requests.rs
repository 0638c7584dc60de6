//! What workers and gatekeepers decode from anyone on their RPC: a query's envelope
//! (`worker_query`), the signed query inside it once opened (with any permit it carries), and a
//! TDX enclave's sealing-root request (`gatekeeper_sealingRoot`); what clients decode from a
//! worker: answers with their block, receipts and notification pages; a permit file; and what
//! an enclave decodes from its (untrusted) node before checking its hash: the genesis
//! description. Decoding must never panic, and what decodes must re-encode to the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parity_scale_codec::{DecodeAll, Encode};
use phalanx_primitives::attestation::SealingRootRequest;
use phalanx_primitives::query::{Answered, Notification, Receipt, SignedPermit, SignedQuery};
use phalanx_primitives::{Envelope, GenesisConfig};

fn round_trip<T: DecodeAll + Encode>(data: &[u8]) {
    if let Ok(value) = T::decode_all(&mut &data[..]) {
        assert_eq!(value.encode(), data);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 8 {
        0 => round_trip::<Envelope>(rest),
        1 => round_trip::<SignedQuery>(rest),
        2 => round_trip::<SealingRootRequest>(rest),
        3 => round_trip::<Receipt>(rest),
        4 => round_trip::<GenesisConfig>(rest),
        5 => round_trip::<Vec<Notification>>(rest),
        6 => round_trip::<SignedPermit>(rest),
        _ => round_trip::<Answered>(rest),
    }
});
