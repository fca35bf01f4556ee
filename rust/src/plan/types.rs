//! What the plan stage produces: the request resolved against the schema cache (PostgREST's
//! `Plan/Types.hs`, `Plan/ReadPlan.hs`). Request values are still plain strings here; only `query`
//! turns them into bound parameters.

use crate::api_request::{
    AggregateFunction, Field, JoinType, OrderDirection, OrderNulls, PreferCount, PreferTransaction, RowRange,
};
use crate::schema_cache::{QualifiedIdentifier, Relationship};

/// One resolved `select=` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectField {
    /// `*`: every column of the relation.
    Star,
    Column {
        field: Field,
        /// Already checked by [`crate::query::sql::type_name`].
        cast: Option<String>,
        /// The output key: the explicit alias, else what PostgREST derives (last JSON key, the column
        /// name for casts); `None` lets PostgreSQL name it after the column.
        alias: Option<String>,
        /// The column is neither `json` nor `jsonb` (array, composite…), so a JSON path needs `to_jsonb`.
        needs_to_jsonb: bool,
    },
    /// An aggregate; the level's other columns become its GROUP BY.
    Aggregate(Box<AggregateField>),
}

/// `col.sum()`, `total:amount.sum()::int`, `count()` (only with `db-aggregates-enabled`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateField {
    pub function: AggregateFunction,
    /// `None` for `count()`.
    pub field: Option<Field>,
    /// Cast of the input (`col::numeric.sum()`).
    pub input_cast: Option<String>,
    /// Cast of the result (`col.avg()::int`).
    pub cast: Option<String>,
    /// The output key: the alias, else the function's name, as PostgREST names it.
    pub alias: String,
    pub needs_to_jsonb: bool,
}

/// A filter condition, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `col=op.value`; `tsvector` tells `fts` whether the column needs `to_tsvector(...)`.
    Filter {
        filter: crate::api_request::Filter,
        tsvector: bool,
        needs_to_jsonb: bool,
    },
    /// `rel=is.null` / `rel=not.is.null` on an embedded resource (anti/semi join on its alias).
    NullEmbed { negated: bool, alias: String },
    Tree {
        negated: bool,
        op: crate::api_request::LogicOperator,
        children: Vec<Condition>,
    },
    /// `rel.col.op.value` inside a logic tree: `[NOT] EXISTS` over the related rows (restpg only).
    Related(Box<RelatedCondition>),
}

/// A condition on the rows related through a chain of embeds, independent of the embeds' own
/// filters and windows: true when some related row satisfies `condition` (or, with `negated`,
/// when none does; `condition: None` tests that a related row exists at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelatedCondition {
    pub negated: bool,
    pub steps: Vec<RelatedStep>,
    pub condition: Option<Condition>,
}

/// One hop of a [`RelatedCondition`]: the relation reached, how, and its SQL alias (unquoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelatedStep {
    pub from: QualifiedIdentifier,
    pub rel: Relationship,
    pub alias: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderTerm {
    /// `None`: a column of this relation; `Some`: a column of a to-one embed (`order=rel(col)`).
    pub relation: Option<RelatedOrder>,
    pub field: Field,
    pub needs_to_jsonb: bool,
    pub direction: Option<OrderDirection>,
    pub nulls: Option<OrderNulls>,
}

/// The to-one embed a related order reads from: looked up again by a correlated scalar subquery,
/// which keeps the column's type (ordering the embed's JSON would compare text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelatedOrder {
    pub from: QualifiedIdentifier,
    pub alias: String,
    pub rel: Relationship,
}

/// One node of the read plan: a relation with its columns, conditions, order and window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadPlan {
    pub from: QualifiedIdentifier,
    /// The SQL alias of the relation: unique within the statement so that embeds can correlate
    /// (`pgrst_1`, `pgrst_2`…); the top level uses the qualified name itself.
    pub from_alias: Option<String>,
    pub select: Vec<SelectField>,
    pub conditions: Vec<Condition>,
    pub order: Vec<OrderTerm>,
    pub range: RowRange,
    /// The name used in `select=` (relation name) and the key it is emitted under.
    pub rel_name: String,
    pub rel_alias: Option<String>,
    /// How this node joins its parent; `None` at the root.
    pub rel_to_parent: Option<Relationship>,
    pub join_type: Option<JoinType>,
    /// True for an embed with no columns (`rel()`): it filters but adds no key.
    pub hidden: bool,
    /// `...rel(cols)`: the embed's columns are lifted into the parent row (to-one only).
    pub spread: bool,
    /// A modifier addressed this aliased embed by its relation name (`url-use-legacy-target-names`).
    pub legacy_name_match: bool,
    pub depth: usize,
}

impl ReadPlan {
    /// The key this node is emitted under in its parent's object.
    pub fn output_name(&self) -> &str {
        self.rel_alias.as_deref().unwrap_or(&self.rel_name)
    }
}

/// PostgREST's `ReadPlanTree`: a node and its embedded children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadPlanTree {
    pub node: ReadPlan,
    pub children: Vec<ReadPlanTree>,
}

/// The negotiated response body format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    Json,
    /// `application/vnd.pgrst.object+json`: exactly one row, as an object.
    Singular {
        nulls_stripped: bool,
    },
    /// `application/vnd.pgrst.array+json;nulls=stripped`
    ArrayStripped,
    Csv,
}

impl Media {
    /// The response `Content-Type`, as PostgREST writes it.
    pub fn content_type(self) -> &'static str {
        match self {
            Media::Json => "application/json; charset=utf-8",
            Media::Singular {
                nulls_stripped: false,
            } => "application/vnd.pgrst.object+json; charset=utf-8",
            Media::Singular { nulls_stripped: true } => {
                "application/vnd.pgrst.object+json;nulls=stripped; charset=utf-8"
            }
            Media::ArrayStripped => "application/vnd.pgrst.array+json;nulls=stripped; charset=utf-8",
            Media::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// A read (GET/HEAD on a table or view), ready for `query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadAction {
    pub tree: ReadPlanTree,
    pub media: Media,
    pub count: Option<PreferCount>,
    pub head: bool,
}

/// What the request will do (PostgREST's `ActionPlan`). Mutations and calls join as they are built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionPlan {
    Read(Box<ReadAction>),
    /// POST, PUT, PATCH or DELETE on a table or view.
    Mutate(Box<crate::plan::mutate_plan::MutateAction>),
    /// `/rpc/<function>`
    Call(Box<crate::plan::call_plan::CallAction>),
    /// `OPTIONS`: answered without a database round trip.
    Options {
        allow: String,
    },
    /// `/`: the schema description (OpenAPI), built elsewhere.
    Root,
}

/// Facts about the whole request that do not depend on the action (schema, transaction end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    pub schema: String,
    pub rollback: bool,
    /// `Prefer: tx=…` was honoured (only under `db-tx-end = *-allow-override`).
    pub tx_applied: Option<PreferTransaction>,
    /// `Accept: application/vnd.pgrst.plan…` won the negotiation (only with `db-plan-enabled`).
    pub explain: Option<crate::plan::negotiate::Explain>,
}
