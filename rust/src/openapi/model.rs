//! What both document versions say about tables, columns and functions: JSON schemas of rows and
//! arguments, descriptions with PostgREST's key notes, and the summaries taken from comments.

use super::json::J;
use super::types::{default_value, element_type, json_type};
use super::Version;
use crate::schema_cache::{Cardinality, Column, Relationship, Routine, RoutineParam, SchemaCache, Table};

/// A comment's first line is the summary, the rest (leading blank lines dropped) the description.
pub fn summary_and_description(comment: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(text) = comment else {
        return (None, None);
    };
    match text.split_once('\n') {
        Some((first, rest)) => {
            let rest = rest.trim_start_matches('\n');
            (
                Some(first.to_owned()),
                (!rest.is_empty()).then(|| rest.to_owned()),
            )
        }
        None => (Some(text.to_owned()), None),
    }
}

/// The JSON schema of a table's rows: every column, `required` the NOT NULL ones.
pub fn row_schema(cache: &SchemaCache, table: &Table, version: Version) -> J {
    let properties = table
        .columns
        .iter()
        .map(|c| (c.name.clone(), column_schema(cache, table, c, version)))
        .collect();
    let required: Vec<&String> = table
        .columns
        .iter()
        .filter(|c| !c.nullable)
        .map(|c| &c.name)
        .collect();
    J::obj()
        .opt("description", table.description.as_deref())
        .set("type", "object")
        .set("properties", J::Obj(properties))
        .opt("required", (!required.is_empty()).then(|| J::strs(required)))
}

fn column_schema(cache: &SchemaCache, table: &Table, col: &Column, version: Version) -> J {
    let enum_values = (!col.enum_values.is_empty()).then(|| J::strs(&col.enum_values));
    let default = col
        .default
        .as_deref()
        .and_then(|d| default_value(&col.data_type, d))
        .map(J::Value);
    let base = J::obj()
        .opt("default", default)
        .opt("description", column_description(cache, table, col))
        .opt("enum", enum_values)
        .set("format", col.data_type.as_str())
        .opt("maxLength", col.max_len.map(i64::from));
    typed(
        base,
        &col.data_type,
        version == Version::OpenApi31 && col.nullable,
    )
}

/// Adds `type` (and `items` for arrays); in OpenAPI 3.1 a nullable value's type includes `null`.
pub fn typed(schema: J, data_type: &str, nullable: bool) -> J {
    let schema = match json_type(data_type) {
        Some(t) if nullable => schema.set("type", J::strs([t, "null"])),
        Some(t) => schema.set("type", t),
        None => schema,
    };
    match element_type(data_type) {
        Some(element) => schema.set("items", typed(J::obj(), element, false)),
        None => schema,
    }
}

/// The column's comment, then PostgREST's notes: `<pk/>` for a primary key column and
/// `<fk table='t' column='c'/>` for a single-column foreign key (to a table rather than a view
/// when both exist).
fn column_description(cache: &SchemaCache, table: &Table, col: &Column) -> Option<String> {
    let mut notes = vec!["Note:".to_owned()];
    if table.pk_cols.contains(&col.name) {
        notes.push("This is a Primary Key.<pk/>".to_owned());
    }
    if let Some((ftable, fcol)) = foreign_key(cache, table, col) {
        notes.push(format!(
            "This is a Foreign Key to `{ftable}.{fcol}`.<fk table='{ftable}' column='{fcol}'/>"
        ));
    }
    if notes.len() == 1 {
        return col.description.clone();
    }
    let comment = col
        .description
        .as_deref()
        .map(|d| format!("{d}\n\n"))
        .unwrap_or_default();
    Some(format!("{comment}{}", notes.join("\n")))
}

