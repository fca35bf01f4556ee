//! Build the one statement of a read (PostgREST's `QueryBuilder.hs` + `Statements.hs`):
//!
//! ```sql
//! WITH pgrst_source AS ( SELECT … FROM "s"."t" <embeds as LATERAL joins> WHERE … ORDER BY … LIMIT $n OFFSET $m )
//! SELECT <total> AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, <body> AS body,
//!        <response.headers GUC>, <response.status GUC>
//! FROM ( SELECT * FROM pgrst_source ) _postgrest_t
//! ```
//!
//! Parameter numbering is deliberate: the joins that filter rows and the WHERE clause of the top level
//! are rendered first, so `$1..$k` are exactly the parameters of the count query, and the EXPLAIN for a
//! planned count can be prepared with the same parameter list as the main statement.

use crate::api_request::{PreferCount, RowRange};
use crate::plan::read_plan::is_to_one;
use crate::plan::types::{Condition, Media, ReadAction, ReadPlanTree};
use crate::query::fragment;
use crate::query::sql::{self, Params};
use crate::schema_cache::{Cardinality, Relationship};

/// One statement with its parameters, plus the EXPLAIN for planned/estimated counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<Option<Vec<u8>>>,
    /// `EXPLAIN (FORMAT JSON) <count query>`, taking the same `params`.
    pub count_sql: Option<String>,
}

/// The SELECT over a read plan's root, before it is wrapped into the response row. `from` and
/// `qualifier` name the root's rows: the table for reads; for writes and calls (to come) the CTE of
/// `INSERT … RETURNING` or the function call, so every action shapes its result with this same code.
pub struct ReadQuery {
    /// `SELECT <columns and embeds> FROM … WHERE … ORDER BY … LIMIT …`
    pub source: String,
    /// `SELECT 1 FROM … WHERE …`: the rows a count counts (no order, no window, no output embeds).
    pub count_source: String,
    /// The count query uses exactly the parameters `$1..$count_params`.
    pub count_params: usize,
}

/// How the rows of one level are referenced: `qualifier` before a column name, `row` as a whole-row
/// value (the argument of a computed relationship's function).
pub struct Level<'a> {
    pub qualifier: &'a str,
    pub row: &'a str,
}

pub fn read_query(params: &mut Params, root: &ReadPlanTree, from: &str, level: &Level<'_>) -> ReadQuery {
    let qualifier = level.qualifier;
    // Filtering joins and WHERE first (see the module comment).
    let (filtering, others): (Vec<&ReadPlanTree>, Vec<&ReadPlanTree>) =
        root.children.iter().partition(|c| filters_parent(root, c));
    let mut filtering_joins = String::new();
    for child in &filtering {
        lateral_join(&mut filtering_joins, params, child, level, false);
    }
    let mut where_clause = String::new();
    conditions(&mut where_clause, params, qualifier, &root.node.conditions, None);
    let count_params = params.len();

    let mut source = String::from("SELECT ");
    select_list(&mut source, params, root, qualifier, false);
    source.push_str(" FROM ");
    source.push_str(from);
    source.push_str(&filtering_joins);
    for child in others.iter().filter(|c| !c.node.hidden) {
        lateral_join(&mut source, params, child, level, false);
    }
    source.push_str(&where_clause);
    fragment::group_by(&mut source, &root.node.select);
    order_and_range(&mut source, params, root, level);

    let count_source = format!("SELECT 1 FROM {from}{filtering_joins}{where_clause}");
    ReadQuery {
        source,
        count_source,
        count_params,
    }
}

