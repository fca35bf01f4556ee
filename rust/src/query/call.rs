//! Build the one statement of a call (PostgREST's `callPlanToQuery` + `prepareCall`):
//!
//! ```sql
//! WITH pgrst_result AS ( SELECT pgrst_call.* FROM "s"."fn"("a" := $1::integer) pgrst_call ),
//!      pgrst_source AS ( <the read plan over pgrst_result: select, filters, order, window, embeds> )
//! SELECT <total>, pg_catalog.count(_postgrest_t) AS page_total, <body>, <response GUCs>
//! FROM ( SELECT * FROM pgrst_source ) _postgrest_t
//! ```
//!
//! Arguments are bound parameters cast to the parameter types the schema cache recorded, passed by
//! name. A JSON body crosses as one parameter and PostgreSQL's `json_to_record` turns it into typed
//! arguments (JSON arrays and objects become arrays and composites, as PostgREST does). Scalar results
//! are selected as `pgrst_scalar` so the body can be the value itself rather than a one-key object.
//! The call's rows are a CTE of their own, apart from `pgrst_source`, so that the CSV header (which
//! reads `pgrst_source`) names the selected columns. A function may write: singular media and a
//! strict `max-affected` are checked inside the statement (a `pgrst_check` column, see
//! [`crate::query::check`]), so a failed check undoes the call's writes.

use std::fmt::Write as _;

use crate::api_request::PreferCount;
use crate::plan::call_plan::{ArgValue, CallAction, CallArgs, CallPlan, ResultKind};
use crate::plan::types::Media;
use crate::query::builder::{self, read_query, Level, ReadQuery, Statement};
use crate::query::check::Checks;
use crate::query::sql::{self, array_literal, Params};

const RESULT: &str = "\"pgrst_result\"";

/// The statement for `GET|HEAD|POST /rpc/<function>`.
pub fn call_statement(action: &CallAction) -> Statement {
    let mut params = Params::default();
    let mut call = String::new();
    call_query(&mut call, &mut params, &action.call);
    // The CTE's rows are anonymous records; a computed relationship's function takes the table's
    // row type, so whole-row references are cast to it (the call returns every column, in order).
    let row = match &action.row_type {
        Some(table) => format!("CAST({RESULT} AS {})", sql::qualified(table)),
        None => RESULT.to_owned(),
    };
    let level = Level {
        qualifier: RESULT,
        row: &row,
    };
    let ReadQuery {
        source,
        count_source,
        count_params,
    } = read_query(&mut params, &action.tree, RESULT, &level);
    let exact = matches!(action.count, Some(PreferCount::Exact | PreferCount::Estimated));

    let mut out = String::with_capacity(call.len() + source.len() + 400);
    let _ = write!(out, "WITH {RESULT} AS ( {call} ), pgrst_source AS ( {source} )");
    if exact {
        let _ = write!(out, ", pgrst_source_count AS ( {count_source} )");
    }
    out.push_str(" SELECT ");
    out.push_str(if exact {
        "(SELECT pg_catalog.count(*) FROM pgrst_source_count)"
    } else {
        "null::bigint"
    });
    out.push_str(" AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, ");
    if action.head {
        out.push_str("null::text");
    } else {
        out.push_str(&body(action.call.result, action.media));
    }
    out.push_str(
        " AS body, nullif(current_setting('response.headers', true), '') AS response_headers, \
         nullif(current_setting('response.status', true), '') AS response_status",
    );
    let checks = call_checks(&mut params, action);
    if !checks.is_empty() {
        out.push_str(", ");
        checks.push_to(&mut out);
        out.push_str(" AS pgrst_check");
    }
    out.push_str(" FROM ( SELECT * FROM pgrst_source ) _postgrest_t");

    let count_sql = matches!(action.count, Some(PreferCount::Planned | PreferCount::Estimated))
        .then(|| explain_count(&call, &count_source, count_params, params.len()));
    Statement {
        sql: out,
        params: params.into_vec(),
        count_sql,
    }
}

/// Singular media and a strict `max-affected`, both on the rows of the response.
fn call_checks(params: &mut Params, action: &CallAction) -> Checks {
    const ROWS: &str = "pg_catalog.count(_postgrest_t)";
    let mut checks = Checks::default();
    if let Some(max) = action.max_affected {
        checks.at_most(params, ROWS, max);
    }
    if matches!(action.media, Media::Singular { .. }) {
        checks.exactly_one(ROWS, "PGRST116");
    }
    checks
}

