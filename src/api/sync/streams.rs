//! `POST /v1/Services/{S}/Streams/{Sid}/Messages`: a message published to a stream's
//! subscribers. Twilio keeps no stream messages, so neither does twirl: the message goes to the
//! console's live view, and the answer is its SID and data.

use super::{input, read_in, InObject};
use crate::api::wire::{created, Params};
use crate::error::ApiError;
use crate::events::Event;
use crate::sid;
use crate::state::AppState;
use crate::store::sync_objects::Kind;
use actix_web::{web, HttpResponse};
use serde_json::json;

pub async fn publish(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    let text = input::required_data(&params, 54251, input::MAX_MESSAGE_BYTES)?;
    let at = InObject::new(Kind::Stream, path.into_inner());
    let (stream, ()) = read_in(&state, at, |_, _, _| Ok(())).await?;
    let data: serde_json::Value = serde_json::from_str(&text).map_err(|_| ApiError::internal())?;
    let sid = sid::generate(sid::prefix::SYNC_STREAM_MESSAGE);
    state.events.send(Event::SyncStreamMessage {
        service_sid: stream.service_sid,
        stream_sid: stream.sid,
        sid: sid.clone(),
        data: data.clone(),
    });
    Ok(created(json!({ "sid": sid, "data": data })))
}
