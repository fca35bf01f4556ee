//! Plan a call of `/rpc/<function>` (PostgREST's `Plan.hs` `callReadPlan` and `Plan/CallPlan.hs`):
//! find the overload the arguments name, collect the arguments, and build the read plan that shapes
//! the function's result (select, filters, order, window, embeds) exactly as a table read would.

use std::collections::BTreeSet;

use crate::api_request::{
    parse_filter, ApiRequest, EmbedPath, Filter, MediaType, Method, Payload, PreferCount, PreferHandling,
};
use crate::error::{ApiError, ApiResult};
use crate::plan::negotiate::negotiate_read;
use crate::plan::read_plan::read_plan_tree_for;
use crate::plan::types::{Media, ReadPlanTree};
use crate::schema_cache::{
    best_match, QualifiedIdentifier, ReturnType, Routine, RoutineParam, SchemaCache, Table, Volatility,
};
use crate::settings::Settings;

/// A call, ready for `query::call`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallAction {
    pub call: CallPlan,
    /// Shapes the rows the function returned (its root reads from the call, not from a table).
    pub tree: ReadPlanTree,
    pub media: Media,
    pub count: Option<PreferCount>,
    pub head: bool,
    /// GET/HEAD, and POST to a STABLE or IMMUTABLE function, run in a READ ONLY transaction.
    pub read_only: bool,
    /// The table whose rows the function returns, when it is one of the schema cache: the result
    /// rows are cast to it where a computed relationship takes the whole row.
    pub row_type: Option<QualifiedIdentifier>,
    /// The function's `SET name = value` clauses. The execute stage applies those that
    /// `db-hoisted-tx-settings` lists as transaction-local settings before the statement runs (a
    /// `statement_timeout` set inside the function comes too late to limit the call itself).
    pub function_settings: Vec<(String, String)>,
    /// `Prefer: max-affected=N` with `handling=strict`: at most N rows returned, else the call is
    /// undone (only for set-returning functions, see [`call_plan`]).
    pub max_affected: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallPlan {
    pub function: QualifiedIdentifier,
    pub args: CallArgs,
    pub result: ResultKind,
}

/// How the function's result becomes the response body (PostgREST's `funcReturns*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultKind {
    /// One value: `3`, `"Hello"`, `null`, an array, or an anonymous record as an object.
    Scalar,
    /// `SETOF <scalar>`: an array of values.
    SetOfScalar,
    /// A single row of a table, composite type or OUT parameters: an object.
    SingleComposite,
    /// `SETOF <table>`, `RETURNS TABLE (...)`: an array of objects.
    SetOfComposite,
    /// `RETURNS void`: 204 without a body.
    Void,
}

impl ResultKind {
    /// Whether the call's rows are `pgrst_scalar` values rather than rows with columns.
    pub fn is_scalar(self) -> bool {
        matches!(
            self,
            ResultKind::Scalar | ResultKind::SetOfScalar | ResultKind::Void
        )
    }
}