/// The statement for a GET/HEAD on a table or view.
pub fn read_statement(action: &ReadAction) -> Statement {
    let mut params = Params::default();
    let table = sql::qualified(&action.tree.node.from);
    // `FROM "s"."t"` names its rows `"t"`: that is the whole-row reference.
    let row = sql::ident(&action.tree.node.from.name);
    let level = Level {
        qualifier: &table,
        row: &row,
    };
    let ReadQuery {
        source,
        count_source,
        count_params,
    } = read_query(&mut params, &action.tree, &table, &level);
    let exact = matches!(action.count, Some(PreferCount::Exact | PreferCount::Estimated));

    let mut out = String::with_capacity(source.len() + 400);
    out.push_str("WITH pgrst_source AS ( ");
    out.push_str(&source);
    out.push_str(" )");
    if exact {
        out.push_str(", pgrst_source_count AS ( ");
        out.push_str(&count_source);
        out.push_str(" )");
    }
    out.push_str(" SELECT ");
    out.push_str(if exact {
        "(SELECT pg_catalog.count(*) FROM pgrst_source_count)"
    } else {
        "null::bigint"
    });
    out.push_str(" AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, ");
    out.push_str(if action.head {
        "null::text"
    } else {
        body(action.media)
    });
    out.push_str(
        " AS body, nullif(current_setting('response.headers', true), '') AS response_headers, \
         nullif(current_setting('response.status', true), '') AS response_status \
         FROM ( SELECT * FROM pgrst_source ) _postgrest_t",
    );

    let count_sql = matches!(action.count, Some(PreferCount::Planned | PreferCount::Estimated))
        .then(|| explain_count(&count_source, count_params, params.len()));
    Statement {
        sql: out,
        params: params.into_vec(),
        count_sql,
    }
}

/// The response body, built by PostgreSQL.
pub fn body(media: Media) -> &'static str {
    match media {
        Media::Json => "coalesce(json_agg(_postgrest_t), '[]')::text",
        Media::ArrayStripped => "coalesce(json_strip_nulls(json_agg(_postgrest_t)), '[]')::text",
        Media::Singular { nulls_stripped: false } => "coalesce((json_agg(_postgrest_t)->0)::text, 'null')",
        Media::Singular { nulls_stripped: true } => {
            "coalesce(json_strip_nulls(json_agg(_postgrest_t)->0)::text, 'null')"
        }
        // Header from the first row's keys, then each row's record text without its parentheses:
        // PostgreSQL's record output quotes exactly the fields CSV needs quoted and leaves NULL empty.
        Media::Csv => {
            "(SELECT coalesce(string_agg(a.k, ','), '') FROM (SELECT json_object_keys(r)::text AS k \
             FROM (SELECT row_to_json(hh) AS r FROM pgrst_source AS hh LIMIT 1) s) a) || chr(10) || \
             coalesce(string_agg(substring(_postgrest_t::text, 2, length(_postgrest_t::text) - 2), chr(10)), '')"
        }
    }
}

/// The planner's row estimate for the count query. The parameters after the count query's own are
/// referenced (typed as text, which any text-format value is) so that the statement takes the very
/// same parameter list: PostgreSQL refuses to prepare a statement with a parameter of unknown type.
fn explain_count(count_source: &str, own: usize, total: usize) -> String {
    let mut out = String::from("EXPLAIN (FORMAT JSON) SELECT 1");
    for n in own + 1..=total {
        out.push_str(&format!(", ${n}::text"));
    }
    out.push_str(&count_source["SELECT 1".len()..]);
    out
}

/// An embed restricts its parent's rows when it is `!inner` or tested with `rel=[not.]is.null`.
fn filters_parent(parent: &ReadPlanTree, child: &ReadPlanTree) -> bool {
    let alias = child.node.from_alias.as_deref().unwrap_or_default();
    child.node.join_type == Some(crate::api_request::JoinType::Inner)
        || parent.node.conditions.iter().any(|c| mentions_embed(c, alias))
}

fn mentions_embed(cond: &Condition, alias: &str) -> bool {
    match cond {
        Condition::NullEmbed { alias: a, .. } => a == alias,
        Condition::Tree { children, .. } => children.iter().any(|c| mentions_embed(c, alias)),
        Condition::Filter { .. } | Condition::Related(_) => false,
    }
}

