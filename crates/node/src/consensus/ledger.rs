//! The ledger as the consensus engine's application: it builds a proposal when this validator
//! leads a view, checks the proposals of others before voting for them, and commits what the
//! engine finalized.
//!
//! Simplex lets a leader build on a parent that is notarized but not final yet, so blocks are
//! executed ahead of finality: each executed block's writes are kept here ([`Pending`]) and a
//! child is built or checked on the committed state with its unfinalized ancestors' writes laid
//! over it (`LayeredState`). Only a finalized block reaches the database, in height order.
//!
//! A proposal is voted for only if it follows from its parent exactly: proposed by the view's
//! leader, a time after its parent's and not ahead of this validator's clock by more than
//! [`MAX_CLOCK_AHEAD_MS`], within the block bounds, every transaction signed and applying, and
//! the header's roots equal to what executing it gives.

use super::block::{digest_of, hash_of, Proposal};
use crate::config::{MAX_BLOCK_BYTES, MAX_BLOCK_TRANSACTIONS};
use crate::producer::{self, OnFailure};
use crate::running::{NodeError, Shared};
use crate::verify::{execute_block, BlockProblem};
use commonware_consensus::marshal::ancestry::Ancestry;
use commonware_consensus::simplex::types::Context;
use commonware_cryptography::{ed25519, sha256::Digest, Digested, Digestible};
use commonware_runtime::{Clock, Spawner};
use futures::StreamExt;
use parity_scale_codec::Encode;
use phalanx_primitives::{AccountId, BlockHeader, EventRecord, Hash, Signature};
use phalanx_runtime::{LayeredState, WriteSet};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

/// How far ahead of this validator's clock a proposal's timestamp may be. Validators' clocks
/// differ; one further ahead is a leader stretching time, and its block is refused.
pub const MAX_CLOCK_AHEAD_MS: u64 = 2_000;

/// Most executed blocks kept ahead of the committed head. Past it, no more are executed until
/// some are final (a Byzantine leader cannot make this validator hold unbounded state).
pub const MAX_PENDING_BLOCKS: usize = 1_024;

