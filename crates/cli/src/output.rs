//! Printing results: one JSON object with `--json`, readable text otherwise.

use serde::Serialize;

/// Prints `value` as one JSON object, or `text` for people.
pub fn emit<T: Serialize>(
    json: bool,
    value: &T,
    text: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(value)?);
    } else {
        println!("{}", text());
    }
    Ok(())
}

/// A failure the command has printed already, as its one JSON object (a receipt that says
/// the command failed): with `--json` nothing more is printed; the exit status still says it.
#[derive(Debug)]
pub struct Reported(pub String);

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Reported {}

/// Prints an error with its causes; with `--json` as `{"error": …}` on stdout.
pub fn print_error(json: bool, error: &anyhow::Error) {
    let chain: Vec<String> = error.chain().map(|cause| cause.to_string()).collect();
    if json && error.downcast_ref::<Reported>().is_some() {
        return;
    }
    if json {
        let kind = error.chain().find_map(|cause| {
            match cause.downcast_ref::<phalanx_client::ClientError>() {
                Some(phalanx_client::ClientError::Rejected {
                    kind, code, cause, ..
                }) => Some((kind.clone(), *code, cause.clone())),
                _ => None,
            }
        });
        let mut value = serde_json::json!({ "error": chain.join(": ") });
        if let Some((kind, code, cause)) = kind {
            value["kind"] = kind.into();
            value["code"] = code.into();
            value["cause"] = cause.into();
        }
        println!("{value}");
    } else {
        eprintln!("error: {}", chain.join(": "));
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `ms` since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's days_from_civil, inverted).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_names_the_calendar_day() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(super::utc(1_796_172_571_000), "2026-12-02 00:49:31 UTC");
    }
}
