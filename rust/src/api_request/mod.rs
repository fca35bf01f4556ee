//! Stage 1, api_request: turn the HTTP request into an [`ApiRequest`], or a PGRST1xx error.
//! Nothing here looks at the schema cache.
//!
//! Checks run in PostgREST's order, so a request with several problems reports the same one:
//! path, schema, method, query string, ranges, body, then `Prefer: handling=strict`.

mod filter;
mod grammar;
mod logic;
mod media;
mod order;
mod parsec;
mod path;
mod payload;
mod preferences;
mod profile;
pub(crate) mod query_params;
mod range;
mod select;
#[cfg(test)]
mod tests;
pub mod types;

pub use filter::parse_filter;
pub use media::{decode_media_type, parse_accept, to_mime};
pub use preferences::{preference_applied, PreferenceKind};
pub use types::*;

use crate::error::{ApiError, ApiResult};
use crate::settings::{Settings, TxEnd};

/// The few parts of an HTTP request that the core reads. Header values are as received;
/// repeated `Prefer` headers are joined with `,` by the caller.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestHead<'a> {
    pub method: &'a str,
    /// Percent-encoded path, without the base path: `/`, `/items`, `/rpc/fn`.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    pub accept: Option<&'a str>,
    pub prefer: Option<&'a str>,
    pub range: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub accept_profile: Option<&'a str>,
    pub content_profile: Option<&'a str>,
}

/// Parses one request. Never panics; every failure is a 4xx [`ApiError`].
pub fn parse(head: &RequestHead<'_>, body: &[u8], settings: &Settings) -> ApiResult<ApiRequest> {
    let resource = path::parse_resource(head.path)?;
    let (schema, negotiated_by_profile) = profile::negotiate_schema(head, settings)?;
    let method = path::parse_method(head.method, &resource)?;
    let is_routine = matches!(resource, Resource::Routine(_));

    let query = query_params::parse_query(head.query, is_routine && method.is_read())?;

    // RFC 9110: the Range header only applies to GET.
    let range_header = if method == Method::Get {
        range::range_header(head.range)?
    } else {
        None
    };
    let top_range = query.ranges.get(&EmbedPath::new()).copied();
    range::check_intersection(range_header, top_range)?;
    if method == Method::Put && top_range.is_some_and(|r| r != RowRange::default()) {
        return Err(ApiError::new(
            400,
            "PGRST114",
            "limit/offset querystring parameters are not allowed for PUT",
        ));
    }

    let content_type = head.content_type.map_or(MediaType::Json, decode_media_type);
    let takes_body = matches!(
        (&resource, method),
        (Resource::Relation(_), Method::Post | Method::Patch | Method::Put)
            | (Resource::Routine(_), Method::Post)
    );
    let payload = if takes_body {
        // `?columns=` names the keys for inserts, updates and calls, not for PUT.
        let columns = if method == Method::Put {
            None
        } else {
            query.columns.as_deref()
        };
        Some(payload::parse_payload(body, &content_type, is_routine, columns)?)
    } else {
        None
    };

    let tx_allow_override = matches!(
        settings.db_tx_end,
        TxEnd::CommitAllowOverride | TxEnd::RollbackAllowOverride
    );
    let preferences = preferences::parse_preferences(head.prefer, tx_allow_override);
    preferences::check_strict(&preferences)?;

    Ok(ApiRequest {
        method,
        resource,
        schema,
        negotiated_by_profile,
        query,
        preferences,
        range_header,
        accept: parse_accept(head.accept),
        content_type,
        payload,
        path: head.path.to_owned(),
    })
}