/// Why a proposal is refused (logged; the engine hears only "invalid").
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refused {
    #[error("proposed by {found}, but the view's leader is {leader}")]
    NotTheLeader { found: AccountId, leader: AccountId },
    #[error("height {found} does not follow its parent's {parent}")]
    Height { found: u64, parent: u64 },
    #[error("timestamp {found} is not after its parent's {parent}")]
    TimeWentBack { found: u64, parent: u64 },
    #[error("timestamp {found} is more than {MAX_CLOCK_AHEAD_MS} ms ahead of this clock ({now})")]
    FromTheFuture { found: u64, now: u64 },
    #[error("{count} transactions or {bytes} bytes: more than a block may hold")]
    TooBig { count: usize, bytes: usize },
    #[error("the transactions do not match the header's transactions root")]
    Body,
    #[error(transparent)]
    Execution(#[from] BlockProblem),
    #[error("its parent is below the committed head: a fork of a final block")]
    Stale,
    #[error("too many blocks executed ahead of finality")]
    TooFarAhead,
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// A block executed on its parent's state, not final yet.
pub(crate) struct Executed {
    pub header: BlockHeader,
    pub writes: Arc<WriteSet>,
    pub events: Vec<EventRecord>,
    /// Hashes of its transactions, so that a child does not include them again.
    pub transactions: HashSet<Hash>,
    /// Its transactions' signatures, in order. The block hash leaves them out (transaction
    /// hashes do), so a block with this hash but other signatures is not this executed one.
    pub signatures: Vec<Signature>,
}

impl Executed {
    /// Whether `proposal` is the very block executed here, signatures included.
    fn is(&self, proposal: &Proposal) -> bool {
        self.signatures.len() == proposal.transactions.len()
            && self
                .signatures
                .iter()
                .zip(&proposal.transactions)
                .all(|(signature, tx)| *signature == tx.signature)
    }
}

/// Executed blocks above the committed head, by hash.
#[derive(Default)]
pub(crate) struct Pending {
    blocks: HashMap<Hash, Arc<Executed>>,
}

impl Pending {
    pub fn get(&self, hash: &Hash) -> Option<Arc<Executed>> {
        self.blocks.get(hash).cloned()
    }

    /// Drops what the committed head at `height` made final or abandoned.
    pub fn prune(&mut self, height: u64) {
        self.blocks.retain(|_, block| block.header.height > height);
    }
}

/// The ledger application; clones share everything.
#[derive(Clone)]
pub(crate) struct Ledger {
    shared: Arc<Shared>,
    /// This validator's account: the proposer its blocks name.
    me: AccountId,
    /// A leader waits until this long after its parent's timestamp before building, so that
    /// blocks come at this cadence rather than as fast as views can turn.
    block_time: std::time::Duration,
    pending: Arc<Mutex<Pending>>,
    /// A Byzantine validator of the simulations: spoils every block it proposes.
    #[cfg(test)]
    pub(crate) spoil_proposals: Option<fn(&mut Proposal)>,
}

/// What a block is built or checked on: the committed head and state, and the unfinalized
/// blocks between it and the parent, newest first.
struct ParentState {
    head: BlockHeader,
    snapshot: crate::storage::StateSnapshot,
    chain: Vec<Arc<Executed>>,
}

impl ParentState {
    fn parent_header(&self) -> &BlockHeader {
        self.chain.first().map_or(&self.head, |b| &b.header)
    }

    fn reader(self) -> LayeredState<crate::storage::StateSnapshot> {
        LayeredState::new(
            self.snapshot,
            self.chain.iter().map(|b| Arc::clone(&b.writes)).collect(),
        )
    }

    fn included(&self) -> HashSet<Hash> {
        self.chain
            .iter()
            .flat_map(|b| b.transactions.iter().copied())
            .collect()
    }
}

pub(crate) fn account_of(key: &ed25519::PublicKey) -> AccountId {
    let bytes: &[u8] = key.as_ref();
    let mut id = [0; 32];
    id.copy_from_slice(bytes);
    AccountId::from_bytes(id)
}

fn unix_ms(time: std::time::SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Ledger {
    pub fn new(shared: Arc<Shared>, me: AccountId, block_time: std::time::Duration) -> Self {
        Ledger {
            shared,
            me,
            block_time,
            pending: Arc::default(),
            #[cfg(test)]
            spoil_proposals: None,
        }
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub fn pending(&self) -> &Arc<Mutex<Pending>> {
        &self.pending
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The committed head and its state, read together (the committer changes both under the
    /// pool lock).
    fn committed(&self) -> Result<(BlockHeader, crate::storage::StateSnapshot), NodeError> {
        let _pool = self.shared.pool.lock().unwrap_or_else(|p| p.into_inner());
        let head = self
            .shared
            .head
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Ok((head, self.shared.store.state_snapshot()?))
    }

    /// The state after `parent`, if it is the head or every block down to the head is executed;
    /// `Ok(None)` names nothing missing but means the parent is not known yet.
    fn parent_state(&self, parent: Hash) -> Result<Option<ParentState>, Refused> {
        let (head, snapshot) = self.committed()?;
        let pending = self.lock_pending();
        let mut chain = Vec::new();
        let mut cursor = parent;
        while cursor != head.hash() {
            let Some(block) = pending.get(&cursor) else {
                return Ok(None);
            };
            if block.header.height <= head.height {
                return Err(Refused::Stale);
            }
            cursor = block.header.parent_hash;
            chain.push(block);
        }
        Ok(Some(ParentState {
            head,
            snapshot,
            chain,
        }))
    }

    /// Whether `hash` is the committed head or an executed pending block.
    fn known(&self, hash: &Hash, head: &BlockHeader) -> bool {
        *hash == head.hash() || self.lock_pending().get(hash).is_some()
    }

    /// Executes, oldest first, the unfinalized ancestors the engine holds but this validator
    /// never executed (it missed their proposals, or restarted). `ancestry` starts at the
    /// newest of them.
    async fn catch_up<E: Spawner>(
        &self,
        runtime: &E,
        mut ancestry: impl Ancestry<Proposal>,
    ) -> Result<(), Refused> {
        let (head, _) = self.committed()?;
        let mut missing = Vec::new();
        while let Some(block) = ancestry.next().await {
            let hash = hash_of(&block.digest());
            if self.known(&hash, &head) {
                break;
            }
            if block.inner().header.height <= head.height {
                return Err(Refused::Stale);
            }
            missing.push(block);
        }
        for block in missing.into_iter().rev() {
            let ledger = self.clone();
            let proposal = block.inner().clone();
            run_blocking(runtime, move || ledger.execute(&proposal).map(|_| ())).await?;
        }
        Ok(())
    }

    /// Checks `proposal` against its parent state (which must be executed) and keeps its writes;
    /// an already executed block is returned as it was.
    fn execute(&self, proposal: &Proposal) -> Result<Arc<Executed>, Refused> {
        if let Some(done) = self.lock_pending().get(&proposal.hash()) {
            if done.is(proposal) {
                return Ok(done);
            }
        }
        if self.lock_pending().blocks.len() >= MAX_PENDING_BLOCKS {
            return Err(Refused::TooFarAhead);
        }
        self.execute_on_parent(proposal)
    }

    /// [`Self::execute`] for a block the engine finalized: never refused for lack of room (the
    /// bound is against proposals, and a final block must be committed).
    pub(crate) fn execute_finalized(&self, proposal: &Proposal) -> Result<Arc<Executed>, Refused> {
        if let Some(done) = self.lock_pending().get(&proposal.hash()) {
            if done.is(proposal) {
                return Ok(done);
            }
        }
        self.execute_on_parent(proposal)
    }

    fn execute_on_parent(&self, proposal: &Proposal) -> Result<Arc<Executed>, Refused> {
        let hash = proposal.hash();
        let header = &proposal.header;
        let Some(parent) = self.parent_state(header.parent_hash)? else {
            return Err(Refused::Stale);
        };
        let parent_header = parent.parent_header().clone();
        if header.height != parent_header.height + 1 {
            return Err(Refused::Height {
                found: header.height,
                parent: parent_header.height,
            });
        }
        if header.timestamp_ms <= parent_header.timestamp_ms {
            return Err(Refused::TimeWentBack {
                found: header.timestamp_ms,
                parent: parent_header.timestamp_ms,
            });
        }
        let bytes: usize = proposal.transactions.iter().map(|t| t.encoded_size()).sum();
        if proposal.transactions.len() > MAX_BLOCK_TRANSACTIONS || bytes > MAX_BLOCK_BYTES {
            return Err(Refused::TooBig {
                count: proposal.transactions.len(),
                bytes,
            });
        }
        if phalanx_primitives::Block::transactions_root(&proposal.transactions)
            != header.transactions_root
        {
            return Err(Refused::Body);
        }
        let checked_before = (self.shared.pool.lock().unwrap_or_else(|p| p.into_inner()))
            .holds_each(&proposal.transactions);
        let outcome = execute_block(
            parent.reader(),
            &self.shared.params,
            &parent_header,
            header,
            &proposal.transactions,
            &checked_before,
        )?;
        let executed = Arc::new(Executed {
            header: header.clone(),
            writes: Arc::new(outcome.write_set),
            events: outcome.events,
            transactions: proposal.transactions.iter().map(|t| t.hash()).collect(),
            signatures: proposal.transactions.iter().map(|t| t.signature).collect(),
        });
        self.lock_pending()
            .blocks
            .insert(hash, Arc::clone(&executed));
        Ok(executed)
    }

    /// Builds this validator's proposal on `parent` at `now_ms`.
    fn build(&self, parent: Hash, now_ms: u64) -> Result<Proposal, Refused> {
        let Some(state) = self.parent_state(parent)? else {
            return Err(Refused::Stale);
        };
        let parent_header = state.parent_header().clone();
        let exclude = state.included();
        let candidates = self
            .shared
            .pool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .oldest(MAX_BLOCK_TRANSACTIONS, MAX_BLOCK_BYTES, &exclude);
        let on_failure = if state.chain.is_empty() {
            OnFailure::Evict
        } else {
            OnFailure::Keep
        };
        let built = producer::build(
            &self.shared,
            state.reader(),
            &parent_header,
            now_ms.max(parent_header.timestamp_ms + 1),
            self.me,
            candidates,
            on_failure,
        )?;
        #[allow(unused_mut)]
        let mut proposal = Proposal {
            header: built.header,
            transactions: built.transactions,
        };
        #[cfg(test)]
        if let Some(spoil) = self.spoil_proposals {
            spoil(&mut proposal);
        }
        let executed = Arc::new(Executed {
            header: proposal.header.clone(),
            writes: Arc::new(built.outcome.write_set),
            events: built.outcome.events,
            transactions: built.settled,
            signatures: proposal.transactions.iter().map(|t| t.signature).collect(),
        });
        self.lock_pending().blocks.insert(proposal.hash(), executed);
        Ok(proposal)
    }

    /// The checks of a proposal that need the consensus context rather than the parent state.
    fn check_context(
        &self,
        proposal: &Proposal,
        leader: &ed25519::PublicKey,
        now_ms: u64,
    ) -> Result<(), Refused> {
        let leader = account_of(leader);
        if proposal.header.proposer != leader {
            return Err(Refused::NotTheLeader {
                found: proposal.header.proposer,
                leader,
            });
        }
        if proposal.header.timestamp_ms > now_ms + MAX_CLOCK_AHEAD_MS {
            return Err(Refused::FromTheFuture {
                found: proposal.header.timestamp_ms,
                now: now_ms,
            });
        }
        Ok(())
    }
}

/// Runs CPU work (executing a block, checking signatures) off the async threads.
async fn run_blocking<E: Spawner, T: Send + 'static>(
    runtime: &E,
    work: impl FnOnce() -> Result<T, Refused> + Send + 'static,
) -> Result<T, Refused> {
    runtime
        .child("block_work")
        .shared(true)
        .spawn(move |_| async move { work() })
        .await
        .map_err(|e| Refused::Node(NodeError::Producer(format!("block work stopped: {e}"))))?
}

impl<E> commonware_consensus::Application<E> for Ledger
where
    E: Spawner + Clock,
{
    type SigningScheme = commonware_consensus::simplex::scheme::ed25519::Scheme;
    type Context = Context<Digest, ed25519::PublicKey>;
    type Block = Proposal;
    type Input = ();

    async fn propose(
        &mut self,
        (runtime, context): (E, Self::Context),
        ancestry: impl Ancestry<Self::Block>,
        _input: (),
    ) -> Option<Digested<Self::Block>> {
        let parent = hash_of(&context.parent.1);
        let built = async {
            self.catch_up(&runtime, ancestry).await?;
            let parent_time = match self.parent_state(parent)? {
                Some(state) => state.parent_header().timestamp_ms,
                None => return Err(Refused::Stale),
            };
            let due = parent_time + self.block_time.as_millis() as u64;
            let now = unix_ms(runtime.current());
            if due > now {
                runtime
                    .sleep(std::time::Duration::from_millis(due - now))
                    .await;
            }
            let now = unix_ms(runtime.current());
            let ledger = self.clone();
            run_blocking(&runtime, move || ledger.build(parent, now)).await
        };
        match built.await {
            Ok(proposal) => {
                tracing::debug!(
                    height = proposal.header.height,
                    transactions = proposal.transactions.len(),
                    view = %context.round.view(),
                    "proposing"
                );
                let digest = digest_of(&proposal.hash());
                Some(Digested::precomputed(proposal, digest))
            }
            Err(error) => {
                // Declining makes the view time out to the next leader.
                tracing::warn!(%error, view = %context.round.view(), "cannot propose");
                None
            }
        }
    }

    async fn verify(
        &mut self,
        (runtime, context): (E, Self::Context),
        mut ancestry: impl Ancestry<Self::Block>,
    ) -> bool {
        let Some(block) = ancestry.next().await else {
            return false;
        };
        let proposal = block.inner().clone();
        let checked = async {
            self.check_context(&proposal, &context.leader, unix_ms(runtime.current()))?;
            self.catch_up(&runtime, ancestry).await?;
            let ledger = self.clone();
            let candidate = proposal.clone();
            run_blocking(&runtime, move || ledger.execute(&candidate)).await
        };
        match checked.await {
            Ok(_) => true,
            Err(error) => {
                tracing::warn!(
                    %error,
                    height = proposal.header.height,
                    proposer = %proposal.header.proposer,
                    view = %context.round.view(),
                    "refused a proposal"
                );
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A validator skips the signature check only for a transaction its own pool admitted with
    /// that very signature. A Byzantine leader that takes a transaction this validator pooled
    /// and swaps in another signature (the hash, and so the transactions root, leaves the
    /// signature out) is refused: the swapped one is checked, and fails.
    #[test]
    fn a_pooled_transaction_under_a_forged_signature_is_checked_and_refused() {
        let open = |dir: &tempfile::TempDir| {
            let (shared, _) =
                Shared::open(&phalanx_runtime::genesis::dev_config(), dir.path(), 1_000).unwrap();
            Ledger::new(
                Arc::new(shared),
                phalanx_crypto::Keypair::dev("validator").account_id(),
                std::time::Duration::from_millis(500),
            )
        };
        let (leader_dir, dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (leader, ledger) = (open(&leader_dir), open(&dir));
        let alice = phalanx_crypto::Keypair::dev("alice");
        let transfer = phalanx_primitives::Transaction {
            chain_id: ledger.shared().info.chain_id,
            signer: alice.account_id(),
            nonce: 0,
            fee: 100_000_000_000,
            call: phalanx_primitives::Call::Transfer {
                to: phalanx_primitives::AccountId::from_bytes([9; 32]),
                amount: 1,
            },
        };
        let signed = phalanx_crypto::sign_transaction(&alice, transfer);
        let text = format!("0x{}", hex::encode(signed.encode()));
        for shared in [leader.shared(), ledger.shared()] {
            let admitted = crate::admission::admit_batch(shared, std::slice::from_ref(&text));
            assert!(admitted.results[0].is_ok(), "{:?}", admitted.results[0]);
        }
        let genesis = ledger.shared().store.block(0).unwrap().unwrap();
        let honest = leader
            .build(genesis.hash(), genesis.header.timestamp_ms + 1)
            .expect("builds on genesis");
        assert_eq!(honest.transactions, vec![signed.clone()]);

        let mut forged = honest.clone();
        forged.transactions[0].signature.0[0] ^= 1;
        assert_eq!(
            forged.hash(),
            honest.hash(),
            "the block hash leaves signatures out"
        );
        assert!(matches!(
            ledger.execute(&forged),
            Err(Refused::Execution(BlockProblem::Unsigned { index: 0, .. }))
        ));
        // The honest block, its signature the pooled one, applies (unchecked, since pooled).
        ledger
            .execute(&honest)
            .expect("the pooled transaction applies");
        // Once the honest block is executed, the forged one with its hash is still not it.
        assert!(matches!(
            ledger.execute(&forged),
            Err(Refused::Execution(BlockProblem::Unsigned { index: 0, .. }))
        ));
        assert!(
            ledger.execute(&honest).is_ok(),
            "the executed block is still kept"
        );
    }

    /// A Byzantine leader proposes block after block on the same parent (forks nobody
    /// finalizes): each one this validator checks is executed and kept, until
    /// `MAX_PENDING_BLOCKS`; then proposals are refused unexecuted, while a block the engine
    /// finalized is still executed.
    #[test]
    fn forks_past_the_pending_bound_are_refused_but_a_final_block_is_not() {
        let open = |dir: &tempfile::TempDir| {
            let (shared, _) =
                Shared::open(&phalanx_runtime::genesis::dev_config(), dir.path(), 1_000).unwrap();
            Ledger::new(
                Arc::new(shared),
                phalanx_crypto::Keypair::dev("validator").account_id(),
                std::time::Duration::from_millis(500),
            )
        };
        let (leader_dir, dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        // The leader builds (and keeps, as its own) each fork; this validator only checks them.
        let (leader, ledger) = (open(&leader_dir), open(&dir));
        let genesis = ledger.shared().store.block(0).unwrap().unwrap();
        let fork = |n: u64| {
            leader
                .build(genesis.hash(), genesis.header.timestamp_ms + 1 + n)
                .expect("builds on genesis")
        };
        for n in 0..MAX_PENDING_BLOCKS as u64 {
            ledger.execute(&fork(n)).expect("within the bound");
        }
        let one_more = fork(MAX_PENDING_BLOCKS as u64);
        assert!(matches!(
            ledger.execute(&one_more),
            Err(Refused::TooFarAhead)
        ));
        assert_eq!(ledger.lock_pending().blocks.len(), MAX_PENDING_BLOCKS);
        ledger
            .execute_finalized(&one_more)
            .expect("a final block is executed whatever is pending");
    }
}
