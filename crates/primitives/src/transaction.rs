//! Transactions: what an account asks the ledger to do, signed with its ed25519 key.
//!
//! Wire form (SCALE): `SignedTransaction { transaction: Transaction, signature: [u8; 64] }`.
//! The signature covers [`TX_SIGNING_DOMAIN`] followed by the SCALE encoding of `Transaction`.
//! The transaction hash is SHA-256 of that same encoding, so it does not depend on the signature
//! bytes: a re-signed or malleated copy is recognised as the same transaction.
//! See docs/protocol.md for the byte-level layout.

use crate::attestation::{AttestationReport, Measurement, Role};
use crate::economy::{Parameter, PoolId, ProposalId};
use crate::{AccountId, Balance, Envelope, Hash, Validator};
use parity_scale_codec::{Decode, DecodeAll, DecodeLimit, Encode};

/// Signing domain of transactions: a transaction signature never verifies for anything else.
pub const TX_SIGNING_DOMAIN: &[u8] = b"PHALANX_TX_V1";

/// Largest encoded signed transaction the node accepts, in bytes. Large enough for a contract
/// code upload (later issues), small enough that one client cannot fill a block with one call.
pub const MAX_TRANSACTION_SIZE: usize = 512 * 1024;

/// Nesting limit when decoding untrusted transaction bytes.
const DECODE_DEPTH_LIMIT: u32 = 16;

/// An ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct Signature(pub [u8; 64]);

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

