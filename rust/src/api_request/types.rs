//! The parsed request: what the client asked for, before anything is looked up in the schema cache.
//!
//! Names follow PostgREST's `ApiRequest/Types.hs` so that its documentation and tests map onto this code.
//! Nothing here is resolved: a column name is just a name; `plan` checks it against the schema cache.

use std::collections::BTreeMap;

/// An HTTP method PostgREST serves. Anything else is PGRST117 at parse time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Patch,
    Put,
    Delete,
    Options,
}

impl Method {
    pub fn is_read(self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }
}

/// The path after the base path: `/`, `/<relation>` or `/rpc/<function>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    Root,
    Relation(String),
    Routine(String),
}

/// Where a modifier applies: `[]` for the top level, `["clients", "projects"]` for `clients.projects.order=...`.
/// Elements are the embed's alias when it has one, else its name.
pub type EmbedPath = Vec<String>;

/// `->` (json) or `->>` (text) with a key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonOperation {
    /// `->key` / `->0`
    Arrow(JsonOperand),
    /// `->>key` / `->>0`
    DoubleArrow(JsonOperand),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonOperand {
    Key(String),
    Idx(String),
}

/// A column reference with an optional JSON path: `data->phones->0->>number`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub json_path: Vec<JsonOperation>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateFunction {
    Sum,
    Avg,
    Max,
    Min,
    Count,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinType {
    Inner,
    Left,
}

/// One item of `select=`, a tree: relations hold their own select lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectItem {
    /// `alias:col->path::cast`, `*`, `col.sum()::int`, or `count()` (field name empty).
    Field {
        field: Field,
        aggregate: Option<AggregateFunction>,
        /// Cast applied to the aggregate's input (`col::numeric.sum()`).
        aggregate_cast: Option<String>,
        cast: Option<String>,
        alias: Option<String>,
    },
    /// `alias:rel!hint!inner(children)`
    Relation {
        relation: String,
        alias: Option<String>,
        hint: Option<String>,
        join_type: Option<JoinType>,
        children: Vec<SelectItem>,
    },
    /// `...rel!hint!inner(children)`
    Spread {
        relation: String,
        hint: Option<String>,
        join_type: Option<JoinType>,
        children: Vec<SelectItem>,
    },
}

/// `eq neq gt gte lt lte` and friends: operators that take one value and may take `(any)`/`(all)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantOperator {
    Equal,
    GreaterThanEqual,
    GreaterThan,
    LessThanEqual,
    LessThan,
    Like,
    ILike,
    Match,
    IMatch,
}

/// Operators that take one value and no quantifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimpleOperator {
    NotEqual,
    Contains,
    Contained,
    Overlap,
    StrictlyLeft,
    StrictlyRight,
    NotExtendsRight,
    NotExtendsLeft,
    Adjacent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpQuantifier {
    Any,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FtsOperator {
    Fts,
    Plain,
    Phrase,
    Websearch,
}

/// The value of `is.`: PostgREST's "trilean" plus the null tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsValue {
    Null,
    NotNull,
    True,
    False,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    Simple(SimpleOperator, String),
    Quant(QuantOperator, Option<OpQuantifier>, String),
    In(Vec<String>),
    Is(IsValue),
    IsDistinctFrom(String),
    /// `fts(english).value`: operator, optional text-search config, value.
    Fts(FtsOperator, Option<String>, String),
}

/// `[not.]operation`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpExpr {
    pub negated: bool,
    pub operation: Operation,
}

/// `field=opexpr`. When `field.name` names an embed (`rel=is.null`) the plan turns it into an embed test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub field: Field,
    pub op: OpExpr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogicOperator {
    And,
    Or,
}

