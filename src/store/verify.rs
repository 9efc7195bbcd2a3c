//! Verify: verification services, the verifications started under them with every check made,
//! and each code sent (a send attempt, with the mail of an email). What a service does lives in
//! its `Config`, stored as JSON and named as the API renders it.

use super::CachedSql;
use super::{found, json_column, to_json, Page, Window};
use crate::error::StoreError;
use crate::sid;
use rusqlite::{Connection, Row};
use serde::{Deserialize, Serialize};

/// A service's settable fields, named as the API renders them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub friendly_name: String,
    pub code_length: i64,
    pub lookup_enabled: bool,
    pub psd2_enabled: bool,
    pub skip_sms_to_landlines: bool,
    pub dtmf_input_required: bool,
    pub tts_name: Option<String>,
    pub do_not_share_warning_enabled: bool,
    pub custom_code_enabled: bool,
    pub push: Push,
    pub totp: Totp,
    pub whatsapp: Whatsapp,
    pub passkeys: Passkeys,
    pub default_template_sid: Option<String>,
    pub verify_event_subscription_enabled: bool,
}

/// Twilio's default code length.
pub const DEFAULT_CODE_LENGTH: i64 = 6;

impl Default for Config {
    fn default() -> Self {
        Config {
            friendly_name: String::new(),
            code_length: DEFAULT_CODE_LENGTH,
            lookup_enabled: false,
            psd2_enabled: false,
            skip_sms_to_landlines: false,
            dtmf_input_required: false,
            tts_name: None,
            do_not_share_warning_enabled: false,
            custom_code_enabled: false,
            push: Push::default(),
            totp: Totp::default(),
            whatsapp: Whatsapp::default(),
            passkeys: Passkeys::default(),
            default_template_sid: None,
            verify_event_subscription_enabled: false,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Push {
    pub include_date: bool,
    pub apn_credential_sid: Option<String>,
    pub fcm_credential_sid: Option<String>,
}

/// TOTP factors' settings; the issuer defaults to the service's friendly name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Totp {
    pub issuer: Option<String>,
    pub time_step: i64,
    pub code_length: i64,
    pub skew: i64,
}

impl Default for Totp {
    fn default() -> Self {
        Totp {
            issuer: None,
            time_step: 30,
            code_length: 6,
            skew: 1,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Whatsapp {
    pub msg_service_sid: Option<String>,
    pub from: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Passkeys {
    pub relying_party: RelyingParty,
    pub authenticator_attachment: Option<String>,
    pub discoverable_credentials: Option<String>,
    pub user_verification: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelyingParty {
    pub id: Option<String>,
    pub name: Option<String>,
    pub origins: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub sid: String,
    pub config: Config,
    /// The code every verification of this service gets (a fixture's choice), else random.
    pub pinned_code: Option<String>,
    /// Channels turned off for this service (Twilio's 60223).
    pub disabled_channels: Vec<String>,
    pub date_created: i64,
    pub date_updated: i64,
}

/// One code checked against a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    #[serde(with = "crate::clock::iso")]
    pub at: i64,
    pub code: String,
    pub correct: bool,
}

/// An email Verify sent, as the handset's mailbox shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mail {
    pub from: String,
    pub from_name: String,
    pub subject: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub substitutions: serde_json::Map<String, serde_json::Value>,
}

/// One code sent: the Message or Call that carried it, or the mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attempt {
    pub sid: String,
    pub channel: String,
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<Mail>,
    #[serde(with = "crate::clock::iso")]
    pub at: i64,
}

/// A verification with every check made and every code sent (as fixtures and exports hold it).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    pub sid: String,
    pub service_sid: String,
    pub to: String,
    pub channel: String,
    pub status: String,
    pub code: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_friendly_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payee: Option<String>,
    /// What Lookup said about `to` when the service has lookups on (`{}` otherwise).
    #[serde(default = "no_lookup")]
    pub lookup: serde_json::Value,
    #[serde(with = "crate::clock::iso")]
    pub expires_at: i64,
    #[serde(with = "crate::clock::iso")]
    pub date_created: i64,
    #[serde(with = "crate::clock::iso")]
    pub date_updated: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
}

fn no_lookup() -> serde_json::Value {
    serde_json::json!({})
}

/// What a new verification is made of.
#[derive(Debug, Clone)]
pub struct NewVerification {
    pub service_sid: String,
    pub to: String,
    pub channel: String,
    pub code: String,
    pub custom_friendly_name: Option<String>,
    pub amount: Option<String>,
    pub payee: Option<String>,
    pub lookup: serde_json::Value,
    pub expires_at: i64,
}

// ------------------------------------------------------------------------------------ services

const SERVICE_COLUMNS: &str = "sid, config, pinned_code, disabled_channels, date_created, date_updated";

fn service_from_row(r: &Row) -> rusqlite::Result<Service> {
    Ok(Service {
        sid: r.get(0)?,
        config: json_column(r, 1)?,
        pinned_code: r.get(2)?,
        disabled_channels: json_column(r, 3)?,
        date_created: r.get(4)?,
        date_updated: r.get(5)?,
    })
}

/// Stores a new service (with a fresh SID, or the one a fixture pinned).
pub fn create_service(
    conn: &Connection,
    config: &Config,
    pinned_code: Option<&str>,
    disabled_channels: &[String],
    now: i64,
) -> Result<Service, StoreError> {
    let sid = sid::generate(sid::prefix::VERIFY_SERVICE);
    conn.execute_cached(
        "INSERT INTO verify_services (sid, config, pinned_code, disabled_channels, date_created, date_updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        (&sid, to_json(config), pinned_code, to_json(&disabled_channels), now),
    )
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Conflict(format!("A service with SID {sid} already exists"))
        }
        other => other.into(),
    })?;
    service(conn, &sid)
}

