//! The same API as an OpenAPI 3.1 document (JSON Schema 2020-12 types, so a nullable column's
//! type includes `null`): what current tooling (schemathesis, code generators, Swagger UI 5)
//! expects, and what PostgREST's issue #932 asks for.

use super::json::J;
use super::model::{
    arguments_schema, callable_with_get, operation, parameter_refs, query_arg_type, row_schema,
    title_and_description, typed, writable, CALL_MEDIA, DOCS_URL, MEDIA, READ_PARAMETERS,
    SECURITY_DESCRIPTION,
};
use super::{Described, Options, Version};
use crate::schema_cache::{Routine, SchemaCache, Table};

pub fn document(cache: &SchemaCache, d: &Described<'_>, opts: &Options<'_>) -> J {
    let (title, description) = title_and_description(d.description);
    let info = J::obj()
        .set("title", title)
        .set("description", description)
        .set("version", env!("CARGO_PKG_VERSION"));
    let mut paths: Vec<(String, J)> = vec![("/".to_owned(), root_path())];
    paths.extend(d.tables.iter().map(|t| (format!("/{}", t.name), table_path(t))));
    for r in &d.routines {
        // Overloads share a path; the last one wins, as in the 2.0 document.
        let path = format!("/rpc/{}", r.name);
        paths.retain(|(p, _)| *p != path);
        paths.push((path, routine_path(r)));
    }
    let schemas = d
        .tables
        .iter()
        .map(|t| (key(&t.name), row_schema(cache, t, Version::OpenApi31)))
        .collect();
    let bodies = d
        .tables
        .iter()
        .map(|t| {
            let body = J::obj()
                .set("description", t.name.as_str())
                .set("content", content(&MEDIA[..2], row_or_rows(t)));
            (key(&t.name), body)
        })
        .collect();
    let mut components = J::obj()
        .set("schemas", J::Obj(schemas))
        .set("parameters", J::Obj(parameters(&d.tables)))
        .set("requestBodies", J::Obj(bodies));
    let mut doc = J::obj()
        .set("openapi", "3.1.0")
        .set("info", info)
        .set(
            "externalDocs",
            J::obj()
                .set("description", "PostgREST Documentation")
                .set("url", DOCS_URL),
        )
        .set("servers", J::Arr(vec![J::obj().set("url", opts.server.url())]))
        .set("paths", J::Obj(paths));
    if opts.security_active {
        let scheme = J::obj()
            .set("type", "http")
            .set("scheme", "bearer")
            .set("bearerFormat", "JWT")
            .set("description", SECURITY_DESCRIPTION);
        components = components.set("securitySchemes", J::obj().set("JWT", scheme));
        doc = doc.set("security", J::Arr(vec![J::obj().set("JWT", J::Arr(vec![]))]));
    }
    doc.set("components", components)
}

/// A component name from a table or column name. OpenAPI 3 allows only `[a-zA-Z0-9._-]` there, so
/// every other byte (and `.` and `-` themselves, which join and escape) is written `-XX` in hex: a
/// one-to-one mapping, so two names never share a component.
pub fn key(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("-{b:02X}"));
        }
    }
    out
}

fn filter_key(table: &str, column: &str) -> String {
    format!("rowFilter.{}.{}", key(table), key(column))
}

fn refs(names: impl IntoIterator<Item = String>) -> J {
    parameter_refs("components/parameters", names)
}

fn described(description: &str) -> J {
    J::obj().set("description", description)
}

/// `{"content": {<media>: {"schema": schema}}}` for each media type.
fn content(media: &[&str], schema: J) -> J {
    J::Obj(
        media
            .iter()
            .map(|m| ((*m).to_owned(), J::obj().set("schema", schema.clone())))
            .collect(),
    )
}

/// A body is one row or an array of rows.
fn row_or_rows(t: &Table) -> J {
    let row = J::reference("components/schemas", &key(&t.name));
    J::obj().set(
        "oneOf",
        J::Arr(vec![row.clone(), J::obj().set("type", "array").set("items", row)]),
    )
}

fn root_path() -> J {
    let get = J::obj()
        .set("tags", J::strs(["Introspection"]))
        .set("summary", "OpenAPI description (this document)")
        .set(
            "responses",
            J::obj().set(
                "200",
                described("OK").set("content", content(&["application/openapi+json"], J::obj())),
            ),
        );
    J::obj().set("get", get)
}