/// `or=(a.eq.1,not.and(b.gt.2,c.is.null))`
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogicTree {
    Expr {
        negated: bool,
        op: LogicOperator,
        children: Vec<LogicTree>,
    },
    Stmnt(Filter),
    /// `rel.col.op.value` inside a tree: a condition on an embedded resource's rows (restpg only).
    Related {
        path: EmbedPath,
        filter: Filter,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderDirection {
    Asc,
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderNulls {
    First,
    Last,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderTerm {
    /// `col->path.desc.nullslast`
    Field {
        field: Field,
        direction: Option<OrderDirection>,
        nulls: Option<OrderNulls>,
    },
    /// `rel(col).desc` — ordering by a to-one embed's column.
    Relation {
        relation: String,
        field: Field,
        direction: Option<OrderDirection>,
        nulls: Option<OrderNulls>,
    },
}

/// A window over the rows: `offset` and an optional `limit` (rows, not an upper index), as `bigint`s.
/// Never negative at the top level; an embedded level's are the request's own, which PostgreSQL refuses
/// when negative, as it does PostgREST's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RowRange {
    pub offset: i64,
    pub limit: Option<i64>,
}

/// Parsed query string (PostgREST's `QueryParams`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryParams {
    /// `select=`; empty means `*`.
    pub select: Vec<SelectItem>,
    /// Filters in the order they were given, with the embed level they apply to.
    pub filters: Vec<(EmbedPath, Filter)>,
    /// `or=`/`and=` trees, per embed level.
    pub logic: Vec<(EmbedPath, LogicTree)>,
    /// `order=` per embed level.
    pub order: Vec<(EmbedPath, Vec<OrderTerm>)>,
    /// `limit=`/`offset=` per embed level (top level under the empty path).
    pub ranges: BTreeMap<EmbedPath, RowRange>,
    /// `columns=` for writes and RPC.
    pub columns: Option<Vec<String>>,
    /// `on_conflict=` for upserts.
    pub on_conflict: Option<Vec<String>>,
    /// On GET/HEAD `/rpc/fn`: `key=value` pairs that are not reserved keys; the plan decides which are
    /// arguments and which are filters, because only the schema cache knows the parameter names.
    pub params: Vec<(String, String)>,
    /// The canonical query string (keys sorted, re-encoded), for `Content-Location`.
    pub canonical: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreferCount {
    Exact,
    Planned,
    Estimated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreferReturn {
    Minimal,
    HeadersOnly,
    Representation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreferResolution {
    MergeDuplicates,
    IgnoreDuplicates,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreferMissing {
    Default,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreferHandling {
    Lenient,
    Strict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreferTransaction {
    Commit,
    Rollback,
}

/// The `Prefer` header(s), merged; the first recognised value per category wins.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Preferences {
    pub resolution: Option<PreferResolution>,
    pub missing: Option<PreferMissing>,
    pub representation: Option<PreferReturn>,
    pub count: Option<PreferCount>,
    pub transaction: Option<PreferTransaction>,
    pub handling: Option<PreferHandling>,
    pub timezone: Option<String>,
    pub max_affected: Option<u64>,
    /// Preferences that were not recognised (for `handling=strict` → PGRST122).
    pub invalid: Vec<String>,
}

/// A media type from `Accept` or `Content-Type`, reduced to what negotiation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaType {
    Json,
    /// `application/vnd.pgrst.object+json` (or without `+json`).
    SingularJson {
        nulls_stripped: bool,
    },
    /// `application/vnd.pgrst.array+json;nulls=stripped`
    ArrayJsonStripped,
    GeoJson,
    Csv,
    TextPlain,
    TextXml,
    OpenApi,
    UrlEncoded,
    OctetStream,
    /// `application/vnd.pgrst.plan[+json|+text]; for="..."; options=...`
    Plan {
        text: bool,
        for_media: Option<Box<MediaType>>,
        options: Vec<String>,
    },
    Any,
    /// Anything else, kept verbatim (e.g. for custom media handlers and for PGRST107's message).
    Other(String),
}

/// The request body as received; only its top-level shape is scanned in Rust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// JSON text passed to PostgreSQL as one parameter, with the top-level keys found by scanning it.
    Json {
        raw: String,
        keys: Vec<String>,
        is_array: bool,
        is_empty_array: bool,
    },
    /// `application/x-www-form-urlencoded` or `text/csv`, already turned into a JSON array of objects.
    Converted { json: String, keys: Vec<String> },
    /// text/plain, text/xml, application/octet-stream bodies for a single unnamed RPC parameter.
    Raw(Vec<u8>),
}

/// Everything the later stages need about one request (PostgREST's `ApiRequest`).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRequest {
    pub method: Method,
    pub resource: Resource,
    /// The schema picked by `Accept-Profile`/`Content-Profile` (or the first of `db-schemas`).
    pub schema: String,
    /// True when more than one schema is configured, so `Content-Profile` must be echoed.
    pub negotiated_by_profile: bool,
    pub query: QueryParams,
    pub preferences: Preferences,
    /// `Range` header window (GET only), intersected later with `limit`/`offset`.
    pub range_header: Option<RowRange>,
    /// Accepted media types in preference order (q-values applied). Empty = `*/*`.
    pub accept: Vec<MediaType>,
    pub content_type: MediaType,
    pub payload: Option<Payload>,
    /// The path as received, for `request.path` and `Content-Location`.
    pub path: String,
}