/// What a transaction does. New variants are appended with new codec indices; an index is never
/// reused, so old blocks keep decoding.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Call {
    /// Move `amount` units from the signer to `to`.
    #[codec(index = 0)]
    Transfer { to: AccountId, amount: Balance },
    /// Register (or re-register) an enclave as a worker or gatekeeper. The signer is its
    /// operator and pays; the enclave proves itself by `attestation`, whose report data must
    /// commit to `identity`, `ecdh_public`, this chain and `role`.
    #[codec(index = 1)]
    RegisterWorker {
        identity: AccountId,
        ecdh_public: [u8; 32],
        role: Role,
        /// Boxed: a quote with collateral is large next to the other calls.
        attestation: Box<AttestationReport>,
        /// Where the worker serves queries (a URL, at most 256 bytes of UTF-8), or empty.
        endpoint: Vec<u8>,
        /// The identity key's signature over the registration (see the attestation crate's
        /// `Enrollment::identity_message`): only the enclave holding the identity registers it.
        identity_proof: Signature,
    },
    /// Privileged calls of the genesis `sudo` account (replaced by governance later).
    #[codec(index = 2)]
    Sudo(SudoCall),
    /// A gatekeeper publishes a cluster's public key (derived from the master key).
    #[codec(index = 3)]
    PublishClusterKey {
        cluster: Hash,
        epoch: u32,
        public_key: [u8; 32],
    },
    /// A gatekeeper sends a cluster key to a worker of that cluster, encrypted to its ECDH key.
    #[codec(index = 4)]
    KeyMessage {
        recipient: AccountId,
        cluster: Hash,
        envelope: Envelope,
    },
    /// Stores contract code (Wasm, validated by the VM's rules) under its SHA-256.
    #[codec(index = 5)]
    UploadCode { code: Vec<u8> },
    /// Creates a contract in a cluster; `init` is encrypted to the cluster's public key.
    /// The contract id is SHA-256("PHALANX_CONTRACT_ID_V1" | code hash | cluster | signer | salt).
    #[codec(index = 6)]
    Instantiate {
        code_hash: Hash,
        cluster: Hash,
        salt: Vec<u8>,
        init: Envelope,
        gas_limit: u64,
    },
    /// A gatekeeper publishes a contract's public key, so clients can encrypt to it.
    #[codec(index = 7)]
    PublishContractKey {
        contract: AccountId,
        epoch: u32,
        public_key: [u8; 32],
    },
    /// A confidential command, encrypted to the contract's public key; `gas_limit` is prepaid.
    /// `value` PHA moves from the sender to the contract's account at inclusion (the worker pays
    /// it back through egress if the command fails).
    #[codec(index = 8)]
    Command {
        contract: AccountId,
        envelope: Envelope,
        gas_limit: u64,
        value: Balance,
    },
    /// The first gatekeeper of a chain declares the master key it generated, by its public key
    /// (accepted once per epoch; every later gatekeeper receives that key and checks it).
    #[codec(index = 9)]
    PublishMasterKey { epoch: u32, public_key: [u8; 32] },
    /// A gatekeeper holding the master key hands it to a registered gatekeeper that does not,
    /// encrypted to the recipient's ECDH key (envelope context: contract = recipient).
    #[codec(index = 10)]
    ShareMasterKey {
        recipient: AccountId,
        envelope: Envelope,
    },
    /// A worker reports the keyed digests of its contracts' state after the given blocks, so the
    /// chain can tell when workers of one cluster disagree. Signed by the worker's identity.
    /// Also the worker's sign of life: any heartbeat answers a pending challenge. `performance`
    /// is the score of the benchmark the enclave ran, when it reports one. `digests` may be empty.
    #[codec(index = 11)]
    Heartbeat {
        performance: Option<u32>,
        digests: Vec<StateReport>,
    },
    /// A worker of the contract's cluster sends the contract's outputs numbered `first_seq`,
    /// `first_seq + 1`, ... to the chain. Each output is accepted once, in order, whichever of
    /// the cluster's workers sends it first. Signed by the worker's identity.
    #[codec(index = 12)]
    Egress {
        contract: AccountId,
        first_seq: u64,
        outputs: Vec<ContractOutput>,
    },
    /// Creates a stake pool owned by the signer, who takes `commission_percent` of its rewards.
    #[codec(index = 13)]
    CreatePool { commission_percent: u8 },
    /// Moves `amount` PHA from the signer into a pool, for shares at the pool's current price.
    #[codec(index = 14)]
    Deposit { pool: PoolId, amount: Balance },
    /// Asks for `shares` back; they are paid out as PHA (at the price then) after the cool-down.
    #[codec(index = 15)]
    Withdraw { pool: PoolId, shares: Balance },
    /// The pool's owner binds a worker it operates to the pool.
    #[codec(index = 16)]
    BindWorker { pool: PoolId, worker: AccountId },
    /// The pool's owner starts a bound worker computing, backed by `stake` of the pool's PHA:
    /// at least the minimum stake, and the pool's computing workers together back no more than
    /// the pool holds.
    #[codec(index = 17)]
    StartComputing { worker: AccountId, stake: Balance },
    /// The pool's owner stops a worker computing.
    #[codec(index = 18)]
    StopComputing { worker: AccountId },
    /// A gatekeeper holding the master key mixes fresh randomness (derived from the master key,
    /// so no single worker can predict it) into the seed that picks heartbeat challenges.
    #[codec(index = 19)]
    Randomness { value: Hash },
    /// Proposes a privileged call to governance; the signer locks the proposal deposit.
    #[codec(index = 20)]
    Propose { call: SudoCall },
    /// Votes on an open proposal with `amount` PHA, locked until the vote closes.
    #[codec(index = 21)]
    Vote {
        proposal: ProposalId,
        aye: bool,
        amount: Balance,
    },
    /// The pool's owner releases a worker that is not computing, so it can join another pool.
    #[codec(index = 22)]
    UnbindWorker { worker: AccountId },
    /// The uploader of `code_hash` records the SHA-256 of the code's metadata file
    /// (`NAME.metadata.json`), once, so clients can tell they have the right schema.
    #[codec(index = 23)]
    RecordMetadata {
        code_hash: Hash,
        metadata_hash: Hash,
    },
}

/// Most outputs one egress transaction may carry.
pub const MAX_EGRESS_OUTPUTS: usize = 64;

/// Something a contract sends out of the enclave, by egress.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ContractOutput {
    /// A public event, recorded on chain as `ContractEvent`.
    #[codec(index = 0)]
    Event(Vec<u8>),
    /// PHA paid from the contract's account.
    #[codec(index = 1)]
    Transfer { to: AccountId, amount: Balance },
    /// A message to another contract, sealed to it (envelope context: contract = `to`, sender =
    /// the sending contract); run there as a command with up to `gas_limit` gas, paid from the
    /// sending contract's account.
    #[codec(index = 2)]
    Message {
        to: AccountId,
        envelope: Envelope,
        gas_limit: u64,
    },
    /// The gas of a block's commands to this contract, settled from its escrow account
    /// (`gas_escrow`): what each payer prepaid and did not use goes back to it, and `fees` (the
    /// gas used, in PHA) are split between the cluster's workers and the treasury.
    #[codec(index = 3)]
    Settle {
        refunds: Vec<(AccountId, Balance)>,
        fees: Balance,
    },
}

/// Most reports one heartbeat may carry.
pub const MAX_STATE_REPORTS: usize = 64;

/// One contract's keyed state digest after block `height`, as a worker reports it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct StateReport {
    pub contract: AccountId,
    pub height: u64,
    pub digest: Hash,
}