/// One argument from the query string or a form body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgValue {
    Fixed(String),
    /// The VARIADIC parameter: every repetition of its key, in order.
    Variadic(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallArgs {
    /// No arguments: `fn()`.
    None,
    /// GET/HEAD query string or form body: one text value per parameter, cast to its type.
    Direct(Vec<(RoutineParam, ArgValue)>),
    /// POST JSON: the object (or an array's first object) read by `json_to_record`, one column per
    /// parameter the payload names; PostgreSQL converts JSON arrays and objects to the parameter types.
    Json {
        raw: String,
        is_array: bool,
        params: Vec<RoutineParam>,
    },
    /// The whole body for a single unnamed `json`/`jsonb`/`text`/`xml`/`bytea` parameter.
    Body { param: RoutineParam, value: Vec<u8> },
}

/// Plan `/rpc/<name>` for GET, HEAD or POST.
pub fn call_plan(
    cache: &SchemaCache,
    settings: &Settings,
    req: &ApiRequest,
    name: &str,
) -> ApiResult<CallAction> {
    let qi = QualifiedIdentifier::new(&req.schema, name);
    let is_post = req.method == Method::Post;
    // GET: keys with a dot or values with an operator are filters, the rest are arguments.
    let (query_args, filters) = split_query_params(&req.query.params)?;
    let keys: BTreeSet<String> = if is_post {
        payload_keys(req)
    } else {
        query_args.iter().map(|(k, _)| k.clone()).collect()
    };
    let routine = find_routine(cache, &qi, &keys, &req.content_type, is_post)?;

    let args = if is_post {
        post_args(req, routine, &keys)?
    } else {
        direct_args(routine, &query_args)
    };
    let result = result_kind(routine);
    let max_affected = max_affected(req, result)?;

    let mut shaped = req.clone();
    shaped.query.filters.extend(filters);
    let (table, row_type) = match result_table(cache, routine) {
        Some(table) => {
            let qi = table.qi();
            (table, Some(qi))
        }
        None => (unknown_row_type(routine), None),
    };
    let tree = read_plan_tree_for(cache, settings, &shaped, &table)?;
    let media = negotiate_read(&req.accept, settings)?;
    Ok(CallAction {
        call: CallPlan {
            function: QualifiedIdentifier::new(&routine.schema, &routine.name),
            args,
            result,
        },
        tree,
        media,
        count: req.preferences.count,
        head: req.method == Method::Head,
        read_only: !is_post || routine.volatility != Volatility::Volatile,
        row_type,
        function_settings: routine.settings.clone(),
        max_affected,
    })
}

/// The strict `max-affected` limit of a call. It counts the rows the function returns, so a function
/// that returns one value (or nothing) cannot honour it: 400 PGRST128 before anything runs.
fn max_affected(req: &ApiRequest, result: ResultKind) -> ApiResult<Option<u64>> {
    let prefs = &req.preferences;
    let Some(max) = prefs.max_affected else {
        return Ok(None);
    };
    if prefs.handling != Some(PreferHandling::Strict) {
        return Ok(None);
    }
    if !matches!(result, ResultKind::SetOfScalar | ResultKind::SetOfComposite) {
        return Err(ApiError::new(
            400,
            "PGRST128",
            "Function must return SETOF or TABLE when max-affected preference is used with handling=strict",
        ));
    }
    Ok(Some(max))
}

/// `OPTIONS /rpc/fn`: GET and HEAD only for functions that do not modify the database.
pub fn allow_for_routine(cache: &SchemaCache, req: &ApiRequest, name: &str) -> ApiResult<String> {
    let qi = QualifiedIdentifier::new(&req.schema, name);
    let overloads = cache.routines(&qi);
    if overloads.is_empty() {
        return Err(no_routine(
            cache,
            &qi,
            &BTreeSet::new(),
            &MediaType::Json,
            false,
            overloads,
        ));
    }
    Ok(
        if overloads.iter().all(|r| r.volatility == Volatility::Volatile) {
            "OPTIONS,POST".into()
        } else {
            "OPTIONS,GET,HEAD,POST".into()
        },
    )
}

/// PostgREST's split of `GET /rpc/fn?…`: a pair is a filter when its key has an embed path
/// (`rel.col`) or its value starts with an operator (`eq.`, `not.`, `in.`, `fts(…)`…); every other
/// pair is an argument.
type Args = Vec<(String, String)>;

fn split_query_params(params: &[(String, String)]) -> ApiResult<(Args, Vec<(EmbedPath, Filter)>)> {
    let mut args = Vec::new();
    let mut filters = Vec::new();
    for (k, v) in params {
        if k.contains('.') || has_operator(v) {
            filters.push(parse_filter(k, v)?);
        } else {
            args.push((k.clone(), v.clone()));
        }
    }
    Ok((args, filters))
}

const OPERATORS: [&str; 22] = [
    "eq", "gte", "gt", "lte", "lt", "neq", "like", "ilike", "cs", "cd", "ov", "sl", "sr", "nxr", "nxl",
    "adj", "match", "imatch", "fts", "plfts", "phfts", "wfts",
];
const FTS_OPERATORS: [&str; 4] = ["fts", "plfts", "phfts", "wfts"];

/// PostgREST's test for `GET /rpc/fn?key=value`: a value that starts like an operator makes a filter.
pub fn has_operator(value: &str) -> bool {
    let mut parts = value.split('.');
    let first = parts.next().unwrap_or_default();
    let dotted = match first {
        "not" => parts.next().is_some(),
        "is" | "in" | "isdistinct" => true,
        // A bare operator (`gt`) is still a filter, one with a missing value.
        op => OPERATORS.contains(&op),
    };
    let fts_with_language = value
        .split_once('(')
        .is_some_and(|(op, _)| FTS_OPERATORS.contains(&op));
    dotted || fts_with_language
}

/// The argument names of a POST: the payload's keys (or `?columns=`); none for a raw body.
fn payload_keys(req: &ApiRequest) -> BTreeSet<String> {
    match &req.payload {
        Some(Payload::Json { keys, .. } | Payload::Converted { keys, .. }) => keys.iter().cloned().collect(),
        Some(Payload::Raw(_)) | None => BTreeSet::new(),
    }
}

/// PostgREST's `findProc`: the overloads whose parameters the argument names fit (every required
/// parameter named, the rest optional ones); failing that, a POST may go to the overload with a single
/// unnamed parameter matching the body's Content-Type.
pub fn find_routine<'c>(
    cache: &'c SchemaCache,
    qi: &QualifiedIdentifier,
    keys: &BTreeSet<String>,
    content_type: &MediaType,
    is_post: bool,
) -> ApiResult<&'c Routine> {
    let overloads = cache.routines(qi);
    let raw_body = is_post
        && matches!(
            content_type,
            MediaType::TextPlain | MediaType::TextXml | MediaType::OctetStream
        );
    let matching: Vec<&Routine> = overloads
        .iter()
        .filter(|r| matches_params(r, keys, raw_body))
        .collect();
    let fallback: Vec<&Routine> = overloads
        .iter()
        .filter(|r| is_post && single_unnamed_param(r, content_type))
        .collect();
    match (matching.as_slice(), fallback.as_slice()) {
        ([], []) => Err(no_routine(cache, qi, keys, content_type, is_post, overloads)),
        ([], [only]) | ([only], _) => Ok(only),
        ([], many) | (many, _) => Err(ambiguous(many)),
    }
}

