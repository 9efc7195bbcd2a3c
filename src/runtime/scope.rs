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
    /// What `json` encodes, for the same scope with another build (`for_build`).
    env: Value,
    context: Value,
    tag: ScopeSids,
}

/// The SIDs of a site that tag its log lines, beside each invocation's function and request.
#[derive(Debug, Clone, Serialize)]
pub struct ScopeSids {
    pub service_sid: String,
    pub environment_sid: String,
    pub build_sid: String,
    pub deployment_sid: String,
}

#[derive(Serialize)]
struct Encoded<'a> {
    env: &'a Value,
    context: &'a Value,
    tag: &'a ScopeSids,
}

/// Ids of scopes; 0 is no scope, what a new worker holds.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Scope {
    /// `env`: what `process.env` holds beside the worker's own environment; `context`: the
    /// site's entries of `context` (they go over the request's `PATH` and `DOMAIN_NAME`).
    pub fn new(env: Value, context: Value, tag: ScopeSids) -> Arc<Scope> {
        let encoded = Encoded {
            env: &env,
            context: &context,
            tag: &tag,
        };
        let json = serde_json::value::to_raw_value(&encoded).expect("JSON values and strings always encode");
        Arc::new(Scope {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            json,
            env,
            context,
            tag,
        })
    }

    /// This scope for another build and deployment of the same environment: its log lines are
    /// tagged with them, and everything else is the same.
    pub fn for_build(&self, build_sid: &str, deployment_sid: &str) -> Arc<Scope> {
        let tag = ScopeSids {
            build_sid: build_sid.to_string(),
            deployment_sid: deployment_sid.to_string(),
            ..self.tag.clone()
        };
        Scope::new(self.env.clone(), self.context.clone(), tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scopes_are_encoded_once_with_ids_of_their_own() {
        let tag = || ScopeSids {
            service_sid: "ZS1".into(),
            environment_sid: "ZE1".into(),
            build_sid: "ZB1".into(),
            deployment_sid: "ZD1".into(),
        };
        let a = Scope::new(json!({"A": "1"}), json!({"SERVICE_SID": "ZS1"}), tag());
        let b = Scope::new(json!({}), json!({}), tag());
        assert_ne!(a.id, b.id);
        assert_ne!(a.id, 0);
        let parsed: Value = serde_json::from_str(a.json.get()).expect("json");
        assert_eq!(parsed["env"], json!({"A": "1"}));
        assert_eq!(parsed["context"]["SERVICE_SID"], "ZS1");
        assert_eq!(parsed["tag"]["deployment_sid"], "ZD1");

        let next = a.for_build("ZB2", "ZD2");
        assert_ne!(next.id, a.id, "workers holding the first scope are sent this one");
        let parsed: Value = serde_json::from_str(next.json.get()).expect("json");
        assert_eq!(parsed["env"], json!({"A": "1"}));
        assert_eq!(parsed["context"]["SERVICE_SID"], "ZS1");
        assert_eq!(
            (
                &parsed["tag"]["service_sid"],
                &parsed["tag"]["build_sid"],
                &parsed["tag"]["deployment_sid"]
            ),
            (&json!("ZS1"), &json!("ZB2"), &json!("ZD2"))
        );
    }
}