/// A privileged call: what governance enacts, and what the dev `sudo` account may do directly.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum SudoCall {
    /// Allow enclaves with this measurement to register.
    #[codec(index = 0)]
    AddMeasurement(Measurement),
    /// Stop allowing new registrations with this measurement.
    #[codec(index = 1)]
    RemoveMeasurement(Measurement),
    /// Create a cluster of registered workers.
    #[codec(index = 2)]
    CreateCluster {
        cluster: Hash,
        workers: Vec<AccountId>,
    },
    /// Add a registered worker to a cluster.
    #[codec(index = 3)]
    AddToCluster { cluster: Hash, worker: AccountId },
    /// Start a new key epoch: gatekeepers derive the new master key from the old one, publish
    /// every cluster's and contract's key of the new epoch and send cluster keys to the current
    /// members; old epochs stay with the workers that have them, for replay.
    #[codec(index = 4)]
    RotateMasterKey,
    /// Deregister a worker: it leaves every cluster and gets no key from now on (rotate the
    /// master key afterwards so that it cannot read new commands either).
    #[codec(index = 5)]
    RemoveWorker { worker: AccountId },
    /// Change one economy parameter.
    #[codec(index = 6)]
    SetParameter { parameter: Parameter, value: u128 },
    /// Pay from the treasury.
    #[codec(index = 7)]
    SpendTreasury { to: AccountId, amount: Balance },
    /// Let a registered gatekeeper enclave act as a gatekeeper.
    #[codec(index = 8)]
    ElectGatekeeper { identity: AccountId },
    /// Stop a gatekeeper acting as one (rotate the master key afterwards).
    #[codec(index = 9)]
    RemoveGatekeeper { identity: AccountId },
    /// Make `validators` the chain's validators from the first epoch that starts at least
    /// `VALIDATOR_SET_DELAY` blocks ahead (chains whose genesis sets `blocks_per_epoch` only).
    #[codec(index = 10)]
    SetValidators { validators: Vec<Validator> },
}

/// The signed part of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Transaction {
    /// Genesis hash of the chain this transaction is meant for.
    pub chain_id: Hash,
    /// The account that signs and pays.
    pub signer: AccountId,
    /// Must equal the signer's number of applied transactions.
    pub nonce: u64,
    /// Fee in units, paid to the treasury; at least the chain's minimum for the encoded size.
    pub fee: Balance,
    pub call: Call,
}

impl Transaction {
    /// The bytes the signer signs.
    pub fn signing_message(&self) -> Vec<u8> {
        let mut message = TX_SIGNING_DOMAIN.to_vec();
        self.encode_to(&mut message);
        message
    }

    /// The transaction's identity.
    pub fn hash(&self) -> Hash {
        crate::sha256(&self.encode())
    }
}

/// A transaction with its signer's signature. Not yet verified: only `phalanx-crypto` turns it
/// into something the runtime will apply.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SignedTransaction {
    pub transaction: Transaction,
    pub signature: Signature,
}

/// Why bytes are not a signed transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxDecodeError {
    #[error("transaction is {size} bytes; the limit is {MAX_TRANSACTION_SIZE}")]
    TooLarge { size: usize },
    #[error("transaction bytes do not decode: {0}")]
    Malformed(String),
}

impl SignedTransaction {
    pub fn hash(&self) -> Hash {
        self.transaction.hash()
    }

    /// Decodes untrusted bytes: size-capped, depth-limited, and every byte must be consumed.
    pub fn decode_untrusted(bytes: &[u8]) -> Result<Self, TxDecodeError> {
        if bytes.len() > MAX_TRANSACTION_SIZE {
            return Err(TxDecodeError::TooLarge { size: bytes.len() });
        }
        let mut input = bytes;
        let tx = SignedTransaction::decode_with_depth_limit(DECODE_DEPTH_LIMIT, &mut input)
            .map_err(|e| TxDecodeError::Malformed(e.to_string()))?;
        if !input.is_empty() {
            return Err(TxDecodeError::Malformed(format!(
                "{} trailing bytes",
                input.len()
            )));
        }
        Ok(tx)
    }

