//! `/2010-04-01/Accounts/{AC}/Recordings…` and `…/Calls/{CA}/Recordings…`: the recordings
//! `<Record>` (and `Record=true`) made. They are silent: the audio (`…/Recordings/{RE}` or
//! `.wav`) is a WAV file of silence as long as the recording.

use super::{render, store, store_transaction};
use crate::api::wire::date_range;
use crate::api::wire::v2010::list_response;
use crate::api::wire::{deleted, ok, Ctx, Paging, Params};
use crate::error::{ApiError, StoreError};
use crate::state::AppState;
use crate::store::calls;
use actix_web::{web, HttpRequest, HttpResponse};

/// Samples per second of the silent audio (telephone quality).
const SAMPLE_RATE: u32 = 8000;

/// A WAV file (16-bit mono PCM) of `seconds` of silence.
fn silence(seconds: u32) -> Vec<u8> {
    let data = SAMPLE_RATE * 2 * seconds;
    let mut wav = Vec::with_capacity(44 + data as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    wav.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data.to_le_bytes());
    wav.resize(44 + data as usize, 0);
    wav
}

async fn listing(
    state: &AppState,
    ctx: &Ctx,
    req: &HttpRequest,
    call_sid: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let query = Params::from_query(req)?;
    let paging = Paging::from_query(&query, &["CallSid", "DateCreated", "DateCreated<", "DateCreated>"])?;
    let created = date_range(&query, "DateCreated")?;
    let call_sid = call_sid.or_else(|| query.get("CallSid").filter(|s| !s.is_empty()).map(str::to_string));
    let window = paging.window();
    let page = store(state, move |c| {
        calls::recordings(c, call_sid.as_deref(), created, window)
    })
    .await?;
    Ok(list_response(req, "recordings", &paging, &page, |r| {
        render::recording(&ctx.account_sid, r)
    }))
}

pub async fn list(state: web::Data<AppState>, ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    listing(&state, &ctx, &req, None).await
}

pub async fn list_of_call(
    state: web::Data<AppState>,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let call = path.into_inner().1;
    let wanted = call.clone();
    store(&state, move |c| calls::get(c, &wanted)).await?;
    listing(&state, &ctx, &req, Some(call)).await
}

/// The recording `sid`, of `call` when the path names one.
fn recording_in(conn: &rusqlite::Connection, call: Option<&str>, sid: &str) -> Result<calls::Recording, StoreError> {
    let recording = calls::recording(conn, sid)?;
    match call {
        Some(call) if recording.call_sid != call => {
            Err(StoreError::NotFound(format!("/Calls/{call}/Recordings/{sid}.json")))
        }
        _ => Ok(recording),
    }
}

pub async fn fetch(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let sid = path.into_inner().1;
    let recording = store(&state, move |c| recording_in(c, None, &sid)).await?;
    Ok(ok(render::recording(&ctx.account_sid, &recording)))
}

pub async fn fetch_of_call(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (_, call, sid) = path.into_inner();
    let recording = store(&state, move |c| recording_in(c, Some(&call), &sid)).await?;
    Ok(ok(render::recording(&ctx.account_sid, &recording)))
}

pub async fn delete(state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let sid = path.into_inner().1;
    store_transaction(&state, move |tx| calls::delete_recording(tx, &sid)).await?;
    Ok(deleted())
}

pub async fn delete_of_call(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (_, call, sid) = path.into_inner();
    store_transaction(&state, move |tx| {
        recording_in(tx, Some(&call), &sid)?;
        calls::delete_recording(tx, &sid)
    })
    .await?;
    Ok(deleted())
}

/// `…/Recordings/{RE}` or `…/Recordings/{RE}.wav`: the recording's (silent) audio.
pub async fn audio(state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let file = path.into_inner().1;
    let sid = file.strip_suffix(".wav").unwrap_or(&file).to_string();
    if sid.contains('.') {
        return Err(ApiError::not_found(&format!("/Recordings/{file}")));
    }
    let recording = store(&state, move |c| calls::recording(c, &sid)).await?;
    let seconds = u32::try_from(recording.duration).unwrap_or(0);
    Ok(HttpResponse::Ok().content_type("audio/x-wav").body(silence(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_a_wav_file_of_the_length_asked() {
        let wav = silence(2);
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(&wav[8..16], b"WAVEfmt ");
        assert_eq!(wav.len(), 44 + 2 * 2 * SAMPLE_RATE as usize);
        assert!(wav[44..].iter().all(|b| *b == 0));
    }
}
