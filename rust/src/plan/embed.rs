//! Pick the relationship an embed (`select=rel!hint(...)`) refers to (PostgREST's `findRel`):
//! relationships from the parent to a relation of that name, narrowed by the hint; none is 400
//! PGRST200, several is 300 PGRST201 listing the candidates.

use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::schema_cache::suggest::best_match;
use crate::schema_cache::{Cardinality, Relationship, SchemaCache, Table};

pub fn resolve_relationship(
    cache: &SchemaCache,
    parent: &Table,
    target: &str,
    hint: Option<&str>,
) -> ApiResult<Relationship> {
    let candidates: Vec<&Relationship> = cache
        .relationships(&parent.qi())
        .iter()
        .filter(|rel| matches(rel, &parent.schema, target, hint))
        .collect();
    match candidates.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(not_found(cache, parent, target, hint)),
        many => Err(ambiguous(parent, target, many)),
    }
}

/// PostgREST's `findRel` rules. The target is the related table's name (or, without a hint and for
/// tables only, the FK constraint or the FK's single column); a hint narrows it to a constraint, a
/// single FK column of either side, or the junction of a many-to-many. A self-reference has one FK but
/// two relationships: the table name (with the referenced column as hint) picks the one-to-many,
/// the FK column as target picks the many-to-one.
fn matches(rel: &Relationship, schema: &str, target: &str, hint: Option<&str>) -> bool {
    let (foreign_table, is_self, cardinality, foreign_is_view) = match rel {
        Relationship::Computed { function, .. } => return function.name == target,
        Relationship::ForeignKey {
            foreign_table,
            is_self,
            cardinality,
            foreign_table_is_view,
            ..
        } => (foreign_table, *is_self, cardinality, *foreign_table_is_view),
    };
    if foreign_table.schema != schema {
        return false;
    }
    let names_table = foreign_table.name == target;
    let (constraint, single) = match cardinality {
        Cardinality::O2M { constraint, columns }
        | Cardinality::M2O { constraint, columns }
        | Cardinality::O2O {
            constraint, columns, ..
        } => (
            Some(constraint.as_str()),
            if columns.len() == 1 { columns.first() } else { None },
        ),
        Cardinality::M2M(_) => (None, None),
    };
    let own_column = |name: &str| single.is_some_and(|(own, _)| own == name);
    let referenced_column = |name: &str| single.is_some_and(|(_, other)| other == name);
    let is_o2m = matches!(cardinality, Cardinality::O2M { .. });
    let is_m2o = matches!(cardinality, Cardinality::M2O { .. });
    match (is_self, hint) {
        (true, None) => (names_table && is_o2m) || (own_column(target) && is_m2o),
        (true, Some(h)) => names_table && is_o2m && referenced_column(h),
        (false, None) => {
            names_table || (!foreign_is_view && (constraint == Some(target) || own_column(target)))
        }
        (false, Some(h)) => {
            let junction = matches!(cardinality, Cardinality::M2M(j) if j.table.name == h);
            names_table && (constraint == Some(h) || own_column(h) || referenced_column(h) || junction)
        }
    }
}

fn not_found(cache: &SchemaCache, parent: &Table, target: &str, hint: Option<&str>) -> ApiError {
    let using = hint.map(|h| format!("' using the hint '{h}")).unwrap_or_default();
    ApiError::new(
        400,
        "PGRST200",
        format!(
            "Could not find a relationship between '{}' and '{target}' in the schema cache",
            parent.name
        ),
    )
    .details(format!(
        "Searched for a foreign key relationship between '{}' and '{target}{using}' in the schema '{}', but no matches were found.",
        parent.name, parent.schema
    ))
    .hint(no_relationship_hint(cache, parent, target))
}