/// `flatten`: this level's rows are spread into a to-many spread above it, so its own spread
/// children join as rows (multiplying them) instead of aggregating.
fn select_list(out: &mut String, params: &mut Params, tree: &ReadPlanTree, qualifier: &str, flatten: bool) {
    let mut first = true;
    let mut sep = |out: &mut String| {
        if !std::mem::take(&mut first) {
            out.push_str(", ");
        }
    };
    for item in &tree.node.select {
        sep(out);
        fragment::select_field(out, params, qualifier, item);
    }
    for child in tree.children.iter().filter(|c| !c.node.hidden) {
        let lateral = lateral_alias(child);
        match EmbedShape::of(child, flatten) {
            EmbedShape::Nested => {
                sep(out);
                let body = format!("{lateral}.\"body\"");
                if is_to_one(child.node.rel_to_parent.as_ref()) {
                    out.push_str(&body);
                } else {
                    out.push_str(&format!("coalesce({body}, '[]')"));
                }
                out.push_str(" AS ");
                sql::push_ident(out, child.node.output_name());
            }
            EmbedShape::SpreadRow => {
                sep(out);
                out.push_str(&format!("({lateral}.\"r\").*"));
            }
            EmbedShape::SpreadArrays => {
                for (i, key) in spread_keys(child).iter().enumerate() {
                    sep(out);
                    out.push_str(&format!("coalesce({lateral}.\"pgrst_{i}\", '[]') AS "));
                    sql::push_ident(out, key);
                }
            }
        }
    }
}

/// How an embed appears in its parent row.
#[derive(Clone, Copy, PartialEq, Eq)]
enum EmbedShape {
    /// Under its own key: an object (to-one) or an array of objects (to-many).
    Nested,
    /// Its columns lifted into the parent row: a to-one spread, or any spread inside a to-many one
    /// (PostgREST flattens those: the rows multiply, and the outer spread aggregates them).
    SpreadRow,
    /// A to-many spread: each of its columns becomes an array in the parent row (PostgREST v13+).
    SpreadArrays,
}

impl EmbedShape {
    fn of(child: &ReadPlanTree, parent_flattens: bool) -> EmbedShape {
        if !child.node.spread {
            EmbedShape::Nested
        } else if parent_flattens || is_to_one(child.node.rel_to_parent.as_ref()) {
            EmbedShape::SpreadRow
        } else {
            EmbedShape::SpreadArrays
        }
    }

    /// Whether the embed's own spread children flatten into its rows.
    fn flattens(self, child: &ReadPlanTree, parent_flattens: bool) -> bool {
        match self {
            EmbedShape::Nested => false,
            EmbedShape::SpreadArrays => true,
            EmbedShape::SpreadRow => parent_flattens && child.node.spread,
        }
    }
}

/// The keys a spread embed adds to its parent row, in order (its `*` was expanded by the plan).
pub fn spread_keys(tree: &ReadPlanTree) -> Vec<String> {
    use crate::plan::types::SelectField;
    let mut keys = Vec::new();
    for item in &tree.node.select {
        match item {
            SelectField::Column { field, alias, .. } => {
                keys.push(alias.clone().unwrap_or_else(|| field.name.clone()))
            }
            SelectField::Aggregate(agg) => keys.push(agg.alias.clone()),
            SelectField::Star => {}
        }
    }
    for child in tree.children.iter().filter(|c| !c.node.hidden) {
        if child.node.spread {
            keys.extend(spread_keys(child));
        } else {
            keys.push(child.node.output_name().to_owned());
        }
    }
    keys
}

/// `WHERE a AND b`, with an optional join condition first.
fn conditions(
    out: &mut String,
    params: &mut Params,
    qualifier: &str,
    conds: &[Condition],
    join: Option<&str>,
) {
    if conds.is_empty() && join.is_none() {
        return;
    }
    out.push_str(" WHERE ");
    let mut first = true;
    if let Some(j) = join {
        out.push_str(j);
        first = false;
    }
    for cond in conds {
        if !std::mem::take(&mut first) {
            out.push_str(" AND ");
        }
        fragment::condition(out, params, qualifier, cond);
    }
}

