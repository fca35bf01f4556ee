//! The introspection document as the SQL in `python/restpg/schema/queries/` builds it
//! (see `docs/schema-cache.md`). Only deserialized here; `SchemaCache::from_document` turns it into
//! the model of `types.rs`.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// `{"descriptions": …, "keys": …, "routines": …, "tables": …}`: one key per query file (its stem).
#[derive(Debug, Deserialize)]
pub struct Document {
    pub tables: Vec<DocTable>,
    pub keys: DocKeys,
    pub routines: Vec<DocRoutine>,
    #[serde(deserialize_with = "descriptions")]
    pub descriptions: Vec<DocDescription>,
}

/// A comment on a relation of `tables` (`attnum` 0) or on one of its columns (`descriptions.sql`, a query
/// of its own so that a reload after a `COMMENT` runs it alone).
#[derive(Debug)]
pub struct DocDescription {
    pub oid: u32,
    pub attnum: i16,
    pub description: String,
}

#[derive(Debug, Deserialize)]
pub struct DocTable {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    /// `pg_class.relkind`: `r` table, `p` partitioned table, `v` view, `m` materialized view,
    /// `f` foreign table.
    pub kind: String,
    pub insertable: bool,
    pub updatable: bool,
    pub deletable: bool,
    /// In attnum order.
    #[serde(deserialize_with = "columns_in_order")]
    pub columns: Vec<DocColumn>,
}

#[derive(Debug)]
pub struct DocColumn {
    pub attnum: i16,
    pub name: String,
    pub nullable: bool,
    pub data_type: String,
    pub nominal_type: String,
    pub max_len: Option<i32>,
    pub default: Option<String>,
    pub enum_values: Vec<String>,
    pub generated: bool,
}

#[derive(Debug, Deserialize)]
pub struct DocKeys {
    /// Sorted by schema, table and name.
    #[serde(deserialize_with = "constraints_in_order")]
    pub constraints: Vec<DocConstraint>,
    pub views: Vec<DocView>,
}

/// A primary key (`p`), unique (`u`) or foreign key (`f`) constraint.
#[derive(Debug)]
pub struct DocConstraint {
    pub name: String,
    pub kind: String,
    pub rel: u32,
    pub schema: String,
    pub table: String,
    pub columns: Vec<String>,
    pub attnums: Vec<i16>,
    pub foreign_rel: Option<u32>,
    pub foreign_schema: Option<String>,
    pub foreign_table: Option<String>,
    pub foreign_columns: Option<Vec<String>>,
    pub foreign_attnums: Option<Vec<i16>>,
}

/// A view or materialized view and its `_RETURN` rule (`pg_rewrite.ev_action` as text).
#[derive(Debug, Deserialize)]
pub struct DocView {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    /// Column names in attnum order (views never have dropped columns).
    pub columns: Vec<String>,
    pub rule: String,
}

#[derive(Debug, Deserialize)]
pub struct DocRoutine {
    pub schema: String,
    pub name: String,
    /// `f` function, `p` procedure.
    pub kind: String,
    pub description: Option<String>,
    pub params: Vec<DocParam>,
    /// Has OUT, INOUT or TABLE parameters: the result is a record with those columns.
    pub out_params: bool,
    pub return_type: DocReturnType,
    pub returns_set: bool,
    /// `pg_proc.prorows` (`ROWS n`; 0 when not set-returning).
    pub rows: f64,
    /// `i`, `s` or `v`.
    pub volatility: String,
    pub has_variadic: bool,
    /// `pg_proc.proconfig`: `name=value` items.
    pub settings: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct DocParam {
    pub name: String,
    pub data_type: String,
    pub has_default: bool,
    pub variadic: bool,
    /// The table, view or composite type whose row type this parameter is.
    pub relation: Option<DocRelationRef>,
}

#[derive(Debug, Deserialize)]
pub struct DocRelationRef {
    pub schema: String,
    pub name: String,
    /// `relkind` of the relation (`c` for a standalone composite type).
    pub kind: String,
}

#[derive(Debug, Deserialize)]
pub struct DocReturnType {
    pub data_type: String,
    pub schema: String,
    pub name: String,
    /// `pg_type.typtype`: `b` base, `c` composite, `d` domain, `e` enum, `p` pseudo, `r` range.
    pub type_kind: String,
    /// `relkind` when the type is a row type (`c` for a standalone composite type).
    pub relation_kind: Option<String>,
}

/// A list the queries send as one array per field (`{"field": [...], ...}`), every item at the same index
/// in each array, or null for none: arrays of scalars cost PostgreSQL a fraction of one JSON object per
/// item (see docs/schema-cache.md). `$read` deserializes such a value into `Vec<$item>`, in array order.
macro_rules! from_arrays {
    ($read:ident -> $item:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        fn $read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<$item>, D::Error> {
            #[derive(Deserialize)]
            struct Arrays {
                $($field: Vec<$ty>,)*
            }
            let Some(arrays) = Option::<Arrays>::deserialize(deserializer)? else {
                return Ok(Vec::new());
            };
            let lengths = [$(arrays.$field.len()),*];
            if lengths.iter().any(|&length| length != lengths[0]) {
                return Err(D::Error::custom(concat!(
                    "the arrays of ",
                    stringify!($item),
                    " differ in length"
                )));
            }
            $(let mut $field = arrays.$field.into_iter();)*
            Ok(std::iter::from_fn(|| Some($item { $($field: $field.next()?,)* })).collect())
        }
    };
}

from_arrays!(columns -> DocColumn {
    attnum: i16,
    name: String,
    nullable: bool,
    data_type: String,
    nominal_type: String,
    max_len: Option<i32>,
    default: Option<String>,
    enum_values: Vec<String>,
    generated: bool,
});

from_arrays!(constraints -> DocConstraint {
    name: String,
    kind: String,
    rel: u32,
    schema: String,
    table: String,
    columns: Vec<String>,
    attnums: Vec<i16>,
    foreign_rel: Option<u32>,
    foreign_schema: Option<String>,
    foreign_table: Option<String>,
    foreign_columns: Option<Vec<String>>,
    foreign_attnums: Option<Vec<i16>>,
});

from_arrays!(descriptions -> DocDescription {
    oid: u32,
    attnum: i16,
    description: String,
});

fn columns_in_order<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<DocColumn>, D::Error> {
    let mut columns = columns(deserializer)?;
    columns.sort_unstable_by_key(|column| column.attnum);
    Ok(columns)
}

/// In the order relationships are inferred in: a stable order of the result (the hints of an ambiguous
/// embedding list them in it).
fn constraints_in_order<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<DocConstraint>, D::Error> {
    let mut constraints = constraints(deserializer)?;
    constraints.sort_unstable_by(|a, b| (&a.schema, &a.table, &a.name).cmp(&(&b.schema, &b.table, &b.name)));
    Ok(constraints)
}

impl Document {
    pub fn parse(doc: &[u8]) -> Result<Document, String> {
        serde_json::from_slice(doc).map_err(|e| format!("invalid schema cache document: {e}"))
    }
}
