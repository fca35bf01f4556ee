//! Stage 1, api_request: turn the HTTP request into an [`ApiRequest`], or a PGRST1xx error.
//! Nothing here looks at the schema cache.

pub mod types;

pub use types::*;

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
