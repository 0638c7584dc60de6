//! Privileged calls ([`SudoCall`]): what a passed governance proposal enacts, and what the dev
//! chain's `sudo` account may do directly. One dispatcher serves both, so a call means the same
//! whichever way it arrives.

use crate::{
    balances, clusters, master_key, registry, staking, tokenomics, validators, StateOverlay,
    StateReader, TxError,
};
use phalanx_primitives::{Event, SudoCall};

pub(crate) fn dispatch(
    overlay: &mut StateOverlay<impl StateReader>,
    call: &SudoCall,
    chain: &crate::ChainParams,
    height: phalanx_primitives::BlockHeight,
) -> Result<Vec<Event>, TxError> {
    let treasury = &chain.treasury;
    Ok(match call {
        SudoCall::AddMeasurement(m) => vec![registry::add_measurement(overlay, *m)?],
        SudoCall::RemoveMeasurement(m) => vec![registry::remove_measurement(overlay, *m)?],
        SudoCall::CreateCluster { cluster, workers } => {
            vec![clusters::create(overlay, *cluster, workers.clone())?]
        }
        SudoCall::AddToCluster { cluster, worker } => {
            vec![clusters::add_worker(overlay, *cluster, *worker)?]
        }
        SudoCall::RemoveWorker { worker } => {
            let mut events = vec![clusters::remove_worker(overlay, *worker)?];
            // A deregistered worker earns nothing more.
            if let Some(mining) = staking::mining(overlay, worker)?
                .filter(|m| m.state != phalanx_primitives::economy::ComputingState::Idle)
            {
                events.push(staking::stop(
                    overlay,
                    *worker,
                    mining,
                    "the worker was removed",
                )?);
            }
            events
        }
        SudoCall::RotateMasterKey => clusters::rotate(overlay)?,
        SudoCall::SetParameter { parameter, value } => {
            let mut params = tokenomics::params(overlay)?;
            params.set(*parameter, *value).map_err(|reason| {
                crate::governance::GovernanceError::InvalidParameter {
                    parameter: *parameter,
                    reason,
                }
            })?;
            tokenomics::write_params(overlay, &params);
            vec![Event::ParameterChanged {
                parameter: *parameter,
                value: *value,
            }]
        }
        SudoCall::SpendTreasury { to, amount } => {
            balances::transfer(overlay, treasury, to, *amount)?;
            vec![
                Event::TreasurySpent {
                    to: *to,
                    amount: *amount,
                },
                Event::Transfer {
                    from: *treasury,
                    to: *to,
                    amount: *amount,
                },
            ]
        }
        SudoCall::ElectGatekeeper { identity } => {
            vec![registry::elect_gatekeeper(overlay, *identity)?]
        }
        SudoCall::RemoveGatekeeper { identity } => {
            let event = registry::remove_gatekeeper(overlay, *identity)?;
            master_key::drop_holder(overlay, identity)?;
            vec![event]
        }
        SudoCall::SetValidators {
            validators: members,
        } => {
            vec![validators::schedule(overlay, chain, height, members)?]
        }
    })
}
