//! `twirl call`: a handset calls one of the account's numbers. It prints each line of the call's
//! transcript as it comes (what is said and played, the webhooks made) and, whenever the call
//! waits, gives it the next input: the keys and phrases of `--digits` and `--say` in the order
//! given, or else the lines read (keys, a phrase, an empty line for silence, `q` to hang up);
//! in a terminal, silence is sent when the call's own timeout passes first, as a caller who says
//! nothing.

use super::call;
use crate::cli::{CallArgs, Cli};
use crate::error::StartupError;
use clap::CommandFactory;
use serde_json::{json, Value};
use std::io::{BufRead, IsTerminal, Write};
use std::sync::mpsc;
use std::time::Duration;

/// One thing the caller does when the call waits.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Keys(String),
    Say(String),
    Hangup,
}

impl Step {
    fn body(&self) -> Value {
        match self {
            Step::Keys(keys) => json!({ "Digits": keys }),
            Step::Say(words) => json!({ "SpeechResult": words }),
            Step::Hangup => json!({}),
        }
    }
}

/// What a typed line means: keys, nothing (silence), `q` (hang up), or words to say.
fn typed(line: &str) -> Step {
    let line = line.trim();
    if line.eq_ignore_ascii_case("q") || line.eq_ignore_ascii_case("hangup") {
        Step::Hangup
    } else if line.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#') {
        Step::Keys(line.to_string())
    } else {
        Step::Say(line.to_string())
    }
}

/// `--digits` and `--say` in the order they were given on the command line.
fn scripted(args: &CallArgs) -> Vec<Step> {
    let matches = Cli::command().try_get_matches_from(std::env::args_os()).ok();
    let call = matches.as_ref().and_then(|m| m.subcommand_matches("call"));
    let positions = |name: &str| -> Vec<usize> {
        call.and_then(|c| c.indices_of(name))
            .map(|i| i.collect())
            .unwrap_or_default()
    };
    let mut steps: Vec<(usize, Step)> = Vec::new();
    let (digit_at, say_at) = (positions("digits"), positions("say"));
    for (i, keys) in args.digits.iter().enumerate() {
        steps.push((digit_at.get(i).copied().unwrap_or(i), Step::Keys(keys.clone())));
    }
    for (i, words) in args.say.iter().enumerate() {
        let at = say_at.get(i).copied().unwrap_or(usize::MAX - args.say.len() + i);
        steps.push((at, Step::Say(words.clone())));
    }
    steps.sort_by_key(|(at, _)| *at);
    steps.into_iter().map(|(_, step)| step).collect()
}

