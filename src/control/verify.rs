//! Verify's control endpoints (`/_twirl/verify/…`): the mails Verify sent (an email channel's
//! inbox, for tests), and a service's verifications as twirl keeps them (their codes, checks and
//! sends), for the console and for suites that read a code without a handset.

use crate::clock::format_timestamp;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::verify::{self as rows, Verification};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

/// How many of a service's latest verifications the console is shown.
const LATEST: i64 = 200;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/verify/mails", web::get().to(mails))
        .route("/verify/services/{sid}/verifications", web::get().to(verifications));
}

#[derive(Deserialize)]
struct MailQuery {
    to: Option<String>,
}

/// `GET /_twirl/verify/mails[?to=ADDRESS]`: the mails sent, oldest first.
async fn mails(state: web::Data<AppState>, query: web::Query<MailQuery>) -> Result<HttpResponse, ApiError> {
    let to = query.into_inner().to.filter(|t| !t.is_empty());
    let sent = state.store.call(move |c| rows::mails(c, to.as_deref())).await?;
    let mails: Vec<Value> = sent
        .into_iter()
        .filter_map(|(verification_sid, attempt)| {
            let mail = attempt.mail?;
            Some(json!({
                "attempt_sid": attempt.sid,
                "verification_sid": verification_sid,
                "to": attempt.to,
                "from": mail.from,
                "from_name": mail.from_name,
                "subject": mail.subject,
                "text": mail.text,
                "template_id": mail.template_id,
                "substitutions": mail.substitutions,
                "date_sent": format_timestamp(attempt.at),
            }))
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "mails": mails })))
}

/// A verification as twirl keeps it, code included.
fn detail(v: &Verification) -> Value {
    json!({
        "sid": v.sid,
        "service_sid": v.service_sid,
        "to": v.to,
        "channel": v.channel,
        "status": v.status,
        "code": v.code,
        "checks": v.checks,
        "sends": v.attempts,
        "expires_at": format_timestamp(v.expires_at),
        "date_created": format_timestamp(v.date_created),
        "date_updated": format_timestamp(v.date_updated),
    })
}

/// `GET /_twirl/verify/services/{VA}/verifications`: the latest verifications, newest first,
/// with any that ran out of time shown `expired`.
async fn verifications(state: web::Data<AppState>, sid: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (sid, now) = (sid.into_inner(), state.clock.now());
    let latest = state
        .store
        .transaction(move |tx| {
            rows::expire(tx, now)?;
            rows::service(tx, &sid)?;
            rows::of_service(tx, &sid, LATEST)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "verifications": latest.iter().map(detail).collect::<Vec<_>>(),
    })))
}
