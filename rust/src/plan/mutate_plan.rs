//! Plan a write on a table or view (PostgREST's `Plan.hs`, mutate half, and `Plan/MutatePlan.hs`):
//! POST (insert, bulk insert, upsert), PUT (single-row upsert), PATCH and DELETE.
//!
//! The payload is never parsed here beyond the top-level keys `api_request` already found: the plan
//! only checks those keys against the table's columns and records their types, so that PostgreSQL can
//! read the JSON text itself with `json_to_recordset`. The representation (`return=representation`,
//! `select=` with embeds) reuses the read plan of the same request, read from the rows the statement
//! returns instead of from the table.

use crate::api_request::{
    ApiRequest, Field, Filter, IsValue, LogicTree, Method, OpExpr, Operation, Payload, PreferCount,
    PreferHandling, PreferMissing, PreferResolution, PreferReturn, QuantOperator, RowRange,
};
use crate::error::{ApiError, ApiResult};
use crate::plan::negotiate::negotiate_read;
use crate::plan::read_plan::{find_table, read_plan_tree};
use crate::plan::types::{Condition, Media, ReadPlanTree, SelectField};
use crate::schema_cache::{Cardinality, QualifiedIdentifier, Relationship, SchemaCache, Table};
use crate::settings::Settings;

/// Which write, in PostgREST's vocabulary (`Mutation`); PUT is a single-row upsert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    Create,
    SingleUpsert,
    Update,
    Delete,
}

impl Mutation {
    /// `Prepared.kind` for the response stage.
    pub fn kind(self) -> &'static str {
        match self {
            Mutation::Create => "create",
            Mutation::SingleUpsert => "upsert",
            Mutation::Update => "update",
            Mutation::Delete => "delete",
        }
    }
}

/// A payload key resolved to a column: its name, its type for the `json_to_recordset` column list and,
/// under `Prefer: missing=default`, the default expression used when a row lacks the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteColumn {
    pub name: String,
    /// The type as the catalog formats it (trusted catalog text, not request data).
    pub data_type: String,
    /// Under `missing=default`, the column's DEFAULT expression as the catalog prints it (a column
    /// without one reads NULL for an absent key anyway).
    pub default: Option<String>,
}

/// `ON CONFLICT (columns) DO UPDATE SET … | DO NOTHING`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnConflict {
    pub resolution: PreferResolution,
    pub columns: Vec<String>,
}

/// What the statement's RETURNING clause carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returning {
    /// Nothing but a row count: no SELECT privilege needed on any column.
    Minimal,
    /// The primary key columns, for the `Location` of `return=headers-only`.
    PrimaryKey,
    /// The rows shaped by the read plan (`select=`, embeds), from the columns in `returned`.
    Representation,
}

/// The columns a representation reads from the written rows (PostgREST's `inferColsEmbedNeeds`):
/// only what `select=` names, what its embeds join on and the primary key, so a role with
/// column-level SELECT grants can write and read back the columns it may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Returned {
    /// `select=*`, or an embed through a computed relationship (whose function takes the whole row).
    WholeRow,
    Columns(Vec<String>),
}

/// A write, ready for `query::mutate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MutateAction {
    pub mutation: Mutation,
    pub target: QualifiedIdentifier,
    /// Views have no `xmax`, so upserts on them cannot tell inserted rows from updated ones.
    pub is_view: bool,
    pub pk_cols: Vec<String>,
    /// The columns written, in payload order (empty for DELETE, and for `{}`/`[]` payloads).
    pub columns: Vec<WriteColumn>,
    /// The JSON text (object or array) that crosses as the one payload parameter.
    pub payload: Option<String>,
    pub apply_defaults: bool,
    pub on_conflict: Option<OnConflict>,
    /// PATCH/DELETE: the filters and logic trees, applied to the target table.
    /// PUT: the primary key values from the URL, compared with the payload's.
    pub conditions: Vec<Condition>,
    pub put_keys: Vec<(String, String)>,
    pub returning: Returning,
    pub returned: Returned,
    /// The representation's shape; its root has no conditions or window of its own.
    pub read: ReadPlanTree,
    pub media: Media,
    pub count: bool,
    /// `Prefer: max-affected=N` together with `handling=strict`.
    pub max_affected: Option<u64>,
    /// Report how many rows were inserted (rather than updated), for 200 vs 201: POST with
    /// `merge-duplicates` and PUT, on tables and views alike.
    pub report_inserted: bool,
}

