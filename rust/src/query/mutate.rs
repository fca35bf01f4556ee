//! Build the one statement of a write (PostgREST's `mutatePlanToQuery` + `prepareWrite`):
//!
//! ```sql
//! WITH pgrst_mutation AS ( INSERT … SELECT … FROM json_to_recordset($1) … RETURNING … ),
//!      pgrst_source AS ( <the read query over the returned rows> | SELECT * FROM pgrst_mutation )
//! SELECT <total>, pg_catalog.count(_postgrest_t) AS page_total, <body>, <response GUCs>,
//!        <location> AS pgrst_location, <inserted> AS pgrst_inserted, <checks> AS pgrst_check
//! FROM ( SELECT * FROM pgrst_source ) _postgrest_t
//! ```
//!
//! The payload crosses as one text parameter (`$1`) that PostgreSQL itself turns into rows, so a bulk
//! insert of any size is one statement and either writes every row or none.
//!
//! Checks that must undo the write (singular media, PUT's key match, `max-affected`) are evaluated in
//! the same statement (see [`crate::query::check`]).

use crate::plan::mutate_plan::{MutateAction, Mutation, Returned, Returning};
use crate::plan::types::Media;
use crate::query::builder::{body, read_query, Level, ReadQuery, Statement};
use crate::query::check::Checks;
use crate::query::fragment;
use crate::query::sql::{self, Params};

/// The statement for a POST, PUT, PATCH or DELETE on a table or view.
pub fn mutate_statement(action: &MutateAction) -> Statement {
    let mut params = Params::default();
    let target = sql::qualified(&action.target);
    let mut out = String::with_capacity(1024);
    out.push_str("WITH pgrst_mutation AS ( ");
    match action.mutation {
        Mutation::Create | Mutation::SingleUpsert => insert(&mut out, &mut params, action, &target),
        Mutation::Update => update(&mut out, &mut params, action, &target),
        Mutation::Delete => delete(&mut out, &mut params, action, &target),
    }
    out.push_str(" ), pgrst_source AS ( ");
    let representation = action.returning == Returning::Representation;
    if representation {
        let alias = sql::ident(&action.target.name);
        // Computed relationships take the table's row type, which the returned row (then the whole
        // row, see `Returned`) is cast to.
        let row = format!("CAST({alias} AS {target})");
        let from = format!("pgrst_mutation AS {alias}");
        let level = Level {
            qualifier: &alias,
            row: &row,
        };
        let ReadQuery { source, .. } = read_query(&mut params, &action.read, &from, &level);
        out.push_str(&source);
    } else {
        out.push_str("SELECT * FROM pgrst_mutation");
    }
    out.push_str(" ) SELECT ");
    out.push_str(if action.count {
        "(SELECT pg_catalog.count(*) FROM pgrst_mutation)"
    } else {
        "null::bigint"
    });
    out.push_str(" AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, ");
    out.push_str(if representation {
        body(action.media)
    } else {
        "null::text"
    });
    out.push_str(
        " AS body, nullif(current_setting('response.headers', true), '') AS response_headers, \
         nullif(current_setting('response.status', true), '') AS response_status, ",
    );
    location(&mut out, &mut params, action);
    out.push_str(" AS pgrst_location, ");
    out.push_str(if action.report_inserted {
        "coalesce(nullif(current_setting('pgrst.inserted', true), '')::bigint, 0)"
    } else {
        "null::bigint"
    });
    out.push_str(" AS pgrst_inserted, ");
    checks(&mut out, &mut params, action);
    out.push_str(" AS pgrst_check FROM ( SELECT * FROM pgrst_source ) _postgrest_t");
    Statement {
        sql: out,
        params: params.into_vec(),
        count_sql: None,
    }
}

