//! Function and asset versions: list and fetch on the API host, create by multipart upload (the
//! `serverless-upload` host, served on the same port), and a function version's `/Content`.

use super::{in_service, in_service_transaction};
use crate::api::wire::{created, list_response, ok, Ctx, Paging, Params};
use crate::clock::format_timestamp;
use crate::error::{ApiError, ErrorKind};
use crate::state::AppState;
use crate::store::resources::Kind;
use crate::store::versions::{self, NewVersion, Version};
use actix_multipart::{Field, Multipart};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::TryStreamExt;
use serde_json::{json, Value};

/// Largest public or protected file (DESIGN §7).
pub const MAX_PUBLIC_SIZE: usize = 25 * 1024 * 1024;
/// Largest private file.
pub const MAX_PRIVATE_SIZE: usize = 10 * 1024 * 1024;
/// Largest `Path` or `Visibility` part.
const MAX_TEXT_PART: usize = 1024;
/// Longest path (OpenAPI `path` field).
const MAX_PATH: usize = 255;

fn version_path(v: &Version) -> String {
    format!(
        "/Services/{}/{}/{}/Versions/{}",
        v.service_sid,
        v.kind.collection(),
        v.resource_sid,
        v.sid
    )
}

pub fn render(ctx: &Ctx, v: &Version) -> Value {
    let url = ctx.url(&version_path(v));
    let mut body = json!({
        "sid": v.sid,
        "account_sid": ctx.account_sid,
        "service_sid": v.service_sid,
        "path": v.path,
        "visibility": v.visibility,
        "date_created": format_timestamp(v.date_created),
    });
    match v.kind {
        Kind::Function => {
            body["function_sid"] = json!(v.resource_sid);
            body["links"] = json!({ "function_version_content": format!("{url}/Content") });
        }
        Kind::Asset => body["asset_sid"] = json!(v.resource_sid),
    }
    body["url"] = json!(url);
    body
}

pub async fn list(
    state: web::Data<AppState>,
    kind: web::Data<Kind>,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let paging = Paging::from_query(&Params::from_query(&req)?, &[])?;
    let ((key, resource), kind, window) = (path.into_inner(), **kind, paging.window());
    let page = in_service(&state, key, move |c, service_sid| {
        versions::list(c, kind, service_sid, &resource, window)
    })
    .await?;
    let list_key = match kind {
        Kind::Function => "function_versions",
        Kind::Asset => "asset_versions",
    };
    Ok(list_response(&req, list_key, &paging, page, |v| render(&ctx, v)))
}

pub async fn fetch(
    state: web::Data<AppState>,
    kind: web::Data<Kind>,
    ctx: Ctx,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let ((key, resource, sid), kind) = (path.into_inner(), **kind);
    let version = in_service(&state, key, move |c, service_sid| {
        versions::get(c, kind, service_sid, &resource, &sid)
    })
    .await?;
    Ok(ok(render(&ctx, &version)))
}

/// `GET …/Functions/{ZH}/Versions/{ZN}/Content`: the function's source as JSON.
pub async fn content(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (key, resource, sid) = path.into_inner();
    let (version, bytes) = in_service(&state, key, move |c, service_sid| {
        let v = versions::get(c, Kind::Function, service_sid, &resource, &sid)?;
        let bytes = crate::store::blobs::get(c, &v.blob_hash)?;
        Ok((v, bytes))
    })
    .await?;
    Ok(ok(json!({
        "sid": version.sid,
        "account_sid": ctx.account_sid,
        "service_sid": version.service_sid,
        "function_sid": version.resource_sid,
        "content": String::from_utf8_lossy(&bytes),
        "url": format!("{}/Content", ctx.url(&version_path(&version))),
    })))
}

/// The three parts serverless-api sends: `Path`, `Visibility`, `Content`.
#[derive(Debug, Default)]
struct Upload {
    path: Option<String>,
    visibility: Option<String>,
    content: Option<(Vec<u8>, Option<String>)>,
}

/// `POST …/{Functions|Assets}/{ZH}/Versions` (multipart).
pub async fn upload(
    state: web::Data<AppState>,
    kind: web::Data<Kind>,
    ctx: Ctx,
    path: web::Path<(String, String)>,
    form: Multipart,
) -> Result<HttpResponse, ApiError> {
    let upload = read_upload(form).await?;
    let path_value = upload
        .path
        .filter(|p| !p.is_empty())
        .map(with_leading_slash)
        .ok_or_else(|| crate::api::wire::missing("Path"))?;
    check_path(&path_value)?;
    let visibility = check_visibility(
        upload
            .visibility
            .as_deref()
            .ok_or_else(|| crate::api::wire::missing("Visibility"))?,
    )?;
    let (content, part_type) = upload.content.ok_or_else(|| crate::api::wire::missing("Content"))?;
    check_size(content.len(), visibility)?;
    let kind = **kind;
    if kind == Kind::Function && std::str::from_utf8(&content).is_err() {
        return Err(ApiError::bad_request("Function Version Content must be UTF-8 text"));
    }
    let content_type = part_type
        .filter(|t| !t.is_empty() && t != "application/octet-stream")
        .unwrap_or_else(|| mime_guess::from_path(&path_value).first_or_octet_stream().to_string());
    let ((key, resource_sid), now) = (path.into_inner(), state.clock.now());
    let version = in_service_transaction(&state, key, move |tx, service_sid| {
        let new = NewVersion {
            kind,
            service_sid: service_sid.to_string(),
            resource_sid,
            path: path_value,
            visibility: visibility.to_string(),
            content_type,
            content,
        };
        versions::create(tx, &new, now)
    })
    .await?;
    Ok(created(render(&ctx, &version)))
}