/// Plan POST/PUT/PATCH/DELETE on the relation `name`.
pub fn mutate_plan(
    cache: &SchemaCache,
    settings: &Settings,
    req: &ApiRequest,
    name: &str,
) -> ApiResult<MutateAction> {
    let table = find_table(cache, &req.schema, name)?;
    let mutation = match req.method {
        Method::Post => Mutation::Create,
        Method::Put => Mutation::SingleUpsert,
        Method::Patch => Mutation::Update,
        _ => Mutation::Delete,
    };
    let mut read = read_plan_tree(cache, settings, req, name)?;
    // The filters of the top level select the rows to write, not the rows to show; a write's
    // representation is never windowed (db-max-rows limits reads only).
    let conditions: Vec<Condition> = std::mem::take(&mut read.node.conditions)
        .into_iter()
        .map(|c| embed_tests_as_columns(c, &read))
        .collect();
    read.node.range = RowRange::default();
    let media = negotiate_read(&req.accept, settings)?;
    let prefs = &req.preferences;

    let (payload, keys) = match &req.payload {
        Some(Payload::Json { raw, keys, .. }) => (Some(raw.clone()), keys.clone()),
        Some(Payload::Converted { json, keys }) => (Some(json.clone()), keys.clone()),
        Some(Payload::Raw(_)) | None if mutation == Mutation::Delete => (None, Vec::new()),
        Some(Payload::Raw(_)) | None => (Some("[]".into()), Vec::new()),
    };
    let apply_defaults = prefs.missing == Some(PreferMissing::Default);
    let mut columns = write_columns(table, &keys, apply_defaults)?;

    let mut put_keys = Vec::new();
    let on_conflict = match mutation {
        Mutation::Create => prefs.resolution.and_then(|resolution| {
            let columns = req
                .query
                .on_conflict
                .clone()
                .unwrap_or_else(|| table.pk_cols.clone());
            (!columns.is_empty()).then_some(OnConflict { resolution, columns })
        }),
        Mutation::SingleUpsert => {
            put_keys = put_key_values(table, &req.query.filters, &req.query.logic)?;
            // The key columns are always read from the payload so that a payload without them
            // fails the key comparison (PGRST115) instead of naming an unknown column.
            for pk in &table.pk_cols {
                if !columns.iter().any(|c| &c.name == pk) {
                    columns.extend(write_columns(table, std::slice::from_ref(pk), apply_defaults)?);
                }
            }
            Some(OnConflict {
                resolution: PreferResolution::MergeDuplicates,
                columns: table.pk_cols.clone(),
            })
        }
        _ => None,
    };
    if let Some(oc) = &on_conflict {
        for col in &oc.columns {
            if table.column(col).is_none() {
                return Err(unknown_column(col, table));
            }
        }
    }

    let returning = match prefs.representation {
        Some(PreferReturn::Representation) => Returning::Representation,
        Some(PreferReturn::HeadersOnly) if mutation == Mutation::Create && !table.pk_cols.is_empty() => {
            Returning::PrimaryKey
        }
        _ => Returning::Minimal,
    };
    let strict = prefs.handling == Some(PreferHandling::Strict);
    let merges = on_conflict
        .as_ref()
        .is_some_and(|oc| oc.resolution == PreferResolution::MergeDuplicates);
    let returned = returned_columns(&read, &table.pk_cols);
    Ok(MutateAction {
        mutation,
        target: table.qi(),
        is_view: table.is_view,
        pk_cols: table.pk_cols.clone(),
        columns,
        payload,
        apply_defaults,
        on_conflict,
        conditions: if mutation == Mutation::SingleUpsert {
            Vec::new()
        } else {
            conditions
        },
        put_keys,
        returning,
        returned,
        read,
        media,
        count: prefs.count.is_some_and(|c| {
            matches!(
                c,
                PreferCount::Exact | PreferCount::Planned | PreferCount::Estimated
            )
        }),
        max_affected: prefs
            .max_affected
            .filter(|_| strict && matches!(mutation, Mutation::Update | Mutation::Delete)),
        report_inserted: merges,
    })
}

