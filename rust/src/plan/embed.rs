//! Pick the relationship an embed (`select=rel!hint(...)`) refers to (PostgREST's `findRel`):
//! relationships from the parent to a relation of that name, narrowed by the hint; none is 400
//! PGRST200, several is 300 PGRST201 listing the candidates.

use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
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
        [] => Err(not_found(parent, target, hint)),
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

fn not_found(parent: &Table, target: &str, hint: Option<&str>) -> ApiError {
    let details = match hint {
        Some(h) => format!(
            "Searched for a foreign key relationship between '{}' and '{target}' using the hint '{h}' in the schema '{}', but no matches were found.",
            parent.name, parent.schema
        ),
        None => format!(
            "Searched for a foreign key relationship between '{}' and '{target}' in the schema '{}', but no matches were found.",
            parent.name, parent.schema
        ),
    };
    ApiError::new(
        400,
        "PGRST200",
        format!(
            "Could not find a relationship between '{}' and '{target}' in the schema cache",
            parent.name
        ),
    )
    .details(details)
}

fn ambiguous(parent: &Table, target: &str, many: &[&Relationship]) -> ApiError {
    let details: Vec<Value> = many.iter().map(|rel| describe(parent, target, rel)).collect();
    let options: Vec<String> = many
        .iter()
        .map(|rel| format!("'{target}!{}'", hint_name(rel)))
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

fn describe(parent: &Table, target: &str, rel: &Relationship) -> Value {
    let Relationship::ForeignKey { cardinality, .. } = rel else {
        return json!({"cardinality": "computed", "embedding": format!("{} with {target}", parent.name)});
    };
    let cols = |pairs: &[(String, String)], left: bool| -> String {
        pairs
            .iter()
            .map(|(a, b)| if left { a.as_str() } else { b.as_str() })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (name, relationship) = match cardinality {
        Cardinality::M2O { constraint, columns } => ("many-to-one", (constraint, columns)),
        Cardinality::O2M { constraint, columns } => ("one-to-many", (constraint, columns)),
        Cardinality::O2O {
            constraint, columns, ..
        } => ("one-to-one", (constraint, columns)),
        Cardinality::M2M(j) => {
            return json!({
                "cardinality": "many-to-many",
                "embedding": format!("{} with {target}", parent.name),
                "relationship": format!("{} using {}, {}", j.table, j.constraint_source, j.constraint_target),
            })
        }
    };
    let (constraint, columns) = relationship;
    json!({
        "cardinality": name,
        "embedding": format!("{} with {target}", parent.name),
        "relationship": format!(
            "{constraint} using {}({}) and {target}({})",
            parent.name,
            cols(columns, true),
            cols(columns, false)
        ),
    })
}