    /// Decodes bytes this process wrote itself (e.g. read back from its own database).
    pub fn decode_trusted(bytes: &[u8]) -> Result<Self, TxDecodeError> {
        SignedTransaction::decode_all(&mut &bytes[..])
            .map_err(|e| TxDecodeError::Malformed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_tx() -> impl Strategy<Value = SignedTransaction> {
        (
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
            any::<u64>(),
            any::<u128>(),
            any::<[u8; 32]>(),
            any::<u128>(),
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
        )
            .prop_map(|(chain, signer, nonce, fee, to, amount, s1, s2)| {
                let mut sig = [0u8; 64];
                sig[..32].copy_from_slice(&s1);
                sig[32..].copy_from_slice(&s2);
                SignedTransaction {
                    transaction: Transaction {
                        chain_id: Hash(chain),
                        signer: AccountId::from_bytes(signer),
                        nonce,
                        fee,
                        call: Call::Transfer {
                            to: AccountId::from_bytes(to),
                            amount,
                        },
                    },
                    signature: Signature(sig),
                }
            })
    }

    fn arb_account() -> impl Strategy<Value = AccountId> {
        any::<[u8; 32]>().prop_map(AccountId::from_bytes)
    }

    /// The economy's calls, with every privileged call inside a proposal.
    fn arb_economy_call() -> impl Strategy<Value = Call> {
        let privileged = prop_oneof![
            (0..crate::economy::Parameter::ALL.len(), any::<u128>()).prop_map(|(i, value)| {
                SudoCall::SetParameter {
                    parameter: crate::economy::Parameter::ALL[i],
                    value,
                }
            }),
            (arb_account(), any::<u128>())
                .prop_map(|(to, amount)| SudoCall::SpendTreasury { to, amount }),
            arb_account().prop_map(|identity| SudoCall::ElectGatekeeper { identity }),
            arb_account().prop_map(|identity| SudoCall::RemoveGatekeeper { identity }),
            Just(SudoCall::RotateMasterKey),
        ];
        prop_oneof![
            any::<u8>().prop_map(|commission_percent| Call::CreatePool { commission_percent }),
            (any::<u64>(), any::<u128>()).prop_map(|(pool, amount)| Call::Deposit { pool, amount }),
            (any::<u64>(), any::<u128>())
                .prop_map(|(pool, shares)| Call::Withdraw { pool, shares }),
            (any::<u64>(), arb_account())
                .prop_map(|(pool, worker)| Call::BindWorker { pool, worker }),
            (arb_account(), any::<u128>())
                .prop_map(|(worker, stake)| Call::StartComputing { worker, stake }),
            arb_account().prop_map(|worker| Call::StopComputing { worker }),
            arb_account().prop_map(|worker| Call::UnbindWorker { worker }),
            (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(code, metadata)| {
                Call::RecordMetadata {
                    code_hash: Hash(code),
                    metadata_hash: Hash(metadata),
                }
            }),
            any::<[u8; 32]>().prop_map(|v| Call::Randomness { value: Hash(v) }),
            privileged.prop_map(|call| Call::Propose { call }),
            (any::<u32>(), any::<bool>(), any::<u128>()).prop_map(|(proposal, aye, amount)| {
                Call::Vote {
                    proposal,
                    aye,
                    amount,
                }
            }),
            (
                proptest::option::of(any::<u32>()),
                arb_account(),
                any::<u64>()
            )
                .prop_map(|(performance, contract, height)| {
                    Call::Heartbeat {
                        performance,
                        digests: vec![StateReport {
                            contract,
                            height,
                            digest: Hash([1; 32]),
                        }],
                    }
                }),
        ]
    }

    proptest! {
        #[test]
        fn economy_calls_round_trip(call in arb_economy_call(), tx in arb_tx()) {
            let mut tx = tx;
            tx.transaction.call = call;
            let bytes = tx.encode();
            prop_assert_eq!(SignedTransaction::decode_untrusted(&bytes).unwrap(), tx);
        }

        #[test]
        fn codec_round_trips(tx in arb_tx()) {
            let bytes = tx.encode();
            prop_assert_eq!(SignedTransaction::decode_untrusted(&bytes).unwrap(), tx);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = SignedTransaction::decode_untrusted(&bytes);
        }

        #[test]
        fn trailing_bytes_are_refused(tx in arb_tx(), extra in 1usize..8) {
            let mut bytes = tx.encode();
            bytes.extend(std::iter::repeat_n(0u8, extra));
            prop_assert!(SignedTransaction::decode_untrusted(&bytes).is_err());
        }
    }

    #[test]
    fn oversized_is_refused_before_decoding() {
        let bytes = vec![0u8; MAX_TRANSACTION_SIZE + 1];
        assert!(matches!(
            SignedTransaction::decode_untrusted(&bytes),
            Err(TxDecodeError::TooLarge { .. })
        ));
    }
}
