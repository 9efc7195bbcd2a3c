//! The statuses a message or a call leg went through, each with the status callback it caused.
//! A history is kept in its owner's row as a JSON array, oldest first, in the form exports write
//! it: a reply that goes through its four statuses at once writes its own row only, not a row per
//! status in another table and its index.

use super::CachedSql;
use super::{found, json_column, to_json};
use crate::error::StoreError;
use rusqlite::Connection;

/// One status reached, and the status callback it caused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusEvent {
    pub status: String,
    #[serde(with = "crate::clock::iso")]
    pub at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_status: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_error: Option<String>,
}

impl StatusEvent {
    pub fn new(status: &str, at: i64) -> StatusEvent {
        StatusEvent {
            status: status.to_string(),
            at,
            callback_url: None,
            callback_status: None,
            callback_error: None,
        }
    }
}

/// Whose history: the table keeping it, and how the API names a missing one.
#[derive(Debug, Clone, Copy)]
pub enum Owner {
    Message,
    Call,
}

impl Owner {
    fn table(self) -> &'static str {
        match self {
            Owner::Message => "messages",
            Owner::Call => "calls",
        }
    }

    fn path(self, sid: &str) -> String {
        match self {
            Owner::Message => format!("/Messages/{sid}.json"),
            Owner::Call => format!("/Calls/{sid}.json"),
        }
    }
}

/// The statuses `sid` went through, oldest first.
pub fn read(conn: &Connection, owner: Owner, sid: &str) -> Result<Vec<StatusEvent>, StoreError> {
    found(
        conn.prepare_cached(&format!("SELECT history FROM {} WHERE sid = ?1", owner.table()))?
            .query_row([sid], |r| json_column(r, 0)),
        || owner.path(sid),
    )
}

/// A history of one status, as a new row holds it.
pub fn first(status: &str, at: i64) -> String {
    to_json(&[StatusEvent::new(status, at)])
}

/// A history as its row holds it (an export being loaded back).
pub fn encode(events: &[StatusEvent]) -> String {
    to_json(&events)
}

/// `sid`'s history with `statuses` reached at `at`, for the owner's own update to write with
/// the status it changes; and the place of the last one, to attach its callback's outcome to.
pub fn extended(
    conn: &Connection,
    owner: Owner,
    sid: &str,
    statuses: &[&str],
    at: i64,
) -> Result<(String, usize), StoreError> {
    let mut history = read(conn, owner, sid)?;
    history.extend(statuses.iter().map(|status| StatusEvent::new(status, at)));
    Ok((to_json(&history), history.len().saturating_sub(1)))
}

/// Records where the status callback of `sid`'s `index`th status went and how it ended.
pub fn record_callback(
    conn: &Connection,
    owner: Owner,
    sid: &str,
    index: usize,
    url: &str,
    status: Option<u16>,
    error: Option<&str>,
) -> Result<(), StoreError> {
    // The callback's fields are merged into the status in SQLite itself, not read, decoded,
    // encoded and written back; json_patch leaves out the null ones, as the history's form does.
    let merge = format!(
        "UPDATE {} SET history = json_set(history, '$[' || ?2 || ']',
             json_patch(history -> ('$[' || ?2 || ']'),
                        json_object('callback_url', ?3, 'callback_status', ?4, 'callback_error', ?5)))
         WHERE sid = ?1 AND json_array_length(history) > ?2",
        owner.table()
    );
    let changed = conn.execute_cached(&merge, rusqlite::params![sid, index as i64, url, status, error])?;
    if changed == 0 {
        return Err(StoreError::NotFound(owner.path(sid)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_append_and_callbacks_attach_to_theirs() {
        let conn = crate::store::test_connection();
        conn.execute(
            "INSERT INTO messages (sid, direction, from_address, to_address, body, status, num_segments,
                 date_created, date_updated, history)
             VALUES ('SM1', 'outbound-api', '+1', '+2', '', 'queued', 1, 0, 0, ?1)",
            [first("queued", 5)],
        )
        .expect("insert");
        let (history, last) = extended(&conn, Owner::Message, "SM1", &["sending", "sent"], 7).expect("extended");
        assert_eq!(last, 2);
        conn.execute("UPDATE messages SET history = ?2 WHERE sid = ?1", ("SM1", history))
            .expect("update");
        record_callback(&conn, Owner::Message, "SM1", 1, "http://x/cb", Some(200), None).expect("callback");
        let events = read(&conn, Owner::Message, "SM1").expect("read");
        let statuses: Vec<_> = events.iter().map(|e| (e.status.as_str(), e.at)).collect();
        assert_eq!(statuses, [("queued", 5), ("sending", 7), ("sent", 7)]);
        assert_eq!(events[1].callback_url.as_deref(), Some("http://x/cb"));
        assert_eq!(
            (events[1].callback_status, events[2].callback_url.as_deref()),
            (Some(200), None)
        );
        assert!(matches!(
            record_callback(&conn, Owner::Message, "SM1", 3, "u", None, None),
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(read(&conn, Owner::Call, "CA1"), Err(StoreError::NotFound(_))));
    }
}
