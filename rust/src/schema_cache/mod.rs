//! The schema cache: tables, columns, keys, relationships and routines of the exposed schemas,
//! loaded once from the introspection document and then shared, immutable, behind an `Arc`.

pub mod types;

pub use types::*;
