//! Routines (RPC) and computed relationships from the `routines` part of the document.

use super::document::DocRoutine;
use super::types::{QualifiedIdentifier, Relationship, ReturnType, Routine, RoutineParam, Volatility};

/// Relation kinds whose row type makes a parameter or result "a table row".
const RELATION_KINDS: [&str; 5] = ["r", "p", "v", "m", "f"];

/// The routine callable through `/rpc/`, or None for what PostgREST does not expose there:
/// procedures, trigger functions, and functions with unnamed parameters (except a single unnamed
/// `json`/`jsonb`/`text`/`xml`/`bytea` one, which receives the whole body).
pub fn routine(doc: &DocRoutine) -> Option<Routine> {
    if doc.kind != "f" || (doc.return_type.schema == "pg_catalog" && doc.return_type.name == "trigger") {
        return None;
    }
    let unnamed: Vec<_> = doc.params.iter().filter(|p| p.name.is_empty()).collect();
    let callable = match unnamed.as_slice() {
        [] => true,
        [only] => {
            doc.params.len() == 1
                && ["json", "jsonb", "text", "xml", "bytea"].contains(&only.data_type.as_str())
        }
        _ => false,
    };
    if !callable {
        return None;
    }
    let rt = &doc.return_type;
    let returns = if rt.type_kind == "c" {
        let is_table = rt
            .relation_kind
            .as_deref()
            .is_some_and(|k| RELATION_KINDS.contains(&k));
        ReturnType::Composite {
            qi: QualifiedIdentifier::new(&rt.schema, &rt.name),
            is_table,
        }
    } else if doc.out_params {
        // OUT/INOUT/TABLE parameters: an anonymous record with those columns.
        ReturnType::Composite {
            qi: QualifiedIdentifier::new(&rt.schema, &rt.name),
            is_table: false,
        }
    } else {
        ReturnType::Scalar(rt.data_type.clone())
    };
    Some(Routine {
        schema: doc.schema.clone(),
        name: doc.name.clone(),
        description: doc.description.clone(),
        params: doc
            .params
            .iter()
            .map(|p| RoutineParam {
                name: p.name.clone(),
                data_type: p.data_type.clone(),
                required: !p.has_default,
                variadic: p.variadic,
            })
            .collect(),
        returns,
        returns_set: doc.returns_set,
        returns_void: rt.schema == "pg_catalog" && rt.name == "void",
        volatility: match doc.volatility.as_str() {
            "i" => Volatility::Immutable,
            "s" => Volatility::Stable,
            _ => Volatility::Volatile,
        },
        has_variadic: doc.has_variadic,
        settings: doc
            .settings
            .iter()
            .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
            .collect(),
    })
}

/// `create function rel(t) returns [setof] other`: a function taking exactly one parameter of a table's
/// row type and returning rows of a table. Single row unless set-returning with an estimate other than
/// `ROWS 1`.
pub fn computed_relationship(doc: &DocRoutine) -> Option<Relationship> {
    let [param] = doc.params.as_slice() else {
        return None;
    };
    let table = param
        .relation
        .as_ref()
        .filter(|r| RELATION_KINDS.contains(&r.kind.as_str()))?;
    let rt = &doc.return_type;
    if rt.type_kind != "c"
        || !rt
            .relation_kind
            .as_deref()
            .is_some_and(|k| RELATION_KINDS.contains(&k))
    {
        return None;
    }
    Some(Relationship::Computed {
        function: QualifiedIdentifier::new(&doc.schema, &doc.name),
        table: QualifiedIdentifier::new(&table.schema, &table.name),
        foreign_table: QualifiedIdentifier::new(&rt.schema, &rt.name),
        single_row: !doc.returns_set || doc.rows == 1.0,
    })
}