fn matches_params(routine: &Routine, keys: &BTreeSet<String>, raw_body: bool) -> bool {
    if routine.params.is_empty() {
        return keys.is_empty() && !raw_body;
    }
    if routine.params.iter().any(|p| p.name.is_empty()) {
        return false;
    }
    let required: BTreeSet<&str> = routine
        .params
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name.as_str())
        .collect();
    let optional: BTreeSet<&str> = routine
        .params
        .iter()
        .filter(|p| !p.required)
        .map(|p| p.name.as_str())
        .collect();
    let given: BTreeSet<&str> = keys.iter().map(String::as_str).collect();
    let beyond_optional: BTreeSet<&str> = given.difference(&optional).copied().collect();
    beyond_optional == required
}

fn single_unnamed_param(routine: &Routine, content_type: &MediaType) -> bool {
    let [param] = routine.params.as_slice() else {
        return false;
    };
    param.name.is_empty()
        && matches!(
            (content_type, param.data_type.as_str()),
            (MediaType::Json, "json" | "jsonb")
                | (MediaType::TextPlain, "text")
                | (MediaType::TextXml, "xml")
                | (MediaType::OctetStream, "bytea")
        )
}

/// 404 PGRST202 with PostgREST's exact message, details and "Perhaps you meant" hint.
fn no_routine(
    cache: &SchemaCache,
    qi: &QualifiedIdentifier,
    keys: &BTreeSet<String>,
    content_type: &MediaType,
    is_post: bool,
    overloads: &[Routine],
) -> ApiError {
    let func = format!("{}.{}", qi.schema, qi.name);
    let names: Vec<&str> = keys.iter().map(String::as_str).collect();
    let list = names.join(", ");
    let without = names.is_empty();
    let only_single = is_post
        && matches!(
            content_type,
            MediaType::TextPlain | MediaType::TextXml | MediaType::OctetStream
        );
    let in_message = if only_single {
        String::new()
    } else if without {
        " without parameters".to_owned()
    } else {
        format!("({list})")
    };
    let searched = if without {
        " without parameters".to_owned()
    } else {
        format!(" with parameter{} {list}", if names.len() > 1 { "s" } else { "" })
    };
    let searched = match (is_post, content_type) {
        (true, MediaType::TextPlain) => " with a single unnamed text parameter".to_owned(),
        (true, MediaType::TextXml) => " with a single unnamed xml parameter".to_owned(),
        (true, MediaType::OctetStream) => " with a single unnamed bytea parameter".to_owned(),
        (true, MediaType::Json) => format!("{searched} or with a single unnamed json/jsonb parameter"),
        _ => searched,
    };
    let hint = if only_single {
        None
    } else if overloads.is_empty() {
        cache
            .suggest_routine(&qi.schema, &qi.name)
            .map(|r| r.name.clone())
    } else {
        let signatures: Vec<String> = overloads.iter().map(|r| sorted_names(&r.params)).collect();
        let wanted = format!("({list})");
        best_match(&wanted, signatures.iter().map(|s| (s.as_str(), s))).map(|s| format!("{}{s}", qi.name))
    };
    ApiError::new(
        404,
        "PGRST202",
        format!("Could not find the function {func}{in_message} in the schema cache"),
    )
    .details(format!(
        "Searched for the function {func}{searched}, but no matches were found in the schema cache."
    ))
    .hint(hint.map(|h| format!("Perhaps you meant to call the function {}.{h}", qi.schema)))
}