fn table_path(t: &Table) -> J {
    let name = &t.name;
    let filters: Vec<String> = t.columns.iter().map(|c| filter_key(name, &c.name)).collect();
    let with = |extra: &[&str]| refs(filters.iter().cloned().chain(extra.iter().map(|s| s.to_string())));
    let op = || operation(name.clone(), t.description.as_deref());
    let rows = J::obj()
        .set("type", "array")
        .set("items", J::reference("components/schemas", &key(name)));
    let get = op().set("parameters", with(&READ_PARAMETERS)).set(
        "responses",
        J::obj()
            .set(
                "200",
                described("OK").set("content", content(&MEDIA[..1], rows.clone())),
            )
            .set(
                "206",
                described("Partial Content").set("content", content(&MEDIA[..1], rows)),
            ),
    );
    let item = J::obj().set("get", get);
    if !writable(t) {
        return item;
    }
    let body = J::reference("components/requestBodies", &key(name));
    let post = op()
        .set("parameters", refs(["select".to_owned(), "preferPost".to_owned()]))
        .set("requestBody", body.clone())
        .set("responses", J::obj().set("201", described("Created")));
    let patch = op()
        .set("parameters", with(&["preferReturn"]))
        .set("requestBody", body)
        .set("responses", J::obj().set("204", described("No Content")));
    let delete = op()
        .set("parameters", with(&["preferReturn"]))
        .set("responses", J::obj().set("204", described("No Content")));
    item.set("post", post).set("patch", patch).set("delete", delete)
}

fn routine_path(r: &Routine) -> J {
    let op = || {
        operation(format!("(rpc) {}", r.name), r.description.as_deref()).set(
            "responses",
            J::obj().set(
                "200",
                described("OK").set("content", content(&CALL_MEDIA, J::obj())),
            ),
        )
    };
    let body = J::obj()
        .set("required", r.params.iter().any(|p| p.required))
        .set("content", content(&["application/json"], arguments_schema(r)));
    let post = op().set("requestBody", body);
    if !callable_with_get(r) {
        return J::obj().set("post", post);
    }
    let params = r
        .params
        .iter()
        .map(|p| {
            let (ty, element) = query_arg_type(p);
            let schema = match element {
                Some(e) => J::obj().set("type", ty).set("items", typed(J::obj(), e, false)),
                None => J::obj().set("type", ty).set("format", p.data_type.as_str()),
            };
            J::obj()
                .set("name", p.name.as_str())
                .set("in", "query")
                .set("required", p.required)
                .set("schema", schema)
                .opt("explode", element.map(|_| true))
        })
        .collect();
    J::obj()
        .set("get", op().set("parameters", J::Arr(params)))
        .set("post", post)
}

fn param(name: &str, location: &str, description: Option<&str>, schema: J) -> J {
    J::obj()
        .set("name", name)
        .set("in", location)
        .opt("description", description)
        .set("required", false)
        .set("schema", schema)
}

fn string() -> J {
    J::obj().set("type", "string")
}

fn prefer(values: &[&str]) -> J {
    param(
        "Prefer",
        "header",
        Some("Preference"),
        string().set("enum", J::strs(values)),
    )
}

fn parameters(tables: &[&Table]) -> Vec<(String, J)> {
    let mut out = vec![
        (
            "preferReturn".to_owned(),
            prefer(&["return=representation", "return=minimal", "return=headers-only"]),
        ),
        (
            "preferCount".to_owned(),
            prefer(&["count=exact", "count=planned", "count=estimated"]),
        ),
        (
            "preferPost".to_owned(),
            prefer(&[
                "return=representation",
                "return=minimal",
                "return=headers-only",
                "resolution=ignore-duplicates",
                "resolution=merge-duplicates",
            ]),
        ),
        (
            "select".to_owned(),
            param("select", "query", Some("Filtering Columns"), string()),
        ),
        (
            "order".to_owned(),
            param("order", "query", Some("Ordering"), string()),
        ),
        (
            "range".to_owned(),
            param("Range", "header", Some("Limiting and Pagination"), string()),
        ),
        (
            "rangeUnit".to_owned(),
            param(
                "Range-Unit",
                "header",
                Some("Limiting and Pagination"),
                string().set("default", "items"),
            ),
        ),
        (
            "offset".to_owned(),
            param("offset", "query", Some("Limiting and Pagination"), string()),
        ),
        (
            "limit".to_owned(),
            param("limit", "query", Some("Limiting and Pagination"), string()),
        ),
    ];
    for t in tables {
        for c in &t.columns {
            out.push((
                filter_key(&t.name, &c.name),
                param(&c.name, "query", c.description.as_deref(), string()),
            ));
        }
    }
    out
}
