//! The control subcommands (`reset`, `export`, `clock`, `health`, `call`): small clients of a
//! running twirl's `/_twirl/` endpoints.

mod dial;

pub use dial::dial;

use crate::cli::{ClockArgs, ControlArgs};
use crate::error::StartupError;

fn fail(e: impl std::fmt::Display) -> StartupError {
    StartupError::Config(e.to_string())
}

/// Sends a request to `/_twirl/{path}` and returns the body; credentials from
/// `TWILIO_ACCOUNT_SID`/`TWILIO_AUTH_TOKEN` are sent when set (needed beyond loopback).
fn call(args: &ControlArgs, method: &str, path: &str, body: Option<serde_json::Value>) -> Result<String, StartupError> {
    let url = format!("{}/_twirl/{path}", args.url.trim_end_matches('/'));
    let auth = match (std::env::var("TWILIO_ACCOUNT_SID"), std::env::var("TWILIO_AUTH_TOKEN")) {
        (Ok(sid), Ok(token)) => {
            use base64::Engine;
            Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{sid}:{token}"))
            ))
        }
        _ => None,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = match (method, body) {
        ("POST", body) => {
            let mut request = agent.post(&url);
            if let Some(auth) = &auth {
                request = request.header("Authorization", auth);
            }
            request
                .header("Content-Type", "application/json")
                .send(body.unwrap_or(serde_json::json!({})).to_string())
        }
        _ => {
            let mut request = agent.get(&url);
            if let Some(auth) = &auth {
                request = request.header("Authorization", auth);
            }
            request.call()
        }
    }
    .map_err(|e| fail(format!("cannot reach twirl at {}: {e}", args.url)))?;
    let status = response.status();
    let text = response.body_mut().read_to_string().map_err(fail)?;
    if status.is_success() {
        Ok(text)
    } else {
        Err(fail(format!("twirl answered {status}: {text}")))
    }
}

pub fn reset(args: &ControlArgs) -> Result<(), StartupError> {
    println!("{}", call(args, "POST", "reset", None)?);
    Ok(())
}

pub fn export(args: &ControlArgs) -> Result<(), StartupError> {
    println!("{}", call(args, "GET", "export", None)?);
    Ok(())
}

pub fn health(args: &ControlArgs) -> Result<(), StartupError> {
    println!("{}", call(args, "GET", "health", None)?);
    Ok(())
}

pub fn clock(args: &ClockArgs) -> Result<(), StartupError> {
    let text = match &args.advance {
        Some(duration) => {
            let seconds = parse_duration(duration)
                .ok_or_else(|| fail(format!("{duration:?} is not a duration such as 90, 30m, 2h or 7d")))?;
            call(
                &args.control,
                "POST",
                "clock",
                Some(serde_json::json!({ "advance_seconds": seconds })),
            )?
        }
        None => call(&args.control, "GET", "clock", None)?,
    };
    println!("{text}");
    Ok(())
}

/// Seconds in `90`, `90s`, `30m`, `2h` or `7d`.
fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let n: i64 = number.parse().ok().filter(|n| *n >= 0)?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    n.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_have_units() {
        assert_eq!(parse_duration("90"), Some(90));
        assert_eq!(parse_duration("30m"), Some(1800));
        assert_eq!(parse_duration("7d"), Some(604_800));
        assert_eq!(parse_duration("7w"), None);
        assert_eq!(parse_duration("-1"), None);
    }
}