fn order_and_range(out: &mut String, params: &mut Params, tree: &ReadPlanTree, level: &Level<'_>) {
    if !tree.node.order.is_empty() {
        out.push_str(" ORDER BY ");
        for (i, term) in tree.node.order.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            fragment::order_term(out, params, level, term);
        }
    }
    range(out, params, tree.node.range);
}

/// `LIMIT $n OFFSET $m` (a NULL limit is no limit), only when the window restricts anything.
fn range(out: &mut String, params: &mut Params, range: RowRange) {
    if range.limit.is_none() && range.offset == 0 {
        return;
    }
    out.push_str(" LIMIT ");
    match range.limit {
        Some(l) => params.push(out, l.to_string()),
        None => params.push_null(out),
    }
    out.push_str(" OFFSET ");
    params.push(out, range.offset.to_string());
}

/// The embed as `LEFT|INNER JOIN LATERAL (SELECT … AS "body" … FROM (<child rows>) r) AS "<alias>_j"`.
/// `body` is NULL exactly when no related row exists, so `!inner` and `rel=[not.]is.null` test it:
/// - nested: a to-one embed is its row as an object, a to-many embed the `json_agg` of its rows
///   (the select list coalesces that to `[]`);
/// - spread row: `TRUE AS body` and the row itself as `r`, lifted with `(…."r").*` (keeps column
///   types and duplicate keys);
/// - spread arrays: one `json_agg` per key as `pgrst_<n>`, and `bool_or(TRUE)` as `body`.
fn lateral_join(
    out: &mut String,
    params: &mut Params,
    child: &ReadPlanTree,
    parent: &Level<'_>,
    parent_flattens: bool,
) {
    let alias = child.node.from_alias.as_deref().unwrap_or_default();
    let inner = child.node.join_type == Some(crate::api_request::JoinType::Inner);
    let shape = EmbedShape::of(child, parent_flattens);
    let row = sql::ident(&format!("{alias}_r"));
    out.push_str(if inner {
        " INNER JOIN LATERAL ( SELECT "
    } else {
        " LEFT JOIN LATERAL ( SELECT "
    });
    match shape {
        EmbedShape::Nested => {
            out.push_str(if is_to_one(child.node.rel_to_parent.as_ref()) {
                "row_to_json("
            } else {
                "json_agg("
            });
            out.push_str(&row);
            out.push_str(") AS \"body\"");
        }
        EmbedShape::SpreadRow => {
            out.push_str("TRUE AS \"body\", ");
            out.push_str(&row);
            out.push_str(" AS \"r\"");
        }
        EmbedShape::SpreadArrays => {
            for (i, key) in spread_keys(child).iter().enumerate() {
                out.push_str("json_agg(");
                out.push_str(&row);
                out.push('.');
                sql::push_ident(out, key);
                out.push_str(&format!(") AS \"pgrst_{i}\", "));
            }
            out.push_str("pg_catalog.bool_or(TRUE) AS \"body\"");
        }
    }
    out.push_str(" FROM ( ");
    child_rows(out, params, child, parent, shape.flattens(child, parent_flattens));
    out.push_str(" ) AS ");
    out.push_str(&row);
    out.push_str(" ) AS ");
    out.push_str(&lateral_alias(child));
    if inner {
        out.push_str(" ON ");
        out.push_str(&lateral_alias(child));
        out.push_str(".\"body\" IS NOT NULL");
    } else {
        out.push_str(" ON TRUE");
    }
}

/// `"pgrst_1_j"`: the name of an embed's LATERAL subquery in its parent.
fn lateral_alias(child: &ReadPlanTree) -> String {
    sql::ident(&format!(
        "{}_j",
        child.node.from_alias.as_deref().unwrap_or_default()
    ))
}