/// A transcript line as a line for people.
fn describe(line: &Value) -> String {
    let text = |key: &str| line[key].as_str().unwrap_or("").to_string();
    let verb = text("verb");
    match verb.as_str() {
        "say" => format!("  say      {}", text("text")),
        "play" if line["digits"].is_string() => format!("  play     tones {}", text("digits")),
        "play" => format!("  play     {}", text("url")),
        "pause" => format!("  pause    {} s", line["length"]),
        "gather" => format!("  gather   waits for {}", join(&line["input"])),
        "record" => format!("  record   recording (beep); finish with {}", text("finish_on_key")),
        "recording" if line["empty"] == json!(true) => "  record   nothing was recorded".to_string(),
        "recording" => format!("  record   {} s saved as {}", line["duration"], text("recording_sid")),
        "input" if line["timeout"] == json!(true) => "  you      (silence)".to_string(),
        "input" => format!(
            "  you      {}{}",
            text("digits"),
            line["speech"].as_str().map(|s| format!("\"{s}\"")).unwrap_or_default()
        ),
        "webhook" => format!(
            "  webhook  {} {} → {}",
            text("method"),
            text("url"),
            line["status"].as_u64().map_or_else(|| text("error"), |s| s.to_string())
        ),
        "dial" => {
            let targets: Vec<String> = line["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| t["to"].as_str().or(t["name"].as_str()).unwrap_or("").to_string())
                .collect();
            format!("  dial     {}", targets.join(", "))
        }
        "dial-ended" => format!("  dial     ended: {}", text("dial_call_status")),
        "hangup" if line["by"].is_string() => format!("  hangup   by {}", text("by")),
        _ => {
            let mut rest = line.clone();
            if let Some(map) = rest.as_object_mut() {
                for key in ["verb", "call_sid", "at"] {
                    map.remove(key);
                }
            }
            let details = if rest.as_object().is_some_and(|m| m.is_empty()) {
                String::new()
            } else {
                rest.to_string()
            };
            format!("  {verb:<8} {details}").trim_end().to_string()
        }
    }
}

fn join(list: &Value) -> String {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// What to tell a person when the call waits.
fn prompt(awaiting: &Value) -> String {
    match awaiting["verb"].as_str() {
        Some("gather") => format!(
            "[{}: keys, words, Enter for silence ({} s), q to hang up] ",
            join(&awaiting["input"]),
            awaiting["timeout"]
        ),
        Some("record") => "[recording: say something, or press a key to stop; q to hang up] ".into(),
        _ => "[on the line: q to hang up] ".into(),
    }
}

/// Prints the lines of `state` not printed yet.
fn show(state: &Value, printed: &mut usize) {
    let lines = state["transcript"].as_array().cloned().unwrap_or_default();
    for line in lines.iter().skip(*printed) {
        println!("{}", describe(line));
    }
    *printed = lines.len().max(*printed);
}

/// Reads typed lines on their own thread, so a wait can give up after the call's timeout.
fn keyboard() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The next thing the caller does: a scripted step, a typed line, or silence once the call's
/// timeout passes (hanging up when a script runs out or the keyboard closes).
fn next_step(
    awaiting: &Value,
    script: &mut Option<std::vec::IntoIter<Step>>,
    keys: &Option<mpsc::Receiver<String>>,
) -> Step {
    if let Some(steps) = script {
        return steps.next().unwrap_or(Step::Hangup);
    }
    let Some(keys) = keys else {
        return Step::Hangup;
    };
    print!("{}", prompt(awaiting));
    let _ = std::io::stdout().flush();
    // Only a person at a terminal is timed; lines piped in are read as they come.
    let timeout = awaiting["timeout"]
        .as_u64()
        .filter(|_| awaiting["verb"] == "gather" && std::io::stdin().is_terminal());
    let line = match timeout {
        Some(seconds) => match keys.recv_timeout(Duration::from_secs(seconds)) {
            Ok(line) => Ok(line),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                println!();
                return Step::Keys(String::new());
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(()),
        },
        None => keys.recv().map_err(|_| ()),
    };
    line.map_or(Step::Hangup, |l| typed(&l))
}

pub fn dial(args: &CallArgs) -> Result<(), StartupError> {
    let fail = |e: serde_json::Error| StartupError::Config(e.to_string());
    let body = json!({ "From": args.from, "To": args.to });
    let mut state: Value =
        serde_json::from_str(&call(&args.control, "POST", "phone/calls", Some(body))?).map_err(fail)?;
    let sid = state["call"]["sid"].as_str().unwrap_or("").to_string();
    let steps = scripted(args);
    let typing = steps.is_empty();
    let mut script = (!typing).then(|| steps.into_iter());
    let keys = typing.then(keyboard);
    let mut printed = 0;
    if !args.json {
        println!("{} → {} ({sid})", args.from, args.to);
    }
    while !state["awaiting"].is_null() {
        if !args.json {
            show(&state, &mut printed);
        }
        let step = next_step(&state["awaiting"], &mut script, &keys);
        let path = match step {
            Step::Hangup => format!("phone/calls/{sid}/hangup"),
            _ => format!("phone/calls/{sid}/input"),
        };
        state = serde_json::from_str(&call(&args.control, "POST", &path, Some(step.body()))?).map_err(fail)?;
    }
    if args.json {
        println!("{state}");
    } else {
        show(&state, &mut printed);
        let call = &state["call"];
        let duration = call["duration"].as_str().unwrap_or("0");
        println!("call {}: {} s", call["status"].as_str().unwrap_or(""), duration);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_lines_are_keys_words_silence_or_hanging_up() {
        assert_eq!(typed("12#"), Step::Keys("12#".into()));
        assert_eq!(typed(""), Step::Keys(String::new()));
        assert_eq!(typed("q"), Step::Hangup);
        assert_eq!(typed("the time please"), Step::Say("the time please".into()));
    }

    #[test]
    fn transcript_lines_read_as_lines() {
        assert_eq!(describe(&json!({"verb": "say", "text": "Hi"})), "  say      Hi");
        assert_eq!(describe(&json!({"verb": "input", "digits": "1"})), "  you      1");
        assert_eq!(
            describe(&json!({"verb": "input", "timeout": true})),
            "  you      (silence)"
        );
        assert_eq!(
            describe(&json!({"verb": "webhook", "method": "POST", "url": "https://a.twil.io/v", "status": 200})),
            "  webhook  POST https://a.twil.io/v → 200"
        );
        assert_eq!(
            describe(&json!({"verb": "hangup", "call_sid": "CA1", "at": "x"})),
            "  hangup"
        );
    }
}
