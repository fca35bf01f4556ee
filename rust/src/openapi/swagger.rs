//! PostgREST's Swagger 2.0 document: one path per table, view and function of the schema, one
//! definition per table, shared parameters referenced by name.

use super::json::J;
use super::model::{
    arguments_schema, callable_with_get, operation, parameter_refs, query_arg_type, row_schema,
    title_and_description, typed, writable, CALL_MEDIA, DOCS_URL, MEDIA, READ_PARAMETERS,
    SECURITY_DESCRIPTION,
};
use super::{Described, Options};
use crate::schema_cache::{Routine, SchemaCache, Table};

pub fn document(cache: &SchemaCache, d: &Described<'_>, opts: &Options<'_>) -> J {
    let (title, description) = title_and_description(d.description);
    let info = J::obj()
        .set("description", description)
        .set("title", title)
        .set("version", env!("CARGO_PKG_VERSION"));
    let mut paths = vec![("/".to_owned(), root_path())];
    paths.extend(d.tables.iter().map(|t| (format!("/{}", t.name), table_path(t))));
    paths.extend(
        d.routines
            .iter()
            .map(|r| (format!("/rpc/{}", r.name), routine_path(r))),
    );
    let definitions = d
        .tables
        .iter()
        .map(|t| (t.name.clone(), row_schema(cache, t, super::Version::Swagger2)))
        .collect();
    let doc = J::obj()
        .set("swagger", "2.0")
        .set("info", info)
        .set(
            "externalDocs",
            J::obj()
                .set("description", "PostgREST Documentation")
                .set("url", DOCS_URL),
        )
        .set("host", opts.server.authority())
        .set("basePath", opts.server.base_path.as_str())
        .set("schemes", J::strs([opts.server.scheme.as_str()]))
        .set("consumes", J::strs(MEDIA))
        .set("produces", J::strs(MEDIA))
        .set("paths", J::Obj(dedup(paths)))
        .set("definitions", J::Obj(definitions))
        .set("parameters", J::Obj(parameters(&d.tables)));
    if opts.security_active {
        let scheme = J::obj()
            .set("type", "apiKey")
            .set("in", "header")
            .set("name", "Authorization")
            .set("description", SECURITY_DESCRIPTION);
        doc.set("securityDefinitions", J::obj().set("JWT", scheme))
            .set("security", J::Arr(vec![J::obj().set("JWT", J::Arr(vec![]))]))
    } else {
        doc
    }
}

/// Overloaded functions share a path: the last one wins, as in PostgREST.
fn dedup(paths: Vec<(String, J)>) -> Vec<(String, J)> {
    let mut out: Vec<(String, J)> = Vec::with_capacity(paths.len());
    for (path, item) in paths {
        match out.iter_mut().find(|(p, _)| *p == path) {
            Some(existing) => existing.1 = item,
            None => out.push((path, item)),
        }
    }
    out
}

fn refs(names: impl IntoIterator<Item = String>) -> J {
    parameter_refs("parameters", names)
}

fn ok(description: &str) -> J {
    J::obj().set("description", description)
}

fn root_path() -> J {
    let get = J::obj()
        .set("tags", J::strs(["Introspection"]))
        .set("summary", "OpenAPI description (this document)")
        .set(
            "produces",
            J::strs(["application/openapi+json", "application/json"]),
        )
        .set("responses", J::obj().set("200", ok("OK")));
    J::obj().set("get", get)
}

fn table_path(t: &Table) -> J {
    let name = &t.name;
    let filters: Vec<String> = t
        .columns
        .iter()
        .map(|c| format!("rowFilter.{name}.{}", c.name))
        .collect();
    let with = |extra: &[&str]| refs(filters.iter().cloned().chain(extra.iter().map(|s| s.to_string())));
    let op = || operation(name.clone(), t.description.as_deref());
    let rows = J::obj().set("description", "OK").set(
        "schema",
        J::obj()
            .set("type", "array")
            .set("items", J::reference("definitions", name)),
    );
    let get = op().set("parameters", with(&READ_PARAMETERS)).set(
        "responses",
        J::obj().set("200", rows).set("206", ok("Partial Content")),
    );
    let item = J::obj().set("get", get);
    if !writable(t) {
        return item;
    }
    let body = format!("body.{name}");
    let post = op()
        .set(
            "parameters",
            refs([body.clone(), "select".into(), "preferPost".into()]),
        )
        .set("responses", J::obj().set("201", ok("Created")));
    let patch = op()
        .set("parameters", with(&[body.as_str(), "preferReturn"]))
        .set("responses", J::obj().set("204", ok("No Content")));
    let delete = op()
        .set("parameters", with(&["preferReturn"]))
        .set("responses", J::obj().set("204", ok("No Content")));
    item.set("post", post).set("patch", patch).set("delete", delete)
}

