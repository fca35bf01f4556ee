//! Build the `ReadPlanTree` of a GET/HEAD on a table or view (PostgREST's `Plan.hs`, read half):
//! the target relation, select items resolved against its columns, embeds resolved to relationships,
//! and every filter, logic tree, order and range attached to the level it names.

use crate::api_request::{
    AggregateFunction, ApiRequest, EmbedPath, Field, Filter, IsValue, LogicTree, Operation,
    OrderTerm as ReqOrderTerm, RowRange, SelectItem,
};
use crate::error::{ApiError, ApiResult};
use crate::plan::embed::resolve_relationship;
use crate::plan::embed_condition;
use crate::plan::range::{cap_to_many, intersect, restrict};
use crate::plan::types::{
    AggregateField, Condition, OrderTerm, ReadPlan, ReadPlanTree, RelatedOrder, SelectField,
};
use crate::query::sql;
use crate::schema_cache::{Cardinality, QualifiedIdentifier, Relationship, SchemaCache, Table};
use crate::settings::Settings;

/// The tree for a read of `name` in the request's schema.
pub fn read_plan_tree(
    cache: &SchemaCache,
    settings: &Settings,
    req: &ApiRequest,
    name: &str,
) -> ApiResult<ReadPlanTree> {
    let table = find_table(cache, &req.schema, name)?;
    read_plan_tree_for(cache, settings, req, table)
}

/// The tree for a read of `table`'s rows, wherever they come from: the table itself, or (for `/rpc`)
/// the rows a function returned, shaped like `table`.
pub fn read_plan_tree_for(
    cache: &SchemaCache,
    settings: &Settings,
    req: &ApiRequest,
    table: &Table,
) -> ApiResult<ReadPlanTree> {
    let mut next_alias = 0usize;
    let mut tree = build_node(
        cache,
        settings,
        table,
        &req.query.select,
        RootOrEmbed::Root,
        &mut next_alias,
    )?;

    for (path, filter) in &req.query.filters {
        let node = find_node(&mut tree, path, settings)?;
        let cond = resolve_filter(cache, node, filter)?;
        node.node.conditions.push(cond);
    }
    for (path, logic) in &req.query.logic {
        let node = find_node(&mut tree, path, settings)?;
        let cond = resolve_tree(cache, node, logic)?;
        node.node.conditions.push(cond);
    }
    for (path, terms) in &req.query.order {
        let node = find_node(&mut tree, path, settings)?;
        node.node.order = resolve_order(cache, node, terms)?;
    }
    for (path, range) in &req.query.ranges {
        if !path.is_empty() {
            find_node(&mut tree, path, settings)?.node.range = *range;
        }
    }
    let top = req.query.ranges.get(&Vec::new()).copied().unwrap_or_default();
    let top = match req.range_header {
        Some(header) if req.method.is_read() => intersect(top, header),
        _ => top,
    };
    tree.node.range = restrict(top, settings.db_max_rows);
    cap_to_many(&mut tree, settings.db_max_rows);
    Ok(tree)
}

/// 404 PGRST205 with PostgREST's fuzzy "Perhaps you meant" hint.
pub fn find_table<'c>(cache: &'c SchemaCache, schema: &str, name: &str) -> ApiResult<&'c Table> {
    let qi = QualifiedIdentifier::new(schema, name);
    cache.table(&qi).ok_or_else(|| {
        let hint = cache
            .suggest_table(schema, name)
            .map(|other| format!("Perhaps you meant the table '{}.{}'", other.schema, other.name));
        ApiError::new(
            404,
            "PGRST205",
            format!("Could not find the table '{schema}.{name}' in the schema cache"),
        )
        .hint(hint)
    })
}

enum RootOrEmbed<'a> {
    Root,
    Embed {
        name: &'a str,
        alias: Option<&'a str>,
        rel: Box<Relationship>,
        join_type: Option<crate::api_request::JoinType>,
        depth: usize,
    },
}

