//! Error types: `StartupError` ends the process, `ApiError` becomes a Twilio-shaped HTTP response,
//! `StoreError` is what the store reports and maps onto `ApiError` at the boundary.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde::Serialize;

/// A failure that stops `twirl` before it can serve.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    /// The data directory could not be created or used.
    #[error("cannot use data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    /// The database could not be opened or migrated.
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    /// A command-line value is invalid.
    #[error("{0}")]
    Config(String),
    /// A running twirl could not be reached, or refused what a subcommand asked of it.
    #[error("{0}")]
    Remote(String),
}

/// A failure reported by the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The addressed row does not exist; carries the API path of the resource.
    #[error("The requested resource {0} was not found")]
    NotFound(String),
    /// The write would break a uniqueness or state rule (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// The write breaks a documented rule or limit (HTTP 400, code 20001).
    #[error("{0}")]
    Invalid(String),
    /// The write breaks a product's own rule, reported with Twilio's code and status for it.
    #[error("{message}")]
    Coded { status: u16, code: u32, message: String },
    /// SQLite itself failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The batch a write ran in could not be committed: it did not happen.
    #[error("cannot commit to the database: {0}")]
    Commit(String),
    /// The store thread has stopped.
    #[error("the store is closed")]
    Closed,
}

/// The kinds of API failure, each with its HTTP status and Twilio error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A parameter is missing or invalid (400, 20001).
    BadRequest,
    /// Credentials are missing or wrong (401, 20003).
    Unauthorized,
    /// The resource or route does not exist (404, 20404).
    NotFound,
    /// The method is not allowed on this route (405, 20004).
    MethodNotAllowed,
    /// The request conflicts with the current state (409, 20409).
    Conflict,
    /// The body is larger than the limit (413, 20001).
    PayloadTooLarge,
    /// A rate or concurrency limit was hit (429, 20429).
    TooManyRequests,
    /// Something failed inside twirl (500, 20500).
    Internal,
    /// The request is refused as a whole, e.g. a GET with a body (403, 20403).
    Forbidden,
    /// Request headers over Twilio's limits (431, 82008).
    HeadersTooLarge,
    /// A function overran the execution limit (504, 82002).
    FunctionTimeout,
    /// A function's process ended without answering (500, 82002).
    FunctionCrashed,
    /// A product's own error: Twilio's code for it, with the HTTP status Twilio answers it with
    /// (`21211` invalid `To` with 400, `54103` revision mismatch with 412, …).
    Coded { status: u16, code: u32 },
}

impl ErrorKind {
    /// The kind for an HTTP error status produced outside twirl's handlers.
    pub fn from_status(status: StatusCode) -> ErrorKind {
        match status {
            StatusCode::UNAUTHORIZED => ErrorKind::Unauthorized,
            StatusCode::NOT_FOUND => ErrorKind::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorKind::MethodNotAllowed,
            StatusCode::CONFLICT => ErrorKind::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::PayloadTooLarge,
            StatusCode::TOO_MANY_REQUESTS => ErrorKind::TooManyRequests,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ErrorKind::HeadersTooLarge,
            s if s.is_client_error() => ErrorKind::BadRequest,
            _ => ErrorKind::Internal,
        }
    }

    fn status(self) -> StatusCode {
        match self {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Internal | ErrorKind::FunctionCrashed => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ErrorKind::FunctionTimeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::Coded { status, .. } => StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        }
    }

    fn twilio_code(self) -> u32 {
        match self {
            ErrorKind::BadRequest | ErrorKind::PayloadTooLarge => 20001,
            ErrorKind::Unauthorized => 20003,
            ErrorKind::NotFound => 20404,
            ErrorKind::MethodNotAllowed => 20004,
            ErrorKind::Conflict => 20409,
            ErrorKind::TooManyRequests => 20429,
            ErrorKind::Internal => 20500,
            ErrorKind::Forbidden => 20403,
            ErrorKind::HeadersTooLarge => 82008,
            ErrorKind::FunctionTimeout | ErrorKind::FunctionCrashed => 82002,
            ErrorKind::Coded { code, .. } => code,
        }
    }
}

/// An error answered to an HTTP client in Twilio's shape.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
        }
    }
    /// A product's own error code, answered with `status`.
    pub fn coded(status: u16, code: u32, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Coded { status, code }, message)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }
    /// 404 for an API path (without `/v1`), worded as Twilio words it.
    pub fn not_found(path: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            format!("The requested resource {path} was not found"),
        )
    }
    pub fn unauthorized() -> Self {
        Self::new(ErrorKind::Unauthorized, "Authenticate")
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    pub fn internal() -> Self {
        Self::new(ErrorKind::Internal, "Internal server error")
    }
    /// Twilio's error code for this error.
    pub fn code(&self) -> u32 {
        self.kind.twilio_code()
    }
}

/// A validation that runs inside a store transaction fails it with the API's own error.
impl From<ApiError> for StoreError {
    fn from(err: ApiError) -> Self {
        StoreError::Coded {
            status: err.kind.status().as_u16(),
            code: err.code(),
            message: err.message,
        }
    }
}

#[derive(Serialize)]
struct TwilioErrorBody<'a> {
    code: u32,
    message: &'a str,
    more_info: String,
    status: u16,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.kind.status()
    }

    fn error_response(&self) -> HttpResponse {
        let code = self.kind.twilio_code();
        let status = self.status_code();
        HttpResponse::build(status).json(TwilioErrorBody {
            code,
            message: &self.message,
            more_info: format!("https://www.twilio.com/docs/errors/{code}"),
            status: status.as_u16(),
        })
    }
}

/// Lets fallback handlers answer with an error directly.
impl actix_web::Responder for ApiError {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _: &actix_web::HttpRequest) -> HttpResponse {
        self.error_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(path) => ApiError::not_found(&path),
            StoreError::Conflict(msg) => ApiError::conflict(msg),
            StoreError::Invalid(msg) => ApiError::bad_request(msg),
            StoreError::Coded { status, code, message } => ApiError::coded(status, code, message),
            other => {
                log::error!("store failure: {other}");
                ApiError::internal()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_web::test]
    async fn error_body_has_exactly_twilios_four_keys() {
        let resp = ApiError::not_found("/Services/ZSx").error_response();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let body = to_bytes(resp.into_body()).await.expect("body");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        let mut keys: Vec<_> = json.as_object().expect("object").keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["code", "message", "more_info", "status"]);
        assert_eq!(json["code"], 20404);
        assert_eq!(json["more_info"], "https://www.twilio.com/docs/errors/20404");
    }

    #[actix_web::test]
    async fn coded_errors_carry_their_own_code_and_status() {
        let resp = ApiError::coded(412, 54103, "The revision of the Document does not match").error_response();
        assert_eq!(resp.status(), StatusCode::PRECONDITION_FAILED);
        let body = to_bytes(resp.into_body()).await.expect("body");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            (json["code"].clone(), json["status"].clone()),
            (54103.into(), 412.into())
        );
    }

    #[test]
    fn store_errors_map_to_api_kinds() {
        assert_eq!(
            ApiError::from(StoreError::Conflict("x".into())).kind,
            ErrorKind::Conflict
        );
        assert_eq!(
            ApiError::from(StoreError::Invalid("x".into())).kind,
            ErrorKind::BadRequest
        );
        assert_eq!(ApiError::from(StoreError::Closed).kind, ErrorKind::Internal);
    }
}