fn routine_path(r: &Routine) -> J {
    let op = || {
        operation(format!("(rpc) {}", r.name), r.description.as_deref())
            .set("produces", J::strs(CALL_MEDIA))
            .set("responses", J::obj().set("200", ok("OK")))
    };
    let args = J::obj()
        .set("name", "args")
        .set("required", true)
        .set("in", "body")
        .set("schema", arguments_schema(r));
    let post = op().set(
        "parameters",
        J::Arr(vec![args, J::reference("parameters", "preferParams")]),
    );
    if !callable_with_get(r) {
        return J::obj().set("post", post);
    }
    let params = r
        .params
        .iter()
        .map(|p| {
            let (ty, element) = query_arg_type(p);
            let param = J::obj()
                .set("name", p.name.as_str())
                .set("required", p.required)
                .set("in", "query")
                .set("type", ty);
            match element {
                Some(e) => param
                    .set("items", typed(J::obj(), e, false).set("format", e))
                    .set("collectionFormat", "multi"),
                None => param.set("format", p.data_type.as_str()),
            }
        })
        .collect();
    J::obj()
        .set("get", op().set("parameters", J::Arr(params)))
        .set("post", post)
}

fn header(name: &str, description: &str) -> J {
    J::obj()
        .set("name", name)
        .set("description", description)
        .set("required", false)
        .set("in", "header")
        .set("type", "string")
}

fn query(name: &str, description: Option<&str>) -> J {
    J::obj()
        .set("name", name)
        .opt("description", description)
        .set("required", false)
        .set("in", "query")
        .set("type", "string")
}

fn prefer(values: &[&str]) -> J {
    let param = header("Prefer", "Preference");
    // An empty `enum` is invalid in Swagger 2.0 (JSON Schema draft 4 wants at least one value).
    if values.is_empty() {
        param
    } else {
        param.set("enum", J::strs(values))
    }
}

fn parameters(tables: &[&Table]) -> Vec<(String, J)> {
    let mut out = vec![
        ("preferParams".to_owned(), prefer(&[])),
        (
            "preferReturn".to_owned(),
            prefer(&["return=representation", "return=minimal", "return=none"]),
        ),
        ("preferCount".to_owned(), prefer(&["count=none"])),
        (
            "preferPost".to_owned(),
            prefer(&[
                "return=representation",
                "return=minimal",
                "return=none",
                "resolution=ignore-duplicates",
                "resolution=merge-duplicates",
            ]),
        ),
        ("select".to_owned(), query("select", Some("Filtering Columns"))),
        (
            "on_conflict".to_owned(),
            query("on_conflict", Some("On Conflict")),
        ),
        ("order".to_owned(), query("order", Some("Ordering"))),
        ("range".to_owned(), header("Range", "Limiting and Pagination")),
        (
            "rangeUnit".to_owned(),
            header("Range-Unit", "Limiting and Pagination").set("default", "items"),
        ),
        (
            "offset".to_owned(),
            query("offset", Some("Limiting and Pagination")),
        ),
        (
            "limit".to_owned(),
            query("limit", Some("Limiting and Pagination")),
        ),
    ];
    for t in tables {
        let name = &t.name;
        out.push((
            format!("body.{name}"),
            J::obj()
                .set("name", name.as_str())
                .set("description", name.as_str())
                .set("required", false)
                .set("in", "body")
                .set("schema", J::reference("definitions", name)),
        ));
        for c in &t.columns {
            out.push((
                format!("rowFilter.{name}.{}", c.name),
                query(&c.name, c.description.as_deref()),
            ));
        }
    }
    out
}