/// `(a, b, c)`: parameter names sorted, as PostgREST compares signatures.
fn sorted_names(params: &[RoutineParam]) -> String {
    let mut names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    format!("({})", names.join(", "))
}

/// 300 PGRST203.
fn ambiguous(routines: &[&Routine]) -> ApiError {
    let candidates: Vec<String> = routines
        .iter()
        .map(|r| {
            let params: Vec<String> = r
                .params
                .iter()
                .map(|p| format!("{} => {}", p.name, p.data_type))
                .collect();
            format!("{}.{}({})", r.schema, r.name, params.join(", "))
        })
        .collect();
    ApiError::new(
        300,
        "PGRST203",
        format!(
            "Could not choose the best candidate function between: {}",
            candidates.join(", ")
        ),
    )
    .hint("Try renaming the parameters or the function itself in the database so function overloading can be resolved")
}

/// Query-string arguments: the last value of a repeated key wins, except for the VARIADIC parameter,
/// which collects them all.
fn direct_args(routine: &Routine, pairs: &[(String, String)]) -> CallArgs {
    let mut args: Vec<(RoutineParam, ArgValue)> = Vec::new();
    for (key, value) in pairs {
        let Some(param) = routine.params.iter().find(|p| &p.name == key) else {
            continue;
        };
        match args.iter_mut().find(|(p, _)| p.name == *key) {
            Some((_, ArgValue::Variadic(values))) => values.push(value.clone()),
            Some((_, slot)) => *slot = ArgValue::Fixed(value.clone()),
            None if param.variadic => args.push((param.clone(), ArgValue::Variadic(vec![value.clone()]))),
            None => args.push((param.clone(), ArgValue::Fixed(value.clone()))),
        }
    }
    if args.is_empty() {
        CallArgs::None
    } else {
        CallArgs::Direct(args)
    }
}

