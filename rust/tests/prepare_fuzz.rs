//! Property test of the whole core pipeline, `prepare::prepare` (parse → plan → query), against the schema
//! fixture `rust/tests/fixtures/schema.json`: whatever a client sends, the core answers `Ok` or a 4xx
//! PostgREST error, and never panics. A 5xx from the core would blame the server for a bad request.
//!
//! Requests are built to get past the parser often enough to exercise the planner and the SQL builder:
//! paths and select lists use the fixture's real table, function and column names, query strings are
//! assembled from grammar fragments, and each part is sometimes replaced by arbitrary text.

use std::fs;
use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use restpg_core::api_request::RequestHead;
use restpg_core::prepare::shape::{prepare_shaped, Shape, Shapes};
use restpg_core::prepare::{prepare, Prepared};
use restpg_core::schema_cache::SchemaCache;
use restpg_core::settings::Settings;

struct Fixture {
    cache: SchemaCache,
    tables: Vec<String>,
    routines: Vec<String>,
    columns: Vec<String>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let document = fs::read(root.join("rust/tests/fixtures/schema.json")).expect("schema fixture");
        let cache = SchemaCache::from_document(&document).expect("fixture loads");
        let doc: serde_json::Value = serde_json::from_slice(&document).expect("fixture is JSON");
        let names = |list: &serde_json::Value| -> Vec<String> {
            list.as_array()
                .expect("a list")
                .iter()
                .filter_map(|item| item["name"].as_str().map(str::to_owned))
                .collect()
        };
        let mut columns: Vec<String> = doc["columns"]["name"]
            .as_array()
            .expect("the columns' names")
            .iter()
            .filter_map(|name| name.as_str().map(str::to_owned))
            .collect();
        columns.sort();
        columns.dedup();
        Fixture {
            cache,
            tables: names(&doc["tables"]),
            routines: names(&doc["routines"]),
            columns,
        }
    })
}

fn pick(names: &'static [String]) -> BoxedStrategy<String> {
    proptest::sample::select(names).boxed()
}

/// Any text, including the characters the grammar gives meaning to.
fn garbage() -> BoxedStrategy<String> {
    prop_oneof![
        "[a-z_().,:!*>\\-\"'\\\\ %&=]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(16).collect()),
    ]
    .boxed()
}

fn column() -> BoxedStrategy<String> {
    prop_oneof![12 => pick(&fixture().columns), 1 => garbage()].boxed()
}

