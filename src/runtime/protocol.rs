//! The frames exchanged with a worker: newline-delimited JSON over its stdin and stdout.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// Who a log line belongs to: the scope's SIDs with the invocation's, on its log frames.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LogTag {
    pub service_sid: String,
    pub environment_sid: String,
    pub build_sid: String,
    pub deployment_sid: String,
    pub function_sid: String,
    pub request_sid: String,
}

/// twirl → worker.
#[derive(Debug, Serialize)]
#[serde(tag = "t", rename_all = "lowercase")]
pub enum ToWorker<'a> {
    Invoke {
        id: u64,
        /// The function's path, for error messages.
        path: &'a str,
        /// The module file, relative to the build directory.
        file: &'a str,
        /// The live project's file generation this invocation expects (0 for builds).
        generation: u64,
        /// What the invocations of the site share (`Scope`), only when the worker does not hold
        /// it yet: a site's variables and SIDs are the bulk of a frame, and the same on every call.
        #[serde(skip_serializing_if = "Option::is_none")]
        scope: Option<&'a RawValue>,
        /// The built-ins of `context` that vary by request; the scope's entries go over them.
        context: CallContext<'a>,
        event: &'a Value,
        /// With the scope's SIDs, the tag of this invocation's log lines.
        function_sid: &'a str,
        request_sid: &'a str,
        /// Why modules may be missing, added to the errors their absence causes.
        #[serde(skip_serializing_if = "Option::is_none")]
        dependencies: Option<&'a str>,
    },
    /// The live project's files changed, its routes did not: the worker takes up `generation`
    /// now, while twirl records it, rather than at the first invocation that expects it.
    Prepare { generation: u64 },
}

/// `context.PATH` and `context.DOMAIN_NAME`, as the request gives them.
#[derive(Debug, Serialize)]
pub struct CallContext<'a> {
    #[serde(rename = "PATH")]
    pub path: &'a str,
    #[serde(rename = "DOMAIN_NAME")]
    pub domain_name: &'a str,
}

/// worker → twirl.
#[derive(Debug, Deserialize)]
#[serde(tag = "t", rename_all = "lowercase")]
pub enum FromWorker {
    /// The harness is loaded and waits for invocations.
    Ready,
    /// A console call or a write to stdout/stderr; `tag` is absent outside any invocation.
    Log {
        tag: Option<LogTag>,
        level: String,
        msg: String,
    },
    /// The end of invocation `id`.
    Done(Done),
    /// The process is ending; `running` is the invocation it was running then, if any.
    Exit { running: Option<u64> },
}

/// The HTTP response an invocation produced.
#[derive(Debug, Clone, Deserialize)]
pub struct Done {
    pub id: u64,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Whether `body` is base64 (binary bodies).
    #[serde(default)]
    pub b64: bool,
    /// The worker crashed and is exiting: it must not serve again.
    #[serde(default)]
    pub fatal: bool,
    /// For a failed invocation, the error (`message`, `name`, `stack`), so browsers can be
    /// shown an error page.
    #[serde(default)]
    pub error: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_from_the_harness_shape() {
        let done: FromWorker = serde_json::from_str(
            r#"{"t":"done","id":3,"status":201,"headers":[["A","1"],["A","2"]],"body":"x","b64":false}"#,
        )
        .expect("done");
        match done {
            FromWorker::Done(d) => assert_eq!((d.id, d.status, d.headers.len()), (3, 201, 2)),
            other => panic!("{other:?}"),
        }
        let log: FromWorker = serde_json::from_str(r#"{"t":"log","tag":null,"level":"warn","msg":"m"}"#).expect("log");
        assert!(matches!(log, FromWorker::Log { tag: None, .. }));
        assert!(matches!(
            serde_json::from_str(r#"{"t":"ready"}"#).expect("ready"),
            FromWorker::Ready
        ));
        assert!(matches!(
            serde_json::from_str(r#"{"t":"exit","running":null}"#).expect("exit"),
            FromWorker::Exit { running: None }
        ));
    }

    #[test]
    fn invoke_frames_carry_the_scope_only_when_given() {
        let v = Value::Null;
        let scope = RawValue::from_string(r#"{"env":{}}"#.into()).expect("raw");
        let frame = |scope| ToWorker::Invoke {
            id: 1,
            path: "/a",
            file: "functions/a.js",
            generation: 0,
            scope,
            context: CallContext {
                path: "/a",
                domain_name: "localhost:3000",
            },
            event: &v,
            function_sid: "ZH",
            request_sid: "RQ",
            dependencies: None,
        };
        let with = serde_json::to_string(&frame(Some(&scope))).expect("json");
        assert!(with.starts_with(r#"{"t":"invoke","id":1"#), "{with}");
        assert!(with.contains(r#""scope":{"env":{}}"#), "{with}");
        let without = serde_json::to_string(&frame(None)).expect("json");
        assert!(
            !without.contains("scope") && !without.contains("dependencies"),
            "{without}"
        );
        assert!(
            without.contains(r#""context":{"PATH":"/a","DOMAIN_NAME":"localhost:3000"}"#),
            "{without}"
        );
    }
}
