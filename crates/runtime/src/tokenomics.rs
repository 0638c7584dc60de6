//! Tokenomics: the governed economy parameters, the mining pool's emission schedule and the
//! formulas of a worker's V (value promise), P (performance) and share of a block's rewards.
//! The formulas follow Phala's computation pallet; every constant is an [`EconomyParams`] field.
//!
//! - Budget of block h: `reward_budget_per_block / 2^(h / halving_interval_blocks)`, never more
//!   than the mining pool still holds.
//! - Initial V: `(1 + confidence × (Re − 1)) × (S + C)`, at most `v_max`, where S is the worker's
//!   stake and C = `rig_cost_per_point` × P the estimated cost of its machine.
//! - Share: `sqrt(V² + (2 × P × confidence)²)`, with V in micro-PHA; a block's budget (less the
//!   treasury's percent) is split between responsive computing workers by share.
//!
//! State layout: `tokenomics/params` -> SCALE(EconomyParams).

use crate::state::decode_entry;
use crate::{StateError, StateOverlay, StateReader};
use parity_scale_codec::Encode;
use phalanx_primitives::attestation::ConfidenceLevel;
use phalanx_primitives::economy::EconomyParams;
use phalanx_primitives::{Balance, BlockHeight};

pub const PARAMS_KEY: &[u8] = b"tokenomics/params";

/// The economy parameters from committed state.
pub fn params(state: &impl StateReader) -> Result<EconomyParams, StateError> {
    decode_entry(state.get(PARAMS_KEY)?, "economy parameters")?
        .ok_or_else(|| StateError("no economy parameters in state".into()))
}

pub(crate) fn write_params(overlay: &mut StateOverlay<impl StateReader>, params: &EconomyParams) {
    overlay.set(PARAMS_KEY.to_vec(), params.encode());
}

/// The mining pool's release for block `height` under `params`' schedule (before capping by
/// what the pool still holds).
pub fn block_budget(params: &EconomyParams, height: BlockHeight) -> Balance {
    let halvings = height / params.halving_interval_blocks.max(1);
    if halvings >= 128 {
        return 0;
    }
    params.reward_budget_per_block >> halvings
}

/// Confidence score in percent: Phala's 1, 1, 0.8, 0.7 by TCB level.
pub fn confidence_percent(level: ConfidenceLevel) -> u32 {
    match level {
        ConfidenceLevel::UpToDate | ConfidenceLevel::SwHardeningNeeded => 100,
        ConfidenceLevel::ConfigurationNeeded => 80,
        ConfidenceLevel::OutOfDate => 70,
    }
}

/// A worker's V when it starts computing with `stake` and performance score `performance`.
pub fn initial_v(
    params: &EconomyParams,
    stake: Balance,
    performance: u32,
    confidence_percent: u32,
) -> Balance {
    let rig_cost = params.rig_cost_per_point.saturating_mul(performance.into());
    let base = stake.saturating_add(rig_cost);
    // f = 1 + confidence × (Re − 1), both in percent.
    let f_percent = 100
        + u128::from(confidence_percent)
            * u128::from(params.stake_multiplier_percent.saturating_sub(100))
            / 100;
    (base / 100).saturating_mul(f_percent).min(params.v_max)
}

/// V after one more block: grown while responsive (up to `v_max`), cut while not.
pub fn next_v(params: &EconomyParams, v: Balance, responsive: bool) -> Balance {
    if responsive {
        let growth = v / 1_000_000 * Balance::from(params.v_growth_ppm);
        v.saturating_add(growth).min(params.v_max.max(v))
    } else {
        v - v / 1_000_000 * Balance::from(params.v_cut_ppm)
    }
}

/// Units of PHA in one micro-PHA: V enters the share in micro-PHA so its square fits in u128.
const UNITS_PER_MICRO_PHA: Balance = phalanx_primitives::amount::UNIT / 1_000_000;

/// `sqrt(V² + (2 × P × confidence)²)`, V in micro-PHA and P counted as PHA.
pub fn share(v: Balance, performance: u32, confidence_percent: u32) -> u128 {
    let v_micro = v / UNITS_PER_MICRO_PHA;
    let p_term = 2 * u128::from(performance) * u128::from(confidence_percent) * 10_000;
    v_micro
        .saturating_mul(v_micro)
        .saturating_add(p_term * p_term)
        .isqrt()
}

/// Splits `amount` by weights: each part is `amount × weight / total`, rounded down (so the
/// parts never add up to more than `amount`). All zero when the weights are.
pub fn split_by_weight(amount: Balance, weights: &[u128]) -> Vec<Balance> {
    let total: u128 = weights.iter().fold(0u128, |sum, w| sum.saturating_add(*w));
    if total == 0 {
        return vec![0; weights.len()];
    }
    weights.iter().map(|w| mul_div(amount, *w, total)).collect()
}