/// The rows of an embed, correlated to its parent row.
fn child_rows(out: &mut String, params: &mut Params, tree: &ReadPlanTree, parent: &Level<'_>, flatten: bool) {
    let alias = tree.node.from_alias.as_deref().unwrap_or_default();
    let qualifier = sql::ident(alias);
    let level = Level {
        qualifier: &qualifier,
        row: &qualifier,
    };
    out.push_str("SELECT ");
    select_list(out, params, tree, &qualifier, flatten);
    out.push_str(" FROM ");
    match &tree.node.rel_to_parent {
        Some(rel) => source(out, rel, &tree.node.from, parent.row),
        None => out.push_str(&sql::qualified(&tree.node.from)),
    }
    out.push_str(" AS ");
    out.push_str(&qualifier);
    if let Some(rel) = &tree.node.rel_to_parent {
        junction_join(out, rel, alias);
    }
    for child in tree
        .children
        .iter()
        .filter(|c| !c.node.hidden || filters_parent(tree, c))
    {
        lateral_join(out, params, child, &level, flatten);
    }
    let join = tree
        .node
        .rel_to_parent
        .as_ref()
        .and_then(|rel| join_condition(rel, alias, parent.qualifier));
    conditions(out, params, &qualifier, &tree.node.conditions, join.as_deref());
    fragment::group_by(out, &tree.node.select);
    order_and_range(out, params, tree, &level);
}

/// ` INNER JOIN <junction> AS "<alias>_jt" ON …` after a many-to-many embed's relation (`alias`
/// unquoted); nothing for other relationships. [`join_condition`] then correlates the junction.
pub fn junction_join(out: &mut String, rel: &Relationship, alias: &str) {
    if let Relationship::ForeignKey {
        cardinality: Cardinality::M2M(j),
        ..
    } = rel
    {
        let jt = sql::ident(&format!("{alias}_jt"));
        out.push_str(" INNER JOIN ");
        out.push_str(&sql::qualified(&j.table));
        out.push_str(" AS ");
        out.push_str(&jt);
        out.push_str(" ON ");
        pairs(out, &j.cols_target, &sql::ident(alias), &jt);
    }
}

/// Where an embed's rows come from: its table, or for a computed relationship the function applied
/// to the parent row.
pub fn source(
    out: &mut String,
    rel: &Relationship,
    table: &crate::schema_cache::QualifiedIdentifier,
    parent_row: &str,
) {
    match rel {
        Relationship::Computed { function, .. } => {
            out.push_str(&sql::qualified(function));
            out.push('(');
            out.push_str(parent_row);
            out.push(')');
        }
        Relationship::ForeignKey { .. } => out.push_str(&sql::qualified(table)),
    }
}

/// `child.col = parent.col AND …` for a relationship seen from the parent (`child` is the embed's
/// unquoted alias); `None` for a computed relationship, whose function already did the correlation.
pub fn join_condition(rel: &Relationship, child: &str, parent: &str) -> Option<String> {
    let mut out = String::new();
    let child_q = sql::ident(child);
    match rel {
        Relationship::ForeignKey { cardinality, .. } => match cardinality {
            Cardinality::O2M { columns, .. }
            | Cardinality::M2O { columns, .. }
            | Cardinality::O2O { columns, .. } => {
                // (column of the parent, column of the child)
                let flipped: Vec<(String, String)> =
                    columns.iter().map(|(p, c)| (c.clone(), p.clone())).collect();
                pairs(&mut out, &flipped, &child_q, parent);
            }
            Cardinality::M2M(j) => {
                let flipped: Vec<(String, String)> = j
                    .cols_source
                    .iter()
                    .map(|(p, jc)| (jc.clone(), p.clone()))
                    .collect();
                pairs(&mut out, &flipped, &sql::ident(&format!("{child}_jt")), parent);
            }
        },
        Relationship::Computed { .. } => return None,
    }
    Some(out)
}

/// `left.a = right.b AND …` for pairs `(a, b)`.
fn pairs(out: &mut String, pairs: &[(String, String)], left: &str, right: &str) {
    for (i, (l, r)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(" AND ");
        }
        out.push_str(left);
        out.push('.');
        sql::push_ident(out, l);
        out.push_str(" = ");
        out.push_str(right);
        out.push('.');
        sql::push_ident(out, r);
    }
}