fn build_node(
    cache: &SchemaCache,
    settings: &Settings,
    table: &Table,
    items: &[SelectItem],
    at: RootOrEmbed<'_>,
    next_alias: &mut usize,
) -> ApiResult<ReadPlanTree> {
    let (rel_name, rel_alias, rel_to_parent, join_type, depth, from_alias) = match at {
        RootOrEmbed::Root => (table.name.clone(), None, None, None, 0, None),
        RootOrEmbed::Embed {
            name,
            alias,
            rel,
            join_type,
            depth,
            ..
        } => {
            *next_alias += 1;
            let from_alias = Some(format!("pgrst_{next_alias}"));
            (
                name.to_owned(),
                alias.map(str::to_owned),
                Some(*rel),
                join_type,
                depth,
                from_alias,
            )
        }
    };
    let mut node = ReadPlan {
        from: table.qi(),
        from_alias,
        select: Vec::new(),
        conditions: Vec::new(),
        order: Vec::new(),
        range: RowRange::default(),
        rel_name,
        rel_alias,
        rel_to_parent,
        join_type,
        hidden: items.is_empty() && depth > 0,
        spread: false,
        legacy_name_match: false,
        depth,
    };
    let mut children = Vec::new();
    if items.is_empty() && depth == 0 {
        node.select.push(SelectField::Star);
    }
    for item in items {
        match item {
            SelectItem::Field {
                field,
                aggregate,
                aggregate_cast,
                cast,
                alias,
            } => {
                if let Some(function) = aggregate {
                    if !settings.db_aggregates_enabled {
                        return Err(ApiError::new(
                            400,
                            "PGRST123",
                            "Use of aggregate functions is not allowed",
                        ));
                    }
                    let agg = resolve_aggregate(table, *function, field, aggregate_cast, cast, alias)?;
                    node.select.push(SelectField::Aggregate(Box::new(agg)));
                    continue;
                }
                node.select.push(resolve_select_field(
                    table,
                    field,
                    cast.as_deref(),
                    alias.as_deref(),
                )?);
            }
            SelectItem::Relation {
                relation,
                alias,
                hint,
                join_type,
                children: sub,
            } => {
                let embed = Embed {
                    relation,
                    alias: alias.as_deref(),
                    hint: hint.as_deref(),
                    join_type: *join_type,
                };
                children.push(embed_node(
                    cache, settings, table, embed, sub, depth, false, next_alias,
                )?);
            }
            SelectItem::Spread {
                relation,
                hint,
                join_type,
                children: sub,
            } => {
                let embed = Embed {
                    relation,
                    alias: None,
                    hint: hint.as_deref(),
                    join_type: *join_type,
                };
                let child = embed_node(cache, settings, table, embed, sub, depth, true, next_alias)?;
                if !is_to_one(child.node.rel_to_parent.as_ref()) {
                    check_to_many_spread(settings, &child)?;
                }
                children.push(child);
            }
        }
    }
    let tree = ReadPlanTree { node, children };
    check_aggregates(&tree)?;
    Ok(tree)
}

/// An embed as written in `select=`.
struct Embed<'a> {
    relation: &'a str,
    alias: Option<&'a str>,
    hint: Option<&'a str>,
    join_type: Option<crate::api_request::JoinType>,
}

#[allow(clippy::too_many_arguments)]
fn embed_node(
    cache: &SchemaCache,
    settings: &Settings,
    parent: &Table,
    embed: Embed<'_>,
    items: &[SelectItem],
    depth: usize,
    spread: bool,
    next_alias: &mut usize,
) -> ApiResult<ReadPlanTree> {
    let rel = resolve_relationship(cache, parent, embed.relation, embed.hint)?;
    let target = cache
        .table(foreign_table(&rel))
        .ok_or_else(|| no_relationship(parent, embed.relation))?;
    let at = RootOrEmbed::Embed {
        name: embed.relation,
        alias: embed.alias,
        rel: Box::new(rel),
        join_type: embed.join_type,
        depth: depth + 1,
    };
    let mut child = build_node(cache, settings, target, items, at, next_alias)?;
    child.node.spread = spread;
    if spread {
        // A spread names its keys itself (to-many spreads aggregate each one), so `*` becomes
        // the columns it stands for.
        child.node.select = expand_star(target, std::mem::take(&mut child.node.select));
    }
    Ok(child)
}

