//! The introspection document as the SQL in `python/restpg/schema/queries/` builds it
//! (see `docs/schema-cache.md`). Only deserialized here; `SchemaCache::from_document` turns it into
//! the model of `types.rs`.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// `{"keys": …, "routines": …, "tables": …}`: one key per query file (its stem).
#[derive(Debug, Deserialize)]
pub struct Document {
    pub tables: Vec<DocTable>,
    pub keys: DocKeys,
    pub routines: Vec<DocRoutine>,
}

#[derive(Debug, Deserialize)]
pub struct DocTable {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    /// `pg_class.relkind`: `r` table, `p` partitioned table, `v` view, `m` materialized view,
    /// `f` foreign table.
    pub kind: String,
    pub description: Option<String>,
    pub insertable: bool,
    pub updatable: bool,
    pub deletable: bool,
    /// In attnum order.
    #[serde(deserialize_with = "columns_from_arrays")]
    pub columns: Vec<DocColumn>,
}

#[derive(Debug, Deserialize)]
pub struct DocColumn {
    pub name: String,
    pub description: Option<String>,
    pub nullable: bool,
    pub data_type: String,
    pub nominal_type: String,
    pub max_len: Option<i32>,
    pub default: Option<String>,
    pub enum_values: Vec<String>,
    pub generated: bool,
}

/// A table's columns as `tables.sql` sends them: one array per field, each column at the same index in
/// every array, in no particular order (its `attnum` orders it); null for a relation without columns.
#[derive(Deserialize)]
struct ColumnArrays {
    attnum: Vec<i16>,
    name: Vec<String>,
    description: Vec<Option<String>>,
    nullable: Vec<bool>,
    data_type: Vec<String>,
    nominal_type: Vec<String>,
    max_len: Vec<Option<i32>>,
    default: Vec<Option<String>>,
    enum_values: Vec<Vec<String>>,
    generated: Vec<bool>,
}

fn columns_from_arrays<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<DocColumn>, D::Error> {
    let Some(arrays) = Option::<ColumnArrays>::deserialize(deserializer)? else {
        return Ok(Vec::new());
    };
    let count = arrays.attnum.len();
    let lengths = [
        arrays.name.len(),
        arrays.description.len(),
        arrays.nullable.len(),
        arrays.data_type.len(),
        arrays.nominal_type.len(),
        arrays.max_len.len(),
        arrays.default.len(),
        arrays.enum_values.len(),
        arrays.generated.len(),
    ];
    if lengths.iter().any(|&length| length != count) {
        return Err(D::Error::custom("a table's column arrays differ in length"));
    }
    let mut name = arrays.name.into_iter();
    let mut description = arrays.description.into_iter();
    let mut nullable = arrays.nullable.into_iter();
    let mut data_type = arrays.data_type.into_iter();
    let mut nominal_type = arrays.nominal_type.into_iter();
    let mut max_len = arrays.max_len.into_iter();
    let mut default = arrays.default.into_iter();
    let mut enum_values = arrays.enum_values.into_iter();
    let mut generated = arrays.generated.into_iter();
    let mut columns: Vec<(i16, DocColumn)> = arrays
        .attnum
        .into_iter()
        .zip(std::iter::from_fn(|| {
            Some(DocColumn {
                name: name.next()?,
                description: description.next()?,
                nullable: nullable.next()?,
                data_type: data_type.next()?,
                nominal_type: nominal_type.next()?,
                max_len: max_len.next()?,
                default: default.next()?,
                enum_values: enum_values.next()?,
                generated: generated.next()?,
            })
        }))
        .collect();
    columns.sort_unstable_by_key(|(attnum, _)| *attnum);
    Ok(columns.into_iter().map(|(_, column)| column).collect())
}

#[derive(Debug, Deserialize)]
pub struct DocKeys {
    pub constraints: Vec<DocConstraint>,
    pub views: Vec<DocView>,
}

/// A primary key (`p`), unique (`u`) or foreign key (`f`) constraint.
#[derive(Debug, Deserialize)]
pub struct DocConstraint {
    pub name: String,
    #[serde(rename = "type")]
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

impl Document {
    pub fn parse(doc: &[u8]) -> Result<Document, String> {
        serde_json::from_slice(doc).map_err(|e| format!("invalid schema cache document: {e}"))
    }
}