/// `SELECT pgrst_call.* FROM "s"."fn"(…) pgrst_call`, or for scalars
/// `SELECT pgrst_call.pgrst_scalar FROM (SELECT "s"."fn"(…) pgrst_scalar) pgrst_call`.
pub fn call_query(out: &mut String, params: &mut Params, plan: &CallPlan) {
    let scalar = plan.result.is_scalar();
    out.push_str(if scalar {
        "SELECT pgrst_call.pgrst_scalar FROM "
    } else {
        "SELECT pgrst_call.* FROM "
    });
    let mut invocation = sql::qualified(&plan.function);
    invocation.push('(');
    match &plan.args {
        CallArgs::None => {}
        CallArgs::Direct(args) => {
            for (i, (param, value)) in args.iter().enumerate() {
                if i > 0 {
                    invocation.push_str(", ");
                }
                named_arg(&mut invocation, &param.name, param.variadic);
                match value {
                    ArgValue::Fixed(v) => params.push(&mut invocation, v.as_str()),
                    ArgValue::Variadic(vs) => params.push(&mut invocation, array_literal(vs)),
                }
                invocation.push_str("::");
                invocation.push_str(&param.data_type);
            }
        }
        CallArgs::Body { param, value } => {
            if param.data_type == "bytea" {
                // Text-format parameters cannot carry arbitrary bytes: send bytea in hex.
                params.push(&mut invocation, hex_bytea(value));
            } else {
                params.push(&mut invocation, value.clone());
            }
            invocation.push_str("::");
            invocation.push_str(&param.data_type);
        }
        CallArgs::Json {
            raw,
            is_array,
            params: json_params,
        } => {
            // The payload as typed columns: `json_to_record` for an object, the first element of
            // an array through `json_to_recordset … LIMIT 1`.
            let mut columns = String::new();
            for (i, p) in json_params.iter().enumerate() {
                if i > 0 {
                    columns.push_str(", ");
                    invocation.push_str(", ");
                }
                sql::push_ident(&mut columns, &p.name);
                columns.push(' ');
                columns.push_str(&p.data_type);
                named_arg(&mut invocation, &p.name, p.variadic);
                invocation.push_str("pgrst_body.");
                sql::push_ident(&mut invocation, &p.name);
            }
            if *is_array {
                out.push_str("(SELECT * FROM json_to_recordset(");
                params.push(out, raw.as_str());
                let _ = write!(
                    out,
                    "::json) AS pgrst_rows({columns}) LIMIT 1) pgrst_body, LATERAL "
                );
            } else {
                out.push_str("json_to_record(");
                params.push(out, raw.as_str());
                let _ = write!(out, "::json) AS pgrst_body({columns}), LATERAL ");
            }
        }
    }
    invocation.push(')');
    if scalar {
        let _ = write!(out, "(SELECT {invocation} pgrst_scalar) pgrst_call");
    } else {
        let _ = write!(out, "{invocation} pgrst_call");
    }
}

/// `[VARIADIC] "name" := `
fn named_arg(out: &mut String, name: &str, variadic: bool) {
    if variadic {
        out.push_str("VARIADIC ");
    }
    sql::push_ident(out, name);
    out.push_str(" := ");
}

fn hex_bytea(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 + bytes.len() * 2);
    out.push_str("\\x");
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The response body, as PostgREST's `asJsonF`/`asJsonSingleF` build it for a routine.
fn body(result: ResultKind, media: Media) -> String {
    let strip = |agg: &str, stripped: bool| {
        if stripped {
            format!("json_strip_nulls({agg})")
        } else {
            agg.to_owned()
        }
    };
    let value = if matches!(result, ResultKind::Scalar | ResultKind::SetOfScalar) {
        "json_agg(_postgrest_t.pgrst_scalar)"
    } else {
        "json_agg(_postgrest_t)"
    };
    let first = |stripped: bool| {
        format!(
            "coalesce(({})::text, 'null')",
            strip(&format!("{value}->0"), stripped)
        )
    };
    let all = |stripped: bool| format!("coalesce({}, '[]')::text", strip(value, stripped));
    match (media, result) {
        (Media::Csv, _) => builder::body(Media::Csv).to_owned(),
        (_, ResultKind::Void) => "null::text".to_owned(),
        (Media::Singular { nulls_stripped }, _) => first(nulls_stripped),
        (Media::Json | Media::ArrayStripped, ResultKind::Scalar | ResultKind::SingleComposite) => {
            first(media == Media::ArrayStripped)
        }
        (Media::Json | Media::ArrayStripped, _) => all(media == Media::ArrayStripped),
    }
}

/// The planner's estimate of the rows a count would count; the call stays in a CTE so the
/// statement takes the very same parameters as the main one (see `builder::explain_count`).
fn explain_count(call: &str, count_source: &str, own: usize, total: usize) -> String {
    let mut out = format!("EXPLAIN (FORMAT JSON) WITH {RESULT} AS ( {call} ) SELECT 1");
    for n in own + 1..=total {
        let _ = write!(out, ", ${n}::text");
    }
    out.push_str(&count_source["SELECT 1".len()..]);
    out
}
