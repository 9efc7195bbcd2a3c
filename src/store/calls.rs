//! Calls (every leg of them), the statuses each went through with the status callback each
//! caused, their transcripts, and the recordings `<Record>` made, for the Calls and Recordings
//! APIs, the control endpoints and the console.

use super::history::{self, Owner, StatusEvent};
use super::CachedSql;
use super::{found, Page, Window};
use crate::error::StoreError;
use crate::sid;
use rusqlite::{Connection, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub sid: String,
    /// The first leg of the call this leg belongs to (its own SID for a first leg).
    pub root_sid: String,
    pub parent_call_sid: Option<String>,
    /// `inbound`, `outbound-api` or `outbound-dial`.
    pub direction: String,
    pub from: String,
    pub to: String,
    pub phone_number_sid: Option<String>,
    pub status: String,
    pub answered_by: Option<String>,
    pub status_callback: Option<String>,
    pub status_callback_method: String,
    /// The status callback events asked for: `initiated`, `ringing`, `answered`, `completed`.
    pub status_callback_events: Vec<String>,
    pub date_created: i64,
    pub date_updated: i64,
    /// When the call was dialed (or arrived).
    pub start_time: Option<i64>,
    /// When it was answered.
    pub answer_time: Option<i64>,
    pub end_time: Option<i64>,
}

impl Call {
    /// Whether the call has ended.
    pub fn ended(&self) -> bool {
        FINAL.contains(&self.status.as_str())
    }

    /// Seconds from answer to end, once ended (0 when never answered).
    pub fn duration(&self) -> Option<i64> {
        let end = self.end_time.filter(|_| self.ended())?;
        Some(self.answer_time.map_or(0, |answered| (end - answered).max(0)))
    }
}

/// Statuses after which a call changes no more.
pub const FINAL: &[&str] = &["completed", "busy", "failed", "no-answer", "canceled"];

/// What a new leg is made of.
#[derive(Debug, Clone, Default)]
pub struct NewCall {
    pub root_sid: Option<String>,
    pub parent_call_sid: Option<String>,
    pub direction: String,
    pub from: String,
    pub to: String,
    pub phone_number_sid: Option<String>,
    pub status: String,
    pub answered_by: Option<String>,
    pub status_callback: Option<String>,
    pub status_callback_method: String,
    pub status_callback_events: Vec<String>,
}

const COLUMNS: &str = "sid, root_sid, parent_call_sid, direction, from_address, to_address, phone_number_sid, status,
    answered_by, status_callback, status_callback_method, status_callback_events, date_created, date_updated,
    start_time, answer_time, end_time";

fn from_row(r: &Row) -> rusqlite::Result<Call> {
    let events: String = r.get(11)?;
    Ok(Call {
        sid: r.get(0)?,
        root_sid: r.get(1)?,
        parent_call_sid: r.get(2)?,
        direction: r.get(3)?,
        from: r.get(4)?,
        to: r.get(5)?,
        phone_number_sid: r.get(6)?,
        status: r.get(7)?,
        answered_by: r.get(8)?,
        status_callback: r.get(9)?,
        status_callback_method: r.get(10)?,
        status_callback_events: events.split_whitespace().map(str::to_string).collect(),
        date_created: r.get(12)?,
        date_updated: r.get(13)?,
        start_time: r.get(14)?,
        answer_time: r.get(15)?,
        end_time: r.get(16)?,
    })
}

/// Stores a new leg with its first status (no callback: that status was not reached by a change).
pub fn create(conn: &Connection, new: &NewCall, now: i64) -> Result<Call, StoreError> {
    let sid = sid::generate(sid::prefix::CALL);
    let call = Call {
        root_sid: new.root_sid.clone().unwrap_or_else(|| sid.clone()),
        sid,
        parent_call_sid: new.parent_call_sid.clone(),
        direction: new.direction.clone(),
        from: new.from.clone(),
        to: new.to.clone(),
        phone_number_sid: new.phone_number_sid.clone(),
        status: new.status.clone(),
        answered_by: new.answered_by.clone(),
        status_callback: new.status_callback.clone(),
        status_callback_method: new.status_callback_method.clone(),
        status_callback_events: new.status_callback_events.clone(),
        date_created: now,
        date_updated: now,
        start_time: (new.status == "ringing").then_some(now),
        answer_time: None,
        end_time: None,
    };
    insert(conn, &call, &history::first(&call.status, now))?;
    Ok(call)
}

