//! The introspection document as the SQL in `python/restpg/schema/queries/` builds it
//! (see `docs/schema-cache.md`). Only deserialized here; `SchemaCache::from_document` turns it into
//! the model of `types.rs`.

use super::fast_hash::HashMap;
use std::panic::resume_unwind;
use std::thread;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// Defines `$item`, a list the queries send as one array per field (`{"field": [...], ...}`), every item at
/// the same index in each array, or null for none: arrays of scalars cost PostgreSQL a fraction of one JSON
/// object per item (see docs/schema-cache.md). `$read` deserializes such a value into `Vec<$item>`, in
/// array order.
macro_rules! from_arrays {
    ($read:ident: $(#[$meta:meta])* $vis:vis struct $item:ident {
        $($(#[$field_meta:meta])* $field_vis:vis $field:ident: $ty:ty),* $(,)?
    }) => {
        $(#[$meta])*
        $vis struct $item {
            $($(#[$field_meta])* $field_vis $field: $ty,)*
        }

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

/// The document, every key constraint's columns named (see [`Document::parse`]).
#[derive(Debug)]
pub struct Document {
    pub tables: Vec<DocTable>,
    pub keys: DocKeys,
    pub routines: Vec<DocRoutine>,
    pub descriptions: Vec<DocDescription>,
}

/// The document's parts: each query file's result (its JSON, as PostgreSQL wrote it), under the file's stem.
/// Parsed apart, the two largest side by side (see [`Document::parse`]).
#[derive(Clone, Copy, Debug)]
pub struct DocumentParts<'a> {
    pub tables: &'a [u8],
    pub columns: &'a [u8],
    pub keys: &'a [u8],
    pub routines: &'a [u8],
    pub descriptions: &'a [u8],
}

impl<'a> DocumentParts<'a> {
    /// The parts by name (a name no part has is ignored, as a key of a whole document would be); each part
    /// must be there.
    pub fn from_named(named: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Result<Self, String> {
        let (mut tables, mut columns, mut keys, mut routines, mut descriptions) =
            (None, None, None, None, None);
        for (name, json) in named {
            match name {
                "tables" => tables = Some(json),
                "columns" => columns = Some(json),
                "keys" => keys = Some(json),
                "routines" => routines = Some(json),
                "descriptions" => descriptions = Some(json),
                _ => {}
            }
        }
        let missing = |name: &str| invalid(format!("no part `{name}`"));
        Ok(DocumentParts {
            tables: tables.ok_or_else(|| missing("tables"))?,
            columns: columns.ok_or_else(|| missing("columns"))?,
            keys: keys.ok_or_else(|| missing("keys"))?,
            routines: routines.ok_or_else(|| missing("routines"))?,
            descriptions: descriptions.ok_or_else(|| missing("descriptions"))?,
        })
    }

    /// The parts of a whole document, `{"columns": …, "descriptions": …, "keys": …, "routines": …,
    /// "tables": …}`, borrowed from it (checked to be JSON, not yet parsed).
    pub fn split(document: &'a [u8]) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Whole<'a> {
            #[serde(borrow)]
            tables: &'a RawValue,
            #[serde(borrow)]
            columns: &'a RawValue,
            #[serde(borrow)]
            keys: &'a RawValue,
            #[serde(borrow)]
            routines: &'a RawValue,
            #[serde(borrow)]
            descriptions: &'a RawValue,
        }
        let whole: Whole<'a> = serde_json::from_slice(document).map_err(|e| invalid(e.to_string()))?;
        Ok(DocumentParts {
            tables: whole.tables.get().as_bytes(),
            columns: whole.columns.get().as_bytes(),
            keys: whole.keys.get().as_bytes(),
            routines: whole.routines.get().as_bytes(),
            descriptions: whole.descriptions.get().as_bytes(),
        })
    }
}

/// The parts other than `columns`, as sent.
struct SentOthers {
    tables: Vec<DocTable>,
    keys: SentKeys,
    routines: Vec<DocRoutine>,
    descriptions: Vec<DocDescription>,
}

impl SentOthers {
    fn parse(parts: &DocumentParts<'_>) -> Result<Self, String> {
        Ok(SentOthers {
            tables: parse_part("tables", parts.tables)?,
            keys: parse_part("keys", parts.keys)?,
            routines: parse_part("routines", parts.routines)?,
            descriptions: parse_part::<SentDescriptions>("descriptions", parts.descriptions)?.0,
        })
    }
}

#[derive(Deserialize)]
#[serde(transparent)]
struct SentDescriptions(#[serde(deserialize_with = "descriptions")] Vec<DocDescription>);

/// columns.sql's value: the columns of every relation as one set of arrays (see the query for why), each
/// column naming its relation.
#[derive(Deserialize)]
#[serde(transparent)]
struct SentColumns(#[serde(deserialize_with = "columns")] Vec<DocColumn>);

fn parse_part<'de, T: Deserialize<'de>>(name: &str, json: &'de [u8]) -> Result<T, String> {
    serde_json::from_slice(json).map_err(|e| invalid(format!("{name}: {e}")))
}

fn invalid(error: String) -> String {
    format!("invalid schema cache document: {error}")
}

from_arrays!(descriptions:
    /// A comment on a relation of `tables` (`attnum` 0) or on one of its columns (`descriptions.sql`, a query
    /// of its own so that a reload after a `COMMENT` runs it alone).
    #[derive(Debug)]
    pub struct DocDescription {
        pub oid: u32,
        pub attnum: i16,
        pub description: String,
    }
);

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
    /// In attnum order. Sent apart from the relations (`SentColumns`).
    #[serde(skip)]
    pub columns: Vec<DocColumn>,
}

from_arrays!(columns:
    #[derive(Debug)]
    pub struct DocColumn {
        /// The relation's oid.
        pub rel: u32,
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
);

#[derive(Debug)]
pub struct DocKeys {
    /// Sorted by schema, table and name.
    pub constraints: Vec<DocConstraint>,
    pub views: Vec<DocView>,
}

#[derive(Deserialize)]
struct SentKeys {
    #[serde(deserialize_with = "constraints")]
    constraints: Vec<SentConstraint>,
    views: Vec<DocView>,
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

from_arrays!(constraints:
    /// A constraint as keys.sql sends it: without the column names of a relation that `tables` lists (they
    /// come from its columns there; looking them up cost the query ~40% of its time).
    struct SentConstraint {
        name: String,
        kind: String,
        rel: u32,
        schema: String,
        table: String,
        columns: Option<Vec<String>>,
        attnums: Vec<i16>,
        foreign_rel: Option<u32>,
        foreign_schema: Option<String>,
        foreign_table: Option<String>,
        foreign_columns: Option<Vec<String>>,
        foreign_attnums: Option<Vec<i16>>,
    }
);

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
    pub oid: u32,
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
    /// Parses `columns` on this thread while another parses the other parts: two halves of the document
    /// (5.5 and 6.0 of its 11.5 MB at 10,000 tables), together half of a cache's build, on two cores.
    /// (A thread that cannot be started leaves the other parts to this one.)
    pub fn parse(parts: DocumentParts<'_>) -> Result<Document, String> {
        let (columns, others) = thread::scope(|scope| {
            let others = thread::Builder::new()
                .name("restpg-parse".into())
                .spawn_scoped(scope, || SentOthers::parse(&parts));
            let columns = parse_part::<SentColumns>("columns", parts.columns);
            let others = match others {
                Ok(handle) => handle.join().unwrap_or_else(|panic| resume_unwind(panic)),
                Err(_) => SentOthers::parse(&parts),
            };
            (columns, others)
        });
        let (columns, others) = (columns?.0, others?);
        let mut tables = others.tables;
        let at: HashMap<u32, usize> = tables
            .iter()
            .enumerate()
            .map(|(i, table)| (table.oid, i))
            .collect();
        add_columns(&mut tables, &at, columns).map_err(invalid)?;
        let constraints = named_constraints(others.keys.constraints, &tables, &at).map_err(invalid)?;
        // In routines.sql's order, which a reload's merge does not keep (see `merge.rs`): the order of
        // overloads with as many parameters, and of computed relationships, follows it.
        let mut routines = others.routines;
        routines.sort_unstable_by(|a, b| (&a.schema, &a.name, a.oid).cmp(&(&b.schema, &b.name, b.oid)));
        Ok(Document {
            tables,
            keys: DocKeys {
                constraints,
                views: others.keys.views,
            },
            routines,
            descriptions: others.descriptions,
        })
    }
}

/// Gives each relation of `tables` (`at`: its index by oid) its columns, in attnum order.
fn add_columns(
    tables: &mut [DocTable],
    at: &HashMap<u32, usize>,
    columns: Vec<DocColumn>,
) -> Result<(), String> {
    for column in columns {
        let i = at
            .get(&column.rel)
            .ok_or_else(|| format!("column {} of an unlisted relation {}", column.name, column.rel))?;
        tables[*i].columns.push(column);
    }
    for table in tables {
        table.columns.sort_unstable_by_key(|column| column.attnum);
    }
    Ok(())
}

/// The constraints with every column named, in the order relationships are inferred in: a stable order of
/// the result (the hints of an ambiguous embedding list them in it).
/// `at`: the index of each relation of `tables` by oid.
fn named_constraints(
    sent: Vec<SentConstraint>,
    tables: &[DocTable],
    at: &HashMap<u32, usize>,
) -> Result<Vec<DocConstraint>, String> {
    let names = |rel: u32, attnums: &[i16], constraint: &str| -> Result<Vec<String>, String> {
        let table = at.get(&rel).map(|&i| &tables[i]).ok_or_else(|| {
            format!("constraint {constraint} has unnamed columns of an unlisted relation {rel}")
        })?;
        attnums
            .iter()
            .map(|attnum| {
                // The columns are in attnum order (add_columns).
                let at = table.columns.binary_search_by_key(attnum, |column| column.attnum);
                at.map(|i| table.columns[i].name.clone()).map_err(|_| {
                    format!("constraint {constraint} names column {attnum} that {rel} does not have")
                })
            })
            .collect()
    };
    let mut constraints = sent
        .into_iter()
        .map(|con| {
            let columns = match con.columns {
                Some(columns) => columns,
                None => names(con.rel, &con.attnums, &con.name)?,
            };
            let foreign_columns = match (con.foreign_columns, con.foreign_rel, &con.foreign_attnums) {
                (Some(columns), _, _) => Some(columns),
                (None, Some(rel), Some(attnums)) => Some(names(rel, attnums, &con.name)?),
                (None, _, _) => None,
            };
            Ok(DocConstraint {
                name: con.name,
                kind: con.kind,
                rel: con.rel,
                schema: con.schema,
                table: con.table,
                columns,
                attnums: con.attnums,
                foreign_rel: con.foreign_rel,
                foreign_schema: con.foreign_schema,
                foreign_table: con.foreign_table,
                foreign_columns,
                foreign_attnums: con.foreign_attnums,
            })
        })
        .collect::<Result<Vec<DocConstraint>, String>>()?;
    constraints.sort_unstable_by(|a, b| (&a.schema, &a.table, &a.name).cmp(&(&b.schema, &b.table, &b.name)));
    Ok(constraints)
}
