//! Governance: PHA holders decide the privileged calls ([`SudoCall`]) — a parameter change, the
//! measurement allow-list, gatekeeper election and removal, master key rotation, treasury
//! spending, clusters.
//!
//! A proposer locks the proposal deposit; voters lock PHA for aye or nay (one vote per account
//! and proposal, weighted by the PHA locked). When the voting period ends, all locks and the
//! deposit go back, and the proposal passes if the locked votes reach the quorum and more than
//! `approval_percent` of them are ayes. A passed proposal is enacted `enactment_delay_blocks`
//! later; an enactment that fails changes nothing but its `ProposalFailed` event. Every outcome is
//! an event. Parameters are read when the proposal is made (period) and when it closes (quorum,
//! approval, delay).
//!
//! State layout: `governance/next` -> u32; `governance/proposal/` ++ id (u32 BE) ->
//! SCALE(Proposal); `governance/open` -> SCALE(`Vec<ProposalId>`), voting or awaiting enactment.
//! Locked PHA waits in the keyless [`governance_account`].

use crate::error::{Cause, Refusal};
use crate::state::decode_entry;
use crate::tokenomics::{self, mul_div};
use crate::{balances, privileged, StateError, StateOverlay, StateReader, TxError};
use parity_scale_codec::{Decode, Encode};
use phalanx_primitives::economy::{EconomyParams, ProposalId};
use phalanx_primitives::{AccountId, Balance, BlockHeight, Event, SudoCall};

/// Why a proposal, a vote or a parameter change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GovernanceError {
    #[error("there is no proposal {0}")]
    NoProposal(ProposalId),
    #[error("{MAX_OPEN_PROPOSALS} proposals are open already")]
    TooManyOpen,
    #[error("proposal {0} is not open for votes")]
    VotingClosed(ProposalId),
    #[error("a vote must lock more than 0 PHA")]
    EmptyVote,
    #[error("{voter} already voted on proposal {proposal}")]
    AlreadyVoted {
        voter: AccountId,
        proposal: ProposalId,
    },
    #[error("proposal {0} has {MAX_VOTES} votes already")]
    TooManyVotes(ProposalId),
    #[error("{parameter} cannot be set so: {reason}")]
    InvalidParameter {
        parameter: phalanx_primitives::economy::Parameter,
        reason: String,
    },
}

impl Cause for GovernanceError {
    fn cause(&self) -> &'static str {
        match self {
            GovernanceError::NoProposal(_) => "no_proposal",
            GovernanceError::TooManyOpen => "too_many_open_proposals",
            GovernanceError::VotingClosed(_) => "voting_closed",
            GovernanceError::EmptyVote => "empty_vote",
            GovernanceError::AlreadyVoted { .. } => "already_voted",
            GovernanceError::TooManyVotes(_) => "too_many_votes",
            GovernanceError::InvalidParameter { .. } => "invalid_parameter",
        }
    }

    fn refusal(&self) -> Refusal {
        Refusal::InvalidCall
    }
}

const NEXT_KEY: &[u8] = b"governance/next";
const PROPOSAL_PREFIX: &[u8] = b"governance/proposal/";
const OPEN_KEY: &[u8] = b"governance/open";