async fn read_upload(mut form: Multipart) -> Result<Upload, ApiError> {
    let mut upload = Upload::default();
    while let Some(field) = form.try_next().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "Path" => upload.path = Some(read_text(field, "Path").await?),
            "Visibility" => upload.visibility = Some(read_text(field, "Visibility").await?),
            "Content" => {
                let part_type = field.content_type().map(|m| m.essence_str().to_string());
                let bytes = read_field(field, MAX_PUBLIC_SIZE).await?;
                upload.content = Some((bytes, part_type));
            }
            // Unknown parts are ignored, like unknown form parameters; they must still be read.
            _ => drop(read_field(field, MAX_PUBLIC_SIZE).await?),
        }
    }
    Ok(upload)
}

fn malformed(err: actix_multipart::MultipartError) -> ApiError {
    ApiError::bad_request(format!("Invalid multipart/form-data body: {err}"))
}

async fn read_text(field: Field, name: &str) -> Result<String, ApiError> {
    let bytes = read_field(field, MAX_TEXT_PART).await?;
    String::from_utf8(bytes).map_err(|_| ApiError::bad_request(format!("{name} must be UTF-8 text")))
}

/// Reads a part, refusing it as soon as it grows past `limit`.
async fn read_field(mut field: Field, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.try_next().await.map_err(malformed)? {
        if bytes.len() + chunk.len() > limit {
            return Err(ApiError::new(
                ErrorKind::PayloadTooLarge,
                format!(
                    "The {} part exceeds the limit of {limit} bytes",
                    field.name().unwrap_or("unnamed")
                ),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// "If a … Version creation request is submitted with a path not containing a leading slash, the
/// path will automatically be prepended with one" (the spec's `path` field).
fn with_leading_slash(path: String) -> String {
    if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    }
}

/// Paths are URL paths: a leading `/`, at most 255 characters, no `.`/`..` segments, no empty
/// segments, no backslashes or control characters, none of the characters serverless-api refuses.
pub fn check_path(path: &str) -> Result<(), ApiError> {
    let invalid = |why: &str| Err(ApiError::bad_request(format!("Invalid Path {path:?}: {why}")));
    if !path.starts_with('/') {
        return invalid("it must start with /");
    }
    if path.chars().count() > MAX_PATH {
        return invalid("it must be at most 255 characters long");
    }
    if let Some(c) = path
        .chars()
        .find(|c| c.is_control() || c.is_whitespace() || "\\#;,?:@+&$()'\"%".contains(*c))
    {
        return invalid(&format!("it must not contain {c:?}"));
    }
    if path.len() > 1
        && path[1..]
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return invalid("it must not contain empty, . or .. segments");
    }
    Ok(())
}

/// `public`, `protected` or `private`, in any case.
pub fn check_visibility(value: &str) -> Result<&'static str, ApiError> {
    ["public", "protected", "private"]
        .into_iter()
        .find(|v| v.eq_ignore_ascii_case(value))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "Invalid Visibility {value:?}: expected public, protected or private"
            ))
        })
}

pub fn check_size(size: usize, visibility: &str) -> Result<(), ApiError> {
    let (limit, label) = match visibility {
        "private" => (MAX_PRIVATE_SIZE, "10 MB for private"),
        _ => (MAX_PUBLIC_SIZE, "25 MB for public and protected"),
    };
    if size > limit {
        return Err(ApiError::new(
            ErrorKind::PayloadTooLarge,
            format!("Content is limited to {label} files"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_be_clean_absolute_url_paths() {
        for good in ["/", "/hello", "/lib/util", "/index.html", "/a-b_c.d/e~f"] {
            assert!(check_path(good).is_ok(), "{good}");
        }
        let long = format!("/{}", "a".repeat(255));
        for bad in [
            "hello",
            "/a/../b",
            "/..",
            "/./x",
            "//x",
            "/a/",
            "/a\\b",
            "/a b",
            "/a?b",
            "/a%2e%2e",
            "/a\u{0}",
            long.as_str(),
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn visibility_is_case_insensitive_and_closed() {
        assert_eq!(check_visibility("Public").expect("ok"), "public");
        assert!(check_visibility("secret").is_err());
    }

    #[test]
    fn private_files_have_the_smaller_limit() {
        assert!(check_size(MAX_PRIVATE_SIZE, "private").is_ok());
        assert!(check_size(MAX_PRIVATE_SIZE + 1, "private").is_err());
        assert!(check_size(MAX_PRIVATE_SIZE + 1, "public").is_ok());
        assert!(check_size(MAX_PUBLIC_SIZE + 1, "protected").is_err());
    }
}
