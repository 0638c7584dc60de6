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

/// Prints an error with its causes; with `--json` as `{"error": …}` on stdout.
pub fn print_error(json: bool, error: &anyhow::Error) {
    let chain: Vec<String> = error.chain().map(|cause| cause.to_string()).collect();
    if json {
        let kind = error.chain().find_map(|cause| {
            match cause.downcast_ref::<phalanx_client::ClientError>() {
                Some(phalanx_client::ClientError::Rejected { kind, code, .. }) => {
                    Some((kind.clone(), *code))
                }
                _ => None,
            }
        });
        let mut value = serde_json::json!({ "error": chain.join(": ") });
        if let Some((kind, code)) = kind {
            value["kind"] = kind.into();
            value["code"] = code.into();
        }
        println!("{value}");
    } else {
        eprintln!("error: {}", chain.join(": "));
    }
}
