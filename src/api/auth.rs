//! HTTP Basic authentication for `/v1`: the account SID with its auth token, or an API key SID
//! (`SK…`) with its secret, which Twilio maps to the account. Comparisons are constant-time.

use crate::config::Credentials;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use actix_web::middleware::Next;
use actix_web::web;
use base64::Engine;
use subtle::ConstantTimeEq;

/// Middleware: refuses the request with 401/20003 unless it carries valid credentials.
pub async fn require_credentials(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let allowed = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| is_authorized(req.headers(), &state.credentials));
    if !allowed {
        return Err(ApiError::unauthorized().into());
    }
    next.call(req).await
}

/// Whether the `Authorization` header names the account or one of its API keys.
pub fn is_authorized(headers: &HeaderMap, credentials: &Credentials) -> bool {
    let Some((user, password)) = basic_credentials(headers) else {
        return false;
    };
    let matches =
        |u: &str, p: &str| bool::from(user.as_bytes().ct_eq(u.as_bytes()) & password.as_bytes().ct_eq(p.as_bytes()));
    // Evaluate every pair so the time taken does not reveal which one matched.
    let mut ok = matches(&credentials.account_sid, &credentials.auth_token);
    for (key, secret) in &credentials.api_keys {
        ok |= matches(key, secret);
    }
    ok
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CredentialSource;
    use actix_web::http::header::HeaderValue;

    fn creds() -> Credentials {
        Credentials {
            account_sid: "AC0123456789abcdef0123456789abcdef".into(),
            auth_token: "token".into(),
            api_keys: vec![("SK0123456789abcdef0123456789abcdef".into(), "secret".into())],
            source: CredentialSource::Flags,
        }
    }

    fn header(user: &str, password: &str) -> HeaderMap {
        let raw = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let mut h = HeaderMap::new();
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {raw}")).expect("header"),
        );
        h
    }

    #[test]
    fn account_and_api_key_pairs_pass_others_fail() {
        let c = creds();
        assert!(is_authorized(
            &header("AC0123456789abcdef0123456789abcdef", "token"),
            &c
        ));
        assert!(is_authorized(
            &header("SK0123456789abcdef0123456789abcdef", "secret"),
            &c
        ));
        assert!(!is_authorized(
            &header("SK0123456789abcdef0123456789abcdef", "token"),
            &c
        ));
        assert!(!is_authorized(
            &header("AC0123456789abcdef0123456789abcdef", "tokenx"),
            &c
        ));
        assert!(!is_authorized(&HeaderMap::new(), &c));
    }
}