/// The columns the representation reads: the selected columns, the columns each embed joins on
/// (the parent's side of its foreign key), the order's columns and the primary key.
fn returned_columns(read: &ReadPlanTree, pk_cols: &[String]) -> Returned {
    let computed = read
        .children
        .iter()
        .any(|c| matches!(c.node.rel_to_parent, Some(Relationship::Computed { .. })));
    if computed || read.node.select.iter().any(|f| matches!(f, SelectField::Star)) {
        return Returned::WholeRow;
    }
    let mut columns: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !columns.iter().any(|c| c == name) {
            columns.push(name.to_owned());
        }
    };
    for field in &read.node.select {
        match field {
            SelectField::Column { field, .. } => add(&field.name),
            SelectField::Aggregate(agg) => agg.field.iter().for_each(|f| add(&f.name)),
            SelectField::Star => {}
        }
    }
    for child in &read.children {
        if let Some(Relationship::ForeignKey { cardinality, .. }) = &child.node.rel_to_parent {
            let parent_side: Vec<&String> = match cardinality {
                Cardinality::O2M { columns, .. }
                | Cardinality::M2O { columns, .. }
                | Cardinality::O2O { columns, .. } => columns.iter().map(|(p, _)| p).collect(),
                Cardinality::M2M(j) => j.cols_source.iter().map(|(p, _)| p).collect(),
            };
            parent_side.into_iter().for_each(|c| add(c));
        }
    }
    for term in read.node.order.iter().filter(|t| t.relation.is_none()) {
        add(&term.field.name);
    }
    pk_cols.iter().for_each(|c| add(c));
    Returned::Columns(columns)
}

/// 400 PGRST204, PostgREST's message for a payload key or `columns=` entry that is not a column.
fn unknown_column(name: &str, table: &Table) -> ApiError {
    ApiError::new(
        400,
        "PGRST204",
        format!(
            "Could not find the '{name}' column of '{}' in the schema cache",
            table.name
        ),
    )
}

fn write_columns(table: &Table, keys: &[String], apply_defaults: bool) -> ApiResult<Vec<WriteColumn>> {
    keys.iter()
        .map(|key| {
            let col = table.column(key).ok_or_else(|| unknown_column(key, table))?;
            Ok(WriteColumn {
                name: col.name.clone(),
                data_type: col.data_type.clone(),
                default: col.default.clone().filter(|_| apply_defaults && !col.generated),
            })
        })
        .collect()
}

/// PUT's filters must be exactly the primary key columns, each with a plain `eq` (405 PGRST105);
/// the values are returned in primary-key order.
fn put_key_values(
    table: &Table,
    filters: &[(Vec<String>, Filter)],
    logic: &[(Vec<String>, LogicTree)],
) -> ApiResult<Vec<(String, String)>> {
    let invalid = || {
        ApiError::new(
            405,
            "PGRST105",
            "Filters must include all and only primary key columns with 'eq' operators",
        )
    };
    let top: Vec<&Filter> = filters
        .iter()
        .filter(|(p, _)| p.is_empty())
        .map(|(_, f)| f)
        .collect();
    if table.pk_cols.is_empty() || logic.iter().any(|(p, _)| p.is_empty()) || top.len() != table.pk_cols.len()
    {
        return Err(invalid());
    }
    let mut values = Vec::with_capacity(top.len());
    for pk in &table.pk_cols {
        let value = top
            .iter()
            .find_map(|f| match (&f.field, &f.op) {
                (
                    field,
                    OpExpr {
                        negated: false,
                        operation: Operation::Quant(QuantOperator::Equal, None, v),
                    },
                ) if &field.name == pk && field.json_path.is_empty() => Some(v.clone()),
                _ => None,
            })
            .ok_or_else(invalid)?;
        values.push((pk.clone(), value));
    }
    Ok(values)
}

/// PostgREST filters a write's rows with the root filters as they were written: `rel=is.null` names
/// a column there, not an embed, so PostgreSQL answers 42703 (column does not exist) whether or not
/// `rel` is embedded. The read plan already turned such filters into embed tests; this turns them
/// back. (`!inner` embeds only shape the representation, as in PostgREST.)
fn embed_tests_as_columns(cond: Condition, read: &ReadPlanTree) -> Condition {
    match cond {
        Condition::NullEmbed { negated, alias } => {
            let name = read
                .children
                .iter()
                .find(|c| c.node.from_alias.as_deref() == Some(alias.as_str()))
                .map_or(alias.clone(), |c| c.node.output_name().to_owned());
            Condition::Filter {
                filter: Filter {
                    field: Field {
                        name,
                        json_path: Vec::new(),
                    },
                    op: OpExpr {
                        negated,
                        operation: Operation::Is(IsValue::Null),
                    },
                },
                tsvector: false,
                needs_to_jsonb: false,
            }
        }
        Condition::Tree {
            negated,
            op,
            children,
        } => Condition::Tree {
            negated,
            op,
            children: children
                .into_iter()
                .map(|c| embed_tests_as_columns(c, read))
                .collect(),
        },
        other => other,
    }
}
