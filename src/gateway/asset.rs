//! Assets of a deployed build, answered from memory. A build's files never change once it is
//! materialized, so each asset is read once, kept as shared `Bytes`, and every answer after that
//! is a reference to them: no open, no read, no copy per request. The answer honours what the
//! file server it replaces did: `ETag` and `Last-Modified`, `If-None-Match`/`If-Modified-Since`
//! (304), `If-Match`/`If-Unmodified-Since` (412), `Range` with `If-Range` (206, 416), and HEAD.

use actix_files::HttpRange;
use actix_web::http::header::{self, EntityTag, HttpDate, IfMatch, IfNoneMatch, IfRange};
use actix_web::http::{Method, StatusCode};
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Files up to this size are kept; larger ones are streamed from disk.
const LARGEST_KEPT: u64 = 16 << 20;
/// What one build may keep in memory in all; past it, its other assets are streamed from disk.
const BUILD_BUDGET: usize = 128 << 20;

/// An asset's bytes and validators.
pub struct Asset {
    pub bytes: Bytes,
    pub mime: mime_guess::Mime,
    etag: EntityTag,
    modified: HttpDate,
}

/// The assets of one build kept so far, by file.
#[derive(Default)]
pub struct Kept {
    files: RwLock<HashMap<PathBuf, Arc<Asset>>>,
    used: AtomicUsize,
}

impl Kept {
    /// The asset at `path`, read on first use; `None` when it is too large to keep (or the
    /// build's budget is spent), and the caller streams it.
    pub fn get(&self, path: &Path, mime: &mime_guess::Mime) -> std::io::Result<Option<Arc<Asset>>> {
        if let Some(asset) = self.files.read().unwrap_or_else(|e| e.into_inner()).get(path) {
            return Ok(Some(asset.clone()));
        }
        let meta = std::fs::metadata(path)?;
        if meta.len() > LARGEST_KEPT || self.used.load(Ordering::Relaxed) + meta.len() as usize > BUILD_BUDGET {
            return Ok(None);
        }
        let bytes = Bytes::from(std::fs::read(path)?);
        let modified = meta.modified().unwrap_or(UNIX_EPOCH);
        let asset = Arc::new(Asset {
            etag: etag_of(bytes.len(), modified),
            modified: HttpDate::from(modified),
            bytes,
            mime: mime.clone(),
        });
        let mut files = self.files.write().unwrap_or_else(|e| e.into_inner());
        // Two first requests may both have read it: the first one in is kept and counted.
        let kept = files.entry(path.to_path_buf()).or_insert_with(|| {
            self.used.fetch_add(asset.bytes.len(), Ordering::Relaxed);
            asset
        });
        Ok(Some(kept.clone()))
    }
}

/// A strong validator from the size and modification time, as the file server gave.
fn etag_of(len: usize, modified: SystemTime) -> EntityTag {
    let since = modified.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    EntityTag::new_strong(format!("{len:x}:{:x}:{:x}", since.as_secs(), since.subsec_nanos()))
}

/// The answer to `req` for `asset`.
pub fn respond(req: &HttpRequest, asset: &Asset) -> HttpResponse {
    if !precondition_holds(req, asset) {
        return validated(HttpResponse::build(StatusCode::PRECONDITION_FAILED), asset).finish();
    }
    if !modified_for(req, asset) && matches!(*req.method(), Method::GET | Method::HEAD) {
        return validated(HttpResponse::build(StatusCode::NOT_MODIFIED), asset).finish();
    }
    let len = asset.bytes.len() as u64;
    let range = req
        .headers()
        .get(header::RANGE)
        .filter(|_| range_applies(req, asset))
        .map(|r| HttpRange::parse(r.to_str().unwrap_or(""), len));
    match range {
        Some(Ok(ranges)) if !ranges.is_empty() => {
            // Only the first of several ranges is answered, as by the file server before.
            let HttpRange { start, length } = ranges[0];
            let end = start + length;
            validated(HttpResponse::build(StatusCode::PARTIAL_CONTENT), asset)
                .insert_header((header::CONTENT_RANGE, format!("bytes {start}-{}/{len}", end - 1)))
                .body(asset.bytes.slice(start as usize..end as usize))
        }
        Some(_) => validated(HttpResponse::build(StatusCode::RANGE_NOT_SATISFIABLE), asset)
            .insert_header((header::CONTENT_RANGE, format!("bytes */{len}")))
            .finish(),
        None => validated(HttpResponse::Ok(), asset).body(asset.bytes.clone()),
    }
}

fn validated(mut builder: actix_web::HttpResponseBuilder, asset: &Asset) -> actix_web::HttpResponseBuilder {
    builder
        .content_type(asset.mime.clone())
        .insert_header(header::ETag(asset.etag.clone()))
        .insert_header(header::LastModified(asset.modified))
        .insert_header((header::ACCEPT_RANGES, "bytes"));
    builder
}

/// `If-Match`, or else `If-Unmodified-Since`.
fn precondition_holds(req: &HttpRequest, asset: &Asset) -> bool {
    match req.get_header::<IfMatch>() {
        Some(IfMatch::Any) => true,
        Some(IfMatch::Items(tags)) => tags.iter().any(|t| t.strong_eq(&asset.etag)),
        None => match req.get_header::<header::IfUnmodifiedSince>() {
            Some(header::IfUnmodifiedSince(since)) => seconds(asset.modified) <= seconds(since),
            None => true,
        },
    }
}

/// `If-None-Match`, or else `If-Modified-Since`: whether the client's copy is out of date.
fn modified_for(req: &HttpRequest, asset: &Asset) -> bool {
    match req.get_header::<IfNoneMatch>() {
        Some(IfNoneMatch::Any) => false,
        Some(IfNoneMatch::Items(tags)) => !tags.iter().any(|t| t.weak_eq(&asset.etag)),
        None => match req.get_header::<header::IfModifiedSince>() {
            Some(header::IfModifiedSince(since)) => seconds(asset.modified) > seconds(since),
            None => true,
        },
    }
}

/// A range is answered unless `If-Range` names another version.
fn range_applies(req: &HttpRequest, asset: &Asset) -> bool {
    match req.get_header::<IfRange>() {
        Some(IfRange::EntityTag(tag)) => tag.strong_eq(&asset.etag),
        Some(IfRange::Date(date)) => seconds(asset.modified) <= seconds(date),
        None => true,
    }
}

/// HTTP dates have whole seconds.
fn seconds(date: HttpDate) -> u64 {
    SystemTime::from(date)
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
