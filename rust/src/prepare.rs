//! The whole core pipeline for one request: api_request (parse) → plan → query, and the
//! [`Prepared`] result the Python execute and response stages consume (`_core.pyi`'s `Prepared`).

mod explain;
mod mutate;
pub mod shape;

use crate::api_request::{
    self, ApiRequest, Method, PreferCount, PreferHandling, PreferTransaction, RequestHead, RowRange,
};
use crate::error::ApiResult;
use crate::plan::{self, ActionPlan, Media};
use crate::query;
use crate::query::sql;
use crate::schema_cache::SchemaCache;
use crate::settings::Settings;

/// Everything the execute and response stages need for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The main statement (empty for `root` and `options`, which run no statement here).
    pub sql: String,
    /// Text-format parameter values in `$n` order (`None` is NULL).
    pub params: Vec<Option<Vec<u8>>>,
    /// Prepared-statement name: a hash of `sql`, the same in every process.
    pub name: String,
    /// `EXPLAIN (FORMAT JSON)` of the count query for `count=planned|estimated`, same `params`.
    pub count_sql: Option<String>,
    pub count_name: Option<String>,
    pub read_only: bool,
    pub schema: String,
    /// `"schema", "extra1", …` for `set_config('search_path', …)`.
    pub search_path: String,
    pub content_type: Option<String>,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub offset: u64,
    pub has_limit: bool,
    pub count: Option<&'static str>,
    pub singular: bool,
    pub head: bool,
    /// `read`, `root`, `options`, `create`, `update`, `upsert` (PUT), `delete`; `call` later.
    pub kind: &'static str,
    pub rollback: bool,
    /// A call's function `SET` clauses, `(name, value)`; the execute stage hoists those
    /// `db-hoisted-tx-settings` lists into the transaction's settings.
    pub function_settings: Vec<(String, String)>,
    /// `sql` is an EXPLAIN (`Accept: application/vnd.pgrst.plan…`): its rows are the plan, one row for
    /// `FORMAT JSON`, one per line for `FORMAT TEXT`, and they are the response body.
    pub explain: bool,
    /// `Prefer: timezone=…`, for `set_config('timezone', …)`; PostgreSQL rejects an unknown zone (400).
    pub timezone: Option<String>,
}

/// Parse, plan and build the SQL of one request.
pub fn prepare(
    cache: &SchemaCache,
    settings: &Settings,
    head: &RequestHead,
    body: &[u8],
) -> ApiResult<Prepared> {
    let request = api_request::parse(head, body, settings)?;
    let prepared = prepare_request(cache, settings, &request)?;
    refuse_nul_bytes(&prepared.params)?;
    Ok(prepared)
}

/// libpq reads a text parameter up to its first NUL byte, so a value holding one (`?name=eq.a%00b`) would
/// reach SQL cut short. PostgreSQL refuses such text, and PostgREST, which sends lengths, answers its
/// error: so does the core, before anything runs.
fn refuse_nul_bytes(params: &[Option<Vec<u8>>]) -> ApiResult<()> {
    if params.iter().flatten().any(|value| value.contains(&0)) {
        return Err(crate::error::ApiError::new(
            400,
            "22021",
            "invalid byte sequence for encoding \"UTF8\": 0x00",
        ));
    }
    Ok(())
}

