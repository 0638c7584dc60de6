//! JSON shapes of the API. Hashes are `0x` hex, accounts `phx1…` addresses, amounts decimal
//! strings of units (`*_units`) or of PHA where a field says so.

mod call;
mod chain;
mod event;
mod registry;

pub use call::{describe_parameter, describe_sudo_call, CallView, OutputView};
pub use chain::{
    AccountView, BlockView, ChainInfo, HeaderView, SubmitOutcome, TokenInfo, TransactionView,
    TxRejection, TxStatus,
};
pub use event::{EventKindView, EventView};
pub use registry::{
    ClusterView, CodeView, ContractView, DigestView, MasterKeyView, PublishedKey, WorkerView,
};