/// Most proposals open at once.
pub const MAX_OPEN_PROPOSALS: usize = 64;
/// Most votes on one proposal.
pub const MAX_VOTES: usize = 1_024;

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ProposalStatus {
    #[codec(index = 0)]
    Voting,
    #[codec(index = 1)]
    Passed { enact_at: BlockHeight },
    #[codec(index = 2)]
    Rejected,
    #[codec(index = 3)]
    Enacted,
    #[codec(index = 4)]
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Vote {
    pub voter: AccountId,
    pub aye: bool,
    pub amount: Balance,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Proposal {
    pub id: ProposalId,
    pub proposer: AccountId,
    pub call: SudoCall,
    pub deposit: Balance,
    pub created: BlockHeight,
    pub voting_ends: BlockHeight,
    pub ayes: Balance,
    pub nays: Balance,
    pub votes: Vec<Vote>,
    pub status: ProposalStatus,
}

/// The keyless account holding deposits and votes' locks.
pub fn governance_account() -> AccountId {
    AccountId::module("governance")
}

fn proposal_key(id: ProposalId) -> Vec<u8> {
    [PROPOSAL_PREFIX, &id.to_be_bytes()].concat()
}

pub fn proposal(state: &impl StateReader, id: ProposalId) -> Result<Option<Proposal>, StateError> {
    decode_entry(state.get(&proposal_key(id))?, "proposal")
}
pub fn proposal_count(state: &impl StateReader) -> Result<ProposalId, StateError> {
    Ok(decode_entry(state.get(NEXT_KEY)?, "proposal counter")?.unwrap_or(0))
}

fn read(overlay: &StateOverlay<impl StateReader>, id: ProposalId) -> Result<Proposal, TxError> {
    proposal(overlay, id)?.ok_or(GovernanceError::NoProposal(id).into())
}
fn write(overlay: &mut StateOverlay<impl StateReader>, proposal: &Proposal) {
    overlay.set(proposal_key(proposal.id), proposal.encode());
}
fn read_open(overlay: &StateOverlay<impl StateReader>) -> Result<Vec<ProposalId>, StateError> {
    Ok(decode_entry(overlay.get(OPEN_KEY)?, "open proposals")?.unwrap_or_default())
}

pub(crate) fn propose(
    overlay: &mut StateOverlay<impl StateReader>,
    proposer: AccountId,
    call: SudoCall,
    height: BlockHeight,
) -> Result<Event, TxError> {
    let mut open = read_open(overlay)?;
    if open.len() >= MAX_OPEN_PROPOSALS {
        return Err(GovernanceError::TooManyOpen.into());
    }
    let params = tokenomics::params(overlay)?;
    balances::transfer(
        overlay,
        &proposer,
        &governance_account(),
        params.proposal_deposit,
    )?;
    let id = proposal_count(overlay)?;
    overlay.set(NEXT_KEY.to_vec(), (id + 1).encode());
    let voting_ends = height + params.voting_period_blocks;
    write(
        overlay,
        &Proposal {
            id,
            proposer,
            call: call.clone(),
            deposit: params.proposal_deposit,
            created: height,
            voting_ends,
            ayes: 0,
            nays: 0,
            votes: Vec::new(),
            status: ProposalStatus::Voting,
        },
    );
    open.push(id);
    overlay.set(OPEN_KEY.to_vec(), open.encode());
    Ok(Event::ProposalCreated {
        proposal: id,
        proposer,
        call,
        voting_ends,
    })
}

pub(crate) fn vote(
    overlay: &mut StateOverlay<impl StateReader>,
    voter: AccountId,
    id: ProposalId,
    aye: bool,
    amount: Balance,
    height: BlockHeight,
) -> Result<Event, TxError> {
    let mut proposal = read(overlay, id)?;
    if proposal.status != ProposalStatus::Voting || height > proposal.voting_ends {
        return Err(GovernanceError::VotingClosed(id).into());
    }
    if amount == 0 {
        return Err(GovernanceError::EmptyVote.into());
    }
    if proposal.votes.iter().any(|v| v.voter == voter) {
        return Err(GovernanceError::AlreadyVoted {
            voter,
            proposal: id,
        }
        .into());
    }
    if proposal.votes.len() >= MAX_VOTES {
        return Err(GovernanceError::TooManyVotes(id).into());
    }
    balances::transfer(overlay, &voter, &governance_account(), amount)?;
    if aye {
        proposal.ayes += amount;
    } else {
        proposal.nays += amount;
    }
    proposal.votes.push(Vote { voter, aye, amount });
    write(overlay, &proposal);
    Ok(Event::Voted {
        proposal: id,
        voter,
        aye,
        amount,
    })
}

/// Closes the votes that end at `height` and enacts what is due. Each enactment runs as its own
/// transaction of the overlay: a failing call is reverted alone.
pub(crate) fn end_block(
    overlay: &mut StateOverlay<impl StateReader>,
    height: BlockHeight,
    chain: &crate::ChainParams,
) -> Result<Vec<Event>, TxError> {
    let open = read_open(overlay)?;
    if open.is_empty() {
        return Ok(Vec::new());
    }
    let params = tokenomics::params(overlay)?;
    let mut events = Vec::new();
    let mut still_open = Vec::with_capacity(open.len());
    for id in open {
        let mut proposal = read(overlay, id)?;
        match proposal.status {
            ProposalStatus::Voting if height >= proposal.voting_ends => {
                events.push(close_vote(overlay, &params, height, &mut proposal)?);
                write(overlay, &proposal);
            }
            ProposalStatus::Passed { enact_at } if height >= enact_at => {
                events.extend(enact(overlay, chain, height, &mut proposal)?);
                write(overlay, &proposal);
            }
            _ => {}
        }
        if matches!(
            proposal.status,
            ProposalStatus::Voting | ProposalStatus::Passed { .. }
        ) {
            still_open.push(id);
        }
    }
    overlay.set(OPEN_KEY.to_vec(), still_open.encode());
    Ok(events)
}

/// Ends a proposal's vote: every lock goes back, and it passes or is rejected.
fn close_vote(
    overlay: &mut StateOverlay<impl StateReader>,
    params: &EconomyParams,
    height: BlockHeight,
    proposal: &mut Proposal,
) -> Result<Event, TxError> {
    release_locks(overlay, proposal)?;
    let (id, ayes, nays) = (proposal.id, proposal.ayes, proposal.nays);
    let turnout = ayes + nays;
    let refusal = if turnout < params.quorum {
        Some(format!(
            "turnout {turnout} units is below the quorum {}",
            params.quorum
        ))
    } else if ayes <= mul_div(turnout, params.approval_percent.into(), 100) {
        Some(format!(
            "ayes are not more than {}% of the votes",
            params.approval_percent
        ))
    } else {
        None
    };
    Ok(match refusal {
        Some(reason) => {
            proposal.status = ProposalStatus::Rejected;
            Event::ProposalRejected {
                proposal: id,
                ayes,
                nays,
                reason,
            }
        }
        None => {
            let enact_at = height + params.enactment_delay_blocks;
            proposal.status = ProposalStatus::Passed { enact_at };
            Event::ProposalPassed {
                proposal: id,
                ayes,
                nays,
                enact_at,
            }
        }
    })
}

/// Enacts a passed proposal as its own transaction of the overlay: everything before it is kept,
/// and a call that fails drops only its own changes.
fn enact(
    overlay: &mut StateOverlay<impl StateReader>,
    chain: &crate::ChainParams,
    height: BlockHeight,
    proposal: &mut Proposal,
) -> Result<Vec<Event>, TxError> {
    overlay.commit_transaction();
    match privileged::dispatch(overlay, &proposal.call, chain, height) {
        Ok(enacted) => {
            proposal.status = ProposalStatus::Enacted;
            let mut events = vec![Event::ProposalEnacted {
                proposal: proposal.id,
            }];
            events.extend(enacted);
            Ok(events)
        }
        Err(TxError::Storage(e)) => Err(TxError::Storage(e)),
        Err(error) => {
            overlay.revert_transaction();
            proposal.status = ProposalStatus::Failed;
            Ok(vec![Event::ProposalFailed {
                proposal: proposal.id,
                reason: error.to_string(),
            }])
        }
    }
}

fn release_locks(
    overlay: &mut StateOverlay<impl StateReader>,
    proposal: &Proposal,
) -> Result<(), TxError> {
    let account = governance_account();
    balances::transfer(overlay, &account, &proposal.proposer, proposal.deposit)?;
    for vote in &proposal.votes {
        balances::transfer(overlay, &account, &vote.voter, vote.amount)?;
    }
    Ok(())
}