pub fn service(conn: &Connection, sid: &str) -> Result<Service, StoreError> {
    found(
        conn.query_row_cached(
            &format!("SELECT {SERVICE_COLUMNS} FROM verify_services WHERE sid = ?1"),
            [sid],
            service_from_row,
        ),
        || format!("/Services/{sid}"),
    )
}

pub fn services(conn: &Connection, window: Window) -> Result<Page<Service>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SERVICE_COLUMNS} FROM verify_services ORDER BY seq LIMIT ?1 OFFSET ?2"
    ))?;
    let rows = stmt
        .query_map((window.limit + 1, window.offset), service_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, window))
}

pub fn update_service(conn: &Connection, sid: &str, config: &Config, now: i64) -> Result<Service, StoreError> {
    let changed = conn.execute_cached(
        "UPDATE verify_services SET config = ?2, date_updated = ?3 WHERE sid = ?1",
        (sid, to_json(config), now),
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("/Services/{sid}")));
    }
    service(conn, sid)
}

/// Deletes a service with its verifications.
pub fn delete_service(conn: &Connection, sid: &str) -> Result<(), StoreError> {
    if conn.execute_cached("DELETE FROM verify_services WHERE sid = ?1", [sid])? == 0 {
        return Err(StoreError::NotFound(format!("/Services/{sid}")));
    }
    Ok(())
}

/// Every service, oldest first.
pub fn all_services(conn: &Connection) -> Result<Vec<Service>, StoreError> {
    let all = Window {
        offset: 0,
        limit: i64::MAX - 1,
    };
    Ok(services(conn, all)?.items)
}

// ------------------------------------------------------------------------------- verifications

const COLUMNS: &str = "sid, service_sid, to_address, channel, status, code, checks, custom_friendly_name, amount,
    payee, lookup, expires_at, date_created, date_updated";