/// One select item: a column with optional alias, cast and JSON path; an aggregate; an embed or spread.
fn select_item(depth: u32) -> BoxedStrategy<String> {
    let field = (
        proptest::option::of("[a-z]{1,3}"),
        column(),
        proptest::sample::select(vec!["", "->a", "->>b", "->0->>c", "::text", "::int"]),
        proptest::sample::select(vec!["", ".count()", ".sum()", ".max()"]),
    )
        .prop_map(|(alias, col, path, agg)| {
            format!("{}{col}{path}{agg}", alias.map(|a| a + ":").unwrap_or_default())
        });
    let leaf = prop_oneof![
        8 => field,
        2 => Just("*".to_owned()),
        1 => Just("count()".to_owned()),
        1 => garbage(),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    let embed = (
        proptest::sample::select(vec!["", "...", "x:"]),
        pick(&fixture().tables),
        proptest::sample::select(vec!["", "!inner", "!left", "!client_id", "!fk"]),
        proptest::collection::vec(select_item(depth - 1), 0..3),
    )
        .prop_map(|(prefix, table, hint, items)| format!("{prefix}{table}{hint}({})", items.join(",")));
    prop_oneof![3 => leaf, 1 => embed].boxed()
}

fn operator() -> BoxedStrategy<String> {
    proptest::sample::select(vec![
        "eq",
        "neq",
        "gt",
        "gte",
        "lt",
        "lte",
        "like",
        "ilike",
        "match",
        "imatch",
        "in",
        "is",
        "isdistinct",
        "fts",
        "plfts",
        "phfts",
        "wfts",
        "cs",
        "cd",
        "ov",
        "sl",
        "sr",
        "nxl",
        "nxr",
        "adj",
        "not.eq",
        "not.in",
        "eq(any)",
        "like(all)",
    ])
    .prop_map(str::to_owned)
    .boxed()
}

fn value() -> BoxedStrategy<String> {
    prop_oneof![
        Just("1".to_owned()),
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("(1,2,3)".to_owned()),
        Just("{1,2}".to_owned()),
        Just("\"a,b\"".to_owned()),
        Just("[1,5)".to_owned()),
        Just("a b".to_owned()),
        Just("2020-01-01".to_owned()),
        garbage(),
    ]
    .boxed()
}

fn condition() -> BoxedStrategy<String> {
    (column(), operator(), value())
        .prop_map(|(c, o, v)| format!("{c}.{o}.{v}"))
        .boxed()
}

/// One `key=value` of the query string.
fn query_fragment() -> BoxedStrategy<String> {
    let tables = pick(&fixture().tables);
    prop_oneof![
        6 => proptest::collection::vec(select_item(2), 1..4).prop_map(|items| format!("select={}", items.join(","))),
        6 => (column(), operator(), value()).prop_map(|(c, o, v)| format!("{c}={o}.{v}")),
        1 => (tables.clone(), column(), operator(), value()).prop_map(|(t, c, o, v)| format!("{t}.{c}={o}.{v}")),
        1 => (proptest::sample::select(vec!["or", "and", "not.or", "x.or"]), proptest::collection::vec(condition(), 0..3))
            .prop_map(|(op, cs)| format!("{op}=({})", cs.join(","))),
        2 => (column(), proptest::sample::select(vec!["", ".asc", ".desc", ".nullsfirst", ".desc.nullslast", ".x"]))
            .prop_map(|(c, d)| format!("order={c}{d}")),
        1 => (proptest::sample::select(vec!["limit", "offset", "x.limit", "x.offset"]), "-?[0-9]{0,4}|[a-z]{1,2}")
            .prop_map(|(k, v)| format!("{k}={v}")),
        1 => proptest::collection::vec(column(), 0..3).prop_map(|cs| format!("columns={}", cs.join(","))),
        1 => proptest::collection::vec(column(), 0..3).prop_map(|cs| format!("on_conflict={}", cs.join(","))),
        1 => (column(), value()).prop_map(|(c, v)| format!("{c}={v}")),
        1 => (garbage(), garbage()).prop_map(|(k, v)| format!("{k}={v}")),
        1 => garbage(),
    ]
    .boxed()
}

fn method() -> BoxedStrategy<String> {
    prop_oneof![
        6 => proptest::sample::select(vec!["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"]).prop_map(str::to_owned),
        1 => "[A-Za-z]{0,8}",
    ]
    .boxed()
}

fn path() -> BoxedStrategy<String> {
    prop_oneof![
        4 => pick(&fixture().tables).prop_map(|t| format!("/{t}")),
        3 => pick(&fixture().routines).prop_map(|r| format!("/rpc/{r}")),
        1 => Just("/".to_owned()),
        1 => (pick(&fixture().tables), garbage()).prop_map(|(t, g)| format!("/{t}/{g}")),
        1 => "(/[a-zA-Z0-9%_.~ -]{0,6}){0,3}",
        1 => garbage(),
    ]
    .boxed()
}

fn header(choices: Vec<&'static str>) -> BoxedStrategy<Option<String>> {
    proptest::option::of(prop_oneof![
        4 => proptest::sample::select(choices).prop_map(str::to_owned),
        1 => garbage(),
    ])
    .boxed()
}

fn json_scalar() -> BoxedStrategy<String> {
    prop_oneof![
        Just("1".to_owned()),
        Just("null".to_owned()),
        Just("\"x\"".to_owned()),
        Just("[1,2]".to_owned()),
        Just("{\"a\":{\"b\":[true]}}".to_owned()),
        Just("1e999".to_owned()),
    ]
    .boxed()
}

fn json_object() -> BoxedStrategy<String> {
    proptest::collection::vec((column(), json_scalar()), 0..4)
        .prop_map(|pairs| {
            let fields: Vec<String> = pairs
                .into_iter()
                .map(|(k, v)| format!("{}:{v}", serde_json::Value::String(k)))
                .collect();
            format!("{{{}}}", fields.join(","))
        })
        .boxed()
}

fn body() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        3 => json_object().prop_map(String::into_bytes),
        2 => proptest::collection::vec(json_object(), 0..3).prop_map(|os| format!("[{}]", os.join(",")).into_bytes()),
        1 => proptest::collection::vec((column(), value()), 0..3).prop_map(|kv| {
            kv.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&").into_bytes()
        }),
        1 => (column(), value()).prop_map(|(c, v)| format!("{c},id\n{v},1\n").into_bytes()),
        1 => Just(Vec::new()),
        1 => proptest::collection::vec(any::<u8>(), 0..48),
    ]
    .boxed()
}