fn foreign_table(rel: &Relationship) -> &QualifiedIdentifier {
    match rel {
        Relationship::ForeignKey { foreign_table, .. } | Relationship::Computed { foreign_table, .. } => {
            foreign_table
        }
    }
}

fn no_relationship(table: &Table, relation: &str) -> ApiError {
    ApiError::new(
        400,
        "PGRST200",
        format!(
            "Could not find a relationship between '{}' and '{relation}' in the schema cache",
            table.name
        ),
    )
}

fn resolve_aggregate(
    table: &Table,
    function: AggregateFunction,
    field: &Field,
    input_cast: &Option<String>,
    cast: &Option<String>,
    alias: &Option<String>,
) -> ApiResult<AggregateField> {
    let name = match function {
        AggregateFunction::Sum => "sum",
        AggregateFunction::Avg => "avg",
        AggregateFunction::Max => "max",
        AggregateFunction::Min => "min",
        AggregateFunction::Count => "count",
    };
    Ok(AggregateField {
        function,
        field: (!field.name.is_empty()).then(|| field.clone()),
        input_cast: input_cast.as_deref().map(checked_cast).transpose()?,
        cast: cast.as_deref().map(checked_cast).transpose()?,
        alias: alias.clone().unwrap_or_else(|| name.to_owned()),
        needs_to_jsonb: needs_to_jsonb(table, field),
    })
}

/// `*` as the relation's columns, in order.
fn expand_star(table: &Table, select: Vec<SelectField>) -> Vec<SelectField> {
    select
        .into_iter()
        .flat_map(|item| match item {
            SelectField::Star => table
                .columns
                .iter()
                .map(|c| SelectField::Column {
                    field: Field {
                        name: c.name.clone(),
                        json_path: Vec::new(),
                    },
                    cast: None,
                    alias: None,
                    needs_to_jsonb: false,
                })
                .collect(),
            other => vec![other],
        })
        .collect()
}

/// A to-many spread aggregates each column into an array: PostgREST allows it only where
/// aggregates are enabled, and not with aggregate functions of its own (at any spread level).
fn check_to_many_spread(settings: &Settings, spread: &ReadPlanTree) -> ApiResult<()> {
    if !settings.db_aggregates_enabled {
        return Err(ApiError::new(
            400,
            "PGRST123",
            "Use of aggregate functions is not allowed",
        ));
    }
    fn has_aggregate(tree: &ReadPlanTree) -> bool {
        tree.node
            .select
            .iter()
            .any(|s| matches!(s, SelectField::Aggregate(_)))
            || tree.children.iter().any(|c| c.node.spread && has_aggregate(c))
    }
    if has_aggregate(spread) {
        return Err(ApiError::new(400, "PGRST127", "Feature not implemented")
            .details("Aggregates are not implemented for one-to-many or many-to-many spreads."));
    }
    Ok(())
}

/// Aggregates group by the level's other columns; `*` and embeds beside them are not built yet.
fn check_aggregates(tree: &ReadPlanTree) -> ApiResult<()> {
    let node = &tree.node;
    if node.select.iter().any(|s| matches!(s, SelectField::Aggregate(_)))
        && (node.select.contains(&SelectField::Star) || tree.children.iter().any(|c| !c.node.hidden))
    {
        return Err(ApiError::new(400, "PGRST127", "Feature not implemented")
            .details("Aggregates together with '*' or embedded resources are not implemented yet"));
    }
    Ok(())
}

/// True when a JSON path on this column must go through `to_jsonb` (arrays, composites).
fn needs_to_jsonb(table: &Table, field: &Field) -> bool {
    !field.json_path.is_empty()
        && table
            .column(&field.name)
            .is_some_and(|c| c.data_type != "json" && c.data_type != "jsonb")
}

fn resolve_select_field(
    table: &Table,
    field: &Field,
    cast: Option<&str>,
    alias: Option<&str>,
) -> ApiResult<SelectField> {
    if field.name == "*" && field.json_path.is_empty() {
        return Ok(SelectField::Star);
    }
    let cast = cast.map(checked_cast).transpose()?;
    let alias = alias
        .map(str::to_owned)
        .or_else(|| derived_alias(field, cast.is_some()));
    Ok(SelectField::Column {
        field: field.clone(),
        cast,
        alias,
        needs_to_jsonb: needs_to_jsonb(table, field),
    })
}