/// `INSERT INTO t (cols) SELECT … FROM <payload rows> [WHERE <PUT keys>] [ON CONFLICT …] RETURNING …`
fn insert(out: &mut String, params: &mut Params, action: &MutateAction, target: &str) {
    out.push_str("INSERT INTO ");
    out.push_str(target);
    if !action.columns.is_empty() {
        out.push('(');
        push_list(out, action.columns.iter().map(|c| sql::ident(&c.name)));
        out.push(')');
    }
    out.push_str(" SELECT ");
    let values: Vec<String> = (0..action.columns.len())
        .map(|i| body_value(action, i, params))
        .collect();
    push_list(out, values.into_iter());
    payload_rows(out, params, action);
    if action.report_inserted {
        out.push_str(" WHERE ");
        out.push_str(&count_inserted(true));
    }
    for (i, (column, value)) in action.put_keys.iter().enumerate() {
        out.push_str(if i == 0 && !action.report_inserted {
            " WHERE "
        } else {
            " AND "
        });
        out.push_str("pgrst_body.");
        sql::push_ident(out, column);
        out.push_str(" = ");
        params.push(out, value.as_str());
    }
    if let Some(oc) = &action.on_conflict {
        out.push_str(" ON CONFLICT (");
        push_list(out, oc.columns.iter().map(|c| sql::ident(c)));
        out.push(')');
        let merge = oc.resolution == crate::api_request::PreferResolution::MergeDuplicates;
        if merge && !action.columns.is_empty() {
            out.push_str(" DO UPDATE SET ");
            push_list(
                out,
                action.columns.iter().map(|c| {
                    let col = sql::ident(&c.name);
                    format!("{col} = EXCLUDED.{col}")
                }),
            );
            if action.report_inserted {
                out.push_str(" WHERE ");
                out.push_str(&count_inserted(false));
            }
        } else {
            out.push_str(" DO NOTHING");
        }
    }
    returning(out, action, target);
}

/// `UPDATE t SET col = pgrst_body.col … FROM <first payload row> WHERE <filters> RETURNING …`; an empty
/// payload updates nothing (`SET` needs at least one column) but still answers with the right shape.
fn update(out: &mut String, params: &mut Params, action: &MutateAction, target: &str) {
    if action.columns.is_empty() {
        out.push_str("SELECT ");
        returning_list(out, action, target);
        out.push_str(" FROM ");
        out.push_str(target);
        out.push_str(" WHERE false");
        return;
    }
    out.push_str("UPDATE ");
    out.push_str(target);
    out.push_str(" SET ");
    let sets: Vec<String> = (0..action.columns.len())
        .map(|i| {
            format!(
                "{} = {}",
                sql::ident(&action.columns[i].name),
                body_value(action, i, params)
            )
        })
        .collect();
    push_list(out, sets.into_iter());
    payload_rows(out, params, action);
    where_conditions(out, params, action, target);
    returning(out, action, target);
}

fn delete(out: &mut String, params: &mut Params, action: &MutateAction, target: &str) {
    out.push_str("DELETE FROM ");
    out.push_str(target);
    where_conditions(out, params, action, target);
    returning(out, action, target);
}

fn where_conditions(out: &mut String, params: &mut Params, action: &MutateAction, target: &str) {
    for (i, cond) in action.conditions.iter().enumerate() {
        out.push_str(if i == 0 { " WHERE " } else { " AND " });
        fragment::condition(out, params, target, cond);
    }
}

/// ` FROM <payload> …`: the payload parameter as rows typed by the column list. An object is made a
/// one-element array in SQL, so one code path serves both. Under `missing=default` each element is
/// kept next to its row so that [`body_value`] can tell an absent key from an explicit null.
fn payload_rows(out: &mut String, params: &mut Params, action: &MutateAction) {
    out.push_str(" FROM (SELECT ");
    params.push(out, action.payload.clone().unwrap_or_else(|| "[]".into()));
    out.push_str(
        "::json AS json_data) pgrst_payload, LATERAL (SELECT CASE WHEN \
         pg_catalog.json_typeof(pgrst_payload.json_data) = 'array' THEN pgrst_payload.json_data \
         ELSE pg_catalog.json_build_array(pgrst_payload.json_data) END AS val) pgrst_uniform_json, \
         LATERAL (SELECT ",
    );
    let column_list = || {
        let mut defs = String::new();
        for (i, c) in action.columns.iter().enumerate() {
            if i > 0 {
                defs.push_str(", ");
            }
            sql::push_ident(&mut defs, &c.name);
            defs.push(' ');
            defs.push_str(&c.data_type);
        }
        defs
    };
    if action.columns.is_empty() {
        // No column list is valid syntax for json_to_recordset; one row per element is still needed.
        out.push_str("* FROM pg_catalog.json_array_elements(pgrst_uniform_json.val) AS _");
    } else if action.apply_defaults {
        out.push_str(
            "pgrst_element.value AS pgrst_elem, _.* FROM \
             pg_catalog.json_array_elements(pgrst_uniform_json.val) AS pgrst_element, \
             pg_catalog.json_to_record(pgrst_element.value) AS _(",
        );
        out.push_str(&column_list());
        out.push(')');
    } else {
        out.push_str("* FROM pg_catalog.json_to_recordset(pgrst_uniform_json.val) AS _(");
        out.push_str(&column_list());
        out.push(')');
    }
    // PATCH and PUT take one object; of an array, the first element.
    if matches!(action.mutation, Mutation::Update | Mutation::SingleUpsert) {
        out.push_str(" LIMIT 1");
    }
    out.push_str(") pgrst_body");
}