fn insert(conn: &Connection, c: &Call, history: &str) -> Result<(), StoreError> {
    conn.execute_cached(
        &format!("INSERT INTO calls ({COLUMNS}, history) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"),
        rusqlite::params![
            c.sid,
            c.root_sid,
            c.parent_call_sid,
            c.direction,
            c.from,
            c.to,
            c.phone_number_sid,
            c.status,
            c.answered_by,
            c.status_callback,
            c.status_callback_method,
            c.status_callback_events.join(" "),
            c.date_created,
            c.date_updated,
            c.start_time,
            c.answer_time,
            c.end_time,
            history
        ],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, sid: &str) -> Result<Call, StoreError> {
    found(
        conn.query_row_cached(&format!("SELECT {COLUMNS} FROM calls WHERE sid = ?1"), [sid], from_row),
        || format!("/Calls/{sid}.json"),
    )
}

/// List filters: exact `To`, `From`, `ParentCallSid` and `Status`; start and end times within
/// `[from, until)`.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub to: Option<String>,
    pub from: Option<String>,
    pub parent_call_sid: Option<String>,
    pub status: Option<String>,
    pub started: (Option<i64>, Option<i64>),
    pub ended: (Option<i64>, Option<i64>),
}

/// Calls newest first, as Twilio lists them.
pub fn list(conn: &Connection, filter: &Filter, window: Window) -> Result<Page<Call>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM calls
         WHERE (?1 IS NULL OR to_address = ?1) AND (?2 IS NULL OR from_address = ?2)
           AND (?3 IS NULL OR parent_call_sid = ?3) AND (?4 IS NULL OR status = ?4)
           AND (?5 IS NULL OR start_time >= ?5) AND (?6 IS NULL OR start_time < ?6)
           AND (?7 IS NULL OR end_time >= ?7) AND (?8 IS NULL OR end_time < ?8)
         ORDER BY seq DESC LIMIT ?9 OFFSET ?10"
    ))?;
    let rows = stmt
        .query_map(
            rusqlite::params![
                filter.to,
                filter.from,
                filter.parent_call_sid,
                filter.status,
                filter.started.0,
                filter.started.1,
                filter.ended.0,
                filter.ended.1,
                window.limit + 1,
                window.offset
            ],
            from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, window))
}

/// The legs of the call whose first leg is `root_sid`, oldest first.
pub fn legs(conn: &Connection, root_sid: &str) -> Result<Vec<Call>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM calls WHERE root_sid = ?1 ORDER BY seq"))?;
    let rows = stmt
        .query_map([root_sid], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Legs that never ended (left by a run of twirl that stopped meanwhile).
pub fn unfinished(conn: &Connection) -> Result<Vec<Call>, StoreError> {
    let finals = FINAL.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM calls WHERE status NOT IN ({finals}) ORDER BY seq"
    ))?;
    let rows = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Moves a leg to `status` (the callback-only `initiated` leaves the resource's status as it
/// is) and records it; returns the status's place in the leg's history, to attach its
/// callback's outcome to.
pub fn set_status(conn: &Connection, sid: &str, status: &str, now: i64) -> Result<usize, StoreError> {
    let (history, index) = history::extended(conn, Owner::Call, sid, &[status], now)?;
    let ends = FINAL.contains(&status);
    conn.execute_cached(
        "UPDATE calls SET
             status = CASE WHEN ?2 = 'initiated' THEN status ELSE ?2 END,
             date_updated = ?3,
             start_time = CASE WHEN start_time IS NULL AND ?2 IN ('initiated', 'ringing', 'in-progress') THEN ?3 ELSE start_time END,
             answer_time = CASE WHEN ?2 = 'in-progress' AND answer_time IS NULL THEN ?3 ELSE answer_time END,
             end_time = CASE WHEN ?4 THEN ?3 ELSE end_time END,
             history = ?5
         WHERE sid = ?1",
        rusqlite::params![sid, status, now, ends, history],
    )?;
    Ok(index)
}

/// Records that the leg was answered by `answered_by` (machine detection).
pub fn set_answered_by(conn: &Connection, sid: &str, answered_by: &str) -> Result<(), StoreError> {
    conn.execute_cached("UPDATE calls SET answered_by = ?2 WHERE sid = ?1", (sid, answered_by))?;
    Ok(())
}

/// Where a leg's status changes are posted from now on (an API update).
pub fn set_status_callback(conn: &Connection, sid: &str, url: &str, method: &str) -> Result<(), StoreError> {
    conn.execute_cached(
        "UPDATE calls SET status_callback = ?2, status_callback_method = ?3 WHERE sid = ?1",
        (sid, url, method),
    )?;
    Ok(())
}

/// The statuses a leg went through, oldest first.
pub fn events(conn: &Connection, sid: &str) -> Result<Vec<StatusEvent>, StoreError> {
    history::read(conn, Owner::Call, sid)
}

/// One line of a transcript: the leg it happened on, when, and what (a JSON object).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub call_sid: String,
    #[serde(with = "crate::clock::iso")]
    pub at: i64,
    pub entry: serde_json::Value,
}

