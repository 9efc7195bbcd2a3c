//! Messages, their media and the statuses each went through (with the status callback each
//! caused), for the Messages API, the handsets' inboxes and the console.

use super::history::{self, Owner, StatusEvent};
use super::CachedSql;
use super::{found, Page, Window};
use crate::error::StoreError;
use crate::sid;
use rusqlite::{Connection, Row};

#[derive(Debug, Clone)]
pub struct Message {
    pub sid: String,
    pub direction: String,
    pub from: String,
    pub to: String,
    pub body: String,
    pub status: String,
    pub messaging_service_sid: Option<String>,
    pub num_segments: i64,
    pub num_media: i64,
    pub error_code: Option<i64>,
    pub error_message: Option<String>,
    pub status_callback: Option<String>,
    pub status_callback_method: String,
    pub send_at: Option<i64>,
    pub date_created: i64,
    pub date_updated: i64,
    pub date_sent: Option<i64>,
}

/// What a new message is made of.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    pub direction: String,
    pub from: String,
    pub to: String,
    pub body: String,
    pub status: String,
    pub messaging_service_sid: Option<String>,
    pub num_segments: i64,
    pub status_callback: Option<String>,
    pub status_callback_method: String,
    pub send_at: Option<i64>,
    /// Media URLs with their content types.
    pub media: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct Media {
    pub sid: String,
    pub message_sid: String,
    pub content_type: String,
    pub url: String,
    pub date_created: i64,
}

const COLUMNS: &str = "sid, direction, from_address, to_address, body, status, messaging_service_sid, num_segments,
    (SELECT count(*) FROM message_media WHERE message_sid = messages.sid), error_code, error_message,
    status_callback, status_callback_method, send_at, date_created, date_updated, date_sent";

fn from_row(r: &Row) -> rusqlite::Result<Message> {
    Ok(Message {
        sid: r.get(0)?,
        direction: r.get(1)?,
        from: r.get(2)?,
        to: r.get(3)?,
        body: r.get(4)?,
        status: r.get(5)?,
        messaging_service_sid: r.get(6)?,
        num_segments: r.get(7)?,
        num_media: r.get(8)?,
        error_code: r.get(9)?,
        error_message: r.get(10)?,
        status_callback: r.get(11)?,
        status_callback_method: r.get(12)?,
        send_at: r.get(13)?,
        date_created: r.get(14)?,
        date_updated: r.get(15)?,
        date_sent: r.get(16)?,
    })
}

/// Statuses after which a message changes no more.
pub const FINAL: &[&str] = &["delivered", "undelivered", "failed", "received", "canceled", "read"];

/// A status a message moves to, with the error it ends with, if any.
pub type Step<'a> = (&'a str, Option<(i64, &'a str)>);

/// Stores a new message (its first status recorded, with no callback: Twilio sends none for
/// it), already moved through `steps` if any; returns it as created and as stored.
pub fn create(conn: &Connection, new: &NewMessage, steps: &[Step], now: i64) -> Result<(Message, Message), StoreError> {
    let prefix = if new.media.is_empty() {
        sid::prefix::MESSAGE
    } else {
        sid::prefix::MMS
    };
    let created = Message {
        sid: sid::generate(prefix),
        direction: new.direction.clone(),
        from: new.from.clone(),
        to: new.to.clone(),
        body: new.body.clone(),
        status: new.status.clone(),
        messaging_service_sid: new.messaging_service_sid.clone(),
        num_segments: new.num_segments,
        num_media: new.media.len() as i64,
        error_code: None,
        error_message: None,
        status_callback: new.status_callback.clone(),
        status_callback_method: new.status_callback_method.clone(),
        send_at: new.send_at,
        date_created: now,
        date_updated: now,
        date_sent: is_sent(&new.status).then_some(now),
    };
    let stored = advanced(&created, steps, now);
    let mut events = vec![StatusEvent::new(&created.status, now)];
    events.extend(steps.iter().map(|(status, _)| StatusEvent::new(status, now)));
    insert(conn, &stored, &history::encode(&events))?;
    for (content_type, url) in &new.media {
        let media = Media {
            sid: sid::generate(sid::prefix::MEDIA),
            message_sid: created.sid.clone(),
            content_type: content_type.clone(),
            url: url.clone(),
            date_created: now,
        };
        insert_media(conn, &media)?;
    }
    Ok((created, stored))
}

/// Whether a message in `status` has been sent (or, inbound, received).
fn is_sent(status: &str) -> bool {
    matches!(status, "sent" | "delivered" | "undelivered" | "received")
}

/// `message` once moved through `steps` at `now`.
fn advanced(message: &Message, steps: &[Step], now: i64) -> Message {
    let Some((status, error)) = steps.last() else {
        return message.clone();
    };
    let sent = steps.iter().any(|(s, _)| is_sent(s));
    Message {
        status: status.to_string(),
        error_code: error.map(|e| e.0),
        error_message: error.map(|e| e.1.to_string()),
        date_updated: now,
        date_sent: message.date_sent.or(sent.then_some(now)),
        ..message.clone()
    }
}

fn insert(conn: &Connection, m: &Message, history: &str) -> Result<(), StoreError> {
    conn.execute_cached(
        "INSERT INTO messages (sid, direction, from_address, to_address, body, status, messaging_service_sid,
             num_segments, error_code, error_message, status_callback, status_callback_method, send_at,
             date_created, date_updated, date_sent, history)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        rusqlite::params![
            m.sid,
            m.direction,
            m.from,
            m.to,
            m.body,
            m.status,
            m.messaging_service_sid,
            m.num_segments,
            m.error_code,
            m.error_message,
            m.status_callback,
            m.status_callback_method,
            m.send_at,
            m.date_created,
            m.date_updated,
            m.date_sent,
            history
        ],
    )?;
    Ok(())
}