/// [`prepare`] from an already parsed request.
pub fn prepare_request(cache: &SchemaCache, settings: &Settings, req: &ApiRequest) -> ApiResult<Prepared> {
    let action = plan::plan(cache, settings, req)?;
    let info = plan::request_info(settings, req);
    let mut prepared = Prepared {
        sql: String::new(),
        params: Vec::new(),
        name: String::new(),
        count_sql: None,
        count_name: None,
        read_only: true,
        schema: info.schema.clone(),
        search_path: search_path(&info.schema, &settings.db_extra_search_path),
        content_type: None,
        status: 200,
        headers: Vec::new(),
        offset: 0,
        has_limit: false,
        count: None,
        singular: false,
        head: req.method == Method::Head,
        kind: "read",
        rollback: info.rollback,
        function_settings: Vec::new(),
        explain: false,
        timezone: req.preferences.timezone.clone(),
    };
    // PostgREST sends Content-Profile along with a Content-Type, so not on OPTIONS.
    let profile = req
        .negotiated_by_profile
        .then(|| ("Content-Profile".to_owned(), info.schema.clone()));
    match action {
        ActionPlan::Options { allow } => {
            prepared.kind = "options";
            prepared
                .headers
                .push(("Access-Control-Allow-Origin".into(), "*".into()));
            prepared.headers.push(("Allow".into(), allow));
        }
        ActionPlan::Root => {
            // The statement asks what the role may see; `Engine.openapi` builds the document.
            crate::openapi::negotiate_root(&req.accept)?;
            prepared.kind = "root";
            prepared.sql = crate::openapi::ROOT_SQL.to_owned();
            prepared.name = statement_name(&prepared.sql);
            prepared.params = vec![Some(info.schema.clone().into_bytes())];
            prepared.content_type = Some("application/openapi+json; charset=utf-8".into());
            prepared.headers.extend(profile);
        }
        ActionPlan::Read(read) => {
            let statement = query::read_statement(&read);
            prepared.name = statement_name(&statement.sql);
            prepared.count_name = statement.count_sql.as_deref().map(statement_name);
            prepared.sql = statement.sql;
            prepared.params = statement.params;
            prepared.count_sql = statement.count_sql;
            prepared.content_type = Some(read.media.content_type().into());
            prepared.offset = top_offset(read.tree.node.range);
            prepared.has_limit = read.tree.node.range.limit.is_some();
            prepared.count = read.count.map(count_name);
            prepared.singular = matches!(read.media, Media::Singular { .. });
            let location = content_location(req, &read.tree.node.from.name);
            prepared.headers.push(("Content-Location".into(), location));
            prepared.headers.extend(profile);
            if let Some(warning) = plan::read_plan::legacy_warning(&read.tree) {
                prepared.headers.push(("Warning".into(), warning));
            }
            let applied = preference_applied(req, read.count, info.tx_applied, None);
            if !applied.is_empty() {
                prepared.headers.push(("Preference-Applied".into(), applied));
            }
        }
        ActionPlan::Mutate(write) => mutate::fill(&mut prepared, req, &write, profile),
        ActionPlan::Call(call) => {
            let statement = query::call::call_statement(&call);
            prepared.kind = "call";
            prepared.name = statement_name(&statement.sql);
            prepared.count_name = statement.count_sql.as_deref().map(statement_name);
            prepared.sql = statement.sql;
            prepared.params = statement.params;
            prepared.count_sql = statement.count_sql;
            prepared.read_only = call.read_only;
            prepared.function_settings = call.function_settings.clone();
            let void = call.call.result == plan::call_plan::ResultKind::Void;
            prepared.status = if void { 204 } else { 200 };
            prepared.content_type = (!void).then(|| call.media.content_type().into());
            prepared.offset = top_offset(call.tree.node.range);
            prepared.has_limit = call.tree.node.range.limit.is_some();
            prepared.count = call.count.map(count_name);
            prepared.singular = matches!(call.media, Media::Singular { .. });
            prepared.headers.extend(profile);
            let applied = preference_applied(req, call.count, info.tx_applied, call.max_affected);
            if !applied.is_empty() {
                prepared.headers.push(("Preference-Applied".into(), applied));
            }
        }
    }
    if let Some(explain) = &info.explain {
        if !matches!(prepared.kind, "root" | "options") {
            explain::fill(&mut prepared, explain, req.negotiated_by_profile);
        }
    }
    Ok(prepared)
}

/// The first row's index for `Content-Range`: the top level's offset, never negative.
fn top_offset(range: RowRange) -> u64 {
    u64::try_from(range.offset).unwrap_or(0)
}

/// `/<table>?<canonical query>` (no `?` without a query), as PostgREST sends on GET/HEAD: the
/// table's name as the schema cache spells it, not the path as received.
fn content_location(req: &ApiRequest, table: &str) -> String {
    if req.query.canonical.is_empty() {
        format!("/{table}")
    } else {
        format!("/{table}?{}", req.query.canonical)
    }
}

/// Honoured preferences, in PostgREST's order (… count, tx, handling, timezone, max-affected).
fn preference_applied(
    req: &ApiRequest,
    count: Option<PreferCount>,
    tx: Option<PreferTransaction>,
    max_affected: Option<u64>,
) -> String {
    let mut applied = Vec::new();
    if let Some(c) = count {
        applied.push(format!("count={}", count_name(c)));
    }
    if let Some(t) = tx {
        applied.push(format!(
            "tx={}",
            if t == PreferTransaction::Commit {
                "commit"
            } else {
                "rollback"
            }
        ));
    }
    if let Some(h) = req.preferences.handling {
        applied.push(format!(
            "handling={}",
            if h == PreferHandling::Strict {
                "strict"
            } else {
                "lenient"
            }
        ));
    }
    if let Some(tz) = &req.preferences.timezone {
        applied.push(format!("timezone={tz}"));
    }
    if let Some(max) = max_affected {
        applied.push(format!("max-affected={max}"));
    }
    applied.join(", ")
}

fn count_name(c: PreferCount) -> &'static str {
    match c {
        PreferCount::Exact => "exact",
        PreferCount::Planned => "planned",
        PreferCount::Estimated => "estimated",
    }
}

/// The quoted schema, then the quoted extra search path schemas.
pub fn search_path(schema: &str, extra: &[String]) -> String {
    let mut out = sql::ident(schema);
    for s in extra.iter().filter(|s| s.as_str() != schema) {
        out.push_str(", ");
        out.push_str(&sql::ident(s));
    }
    out
}

/// A prepared-statement name from 64-bit FNV-1a of the SQL text: deterministic across processes and
/// builds (unlike std's randomly keyed hasher), ASCII, well under PostgreSQL's 63-byte name limit.
pub fn statement_name(sql: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in sql.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("restpg_{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable() {
        assert_eq!(statement_name(""), "restpg_cbf29ce484222325");
        assert_ne!(statement_name("SELECT 1"), statement_name("SELECT 2"));
    }

    #[test]
    fn nul_bytes_are_refused() {
        assert!(refuse_nul_bytes(&[Some(b"a".to_vec()), None]).is_ok());
        let e = refuse_nul_bytes(&[None, Some(b"a\0b".to_vec())]).unwrap_err();
        assert_eq!((e.status, e.code), (400, "22021"));
    }

    #[test]
    fn search_path_quotes_and_dedups() {
        assert_eq!(
            search_path("api", &["public".into(), "ext\"x".into()]),
            "\"api\", \"public\", \"ext\"\"x\""
        );
        assert_eq!(search_path("public", &["public".into()]), "\"public\"");
    }
}