/// Adds a line to the transcript of `call` (and so of its whole call).
pub fn append(conn: &Connection, call: &Call, at: i64, entry: &serde_json::Value) -> Result<(), StoreError> {
    conn.execute_cached(
        "INSERT INTO call_transcript (call_sid, root_sid, at, entry) VALUES (?1, ?2, ?3, ?4)",
        (&call.sid, &call.root_sid, at, entry.to_string()),
    )?;
    Ok(())
}

/// What happened on a call, oldest first: on all its legs for a first leg, else on that leg.
pub fn transcript(conn: &Connection, call: &Call) -> Result<Vec<Line>, StoreError> {
    let column = if call.root_sid == call.sid {
        "root_sid"
    } else {
        "call_sid"
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT call_sid, at, entry FROM call_transcript WHERE {column} = ?1 ORDER BY seq"
    ))?;
    let rows = stmt
        .query_map([&call.sid], |r| {
            let entry: String = r.get(2)?;
            Ok(Line {
                call_sid: r.get(0)?,
                at: r.get(1)?,
                entry: serde_json::from_str(&entry).unwrap_or_default(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn delete(conn: &Connection, sid: &str) -> Result<(), StoreError> {
    get(conn, sid)?;
    conn.execute_cached("DELETE FROM calls WHERE sid = ?1", [sid])?;
    Ok(())
}

/// Every leg, oldest first, for export.
pub fn all(conn: &Connection) -> Result<Vec<Call>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM calls ORDER BY seq"))?;
    let rows = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Stores a leg exactly as recorded (an export being loaded back), with its history and lines.
pub fn restore(conn: &Connection, call: &Call, events: &[StatusEvent], lines: &[Line]) -> Result<(), StoreError> {
    insert(conn, call, &history::encode(events))?;
    for line in lines {
        append(conn, call, line.at, &line.entry)?;
    }
    Ok(())
}

/// A recording `<Record>` made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recording {
    pub sid: String,
    pub call_sid: String,
    /// Seconds.
    pub duration: i64,
    /// `RecordVerb`, or `OutboundAPI` for a call created with `Record=true`.
    pub source: String,
    /// What the caller said, when the driver said something.
    #[serde(default)]
    pub speech: String,
    #[serde(with = "crate::clock::iso")]
    pub date_created: i64,
    #[serde(with = "crate::clock::iso")]
    pub start_time: i64,
}

const RECORDING_COLUMNS: &str = "sid, call_sid, duration, source, speech, date_created, start_time";

fn recording_from_row(r: &Row) -> rusqlite::Result<Recording> {
    Ok(Recording {
        sid: r.get(0)?,
        call_sid: r.get(1)?,
        duration: r.get(2)?,
        source: r.get(3)?,
        speech: r.get(4)?,
        date_created: r.get(5)?,
        start_time: r.get(6)?,
    })
}

/// Stores `recording` (with a new SID unless it has one).
pub fn add_recording(conn: &Connection, recording: &Recording) -> Result<Recording, StoreError> {
    let recording = Recording {
        sid: if recording.sid.is_empty() {
            sid::generate(sid::prefix::RECORDING)
        } else {
            recording.sid.clone()
        },
        ..recording.clone()
    };
    conn.execute_cached(
        &format!("INSERT INTO recordings ({RECORDING_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
        rusqlite::params![
            recording.sid,
            recording.call_sid,
            recording.duration,
            recording.source,
            recording.speech,
            recording.date_created,
            recording.start_time
        ],
    )?;
    Ok(recording)
}

pub fn recording(conn: &Connection, sid: &str) -> Result<Recording, StoreError> {
    found(
        conn.query_row_cached(
            &format!("SELECT {RECORDING_COLUMNS} FROM recordings WHERE sid = ?1"),
            [sid],
            recording_from_row,
        ),
        || format!("/Recordings/{sid}.json"),
    )
}

/// Recordings newest first, of one call when `call_sid` is given, created within `[from, until)`.
pub fn recordings(
    conn: &Connection,
    call_sid: Option<&str>,
    created: (Option<i64>, Option<i64>),
    window: Window,
) -> Result<Page<Recording>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RECORDING_COLUMNS} FROM recordings
         WHERE (?1 IS NULL OR call_sid = ?1) AND (?2 IS NULL OR date_created >= ?2) AND (?3 IS NULL OR date_created < ?3)
         ORDER BY seq DESC LIMIT ?4 OFFSET ?5"
    ))?;
    let rows = stmt
        .query_map(
            rusqlite::params![call_sid, created.0, created.1, window.limit + 1, window.offset],
            recording_from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, window))
}