#[derive(Debug)]
struct Request {
    method: String,
    path: String,
    query: String,
    accept: Option<String>,
    prefer: Option<String>,
    range: Option<String>,
    content_type: Option<String>,
    profile: Option<String>,
    body: Vec<u8>,
}

impl Request {
    fn head<'a>(&'a self, method: &'a str) -> RequestHead<'a> {
        RequestHead {
            method,
            path: &self.path,
            query: &self.query,
            accept: self.accept.as_deref(),
            prefer: self.prefer.as_deref(),
            range: self.range.as_deref(),
            content_type: self.content_type.as_deref(),
            accept_profile: self.profile.as_deref(),
            content_profile: self.profile.as_deref(),
        }
    }
}

fn request() -> impl Strategy<Value = Request> {
    let headers = (
        header(vec![
            "application/json",
            "*/*",
            "text/csv",
            "application/vnd.pgrst.object+json",
            "application/vnd.pgrst.object+json;nulls=stripped",
            "application/vnd.pgrst.array+json;nulls=stripped",
            "application/geo+json",
            "application/openapi+json",
            "application/vnd.pgrst.plan+json; for=\"application/json\"; options=analyze|verbose",
            "text/plain",
            "application/octet-stream",
        ]),
        header(vec![
            "return=representation",
            "return=minimal",
            "return=headers-only",
            "count=exact",
            "count=planned",
            "count=estimated",
            "resolution=merge-duplicates",
            "resolution=ignore-duplicates",
            "missing=default",
            "params=single-object",
            "tx=rollback",
            "handling=strict, max-affected=1",
            "return=representation, count=exact, resolution=merge-duplicates",
        ]),
        header(vec!["0-4", "1-", "5-2", "0-0", "-3", "items=0-9"]),
        header(vec![
            "application/json",
            "text/csv",
            "application/x-www-form-urlencoded",
            "text/plain",
            "application/octet-stream",
            "application/vnd.pgrst.object+json",
        ]),
        // The only exposed schema most of the time: any other profile is a 406 before planning.
        prop_oneof![
            6 => Just(None),
            3 => Just(Some("test".to_owned())),
            1 => header(vec!["public", "private"]),
        ],
    );
    (
        method(),
        path(),
        proptest::collection::vec(query_fragment(), 0..5),
        headers,
        body(),
    )
        .prop_map(
            |(method, path, fragments, (accept, prefer, range, content_type, profile), body)| Request {
                method,
                path,
                query: fragments.join("&"),
                accept,
                prefer,
                range,
                content_type,
                profile,
                body,
            },
        )
}

