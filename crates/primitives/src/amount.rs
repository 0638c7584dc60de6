//! PHA amounts: integers of the smallest unit, printed and parsed as PHA decimals.
//!
//! One PHA is 10^12 units. Text amounts are plain decimals (`12.5`, `0.000000000001`, `1000000`):
//! no exponent, no sign, no thousands separators, at most 12 fractional digits. Parsing is exact:
//! an amount that cannot be represented is an error, never rounded.

/// An amount of PHA in its smallest unit.
pub type Balance = u128;

/// Decimal places of PHA.
pub const DECIMALS: u32 = 12;
/// Units in one PHA.
pub const UNIT: Balance = 1_000_000_000_000;
/// The fixed total supply: exactly one billion PHA.
pub const TOTAL_SUPPLY: Balance = 1_000_000_000 * UNIT;

/// Why a text is not a PHA amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmountError {
    #[error("`{0}` is not a PHA amount (expected digits with an optional `.` and up to 12 decimals, e.g. 12.5)")]
    Malformed(String),
    #[error("`{0}` has more than 12 decimal places; the smallest amount is 0.000000000001 PHA")]
    TooPrecise(String),
    #[error("`{0}` is too large")]
    Overflow(String),
}

/// Parses a PHA decimal such as `12.5` into units.
pub fn parse_pha(text: &str) -> Result<Balance, AmountError> {
    let malformed = || AmountError::Malformed(text.to_string());
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return Err(malformed());
    }
    if text.ends_with('.') {
        return Err(malformed());
    }
    if fraction.len() > DECIMALS as usize {
        return Err(AmountError::TooPrecise(text.to_string()));
    }
    let overflow = || AmountError::Overflow(text.to_string());
    let whole_units: Balance = if whole.is_empty() {
        0
    } else {
        whole.parse::<Balance>().map_err(|_| overflow())?
    };
    let mut fraction_units: Balance = 0;
    for (i, digit) in fraction.bytes().enumerate() {
        let place = 10u128.pow(DECIMALS - 1 - i as u32);
        fraction_units += Balance::from(digit - b'0') * place;
    }
    whole_units
        .checked_mul(UNIT)
        .and_then(|units| units.checked_add(fraction_units))
        .ok_or_else(overflow)
}

/// Formats units as a PHA decimal with no trailing zeros: `12.5`, `3`, `0.000000000001`.
pub fn format_pha(units: Balance) -> String {
    let whole = units / UNIT;
    let fraction = units % UNIT;
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = format!("{fraction:012}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Serde helpers that carry balances as decimal strings of units (JSON numbers lose precision
/// above 2^53).
pub mod serde_units {
    use super::Balance;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Balance, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Balance, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Serde helpers that carry balances as PHA decimal strings (`"12.5"`), for human-edited files.
pub mod serde_pha {
    use super::{format_pha, parse_pha, Balance};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Balance, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_pha(*value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Balance, D::Error> {
        let text = String::deserialize(d)?;
        parse_pha(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_formats_examples() {
        assert_eq!(parse_pha("12.5").unwrap(), 12 * UNIT + UNIT / 2);
        assert_eq!(parse_pha("0.000000000001").unwrap(), 1);
        assert_eq!(parse_pha(".5").unwrap(), UNIT / 2);
        assert_eq!(parse_pha("1000000000").unwrap(), TOTAL_SUPPLY);
        assert_eq!(format_pha(TOTAL_SUPPLY), "1000000000");
        assert_eq!(format_pha(1), "0.000000000001");
        assert_eq!(format_pha(0), "0");
    }

    #[test]
    fn refuses_bad_amounts() {
        for bad in [
            "", ".", "1.", "-1", "1e3", "1,000", "abc", " 1", "1.2.3", "+1",
        ] {
            assert!(
                matches!(parse_pha(bad), Err(AmountError::Malformed(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_pha("0.0000000000001"),
            Err(AmountError::TooPrecise(_))
        ));
        assert!(matches!(
            parse_pha("999999999999999999999999999999"),
            Err(AmountError::Overflow(_))
        ));
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(units in any::<u64>().prop_map(u128::from)) {
            prop_assert_eq!(parse_pha(&format_pha(units)).unwrap(), units);
        }
    }
}
