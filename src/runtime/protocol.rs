//! The frames exchanged with a worker: newline-delimited JSON over its stdin and stdout.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who a log line belongs to; sent with each invocation and echoed back on its log frames.
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
        /// What `process.env` holds beyond the worker's own environment: the environment's
        /// variables (and the account's credentials when the service includes them).
        env: &'a Value,
        context: &'a Value,
        event: &'a Value,
        tag: &'a LogTag,
        /// Why modules may be missing, added to the errors their absence causes.
        dependencies: Option<&'a str>,
    },
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
    fn invoke_frames_are_tagged() {
        let tag = LogTag {
            service_sid: "ZS".into(),
            environment_sid: "ZE".into(),
            build_sid: "ZB".into(),
            deployment_sid: "ZD".into(),
            function_sid: "ZH".into(),
            request_sid: "RQ".into(),
        };
        let v = Value::Null;
        let frame = ToWorker::Invoke {
            id: 1,
            path: "/a",
            file: "functions/a.js",
            generation: 0,
            env: &v,
            context: &v,
            event: &v,
            tag: &tag,
            dependencies: None,
        };
        let text = serde_json::to_string(&frame).expect("json");
        assert!(text.starts_with(r#"{"t":"invoke","id":1"#), "{text}");
    }
}