/// PostgREST's suggestion: when the parent has relationships, the closest other name it can embed;
/// otherwise the closest table of the schema that has any (the parent was probably misspelled).
fn no_relationship_hint(cache: &SchemaCache, parent: &Table, target: &str) -> Option<String> {
    let rels = cache.relationships(&parent.qi());
    if rels.is_empty() {
        let parents = cache
            .tables()
            .filter(|t| t.schema == parent.schema && t.name != parent.name)
            .filter(|t| !cache.relationships(&t.qi()).is_empty())
            .map(|t| (t.name.as_str(), t.name.as_str()));
        return best_match(&parent.name, parents)
            .map(|name| format!("Perhaps you meant '{name}' instead of '{}'.", parent.name));
    }
    let children = rels
        .iter()
        .map(embedded_name)
        .filter(|name| !name.eq_ignore_ascii_case(target))
        .map(|name| (name, name));
    best_match(target, children).map(|name| format!("Perhaps you meant '{name}' instead of '{target}'."))
}

/// The name a relationship is embedded by: the related table, or the computed relationship's function.
fn embedded_name(rel: &Relationship) -> &str {
    match rel {
        Relationship::ForeignKey { foreign_table, .. } => &foreign_table.name,
        Relationship::Computed { function, .. } => &function.name,
    }
}

fn ambiguous(parent: &Table, target: &str, many: &[&Relationship]) -> ApiError {
    let details: Vec<Value> = many.iter().map(|rel| describe(rel)).collect();
    let options: Vec<String> = many
        .iter()
        .map(|rel| format!("'{}!{}'", embedded_name(rel), hint_name(rel)))
        .collect();
    ApiError::new(
        300,
        "PGRST201",
        format!("Could not embed because more than one relationship was found for '{}' and '{target}'", parent.name),
    )
    .details(details)
    .hint(format!(
        "Try changing '{target}' to one of the following: {}. Find the desired relationship in the 'details' key.",
        options.join(", ")
    ))
}

fn hint_name(rel: &Relationship) -> String {
    match rel {
        Relationship::ForeignKey { cardinality, .. } => match cardinality {
            Cardinality::O2M { constraint, .. }
            | Cardinality::M2O { constraint, .. }
            | Cardinality::O2O { constraint, .. } => constraint.clone(),
            Cardinality::M2M(j) => j.table.name.clone(),
        },
        Relationship::Computed { function, .. } => function.name.clone(),
    }
}

/// One entry of PGRST201's `details`: `{cardinality, embedding, relationship}`.
fn describe(rel: &Relationship) -> Value {
    let Relationship::ForeignKey {
        table,
        foreign_table,
        cardinality,
        ..
    } = rel
    else {
        // Two computed relationships cannot share a name, so they are never ambiguous.
        return json!({});
    };
    let list = |cols: Vec<&String>| {
        format!(
            "({})",
            cols.into_iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let embedding = format!("{} with {}", table.name, foreign_table.name);
    let (name, constraint, columns) = match cardinality {
        Cardinality::M2O { constraint, columns } => ("many-to-one", constraint, columns),
        Cardinality::O2M { constraint, columns } => ("one-to-many", constraint, columns),
        Cardinality::O2O {
            constraint, columns, ..
        } => ("one-to-one", constraint, columns),
        Cardinality::M2M(j) => {
            return json!({
                "cardinality": "many-to-many",
                "embedding": embedding,
                "relationship": format!(
                    "{} using {}{} and {}{}",
                    j.table.name,
                    j.constraint_source,
                    list(j.cols_source.iter().map(|(_, jc)| jc).collect()),
                    j.constraint_target,
                    list(j.cols_target.iter().map(|(_, jc)| jc).collect()),
                ),
            })
        }
    };
    json!({
        "cardinality": name,
        "embedding": embedding,
        "relationship": format!(
            "{constraint} using {}{} and {}{}",
            table.name,
            list(columns.iter().map(|(own, _)| own).collect()),
            foreign_table.name,
            list(columns.iter().map(|(_, other)| other).collect()),
        ),
    })
}