fn insert_media(conn: &Connection, item: &Media) -> Result<(), StoreError> {
    conn.execute_cached(
        "INSERT INTO message_media (sid, message_sid, content_type, url, date_created) VALUES (?1, ?2, ?3, ?4, ?5)",
        (
            &item.sid,
            &item.message_sid,
            &item.content_type,
            &item.url,
            item.date_created,
        ),
    )?;
    Ok(())
}

pub fn get(conn: &Connection, sid: &str) -> Result<Message, StoreError> {
    found(
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM messages WHERE sid = ?1"))?
            .query_row([sid], from_row),
        || format!("/Messages/{sid}.json"),
    )
}

/// List filters: exact `To` and `From`, and `date_sent` within `[sent_from, sent_until)`.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub to: Option<String>,
    pub from: Option<String>,
    pub sent_from: Option<i64>,
    pub sent_until: Option<i64>,
}

/// Messages newest first, as Twilio lists them.
pub fn list(conn: &Connection, filter: &Filter, window: Window) -> Result<Page<Message>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM messages
         WHERE (?1 IS NULL OR to_address = ?1) AND (?2 IS NULL OR from_address = ?2)
           AND (?3 IS NULL OR date_sent >= ?3) AND (?4 IS NULL OR date_sent < ?4)
         ORDER BY seq DESC LIMIT ?5 OFFSET ?6"
    ))?;
    let rows = stmt
        .query_map(
            rusqlite::params![
                filter.to,
                filter.from,
                filter.sent_from,
                filter.sent_until,
                window.limit + 1,
                window.offset
            ],
            from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, window))
}

/// What a handset has received, oldest first.
pub fn inbox(conn: &Connection, address: &str) -> Result<Vec<Message>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM messages WHERE to_address = ?1 AND direction != 'inbound'
           AND status IN ('delivered', 'read') ORDER BY seq"
    ))?;
    let rows = stmt
        .query_map([address], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The newest `limit` messages a handset sent or was sent, in any status, oldest first; with
/// `with`, only those exchanged with that number.
pub fn conversation(
    conn: &Connection,
    address: &str,
    with: Option<&str>,
    limit: i64,
) -> Result<Vec<Message>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM messages WHERE seq IN (
             SELECT seq FROM messages
             WHERE (from_address = ?1 AND (?2 IS NULL OR to_address = ?2))
                OR (to_address = ?1 AND (?2 IS NULL OR from_address = ?2))
             ORDER BY seq DESC LIMIT ?3
         ) ORDER BY seq"
    ))?;
    let rows = stmt
        .query_map(rusqlite::params![address, with, limit], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Outbound messages still on their way (to resume after a restart), oldest first.
pub fn in_flight(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let finals = FINAL.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT sid FROM messages WHERE direction != 'inbound' AND status NOT IN ({finals}) ORDER BY seq"
    ))?;
    let rows = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(rows)
}