fn settings(max_rows: Option<u64>, aggregates: bool, plan: bool) -> Settings {
    Settings {
        db_schemas: vec!["test".into()],
        db_extra_search_path: vec!["public".into()],
        db_max_rows: max_rows,
        db_aggregates_enabled: aggregates,
        db_plan_enabled: plan,
        ..Settings::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn prepare_answers_ok_or_a_client_error(
        req in request(),
        max_rows in proptest::option::of(0u64..20),
        aggregates in any::<bool>(),
        plan in any::<bool>(),
    ) {
        let head = req.head(&req.method);
        let settings = settings(max_rows, aggregates, plan);
        if let Err(e) = prepare(&fixture().cache, &settings, &head, &req.body) {
            prop_assert!(e.status < 500, "{req:?} -> {e:?}");
            prop_assert!(e.code.starts_with("PGRST"), "{req:?} -> {e:?}");
        }
    }
}

/// A raw filter value as a client may send it (never `&` or `;`, which end the pair).
fn raw_operand() -> BoxedStrategy<String> {
    prop_oneof![
        "[a-zA-Z0-9%*(),.:\"{}+= \\\\-]{0,10}",
        any::<String>().prop_map(|s| s.chars().filter(|c| !matches!(c, '&' | ';')).take(8).collect()),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// The shape cache answers every request exactly as `prepare` does: the request that builds a
    /// template, and a request of the same shape with other values.
    #[test]
    fn a_cached_shape_answers_as_prepare_does(
        req in request(),
        method in proptest::sample::select(vec!["GET", "HEAD", "DELETE"]),
        values in proptest::collection::vec(raw_operand(), 1..4),
        max_rows in proptest::option::of(0u64..20),
        aggregates in any::<bool>(),
    ) {
        let settings = settings(max_rows, aggregates, true);
        let mut shapes = Shapes::new(8);
        let head = req.head(method);
        let cache = &fixture().cache;
        let answer = |r: restpg_core::error::ApiResult<Prepared>| format!("{r:?}");
        prop_assert_eq!(
            answer(prepare_shaped(cache, &settings, &mut shapes, &head, b"")),
            answer(prepare(cache, &settings, &head, b""))
        );
        let Some(shape) = Shape::of(&head) else { return Ok(()) };
        let mut other = String::new();
        let mut copied = 0;
        for (i, range) in shape.operands().iter().enumerate() {
            other.push_str(&req.query[copied..range.start]);
            other.push_str(&values[i % values.len()]);
            copied = range.end;
        }
        other.push_str(&req.query[copied..]);
        let head = RequestHead { query: &other, ..head };
        prop_assert_eq!(
            answer(prepare_shaped(cache, &settings, &mut shapes, &head, b"")),
            answer(prepare(cache, &settings, &head, b""))
        );
    }
}

/// The shapes the cache is for are cached: filters on columns, embeds' filters, counts, `Content-Location`.
#[test]
fn plain_filters_make_a_template() {
    let settings = settings(None, false, false);
    let cache = &fixture().cache;
    let cases = [
        ("GET", "/clients", "id=eq.1", None),
        (
            "GET",
            "/projects",
            "select=id,clients(name)&clients.name=neq.x&id=gte.2&order=id",
            None,
        ),
        (
            "HEAD",
            "/projects",
            "id=not.lt.5&name=like.*a*",
            Some("count=exact"),
        ),
        ("GET", "/projects", "id=eq.3", Some("count=planned")),
        ("DELETE", "/projects", "id=eq.3", Some("return=representation")),
        ("GET", "/rpc/get_projects", "client_id=5&id=eq.3", None),
    ];
    for (method, path, query, prefer) in cases {
        let mut shapes = Shapes::new(8);
        let head = RequestHead {
            method,
            path,
            query,
            prefer,
            ..RequestHead::default()
        };
        let first = prepare_shaped(cache, &settings, &mut shapes, &head, b"").expect("prepares");
        assert_eq!(first, prepare(cache, &settings, &head, b"").unwrap());
        let shape = Shape::of(&head).unwrap();
        let template = shapes.get_or_build(&shape.key, || panic!("built on first sight"));
        assert!(template.is_some(), "{method} {path}?{query} has no template");
        let mut other = query.to_owned();
        for range in shape.operands().iter().rev() {
            other.replace_range(range.clone(), "x%20y%2C%27+%E2%82%AC");
        }
        let head = RequestHead {
            query: &other,
            ..head
        };
        let second = prepare_shaped(cache, &settings, &mut shapes, &head, b"").unwrap();
        assert_eq!(second, prepare(cache, &settings, &head, b"").unwrap());
        assert_ne!(first.params, second.params, "{other}");
        assert_eq!(shapes.len(), 1);
    }
    // A shape whose template cannot be prepared (`eq` on an embed: PGRST120) is prepared request by
    // request, and answers its own error.
    let mut shapes = Shapes::new(8);
    let head = RequestHead {
        method: "GET",
        path: "/projects",
        query: "select=*,clients(*)&clients=eq.1",
        ..RequestHead::default()
    };
    let answer = prepare_shaped(cache, &settings, &mut shapes, &head, b"");
    assert_eq!(answer.unwrap_err().code, "PGRST120");
    let shape = Shape::of(&head).unwrap();
    assert!(shapes.get_or_build(&shape.key, || panic!("built")).is_none());
}
