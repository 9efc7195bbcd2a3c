//! The 2010 API's wire family (`api.twilio.com/2010-04-01`): `.json` paths, URIs relative to the
//! API's host (`uri`, `subresource_uris`, the page URIs), paging keys at the top level beside the
//! list, numbers as strings, and RFC 2822 dates whose zone is always the literal `+0000` (the
//! helper libraries parse exactly that).

use super::{product_path, Paging};
use crate::store::Page;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};
use time::OffsetDateTime;

/// Unix seconds as `Thu, 24 Aug 2023 05:01:45 +0000`.
pub fn date(seconds: i64) -> String {
    const FORMAT: &[time::format_description::FormatItem<'_>] = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] +0000"
    );
    OffsetDateTime::from_unix_timestamp(seconds)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(FORMAT)
        .unwrap_or_default()
}

/// An optional date, `null` when absent.
pub fn optional_date(seconds: Option<i64>) -> Value {
    seconds.map_or(Value::Null, |s| Value::String(date(s)))
}

/// The list envelope: the items under `key`, then `uri`, `first_page_uri`, `next_page_uri`,
/// `previous_page_uri`, `page`, `page_size`, `start` and `end`.
pub fn list_response<'p, T, R: serde::Serialize>(
    req: &HttpRequest,
    key: &str,
    paging: &Paging,
    page: &'p Page<T>,
    render: impl Fn(&'p T) -> R,
) -> HttpResponse {
    let path = product_path(req);
    let window = paging.window();
    let items: Vec<R> = page.items.iter().map(render).collect();
    let next = page
        .has_more
        .then(|| paging.page_url(&path, paging.page + 1, Some(window.offset + window.limit)));
    let previous = (window.offset > 0).then(|| {
        paging.page_url(
            &path,
            (paging.page - 1).max(0),
            Some((window.offset - window.limit).max(0)),
        )
    });
    let end = window.offset + (items.len() as i64 - 1).max(0);
    HttpResponse::Ok().json(json!({
        key: items,
        "uri": paging.page_url(&path, paging.page, None),
        "first_page_uri": paging.page_url(&path, 0, None),
        "next_page_uri": next,
        "previous_page_uri": previous,
        "page": paging.page,
        "page_size": paging.page_size,
        "start": window.offset,
        "end": end,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc_2822_with_a_literal_zone() {
        assert_eq!(date(1_692_853_305), "Thu, 24 Aug 2023 05:01:45 +0000");
        assert_eq!(date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(optional_date(None), Value::Null);
    }
}