/// Moves `message` through `steps` in one go — each recorded, the last one kept — and returns it
/// as it now is, with the place of its last status in its history (to attach that status's
/// callback to).
pub fn advance(conn: &Connection, message: &Message, steps: &[Step], now: i64) -> Result<(Message, usize), StoreError> {
    let statuses: Vec<&str> = steps.iter().map(|(step, _)| *step).collect();
    let (history, last) = history::extended(conn, Owner::Message, &message.sid, &statuses, now)?;
    let updated = advanced(message, steps, now);
    conn.prepare_cached(
        "UPDATE messages SET status = ?2, error_code = ?3, error_message = ?4, date_updated = ?5,
             date_sent = ?6, history = ?7
         WHERE sid = ?1",
    )?
    .execute(rusqlite::params![
        updated.sid,
        updated.status,
        updated.error_code,
        updated.error_message,
        now,
        updated.date_sent,
        history
    ])?;
    Ok((updated, last))
}

/// The statuses a message went through, oldest first.
pub fn events(conn: &Connection, sid: &str) -> Result<Vec<StatusEvent>, StoreError> {
    history::read(conn, Owner::Message, sid)
}

/// Empties a message's body (redaction).
pub fn redact(conn: &Connection, sid: &str, now: i64) -> Result<Message, StoreError> {
    get(conn, sid)?;
    conn.execute_cached(
        "UPDATE messages SET body = '', date_updated = ?2 WHERE sid = ?1",
        (sid, now),
    )?;
    get(conn, sid)
}

pub fn delete(conn: &Connection, sid: &str) -> Result<(), StoreError> {
    get(conn, sid)?;
    conn.execute_cached("DELETE FROM messages WHERE sid = ?1", [sid])?;
    Ok(())
}

const MEDIA_COLUMNS: &str = "sid, message_sid, content_type, url, date_created";

fn media_from_row(r: &Row) -> rusqlite::Result<Media> {
    Ok(Media {
        sid: r.get(0)?,
        message_sid: r.get(1)?,
        content_type: r.get(2)?,
        url: r.get(3)?,
        date_created: r.get(4)?,
    })
}

/// A message's media, oldest first, created within `[from, until)` when given.
pub fn media(
    conn: &Connection,
    message_sid: &str,
    created: (Option<i64>, Option<i64>),
    window: Window,
) -> Result<Page<Media>, StoreError> {
    get(conn, message_sid)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MEDIA_COLUMNS} FROM message_media
         WHERE message_sid = ?1 AND (?2 IS NULL OR date_created >= ?2) AND (?3 IS NULL OR date_created < ?3)
         ORDER BY seq LIMIT ?4 OFFSET ?5"
    ))?;
    let rows = stmt
        .query_map(
            rusqlite::params![message_sid, created.0, created.1, window.limit + 1, window.offset],
            media_from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, window))
}

pub fn media_item(conn: &Connection, message_sid: &str, sid: &str) -> Result<Media, StoreError> {
    found(
        conn.query_row_cached(
            &format!("SELECT {MEDIA_COLUMNS} FROM message_media WHERE message_sid = ?1 AND sid = ?2"),
            [message_sid, sid],
            media_from_row,
        ),
        || format!("/Messages/{message_sid}/Media/{sid}.json"),
    )
}

pub fn delete_media(conn: &Connection, message_sid: &str, sid: &str) -> Result<(), StoreError> {
    media_item(conn, message_sid, sid)?;
    conn.execute_cached("DELETE FROM message_media WHERE sid = ?1", [sid])?;
    Ok(())
}

/// Every media item of a message, for rendering and export.
pub fn all_media(conn: &Connection, message_sid: &str) -> Result<Vec<Media>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MEDIA_COLUMNS} FROM message_media WHERE message_sid = ?1 ORDER BY seq"
    ))?;
    let rows = stmt
        .query_map([message_sid], media_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Stores a message exactly as recorded (an export being loaded back): its SID, dates, media and
/// status history.
pub fn restore(conn: &Connection, m: &Message, media: &[Media], events: &[StatusEvent]) -> Result<(), StoreError> {
    insert(conn, m, &history::encode(events))?;
    for item in media {
        insert_media(
            conn,
            &Media {
                message_sid: m.sid.clone(),
                ..item.clone()
            },
        )?;
    }
    Ok(())
}

/// Every message, oldest first, for export.
pub fn all(conn: &Connection) -> Result<Vec<Message>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM messages ORDER BY seq"))?;
    let rows = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
