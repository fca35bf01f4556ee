//! The root endpoint's API description, built from the schema cache: PostgREST's Swagger 2.0
//! document at `GET /`, and an OpenAPI 3.1 document of the same API (PostgREST's long-standing
//! issue #932).
//!
//! As in PostgREST, what a role may see is asked from the database at request time, inside the
//! request's own transaction with the role already set ([`ROOT_SQL`]): the schema cache knows every
//! object, the database knows which of them the role has privileges on. `openapi-mode =
//! ignore-privileges` uses the same answer only for the schema's description.

mod json;
mod model;
mod proxy;
mod swagger;
mod types;
mod v3;

use std::collections::HashSet;

use serde::Deserialize;

use crate::api_request::MediaType;
use crate::error::{ApiError, ApiResult};
use crate::plan::negotiate;
use crate::schema_cache::{Routine, SchemaCache, Table};

pub use proxy::{server_url, ServerUrl};

/// The root statement, `$1` = the schema. One row in the shape of every main statement (total,
/// page_total, body, response headers and status GUCs); the body is
/// `{"description": …, "tables": [names], "routines": [names]}`, the objects of the schema the
/// current role has any privilege on (as `information_schema.tables` decides visibility) or may
/// execute.
pub const ROOT_SQL: &str = "SELECT NULL::bigint AS total_result_set, 1::bigint AS page_total, \
json_build_object(\
'description', (SELECT obj_description(n.oid, 'pg_namespace') FROM pg_namespace n WHERE n.nspname = $1), \
'tables', (SELECT coalesce(json_agg(c.relname), '[]') FROM pg_class c \
JOIN pg_namespace n ON n.oid = c.relnamespace \
WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'm', 'f', 'p') \
AND (pg_has_role(c.relowner, 'USAGE') \
OR has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') \
OR has_any_column_privilege(c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))), \
'routines', (SELECT coalesce(json_agg(DISTINCT p.proname), '[]') FROM pg_proc p \
JOIN pg_namespace n ON n.oid = p.pronamespace \
WHERE n.nspname = $1 AND has_function_privilege(p.oid, 'EXECUTE'))\
)::text AS body, \
nullif(current_setting('response.headers', true), '') AS response_headers, \
nullif(current_setting('response.status', true), '') AS response_status";

/// The media types the root answers with: the OpenAPI document for `application/openapi+json`,
/// `application/json` and `*/*`; anything else is 406 PGRST107.
pub fn negotiate_root(accept: &[MediaType]) -> ApiResult<()> {
    if accept.is_empty()
        || accept
            .iter()
            .any(|m| matches!(m, MediaType::OpenApi | MediaType::Json | MediaType::Any))
    {
        Ok(())
    } else {
        Err(negotiate::not_acceptable(accept))
    }
}

/// Which document to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Swagger 2.0, PostgREST's document.
    Swagger2,
    /// OpenAPI 3.1.
    OpenApi31,
}

impl Version {
    pub fn parse(value: &str) -> Option<Version> {
        match value {
            "2.0" => Some(Version::Swagger2),
            "3.1" => Some(Version::OpenApi31),
            _ => None,
        }
    }
}

/// `openapi-mode`, without `disabled` (that one never gets here: 404 PGRST126).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    FollowPrivileges,
    IgnorePrivileges,
}

impl Mode {
    pub fn parse(value: &str) -> ApiResult<Mode> {
        match value {
            "follow-privileges" => Ok(Mode::FollowPrivileges),
            "ignore-privileges" => Ok(Mode::IgnorePrivileges),
            _ => Err(disabled()),
        }
    }
}

/// 404 PGRST126, the root with `openapi-mode = disabled`.
pub fn disabled() -> ApiError {
    ApiError::new(404, "PGRST126", "Root endpoint metadata is disabled")
}

/// What [`ROOT_SQL`] answered.
#[derive(Debug, Default, Deserialize)]
pub struct Accessible {
    pub description: Option<String>,
    pub tables: HashSet<String>,
    pub routines: HashSet<String>,
}

impl Accessible {
    pub fn parse(body: &[u8]) -> Result<Accessible, String> {
        serde_json::from_slice(body).map_err(|e| format!("invalid root statement result: {e}"))
    }
}

/// Everything a document depends on besides the schema cache.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    pub schema: &'a str,
    pub mode: Mode,
    pub version: Version,
    pub server: ServerUrl,
    /// `openapi-security-active`: declare the JWT bearer scheme.
    pub security_active: bool,
}

/// The objects a document describes: the schema's tables and functions, filtered by privileges
/// under `follow-privileges`.
pub struct Described<'a> {
    pub tables: Vec<&'a Table>,
    pub routines: Vec<&'a Routine>,
    pub description: Option<&'a str>,
}

/// The document for `GET /` (or the 3.1 document), as JSON text.
pub fn document(cache: &SchemaCache, accessible: &Accessible, opts: &Options<'_>) -> String {
    let follow = opts.mode == Mode::FollowPrivileges;
    let described = Described {
        tables: cache
            .tables()
            .filter(|t| t.schema == opts.schema && (!follow || accessible.tables.contains(&t.name)))
            .collect(),
        routines: cache
            .routine_list()
            .filter(|r| r.schema == opts.schema && (!follow || accessible.routines.contains(&r.name)))
            .collect(),
        description: accessible.description.as_deref(),
    };
    match opts.version {
        Version::Swagger2 => swagger::document(cache, &described, opts),
        Version::OpenApi31 => v3::document(cache, &described, opts),
    }
    .to_json()
}

#[cfg(test)]
mod tests;
