//! Golden tests: one request per `rust/tests/golden/*.case` file, run through the whole core
//! (`prepare`: parse → plan → query) against the schema fixture `rust/tests/fixtures/schema.json`.
//!
//! A case file is plain text:
//!
//! ```text
//! # comments start with '#'
//! @db-max-rows: 10                        settings overrides, one per line (see `apply_setting`)
//! GET /projects?select=id,name&id=eq.1    the request line: method, path and raw query string
//! Accept: text/csv                        request headers (Accept, Prefer, Range, Content-Type,
//! Prefer: count=exact                     Accept-Profile, Content-Profile)
//! ---                                     optional: the body follows until '==='
//! {"a": 1}
//! ===
//! sql: WITH pgrst_source AS ( … )         the expected result, rendered by `render`
//! params: ["1"]
//! …
//! ```
//!
//! Defaults: `db-schemas = test`, `db-extra-search-path = public`, everything else as `Settings::default()`.
//! `GOLDEN_UPDATE=1 cargo test --test golden` rewrites everything after `===` with the actual result.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use restpg_core::api_request::RequestHead;
use restpg_core::prepare::{prepare, Prepared};
use restpg_core::schema_cache::SchemaCache;
use restpg_core::settings::{Settings, TxEnd};
use restpg_core::ApiError;

const SEPARATOR: &str = "===";

struct Case {
    settings: Settings,
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn parse_case(text: &str) -> Result<Case, String> {
    let mut settings = Settings {
        db_schemas: vec!["test".into()],
        db_extra_search_path: vec!["public".into()],
        ..Settings::default()
    };
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let mut request_line = None;
    for line in lines.by_ref() {
        if let Some(setting) = line.strip_prefix('@') {
            let (key, value) = setting
                .split_once(':')
                .ok_or_else(|| format!("bad setting line: {line}"))?;
            apply_setting(&mut settings, key.trim(), value.trim())?;
        } else if !line.trim().is_empty() {
            request_line = Some(line);
            break;
        }
    }
    let request_line = request_line.ok_or("no request line")?;
    let (method, target) = request_line
        .split_once(' ')
        .ok_or("request line needs METHOD /path")?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    let mut body = Vec::new();
    let mut in_body = false;
    for line in lines {
        if line == SEPARATOR {
            break;
        }
        if in_body {
            body.extend_from_slice(line.as_bytes());
            body.push(b'\n');
        } else if line == "---" {
            in_body = true;
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        } else if !line.trim().is_empty() {
            return Err(format!("bad header line: {line}"));
        }
    }
    if body.last() == Some(&b'\n') {
        body.pop();
    }
    Ok(Case {
        settings,
        method: method.into(),
        path: path.into(),
        query: query.into(),
        headers,
        body,
    })
}

fn apply_setting(s: &mut Settings, key: &str, value: &str) -> Result<(), String> {
    let list = |v: &str| {
        v.split(',')
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty())
            .collect()
    };
    let flag = |v: &str| v.parse::<bool>().map_err(|e| format!("{key}: {e}"));
    match key {
        "db-schemas" => s.db_schemas = list(value),
        "db-extra-search-path" => s.db_extra_search_path = list(value),
        "db-max-rows" => s.db_max_rows = Some(value.parse().map_err(|e| format!("{key}: {e}"))?),
        "db-aggregates-enabled" => s.db_aggregates_enabled = flag(value)?,
        "db-plan-enabled" => s.db_plan_enabled = flag(value)?,
        "db-tx-end" => s.db_tx_end = TxEnd::parse(value).ok_or(format!("{key}: {value}"))?,
        "db-pre-request" => s.db_pre_request = Some(value.into()),
        "url-use-legacy-target-names" => s.url_use_legacy_target_names = flag(value)?,
        _ => return Err(format!("unknown setting {key}")),
    }
    Ok(())
}

fn run(cache: &SchemaCache, case: &Case) -> Result<Prepared, ApiError> {
    let header = |name: &str| {
        case.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let head = RequestHead {
        method: &case.method,
        path: &case.path,
        query: &case.query,
        accept: header("accept"),
        prefer: header("prefer"),
        range: header("range"),
        content_type: header("content-type"),
        accept_profile: header("accept-profile"),
        content_profile: header("content-profile"),
    };
    prepare(cache, &case.settings, &head, &case.body)
}

fn render(result: &Result<Prepared, ApiError>) -> String {
    let mut out = String::new();
    match result {
        Ok(p) => {
            let params: Vec<serde_json::Value> = p
                .params
                .iter()
                .map(|v| {
                    v.as_ref()
                        .map_or(serde_json::Value::Null, |b| String::from_utf8_lossy(b).into())
                })
                .collect();
            writeln!(out, "kind: {}", p.kind).unwrap();
            if !p.sql.is_empty() {
                writeln!(out, "sql: {}", p.sql).unwrap();
                writeln!(out, "params: {}", serde_json::Value::from(params)).unwrap();
            }
            if let Some(c) = &p.count_sql {
                writeln!(out, "count_sql: {c}").unwrap();
            }
            writeln!(
                out,
                "read_only: {}  schema: {}  search_path: {}",
                p.read_only, p.schema, p.search_path
            )
            .unwrap();
            writeln!(
                out,
                "status: {}  content_type: {}",
                p.status,
                p.content_type.as_deref().unwrap_or("-")
            )
            .unwrap();
            for (name, value) in &p.headers {
                writeln!(out, "header: {name}: {value}").unwrap();
            }
            writeln!(
                out,
                "offset: {}  has_limit: {}  count: {}  singular: {}  head: {}  rollback: {}",
                p.offset,
                p.has_limit,
                p.count.unwrap_or("-"),
                p.singular,
                p.head,
                p.rollback
            )
            .unwrap();
            // Only calls of functions with `SET` clauses have any: other cases stay as they were.
            for (name, value) in &p.function_settings {
                writeln!(out, "function_setting: {name} = {value}").unwrap();
            }
            // Plan requests and `Prefer: timezone` only.
            if p.explain {
                writeln!(out, "explain: true").unwrap();
            }
            if let Some(tz) = &p.timezone {
                writeln!(out, "timezone: {tz}").unwrap();
            }
        }
        Err(e) => {
            writeln!(out, "error: {} {}", e.status, e.code).unwrap();
            writeln!(out, "body: {}", e.body()).unwrap();
        }
    }
    out
}

fn case_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rust/tests/golden");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("rust/tests/golden exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "case"))
        .collect();
    files.sort();
    files
}

#[test]
fn golden_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let document = fs::read(root.join("rust/tests/fixtures/schema.json")).expect("schema fixture");
    let cache = SchemaCache::from_document(&document).expect("fixture loads");
    let update = std::env::var_os("GOLDEN_UPDATE").is_some_and(|v| v == "1");
    let files = case_files();
    assert!(!files.is_empty(), "no golden cases found");
    let mut failures = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).expect("readable case");
        let (input, expected) = match text.split_once(&format!("\n{SEPARATOR}\n")) {
            Some((i, e)) => (i.to_owned(), e.to_owned()),
            None => (text.trim_end().to_owned(), String::new()),
        };
        let case = match parse_case(&format!("{input}\n")) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{}: malformed case: {e}", file.display()));
                continue;
            }
        };
        let actual = render(&run(&cache, &case));
        if update {
            fs::write(file, format!("{input}\n{SEPARATOR}\n{actual}")).expect("writable case");
        } else if actual != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- actual\n{actual}",
                file.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden cases differ:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
