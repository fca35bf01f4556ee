//! What the schema cache knows about the database: the model the plan stage resolves requests against.
//!
//! Names follow PostgREST's `SchemaCache/{Table,Relationship,Routine}.hs`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `schema.name`
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QualifiedIdentifier {
    pub schema: String,
    pub name: String,
}

impl QualifiedIdentifier {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        QualifiedIdentifier {
            schema: schema.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for QualifiedIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub description: Option<String>,
    pub nullable: bool,
    /// The formatted type as `format_type` shows it (`integer`, `character varying`, `text[]`).
    pub data_type: String,
    /// The type's own name without modifiers, schema-qualified when outside pg_catalog (`int4`, `public.mood`).
    pub nominal_type: String,
    pub max_len: Option<i32>,
    /// The default expression as PostgreSQL prints it.
    pub default: Option<String>,
    pub enum_values: Vec<String>,
    /// True for columns that `SELECT *` would not show (none today) or that cannot be written (generated).
    pub generated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub schema: String,
    pub name: String,
    pub description: Option<String>,
    /// Views, materialized views and foreign tables are "views" for PostgREST's purposes (no own keys).
    pub is_view: bool,
    pub insertable: bool,
    pub updatable: bool,
    pub deletable: bool,
    /// Primary key column names (for views: inferred from the base table's PK through key dependencies).
    pub pk_cols: Vec<String>,
    /// Columns in `attnum` order.
    pub columns: Vec<Column>,
}

impl Table {
    pub fn qi(&self) -> QualifiedIdentifier {
        QualifiedIdentifier::new(&self.schema, &self.name)
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A pair of columns joined by a relationship: (column of `table`, column of `foreign_table`).
pub type ColumnPair = (String, String);

/// The junction table of a many-to-many relationship and the two FKs that cross it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Junction {
    pub table: QualifiedIdentifier,
    /// FK from the junction to `Relationship::table`.
    pub constraint_source: String,
    /// FK from the junction to `Relationship::foreign_table`.
    pub constraint_target: String,
    /// (column of `table`, column of the junction)
    pub cols_source: Vec<ColumnPair>,
    /// (column of `foreign_table`, column of the junction)
    pub cols_target: Vec<ColumnPair>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cardinality {
    /// `table` is referenced by `foreign_table` (the embed is an array).
    O2M {
        constraint: String,
        columns: Vec<ColumnPair>,
    },
    /// `table` references `foreign_table` (the embed is an object or null).
    M2O {
        constraint: String,
        columns: Vec<ColumnPair>,
    },
    /// A FK whose columns are also a PK/UNIQUE key; `is_parent` is true on the referenced side.
    O2O {
        constraint: String,
        columns: Vec<ColumnPair>,
        is_parent: bool,
    },
    M2M(Junction),
}

/// A relationship as seen from `table`: embedding `foreign_table` inside `table`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Relationship {
    ForeignKey {
        table: QualifiedIdentifier,
        foreign_table: QualifiedIdentifier,
        is_self: bool,
        cardinality: Cardinality,
        table_is_view: bool,
        foreign_table_is_view: bool,
    },
    /// `create function rel(tbl) returns [setof] other` — embeddable as `rel(...)`.
    Computed {
        function: QualifiedIdentifier,
        table: QualifiedIdentifier,
        foreign_table: QualifiedIdentifier,
        /// `table` alias used inside the function call; always the row variable.
        single_row: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Volatility {
    Immutable,
    Stable,
    Volatile,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutineParam {
    pub name: String,
    /// Formatted type (`integer`, `text[]`, `json`).
    pub data_type: String,
    /// No default value.
    pub required: bool,
    pub variadic: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReturnType {
    /// A scalar or array type, formatted.
    Scalar(String),
    /// A table row or composite type; `is_table` when it is a table/view's row type.
    Composite { qi: QualifiedIdentifier, is_table: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routine {
    pub schema: String,
    pub name: String,
    pub description: Option<String>,
    pub params: Vec<RoutineParam>,
    pub returns: ReturnType,
    pub returns_set: bool,
    /// `returns void`
    pub returns_void: bool,
    pub volatility: Volatility,
    pub has_variadic: bool,
    /// `SET x = y` clauses of the function, for hoisted transaction settings.
    pub settings: Vec<(String, String)>,
}