fn from_row(r: &Row) -> rusqlite::Result<Verification> {
    Ok(Verification {
        sid: r.get(0)?,
        service_sid: r.get(1)?,
        to: r.get(2)?,
        channel: r.get(3)?,
        status: r.get(4)?,
        code: r.get(5)?,
        checks: json_column(r, 6)?,
        custom_friendly_name: r.get(7)?,
        amount: r.get(8)?,
        payee: r.get(9)?,
        lookup: json_column(r, 10)?,
        expires_at: r.get(11)?,
        date_created: r.get(12)?,
        date_updated: r.get(13)?,
        attempts: Vec::new(),
    })
}

/// Reads the verifications `sql` selects (its parameters `params`) with their attempts.
fn query(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<Vec<Verification>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt
        .query_map(params, from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for v in &mut rows {
        v.attempts = attempts(conn, &v.sid)?;
    }
    Ok(rows)
}

/// Stores a new pending verification.
pub fn create(conn: &Connection, new: &NewVerification, now: i64) -> Result<Verification, StoreError> {
    let sid = sid::generate(sid::prefix::VERIFICATION);
    conn.execute_cached(
        "INSERT INTO verifications (sid, service_sid, to_address, channel, status, code, custom_friendly_name,
             amount, payee, lookup, expires_at, date_created, date_updated)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
        rusqlite::params![
            sid,
            new.service_sid,
            new.to,
            new.channel,
            new.code,
            new.custom_friendly_name,
            new.amount,
            new.payee,
            to_json(&new.lookup),
            new.expires_at,
            now
        ],
    )?;
    get(conn, &new.service_sid, &sid)
}

/// A verification of the service, whatever its status.
pub fn get(conn: &Connection, service_sid: &str, sid: &str) -> Result<Verification, StoreError> {
    query(
        conn,
        &format!("SELECT {COLUMNS} FROM verifications WHERE service_sid = ?1 AND sid = ?2"),
        (service_sid, sid),
    )?
    .pop()
    .ok_or_else(|| StoreError::NotFound(format!("/Services/{service_sid}/Verifications/{sid}")))
}

/// The latest verification of `to` in the service.
pub fn latest(conn: &Connection, service_sid: &str, to: &str) -> Result<Option<Verification>, StoreError> {
    Ok(query(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM verifications WHERE service_sid = ?1 AND to_address = ?2 ORDER BY seq DESC LIMIT 1"
        ),
        (service_sid, to),
    )?
    .pop())
}

/// The service's verifications, newest first.
pub fn of_service(conn: &Connection, service_sid: &str, limit: i64) -> Result<Vec<Verification>, StoreError> {
    query(
        conn,
        &format!("SELECT {COLUMNS} FROM verifications WHERE service_sid = ?1 ORDER BY seq DESC LIMIT ?2"),
        (service_sid, limit),
    )
}

/// Every verification, oldest first.
pub fn all(conn: &Connection) -> Result<Vec<Verification>, StoreError> {
    query(conn, &format!("SELECT {COLUMNS} FROM verifications ORDER BY seq"), [])
}

pub fn set_status(conn: &Connection, sid: &str, status: &str, now: i64) -> Result<(), StoreError> {
    conn.execute_cached(
        "UPDATE verifications SET status = ?2, date_updated = ?3 WHERE sid = ?1",
        (sid, status, now),
    )?;
    Ok(())
}

/// Records a check, and the status it leaves the verification in.
pub fn add_check(conn: &Connection, v: &Verification, check: Check, status: &str) -> Result<(), StoreError> {
    let mut checks = v.checks.clone();
    let at = check.at;
    checks.push(check);
    conn.execute_cached(
        "UPDATE verifications SET checks = ?2, status = ?3, date_updated = ?4 WHERE sid = ?1",
        (&v.sid, to_json(&checks), status, at),
    )?;
    Ok(())
}