pub fn delete_recording(conn: &Connection, sid: &str) -> Result<(), StoreError> {
    recording(conn, sid)?;
    conn.execute_cached("DELETE FROM recordings WHERE sid = ?1", [sid])?;
    Ok(())
}

/// Every recording, oldest first, for export.
pub fn all_recordings(conn: &Connection) -> Result<Vec<Recording>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {RECORDING_COLUMNS} FROM recordings ORDER BY seq"))?;
    let rows = stmt
        .query_map([], recording_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Connection {
        let mut conn = Connection::open_in_memory().expect("db");
        super::super::migrate(&mut conn).expect("migrate");
        conn
    }

    fn new_call(status: &str) -> NewCall {
        NewCall {
            direction: "outbound-api".into(),
            from: "+15005550006".into(),
            to: "+14155550100".into(),
            status: status.into(),
            status_callback_method: "POST".into(),
            status_callback_events: vec!["completed".into()],
            ..NewCall::default()
        }
    }

    #[test]
    fn statuses_set_start_answer_and_end_times() {
        let conn = store();
        let call = create(&conn, &new_call("queued"), 100).expect("create");
        assert_eq!(call.root_sid, call.sid);
        set_status(&conn, &call.sid, "initiated", 101).expect("initiated");
        let c = get(&conn, &call.sid).expect("get");
        assert_eq!((c.status.as_str(), c.start_time), ("queued", Some(101)));
        set_status(&conn, &call.sid, "in-progress", 103).expect("answered");
        set_status(&conn, &call.sid, "completed", 110).expect("ended");
        let c = get(&conn, &call.sid).expect("get");
        assert_eq!(
            (c.answer_time, c.end_time, c.duration()),
            (Some(103), Some(110), Some(7))
        );
        let statuses: Vec<String> = events(&conn, &call.sid)
            .expect("events")
            .into_iter()
            .map(|e| e.status)
            .collect();
        assert_eq!(statuses, ["queued", "initiated", "in-progress", "completed"]);
    }

    #[test]
    fn transcripts_of_a_first_leg_cover_every_leg() {
        let conn = store();
        let root = create(&conn, &new_call("ringing"), 1).expect("root");
        let child = create(
            &conn,
            &NewCall {
                root_sid: Some(root.sid.clone()),
                parent_call_sid: Some(root.sid.clone()),
                ..new_call("queued")
            },
            1,
        )
        .expect("child");
        append(&conn, &root, 1, &serde_json::json!({"verb": "say"})).expect("root line");
        append(&conn, &child, 2, &serde_json::json!({"verb": "play"})).expect("child line");
        assert_eq!(transcript(&conn, &root).expect("all").len(), 2);
        let own = transcript(&conn, &child).expect("own");
        assert_eq!((own.len(), own[0].entry["verb"].as_str()), (1, Some("play")));
        assert_eq!(legs(&conn, &root.sid).expect("legs").len(), 2);
        let page = list(
            &conn,
            &Filter {
                parent_call_sid: Some(root.sid.clone()),
                ..Filter::default()
            },
            Window { offset: 0, limit: 10 },
        )
        .expect("list");
        assert_eq!(page.items, vec![child]);
    }
}