fn post_args(req: &ApiRequest, routine: &Routine, keys: &BTreeSet<String>) -> ApiResult<CallArgs> {
    if let [param] = routine.params.as_slice() {
        if param.name.is_empty() {
            let value = match &req.payload {
                Some(Payload::Raw(bytes)) => bytes.clone(),
                Some(Payload::Json { raw, .. }) => raw.clone().into_bytes(),
                Some(Payload::Converted { json, .. }) => json.clone().into_bytes(),
                None => b"{}".to_vec(),
            };
            return Ok(CallArgs::Body {
                param: param.clone(),
                value,
            });
        }
    }
    let params: Vec<RoutineParam> = routine
        .params
        .iter()
        .filter(|p| keys.contains(&p.name))
        .cloned()
        .collect();
    if params.is_empty() {
        return Ok(CallArgs::None);
    }
    match &req.payload {
        Some(Payload::Json { raw, is_array, .. }) => Ok(CallArgs::Json {
            raw: raw.clone(),
            is_array: *is_array,
            params,
        }),
        Some(Payload::Converted { json, .. }) => {
            // A form body (`a=1&b=2`), already an object of strings: the same text arguments as a GET.
            let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
                .map_err(|_| ApiError::new(400, "PGRST102", "Empty or invalid json"))?;
            // A repeated key arrives as an array of its values (see `api_request::payload`).
            let text = |v: serde_json::Value| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
            let pairs: Vec<(String, String)> = object
                .into_iter()
                .flat_map(|(k, v)| match v {
                    serde_json::Value::Array(values) => values
                        .into_iter()
                        .map(|v| (k.clone(), text(v)))
                        .collect::<Vec<_>>(),
                    v => vec![(k, text(v))],
                })
                .collect();
            Ok(direct_args(routine, &pairs))
        }
        Some(Payload::Raw(_)) | None => Ok(CallArgs::None),
    }
}

fn result_kind(routine: &Routine) -> ResultKind {
    if routine.returns_void {
        return ResultKind::Void;
    }
    match (&routine.returns, routine.returns_set) {
        (ReturnType::Scalar(_), false) => ResultKind::Scalar,
        (ReturnType::Scalar(_), true) => ResultKind::SetOfScalar,
        (ReturnType::Composite { .. }, false) => ResultKind::SingleComposite,
        (ReturnType::Composite { .. }, true) => ResultKind::SetOfComposite,
    }
}

/// What the result rows look like to the read plan: a function returning rows of a table of its
/// own schema is read like that table (so its relationships embed).
fn result_table(cache: &SchemaCache, routine: &Routine) -> Option<Table> {
    match &routine.returns {
        // PostgREST looks the table up under the function's schema.
        ReturnType::Composite { qi, is_table: true } => cache
            .table(&QualifiedIdentifier::new(&routine.schema, &qi.name))
            .cloned(),
        _ => None,
    }
}

/// Any other result is an unknown row type named after the function, whose columns PostgreSQL checks.
fn unknown_row_type(routine: &Routine) -> Table {
    Table {
        schema: routine.schema.clone(),
        name: routine.name.clone(),
        description: None,
        is_view: true,
        insertable: false,
        updatable: false,
        deletable: false,
        pk_cols: Vec::new(),
        columns: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_make_filters() {
        for v in [
            "eq.1",
            "eq",
            "not.eq.1",
            "in.(1,2)",
            "is.null",
            "fts(english).cat",
            "gt.2",
        ] {
            assert!(has_operator(v), "{v}");
        }
        for v in ["1", "hello", "not", "2024-01-01", "{1,2}", "a.b"] {
            assert!(!has_operator(v), "{v}");
        }
    }

    #[test]
    fn repeated_keys_last_wins_unless_variadic() {
        let routine = Routine {
            schema: "s".into(),
            name: "f".into(),
            description: None,
            params: vec![
                RoutineParam {
                    name: "a".into(),
                    data_type: "integer".into(),
                    required: true,
                    variadic: false,
                },
                RoutineParam {
                    name: "v".into(),
                    data_type: "integer[]".into(),
                    required: false,
                    variadic: true,
                },
            ],
            returns: ReturnType::Scalar("integer".into()),
            returns_set: false,
            returns_void: false,
            volatility: Volatility::Stable,
            has_variadic: true,
            settings: Vec::new(),
        };
        let pairs: Vec<(String, String)> = [("a", "1"), ("v", "x"), ("a", "2"), ("v", "y")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let CallArgs::Direct(args) = direct_args(&routine, &pairs) else {
            panic!("direct args expected");
        };
        assert_eq!(args[0].1, ArgValue::Fixed("2".into()));
        assert_eq!(args[1].1, ArgValue::Variadic(vec!["x".into(), "y".into()]));
    }
}
