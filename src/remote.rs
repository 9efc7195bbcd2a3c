//! The control subcommands (`reset`, `export`, `clock`, `health`, `sms`, `call`): small clients
//! of a running twirl's `/_twirl/` endpoints.

mod dial;

pub use dial::dial;

use crate::cli::{ClockArgs, ControlArgs, SmsArgs};
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

/// Texts a number from a handset and prints the turn: the webhook, the replies, the alerts.
pub fn sms(args: &SmsArgs) -> Result<(), StartupError> {
    let body = serde_json::json!({
        "From": args.from,
        "To": args.to,
        "Body": args.body,
        "MediaUrl": args.media,
    });
    let text = call(&args.control, "POST", "phone/messages", Some(body))?;
    if args.json {
        println!("{text}");
        return Ok(());
    }
    let turn: serde_json::Value = serde_json::from_str(&text).map_err(fail)?;
    print!("{}", describe_turn(&turn));
    Ok(())
}

/// A turn as lines for people.
fn describe_turn(turn: &serde_json::Value) -> String {
    let field = |v: &serde_json::Value, name: &str| v[name].as_str().unwrap_or("").to_string();
    let message = &turn["message"];
    let mut out = format!(
        "{} → {}: {} ({})\n",
        field(message, "from"),
        field(message, "to"),
        field(message, "body"),
        field(message, "sid")
    );
    match turn["webhook"].as_object() {
        Some(hook) => out.push_str(&format!(
            "  webhook  {} {} → {} in {:.0} ms\n",
            hook.get("method").and_then(|v| v.as_str()).unwrap_or(""),
            hook.get("url").and_then(|v| v.as_str()).unwrap_or(""),
            hook.get("status")
                .and_then(|v| v.as_u64())
                .map_or("no answer".to_string(), |s| s.to_string()),
            hook.get("duration_ms").and_then(|v| v.as_f64()).unwrap_or(0.0)
        )),
        None => out.push_str("  webhook  none: the number has no sms_url\n"),
    }
    for reply in turn["replies"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  reply    {} → {}: {} [{}]\n",
            field(reply, "from"),
            field(reply, "to"),
            field(reply, "body"),
            field(reply, "status")
        ));
    }
    for alert in turn["alerts"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  alert    {} {}\n",
            field(alert, "error_code"),
            field(alert, "alert_text")
        ));
    }
    out
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
    fn turns_read_as_lines() {
        let turn = serde_json::json!({
            "message": {"from": "+1415", "to": "+1206", "body": "hi", "sid": "SM1"},
            "webhook": {"method": "POST", "url": "https://a.twil.io/sms", "status": 200, "duration_ms": 3.2},
            "replies": [{"from": "+1206", "to": "+1415", "body": "yo", "status": "delivered"}],
            "alerts": [{"error_code": "12100", "alert_text": "bad"}],
        });
        let text = describe_turn(&turn);
        assert!(text.contains("+1415 → +1206: hi (SM1)"), "{text}");
        assert!(
            text.contains("webhook  POST https://a.twil.io/sms → 200 in 3 ms"),
            "{text}"
        );
        assert!(text.contains("reply    +1206 → +1415: yo [delivered]"), "{text}");
        assert!(text.contains("alert    12100 bad"), "{text}");
    }

    #[test]
    fn durations_have_units() {
        assert_eq!(parse_duration("90"), Some(90));
        assert_eq!(parse_duration("30m"), Some(1800));
        assert_eq!(parse_duration("7d"), Some(604_800));
        assert_eq!(parse_duration("7w"), None);
        assert_eq!(parse_duration("-1"), None);
    }
}
