//! Clients of a running twirl, over HTTP, so they work against any twirl: the control
//! subcommands (`reset`, `export`, `clock`, `health`, `sms`, `call`), `twirl env` and
//! `twirl deploy`.

pub mod deploy;
mod dial;

pub use dial::dial;

use crate::cli::{ClockArgs, ControlArgs, SmsArgs};
use crate::error::StartupError;
use serde_json::Value;
use ureq::unversioned::multipart::Form;

/// The account a twirl authenticates: its SID and auth token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub sid: String,
    pub token: String,
}

impl Account {
    /// The pair from two optional values, when both are there and not empty.
    fn from_pair(sid: Option<String>, token: Option<String>) -> Option<Account> {
        match (sid, token) {
            (Some(sid), Some(token)) if !sid.is_empty() && !token.is_empty() => Some(Account { sid, token }),
            _ => None,
        }
    }

    fn basic(&self) -> String {
        use base64::Engine;
        let pair = format!("{}:{}", self.sid, self.token);
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
    }
}

/// What a request carries.
pub enum Body<'a> {
    Empty,
    Json(Value),
    /// Form fields in order; a name may repeat (`FunctionVersions`).
    Form(Vec<(&'a str, String)>),
    Multipart(Form<'a>),
}

/// An answer: its status, its text, and that text as JSON (a JSON string when it is not JSON).
pub struct Reply {
    pub status: u16,
    pub text: String,
    pub body: Value,
}

impl Reply {
    /// Twilio's error message in the body, else the body itself.
    pub fn message(&self) -> String {
        match self.body.get("message").and_then(Value::as_str) {
            Some(message) => message.to_string(),
            None => match &self.body {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            },
        }
    }
}

/// One running twirl, reached at `url`.
pub struct Client {
    url: String,
    agent: ureq::Agent,
    account: Option<Account>,
}

impl Client {
    /// A client of the twirl at `args.url`, authenticating as the account `resolve_account`
    /// finds.
    pub fn connect(args: &ControlArgs) -> Client {
        let url = args.url.trim_end_matches('/').to_string();
        let explicit = Account::from_pair(args.account_sid.clone(), args.auth_token.clone());
        let mut client = Client {
            url,
            agent: ureq::Agent::config_builder().http_status_as_error(false).build().into(),
            account: None,
        };
        client.account = client.resolve_account(explicit);
        client
    }

    /// Like `connect`, once the twirl answered its health check, with the account the API needs.
    pub fn reach(args: &ControlArgs) -> Result<(Client, Account), StartupError> {
        let client = Client::connect(args);
        client.expect("GET", "/_twirl/health", Body::Empty)?;
        let account = client.require_account()?.clone();
        Ok((client, account))
    }

    /// The account to use: the one given (flags or `TWIRL_ACCOUNT_SID`/`TWIRL_AUTH_TOKEN`),
    /// else the one the twirl reports (its session is open on loopback), else
    /// `TWILIO_ACCOUNT_SID`/`TWILIO_AUTH_TOKEN`. The twirl's own answer comes before the
    /// `TWILIO_*` variables because those often hold a real Twilio account, which twirl refuses.
    fn resolve_account(&self, explicit: Option<Account>) -> Option<Account> {
        explicit
            .or_else(|| {
                let session = self.send("GET", "/_twirl/session", Body::Empty).ok()?;
                let field = |name: &str| session.body.get(name).and_then(Value::as_str).map(str::to_string);
                (session.status == 200)
                    .then(|| Account::from_pair(field("account_sid"), field("auth_token")))
                    .flatten()
            })
            .or_else(|| {
                Account::from_pair(
                    std::env::var("TWILIO_ACCOUNT_SID").ok(),
                    std::env::var("TWILIO_AUTH_TOKEN").ok(),
                )
            })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn account(&self) -> Option<&Account> {
        self.account.as_ref()
    }

    /// The account, which calls to the API need.
    pub fn require_account(&self) -> Result<&Account, StartupError> {
        self.account().ok_or_else(|| {
            StartupError::Remote(format!(
                "no credentials for the twirl at {}: it does not share them beyond loopback; give \
                 --account-sid and --auth-token (or TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)",
                self.url
            ))
        })
    }

    /// Sends a request to `path` (under the twirl's URL) or to an absolute URL; fails only when
    /// the twirl cannot be reached.
    pub fn send(&self, method: &str, path: &str, body: Body) -> Result<Reply, StartupError> {
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.url)
        };
        let auth = self.account.as_ref().map(Account::basic);
        let unreachable = |e: ureq::Error| StartupError::Remote(format!("cannot reach twirl at {}: {e}", self.url));
        let mut response = if method == "GET" {
            let mut request = self.agent.get(&url);
            if let Some(auth) = &auth {
                request = request.header("Authorization", auth);
            }
            request.call()
        } else {
            let mut request = self.agent.post(&url);
            if let Some(auth) = &auth {
                request = request.header("Authorization", auth);
            }
            match body {
                Body::Empty => request.send_empty(),
                Body::Json(value) => request
                    .header("Content-Type", "application/json")
                    .send(value.to_string()),
                Body::Form(fields) => {
                    let mut form = form_urlencoded::Serializer::new(String::new());
                    for (name, value) in &fields {
                        form.append_pair(name, value);
                    }
                    request
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .send(form.finish())
                }
                Body::Multipart(form) => request.send(form),
            }
        }
        .map_err(unreachable)?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().map_err(unreachable)?;
        let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
        Ok(Reply { status, text, body })
    }

    /// Like `send`, but an answer other than 2xx is an error carrying twirl's message.
    pub fn expect(&self, method: &str, path: &str, body: Body) -> Result<Value, StartupError> {
        self.expect_reply(method, path, body).map(|reply| reply.body)
    }

    fn expect_reply(&self, method: &str, path: &str, body: Body) -> Result<Reply, StartupError> {
        let reply = self.send(method, path, body)?;
        if (200..300).contains(&reply.status) {
            Ok(reply)
        } else {
            Err(StartupError::Remote(format!(
                "{method} {path}: twirl answered {}: {}",
                reply.status,
                reply.message()
            )))
        }
    }

    /// Every item of a list resource, following `next_page_url` to the end.
    pub fn list(&self, path: &str) -> Result<Vec<Value>, StartupError> {
        let mut items = Vec::new();
        let mut next = Some(format!("{path}?PageSize=100"));
        while let Some(page_path) = next {
            let page = self.expect("GET", &page_path, Body::Empty)?;
            let key = page["meta"]["key"].as_str().unwrap_or_default().to_string();
            items.extend(page[&key].as_array().cloned().unwrap_or_default());
            next = page["meta"]["next_page_url"].as_str().map(str::to_string);
        }
        Ok(items)
    }

    /// A control endpoint's answer, as twirl wrote it.
    fn control(&self, method: &str, path: &str, body: Body) -> Result<String, StartupError> {
        Ok(self.expect_reply(method, &format!("/_twirl/{path}"), body)?.text)
    }
}

/// A control endpoint's answer (`/_twirl/{path}`, with a JSON body if any), as twirl wrote it.
fn call(args: &ControlArgs, method: &str, path: &str, body: Option<Value>) -> Result<String, StartupError> {
    Client::connect(args).control(method, path, body.map_or(Body::Empty, Body::Json))
}

pub fn reset(args: &ControlArgs) -> Result<(), StartupError> {
    println!("{}", Client::connect(args).control("POST", "reset", Body::Empty)?);
    Ok(())
}

pub fn export(args: &ControlArgs) -> Result<(), StartupError> {
    println!("{}", Client::connect(args).control("GET", "export", Body::Empty)?);
    Ok(())
}

pub fn health(args: &ControlArgs) -> Result<(), StartupError> {
    println!("{}", Client::connect(args).control("GET", "health", Body::Empty)?);
    Ok(())
}

pub fn clock(args: &ClockArgs) -> Result<(), StartupError> {
    let client = Client::connect(&args.control);
    let text = match &args.advance {
        Some(duration) => {
            let seconds = parse_duration(duration).ok_or_else(|| {
                StartupError::Config(format!("{duration:?} is not a duration such as 90, 30m, 2h or 7d"))
            })?;
            client.control(
                "POST",
                "clock",
                Body::Json(serde_json::json!({ "advance_seconds": seconds })),
            )?
        }
        None => client.control("GET", "clock", Body::Empty)?,
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
    let turn: Value = serde_json::from_str(&text).map_err(|e| StartupError::Remote(e.to_string()))?;
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
