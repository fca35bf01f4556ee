//! The introspection document as the SQL in `python/restpg/schema/queries/` builds it
//! (see `docs/schema-cache.md`). Only deserialized here; `SchemaCache::from_document` turns it into
//! the model of `types.rs`.

use serde::Deserialize;

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