/// A cast type name that may go into SQL (see [`sql::type_name`]).
fn checked_cast(c: &str) -> ApiResult<String> {
    sql::type_name(c).map(str::to_owned).ok_or_else(|| {
        ApiError::new(
            400,
            "PGRST100",
            format!("\"failed to parse select parameter ({c})\""),
        )
    })
}

/// PostgREST names `data->a->>b` after its last key (`b`), an index step after the last key before it
/// (or the column), and a cast column after the column itself.
fn derived_alias(field: &Field, has_cast: bool) -> Option<String> {
    use crate::api_request::{JsonOperand, JsonOperation};
    fn key_of(op: &JsonOperation) -> Option<&String> {
        match op {
            JsonOperation::Arrow(JsonOperand::Key(k)) | JsonOperation::DoubleArrow(JsonOperand::Key(k)) => {
                Some(k)
            }
            _ => None,
        }
    }
    match field.json_path.last() {
        None => has_cast.then(|| field.name.clone()),
        Some(last) => Some(
            key_of(last)
                .or_else(|| field.json_path.iter().rev().find_map(key_of))
                .unwrap_or(&field.name)
                .clone(),
        ),
    }
}

/// Walk `path` (embed output names) down from the root; 400 PGRST108 when a step is not embedded.
/// With `url-use-legacy-target-names` an aliased embed can still be addressed by its relation name
/// (the node records it, for the deprecation `Warning`); without it that is PGRST108 with a hint.
fn find_node<'t>(
    tree: &'t mut ReadPlanTree,
    path: &EmbedPath,
    settings: &Settings,
) -> ApiResult<&'t mut ReadPlanTree> {
    let mut node = tree;
    for step in path {
        let by_alias = node.children.iter().position(|c| c.node.output_name() == step);
        let by_name = || {
            node.children
                .iter()
                .position(|c| c.node.rel_alias.is_some() && c.node.rel_name == *step)
        };
        let idx = match (by_alias, by_name()) {
            (Some(i), _) => i,
            (None, Some(i)) if settings.url_use_legacy_target_names => {
                node.children[i].node.legacy_name_match = true;
                i
            }
            (None, Some(i)) => {
                let alias = node.children[i].node.output_name().to_owned();
                return Err(not_embedded(step)
                    .details("Target names are not allowed in filters if they have an alias")
                    .hint(format!(
                        "Change '{step}' to '{alias}' in filters, orders or limits."
                    )));
            }
            (None, None) => return Err(not_embedded(step)),
        };
        node = &mut node.children[idx];
    }
    Ok(node)
}

/// The `Warning` PostgREST sends when an aliased embed was addressed by its relation name.
pub fn legacy_warning(tree: &ReadPlanTree) -> Option<String> {
    fn collect(tree: &ReadPlanTree, out: &mut Vec<String>) {
        for child in &tree.children {
            if child.node.legacy_name_match {
                out.push(format!(
                    "`{}` to `{}`",
                    child.node.rel_name,
                    child.node.output_name()
                ));
            }
            collect(child, out);
        }
    }
    let mut pairs = Vec::new();
    collect(tree, &mut pairs);
    (!pairs.is_empty()).then(|| {
        format!(
            "299 restpg/{} \"Embedded resource was referenced by relation name even though it has an alias. \
             This is deprecated and will stop working in a future release. Update {} in query string filters, \
             orders or limits.\"",
            env!("CARGO_PKG_VERSION"),
            pairs.join(", ")
        )
    })
}

pub(crate) fn not_embedded(name: &str) -> ApiError {
    ApiError::new(
        400,
        "PGRST108",
        format!("'{name}' is not an embedded resource in this request"),
    )
    .hint(format!(
        "Verify that '{name}' is included in the 'select' query parameter."
    ))
}