fn foreign_key<'a>(cache: &'a SchemaCache, table: &Table, col: &Column) -> Option<(&'a str, &'a str)> {
    let mut candidates: Vec<(bool, &str, &str)> = cache
        .relationships(&table.qi())
        .iter()
        .filter_map(|rel| match rel {
            Relationship::ForeignKey {
                foreign_table,
                cardinality,
                foreign_table_is_view,
                ..
            } => {
                let columns = match cardinality {
                    Cardinality::M2O { columns, .. } => columns,
                    Cardinality::O2O {
                        columns,
                        is_parent: false,
                        ..
                    } => columns,
                    _ => return None,
                };
                match columns.as_slice() {
                    [(own, theirs)] if *own == col.name => Some((
                        *foreign_table_is_view,
                        foreign_table.name.as_str(),
                        theirs.as_str(),
                    )),
                    _ => None,
                }
            }
            Relationship::Computed { .. } => None,
        })
        .collect();
    candidates.sort_by_key(|(is_view, _, _)| *is_view);
    candidates.first().map(|(_, t, c)| (*t, *c))
}

/// The JSON schema of a function's arguments object (the POST body).
pub fn arguments_schema(routine: &Routine) -> J {
    let properties = routine
        .params
        .iter()
        .map(|p| {
            let schema = typed(J::obj(), &p.data_type, false).set("format", p.data_type.as_str());
            (p.name.clone(), schema)
        })
        .collect();
    let required: Vec<&String> = routine
        .params
        .iter()
        .filter(|p| p.required)
        .map(|p| &p.name)
        .collect();
    J::obj()
        .opt("description", routine.description.as_deref())
        .set("type", "object")
        .set("properties", J::Obj(properties))
        .opt("required", (!required.is_empty()).then(|| J::strs(required)))
}

/// Functions that are not VOLATILE may also be called with GET (arguments in the query string).
pub fn callable_with_get(routine: &Routine) -> bool {
    routine.volatility != crate::schema_cache::Volatility::Volatile
}

/// A query-string argument's schema: arrays travel as `{a,b}` text, except a VARIADIC parameter,
/// which repeats (`?v=1&v=2`).
pub fn query_arg_type(param: &RoutineParam) -> (&'static str, Option<&str>) {
    match (json_type(&param.data_type), element_type(&param.data_type)) {
        (Some("array"), Some(element)) if param.variadic => ("array", Some(element)),
        (Some("array") | None, _) => ("string", None),
        (Some(t), _) => (t, None),
    }
}

/// Whether a table or view takes writes at all (PostgREST lists POST, PATCH and DELETE together).
pub fn writable(table: &Table) -> bool {
    table.insertable || table.updatable || table.deletable
}

/// The description of the API: the schema's comment, first line the title.
pub fn title_and_description(comment: Option<&str>) -> (String, String) {
    let (title, description) = summary_and_description(comment);
    (
        title.unwrap_or_else(|| "PostgREST API".to_owned()),
        description.unwrap_or_else(|| {
            "This is a dynamic API generated by restpg, a PostgREST-compatible server".to_owned()
        }),
    )
}

/// The media types of reads and writes, as PostgREST lists them.
pub const MEDIA: [&str; 4] = [
    "application/json",
    "application/vnd.pgrst.object+json;nulls=stripped",
    "application/vnd.pgrst.object+json",
    "text/csv",
];

/// The media types a function call answers with.
pub const CALL_MEDIA: [&str; 3] = [
    "application/json",
    "application/vnd.pgrst.object+json;nulls=stripped",
    "application/vnd.pgrst.object+json",
];

pub const DOCS_URL: &str = "https://postgrest.org/en/stable/references/api.html";
pub const SECURITY_DESCRIPTION: &str = "Add the token prepending \"Bearer \" (without quotes) to it";

/// The shared parameters a read (GET on a table or view) takes besides one `rowFilter` per column.
pub const READ_PARAMETERS: [&str; 7] = [
    "select",
    "order",
    "range",
    "rangeUnit",
    "offset",
    "limit",
    "preferCount",
];

/// An operation tagged with its table or function, the comment split into summary and description.
pub fn operation(tag: String, comment: Option<&str>) -> J {
    let (summary, description) = summary_and_description(comment);
    J::obj()
        .set("tags", J::strs([tag]))
        .opt("summary", summary)
        .opt("description", description)
}

/// References to shared parameters, which live under `parameters` (2.0) or `components/parameters` (3.1).
pub fn parameter_refs(section: &str, names: impl IntoIterator<Item = String>) -> J {
    J::Arr(names.into_iter().map(|n| J::reference(section, &n)).collect())
}
