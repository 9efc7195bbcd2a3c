//! What every invocation of one site shares — the environment's variables as `process.env`,
//! the site's part of `context`, the SIDs its log lines are tagged with — encoded once when the
//! site is loaded and sent to a worker only when the worker does not hold it yet. Sent with every
//! call, it was most of each frame, encoded by twirl and parsed by the worker every time.

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// One site's shared part of its invocations.
#[derive(Debug)]
pub struct Scope {
    /// Unique in this process: a worker that was sent this scope is not sent it again.
    pub(super) id: u64,
    pub(super) json: Box<RawValue>,
}

/// The SIDs of a site that tag its log lines, beside each invocation's function and request.
#[derive(Debug, Serialize)]
pub struct ScopeSids<'a> {
    pub service_sid: &'a str,
    pub environment_sid: &'a str,
    pub build_sid: &'a str,
    pub deployment_sid: &'a str,
}

#[derive(Serialize)]
struct Encoded<'a> {
    env: &'a Value,
    context: &'a Value,
    tag: ScopeSids<'a>,
}

/// Ids of scopes; 0 is no scope, what a new worker holds.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Scope {
    /// `env`: what `process.env` holds beside the worker's own environment; `context`: the
    /// site's entries of `context` (they go over the request's `PATH` and `DOMAIN_NAME`).
    pub fn new(env: &Value, context: &Value, tag: ScopeSids) -> Arc<Scope> {
        let json = serde_json::value::to_raw_value(&Encoded { env, context, tag })
            .expect("JSON values and strings always encode");
        Arc::new(Scope {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            json,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scopes_are_encoded_once_with_ids_of_their_own() {
        let tag = || ScopeSids {
            service_sid: "ZS1",
            environment_sid: "ZE1",
            build_sid: "ZB1",
            deployment_sid: "ZD1",
        };
        let a = Scope::new(&json!({"A": "1"}), &json!({"SERVICE_SID": "ZS1"}), tag());
        let b = Scope::new(&json!({}), &json!({}), tag());
        assert_ne!(a.id, b.id);
        assert_ne!(a.id, 0);
        let parsed: Value = serde_json::from_str(a.json.get()).expect("json");
        assert_eq!(parsed["env"], json!({"A": "1"}));
        assert_eq!(parsed["context"]["SERVICE_SID"], "ZS1");
        assert_eq!(parsed["tag"]["deployment_sid"], "ZD1");
    }
}