/// The value written to column `i`: the payload's, or under `missing=default` the column default when
/// the row has no such key. The default expression is catalog text (`pg_get_expr`), evaluated only for
/// rows that need it, so a sequence is not advanced for rows that bring their own key.
fn body_value(action: &MutateAction, i: usize, params: &mut Params) -> String {
    let column = &action.columns[i];
    let mut value = String::from("pgrst_body.");
    sql::push_ident(&mut value, &column.name);
    match &column.default {
        Some(default) => {
            let mut out = String::from("CASE WHEN pgrst_body.pgrst_elem -> ");
            params.push(&mut out, column.name.as_str());
            out.push_str("::text IS NULL THEN ");
            out.push_str(default);
            out.push_str(" ELSE ");
            out.push_str(&value);
            out.push_str(" END");
            out
        }
        _ => value,
    }
}

/// PostgREST's `pgrst.inserted` counter, which works on views too (they have no `xmax`): the
/// insert's WHERE adds one for every row offered, the `DO UPDATE`'s WHERE takes one back for every
/// row that conflicted, so what remains is the number of rows inserted. Both conditions are always
/// true; `set_config` is volatile, so it runs once per row.
fn count_inserted(offered: bool) -> String {
    let (op, never) = if offered { ("+", "0") } else { ("-", "-1") };
    format!(
        "pg_catalog.set_config('pgrst.inserted', (coalesce(nullif(current_setting('pgrst.inserted', true), \
         '')::int, 0) {op} 1)::text, true) <> '{never}'"
    )
}

fn returning(out: &mut String, action: &MutateAction, target: &str) {
    out.push_str(" RETURNING ");
    returning_list(out, action, target);
}

/// Only what the response needs: a row count, the key for `Location`, or the columns the
/// representation reads (see [`Returned`]); never more, so column-level SELECT grants are enough.
fn returning_list(out: &mut String, action: &MutateAction, target: &str) {
    match (action.returning, &action.returned) {
        (Returning::Minimal, _) => out.push_str("1 AS pgrst_one"),
        (Returning::PrimaryKey, _) => push_list(out, qualified_columns(target, &action.pk_cols)),
        (Returning::Representation, Returned::WholeRow) => {
            out.push_str(target);
            out.push_str(".*");
        }
        (Returning::Representation, Returned::Columns(columns)) => {
            push_list(out, qualified_columns(target, columns))
        }
    }
}

fn qualified_columns<'a>(target: &'a str, columns: &'a [String]) -> impl Iterator<Item = String> + 'a {
    columns.iter().map(move |c| format!("{target}.{}", sql::ident(c)))
}

/// `Location` for `return=headers-only` on an insert of exactly one row: `[path, [[key, value]…]]`
/// as JSON, the key columns in table order; the response stage percent-encodes it.
fn location(out: &mut String, params: &mut Params, action: &MutateAction) {
    if action.returning != Returning::PrimaryKey || action.mutation != Mutation::Create {
        out.push_str("null::text");
        return;
    }
    out.push_str("CASE WHEN pg_catalog.count(_postgrest_t) = 1 THEN pg_catalog.json_build_array(");
    params.push(out, format!("/{}", action.target.name));
    out.push_str(
        "::text, (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(d.key, d.value)) \
         FROM (SELECT pg_catalog.row_to_json(_) AS r FROM pgrst_mutation AS _ LIMIT 1) s \
         CROSS JOIN pg_catalog.json_each_text(s.r) AS d WHERE d.key = ANY(",
    );
    params.push(out, sql::array_literal(&action.pk_cols));
    out.push_str("::text[])))::text END");
}

/// PUT's key match, `max-affected` and singular media, as one `pgrst_check` column.
fn checks(out: &mut String, params: &mut Params, action: &MutateAction) {
    const AFFECTED: &str = "(SELECT pg_catalog.count(*) FROM pgrst_mutation)";
    let mut checks = Checks::default();
    if action.mutation == Mutation::SingleUpsert {
        checks.exactly_one(AFFECTED, "PGRST115");
    }
    if let Some(max) = action.max_affected {
        checks.at_most(params, AFFECTED, max);
    }
    if matches!(action.media, Media::Singular { .. }) {
        checks.exactly_one("pg_catalog.count(_postgrest_t)", "PGRST116");
    }
    checks.push_to(out);
}

fn push_list(out: &mut String, items: impl Iterator<Item = String>) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&item);
    }
}