pub(crate) fn resolve_filter(
    cache: &SchemaCache,
    node: &ReadPlanTree,
    filter: &Filter,
) -> ApiResult<Condition> {
    let table = cache.table(&node.node.from);
    let is_column = table.is_some_and(|t| t.column(&filter.field.name).is_some());
    let embed = node
        .children
        .iter()
        .find(|c| c.node.output_name() == filter.field.name);
    if let (Some(embed), false, true) = (embed, is_column, filter.field.json_path.is_empty()) {
        let alias = embed.node.from_alias.clone().unwrap_or_default();
        return match filter.op.operation {
            Operation::Is(IsValue::Null) => Ok(Condition::NullEmbed {
                negated: filter.op.negated,
                alias,
            }),
            Operation::Is(IsValue::NotNull) => Ok(Condition::NullEmbed {
                negated: !filter.op.negated,
                alias,
            }),
            _ => Err(ApiError::new(
                400,
                "PGRST120",
                format!("Bad operator on the '{}' embedded resource", filter.field.name),
            )
            .details("Only is null or not is null filters are allowed on embedded resources")),
        };
    }
    let column = table.and_then(|t| t.column(&filter.field.name));
    Ok(Condition::Filter {
        filter: filter.clone(),
        tsvector: column.is_some_and(|c| c.data_type == "tsvector"),
        needs_to_jsonb: table.is_some_and(|t| needs_to_jsonb(t, &filter.field)),
    })
}

fn resolve_tree(cache: &SchemaCache, node: &ReadPlanTree, tree: &LogicTree) -> ApiResult<Condition> {
    Ok(match tree {
        LogicTree::Stmnt(f) => resolve_filter(cache, node, f)?,
        LogicTree::Related { path, filter } => {
            Condition::Related(Box::new(embed_condition::resolve(cache, node, path, filter)?))
        }
        LogicTree::Expr {
            negated,
            op,
            children,
        } => Condition::Tree {
            negated: *negated,
            op: *op,
            children: children
                .iter()
                .map(|c| resolve_tree(cache, node, c))
                .collect::<ApiResult<_>>()?,
        },
    })
}

fn resolve_order(
    cache: &SchemaCache,
    node: &ReadPlanTree,
    terms: &[ReqOrderTerm],
) -> ApiResult<Vec<OrderTerm>> {
    terms
        .iter()
        .map(|term| match term {
            ReqOrderTerm::Field {
                field,
                direction,
                nulls,
            } => Ok(OrderTerm {
                relation: None,
                needs_to_jsonb: cache
                    .table(&node.node.from)
                    .is_some_and(|t| needs_to_jsonb(t, field)),
                field: field.clone(),
                direction: *direction,
                nulls: *nulls,
            }),
            ReqOrderTerm::Relation {
                relation,
                field,
                direction,
                nulls,
            } => {
                let child = node
                    .children
                    .iter()
                    .find(|c| c.node.output_name() == relation)
                    .ok_or_else(|| not_embedded(relation))?;
                if !is_to_one(child.node.rel_to_parent.as_ref()) {
                    return Err(ApiError::new(
                        400,
                        "PGRST118",
                        format!("A related order on '{relation}' is not possible"),
                    )
                    .details(format!(
                        "'{}' and '{relation}' do not form a many-to-one or one-to-one relationship",
                        node.node.rel_name
                    )));
                }
                let rel = child
                    .node
                    .rel_to_parent
                    .clone()
                    .ok_or_else(|| not_embedded(relation))?;
                Ok(OrderTerm {
                    relation: Some(RelatedOrder {
                        from: child.node.from.clone(),
                        alias: format!("{}_o", child.node.from_alias.as_deref().unwrap_or("pgrst")),
                        rel,
                    }),
                    needs_to_jsonb: cache
                        .table(&child.node.from)
                        .is_some_and(|t| needs_to_jsonb(t, field)),
                    field: field.clone(),
                    direction: *direction,
                    nulls: *nulls,
                })
            }
        })
        .collect()
}

/// Many-to-one and one-to-one embeds are objects; the rest are arrays.
pub fn is_to_one(rel: Option<&Relationship>) -> bool {
    match rel {
        Some(Relationship::ForeignKey { cardinality, .. }) => {
            matches!(cardinality, Cardinality::M2O { .. } | Cardinality::O2O { .. })
        }
        Some(Relationship::Computed { single_row, .. }) => *single_row,
        None => false,
    }
}