/// `a × b / c`, rounded down, with a 256-bit intermediate product: exact for any u128 inputs
/// whose quotient fits (saturating at `u128::MAX` otherwise); 0 when `c` is 0.
pub fn mul_div(a: u128, b: u128, c: u128) -> u128 {
    if c == 0 {
        return 0;
    }
    let (high, low) = mul_wide(a, b);
    if high == 0 {
        return low / c;
    }
    if high >= c {
        return u128::MAX;
    }
    // Long division of (high, low) by c, one bit of `low` at a time; `remainder` < c throughout.
    let mut remainder = high;
    let mut quotient = 0u128;
    for bit in (0..128).rev() {
        let carry = remainder >> 127;
        remainder = (remainder << 1) | ((low >> bit) & 1);
        quotient <<= 1;
        if carry == 1 || remainder >= c {
            remainder = remainder.wrapping_sub(c);
            quotient |= 1;
        }
    }
    quotient
}

/// The 256-bit product of two u128s as (high, low) halves.
fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    const LOW: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & LOW);
    let (b1, b0) = (b >> 64, b & LOW);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    let middle = (p00 >> 64) + (p01 & LOW) + (p10 & LOW);
    let low = (p00 & LOW) | (middle << 64);
    let high = p11 + (p01 >> 64) + (p10 >> 64) + (middle >> 64);
    (high, low)
}

#[cfg(test)]
mod tests {
    use super::*;
    use phalanx_primitives::amount::UNIT;
    use proptest::prelude::*;

    #[test]
    fn the_budget_halves_on_schedule() {
        let params = EconomyParams {
            halving_interval_blocks: 10,
            reward_budget_per_block: 64 * UNIT,
            ..EconomyParams::default()
        };
        assert_eq!(block_budget(&params, 0), 64 * UNIT);
        assert_eq!(block_budget(&params, 9), 64 * UNIT);
        assert_eq!(block_budget(&params, 10), 32 * UNIT);
        assert_eq!(block_budget(&params, 35), 8 * UNIT);
        assert_eq!(block_budget(&params, 10 * 200), 0);
    }

    #[test]
    fn initial_v_follows_the_stake_multiplier_and_confidence() {
        let params = EconomyParams::default();
        // (1 + 1 × 0.5) × (1000 + 0.3 × 2000) = 1.5 × 1600 = 2400 PHA.
        assert_eq!(initial_v(&params, 1_000 * UNIT, 2_000, 100), 2_400 * UNIT);
        // Confidence 0.7: f = 1.35.
        assert_eq!(initial_v(&params, 1_000 * UNIT, 2_000, 70), 2_160 * UNIT);
        assert_eq!(initial_v(&params, 1_000_000 * UNIT, 0, 100), params.v_max);
    }

    #[test]
    fn share_is_the_euclidean_norm_of_v_and_twice_p() {
        // V = 3 PHA, 2 × P × C = 4 "PHA": share 5 PHA in micro-PHA.
        assert_eq!(share(3 * UNIT, 2, 100), 5_000_000);
        assert_eq!(share(0, 0, 100), 0);
        // A worse TCB level gets a smaller share at the same V and P.
        assert!(share(UNIT, 1_000, 70) < share(UNIT, 1_000, 100));
    }

    #[test]
    fn v_grows_to_the_cap_and_is_cut() {
        let params = EconomyParams {
            v_growth_ppm: 1_000,
            v_cut_ppm: 10_000,
            v_max: 1_001 * UNIT,
            ..EconomyParams::default()
        };
        assert_eq!(next_v(&params, 1_000 * UNIT, true), 1_001 * UNIT);
        assert_eq!(next_v(&params, 1_001 * UNIT, true), 1_001 * UNIT);
        assert_eq!(next_v(&params, 1_000 * UNIT, false), 990 * UNIT);
    }

    proptest! {
        #[test]
        fn splits_never_exceed_the_amount(amount in 0u128..10u128.pow(27),
                                          weights in proptest::collection::vec(0u128..10u128.pow(20), 0..20)) {
            let parts = split_by_weight(amount, &weights);
            prop_assert!(parts.iter().sum::<u128>() <= amount);
            prop_assert_eq!(parts.len(), weights.len());
        }

        #[test]
        fn mul_div_matches_exact_arithmetic_when_it_fits(a in 0u128..10u128.pow(19), b in 0u128..10u128.pow(19), c in 1u128..10u128.pow(19)) {
            prop_assert_eq!(mul_div(a, b, c), a * b / c);
        }

        #[test]
        fn mul_div_is_exact_past_u128_products(a in any::<u128>(), b in any::<u128>(), c in 1u128..u128::MAX) {
            // (a × b / c) × c ≤ a × b < (a × b / c + 1) × c, checked in 256 bits.
            let q = mul_div(a, b, c);
            let (high, _) = mul_wide(a, b);
            if high < c {
                let below = mul_wide(q, c);
                let above = mul_wide(q + 1, c);
                prop_assert!(below <= mul_wide(a, b));
                prop_assert!(above > mul_wide(a, b));
            } else {
                prop_assert_eq!(q, u128::MAX);
            }
        }
    }
}