/// A repeated start for the same recipient: the latest channel, and the time it was sent.
pub fn resend(conn: &Connection, sid: &str, channel: &str, now: i64) -> Result<(), StoreError> {
    conn.execute_cached(
        "UPDATE verifications SET channel = ?2, date_updated = ?3 WHERE sid = ?1",
        (sid, channel, now),
    )?;
    Ok(())
}

/// Pending verifications whose ten minutes are over become `expired`, at the time they ran out.
pub fn expire(conn: &Connection, now: i64) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE verifications SET status = 'expired', date_updated = expires_at
         WHERE status = 'pending' AND expires_at <= ?1 RETURNING sid",
    )?;
    let sids = stmt
        .query_map([now], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(sids)
}

/// Stores a verification as an export recorded it.
pub fn restore(conn: &Connection, v: &Verification) -> Result<(), StoreError> {
    conn.execute_cached(
        "INSERT INTO verifications (sid, service_sid, to_address, channel, status, code, checks,
             custom_friendly_name, amount, payee, lookup, expires_at, date_created, date_updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        rusqlite::params![
            v.sid,
            v.service_sid,
            v.to,
            v.channel,
            v.status,
            v.code,
            to_json(&v.checks),
            v.custom_friendly_name,
            v.amount,
            v.payee,
            to_json(&v.lookup),
            v.expires_at,
            v.date_created,
            v.date_updated
        ],
    )?;
    for attempt in &v.attempts {
        add_attempt(conn, &v.sid, attempt)?;
    }
    Ok(())
}

// ------------------------------------------------------------------------------------ attempts

const ATTEMPT_COLUMNS: &str = "sid, channel, to_address, delivery_sid, mail, at";

fn attempt_from_row(r: &Row) -> rusqlite::Result<Attempt> {
    let mail: Option<String> = r.get(4)?;
    Ok(Attempt {
        sid: r.get(0)?,
        channel: r.get(1)?,
        to: r.get(2)?,
        delivery_sid: r.get(3)?,
        mail: match mail {
            Some(_) => json_column(r, 4)?,
            None => None,
        },
        at: r.get(5)?,
    })
}

/// Records a code sent for verification `sid`.
pub fn add_attempt(conn: &Connection, verification_sid: &str, attempt: &Attempt) -> Result<(), StoreError> {
    conn.execute_cached(
        "INSERT INTO verification_attempts (sid, verification_sid, channel, to_address, delivery_sid, mail, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        rusqlite::params![
            attempt.sid,
            verification_sid,
            attempt.channel,
            attempt.to,
            attempt.delivery_sid,
            attempt.mail.as_ref().map(to_json),
            attempt.at
        ],
    )?;
    Ok(())
}

/// The Message or Call that carried an attempt's code.
pub fn set_delivery(conn: &Connection, attempt_sid: &str, delivery_sid: &str) -> Result<(), StoreError> {
    conn.execute_cached(
        "UPDATE verification_attempts SET delivery_sid = ?2 WHERE sid = ?1",
        (attempt_sid, delivery_sid),
    )?;
    Ok(())
}

/// The codes sent for a verification, oldest first.
pub fn attempts(conn: &Connection, verification_sid: &str) -> Result<Vec<Attempt>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ATTEMPT_COLUMNS} FROM verification_attempts WHERE verification_sid = ?1 ORDER BY seq"
    ))?;
    let rows = stmt
        .query_map([verification_sid], attempt_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The mails sent (to `to`, or to anyone), oldest first, with their verification's SID.
pub fn mails(conn: &Connection, to: Option<&str>) -> Result<Vec<(String, Attempt)>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ATTEMPT_COLUMNS}, verification_sid FROM verification_attempts
         WHERE mail IS NOT NULL AND (?1 IS NULL OR to_address = ?1 COLLATE NOCASE) ORDER BY seq"
    ))?;
    let rows = stmt
        .query_map([to], |r| Ok((r.get(6)?, attempt_from_row(r)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
