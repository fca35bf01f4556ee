//! The schema cache: tables, columns, keys, relationships and routines of the exposed schemas,
//! loaded once from the introspection document and then shared, immutable, behind an `Arc`.
//!
//! `document` reads the JSON the catalog queries build; `view_rule` and `view_keys` trace view
//! columns back to table keys; `relationship` and `routine` infer what can be embedded and called;
//! `suggest` finds near names for error hints; `snapshot` writes and loads the built cache as compact bytes;
//! `merge` puts together a reload's result read again for some relations or functions only.

mod document;
mod fast_hash;
mod merge;
mod relationship;
mod routine;
mod snapshot;
pub(crate) mod suggest;
#[cfg(test)]
mod tests;
pub mod types;
mod view_keys;
mod view_rule;

use fast_hash::HashMap;

use serde::Serialize;

pub use snapshot::{SnapshotError, SnapshotHeader, FORMAT_VERSION as SNAPSHOT_FORMAT_VERSION};
pub use suggest::best_match;
pub use types::*;

pub use document::DocumentParts;
use document::{DocTable, Document};
pub use merge::merge_changed;
use view_keys::{view_key_dependencies, KeyDepKind};

/// Everything the plan stage resolves a request against. Immutable once built.
#[derive(Debug)]
pub struct SchemaCache {
    tables: HashMap<QualifiedIdentifier, Table>,
    /// Table keys sorted, for a stable iteration order.
    table_order: Vec<QualifiedIdentifier>,
    relationships: HashMap<QualifiedIdentifier, Vec<Relationship>>,
    /// Overloads sorted by number of parameters.
    routines: HashMap<QualifiedIdentifier, Vec<Routine>>,
}

impl SchemaCache {
    /// Builds the cache from a whole introspection document (see docs/schema-cache.md).
    pub fn from_document(doc: &[u8]) -> Result<SchemaCache, String> {
        SchemaCache::from_parts(DocumentParts::split(doc)?)
    }

    /// Builds the cache from the document's parts, as the queries return them.
    pub fn from_parts(parts: DocumentParts<'_>) -> Result<SchemaCache, String> {
        let doc = Document::parse(parts)?;

        let mut pk_by_rel: HashMap<u32, Vec<String>> = HashMap::default();
        for con in doc.keys.constraints.iter().filter(|c| c.kind == "p") {
            pk_by_rel.insert(con.rel, con.columns.clone());
        }
        let exposed_views: Vec<u32> = doc.tables.iter().filter(|t| is_view(t)).map(|t| t.oid).collect();
        let key_deps = view_key_dependencies(&doc.keys.views, &doc.keys.constraints, &exposed_views);

        // A view's key: the first view column showing each column of a base table's primary key.
        let mut view_pks: HashMap<&QualifiedIdentifier, Vec<String>> = HashMap::default();
        for dep in key_deps.iter().filter(|d| d.kind == KeyDepKind::Pk) {
            let cols = view_pks.entry(&dep.view).or_default();
            cols.extend(dep.columns.iter().filter_map(|(_, shown)| shown.first().cloned()));
        }
        let mut descriptions: HashMap<(u32, i16), String> = doc
            .descriptions
            .into_iter()
            .map(|d| ((d.oid, d.attnum), d.description))
            .collect();
        let mut tables = HashMap::with_capacity_and_hasher(doc.tables.len(), Default::default());
        // The document's strings move into the cache: no copy of its ~60,000 columns at 10,000 tables.
        for t in doc.tables {
            let pk_cols = if is_view(&t) {
                view_pks
                    .remove(&QualifiedIdentifier::new(&t.schema, &t.name))
                    .unwrap_or_default()
            } else {
                pk_by_rel.get(&t.oid).cloned().unwrap_or_default()
            };
            let table = table(t, pk_cols, &mut descriptions);
            tables.insert(table.qi(), table);
        }
        let mut table_order: Vec<QualifiedIdentifier> = tables.keys().cloned().collect();
        table_order.sort();

        let computed = doc
            .routines
            .iter()
            .filter_map(routine::computed_relationship)
            .collect();
        let relationships = relationship::infer(&tables, &doc.keys.constraints, &key_deps, computed);

        let mut routines: HashMap<QualifiedIdentifier, Vec<Routine>> = HashMap::default();
        for r in doc.routines.iter().filter_map(routine::routine) {
            routines
                .entry(QualifiedIdentifier::new(&r.schema, &r.name))
                .or_default()
                .push(r);
        }
        for overloads in routines.values_mut() {
            overloads.sort_by_key(|r| r.params.len());
        }
        Ok(SchemaCache {
            tables,
            table_order,
            relationships,
            routines,
        })
    }

    pub fn table(&self, qi: &QualifiedIdentifier) -> Option<&Table> {
        self.tables.get(qi)
    }

    /// All tables, views, materialized views and foreign tables, sorted by schema and name.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.table_order.iter().filter_map(|qi| self.tables.get(qi))
    }

    /// The relationships of `table` as seen from it (`Relationship::table` is always `table`).
    pub fn relationships(&self, table: &QualifiedIdentifier) -> &[Relationship] {
        self.relationships.get(table).map_or(&[], Vec::as_slice)
    }

    /// The overloads of a function, fewest parameters first.
    pub fn routines(&self, qi: &QualifiedIdentifier) -> &[Routine] {
        self.routines.get(qi).map_or(&[], Vec::as_slice)
    }

    /// Every routine, overloads included, sorted by schema and name (for the OpenAPI document).
    pub fn routine_list(&self) -> impl Iterator<Item = &Routine> {
        let mut keys: Vec<&QualifiedIdentifier> = self.routines.keys().collect();
        keys.sort();
        keys.into_iter().flat_map(|qi| &self.routines[qi])
    }

    /// The table of `schema` whose name is most similar to `name` (see `suggest.rs`).
    pub fn suggest_table(&self, schema: &str, name: &str) -> Option<&Table> {
        let candidates = self
            .tables()
            .filter(|t| t.schema == schema)
            .map(|t| (t.name.as_str(), t));
        suggest::best_match(name, candidates)
    }

    /// The function of `schema` whose name is most similar to `name`, its overload with the fewest
    /// parameters.
    pub fn suggest_routine(&self, schema: &str, name: &str) -> Option<&Routine> {
        let mut candidates: Vec<&Routine> = self
            .routines
            .values()
            .filter_map(|o| o.first())
            .filter(|r| r.schema == schema)
            .collect();
        candidates.sort_by(|a, b| a.name.cmp(&b.name));
        suggest::best_match(name, candidates.into_iter().map(|r| (r.name.as_str(), r)))
    }

    pub fn table_count(&self) -> usize {
        self.tables.len()
    }

    pub fn relationship_count(&self) -> usize {
        self.relationships.values().map(Vec::len).sum()
    }

    pub fn routine_count(&self) -> usize {
        self.routines.values().map(Vec::len).sum()
    }

    /// The whole cache as JSON (the admin schema cache dump), in a stable order.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Dump<'a> {
            tables: Vec<&'a Table>,
            relationships: Vec<&'a Relationship>,
            routines: Vec<&'a Routine>,
        }
        let mut routine_keys: Vec<&QualifiedIdentifier> = self.routines.keys().collect();
        routine_keys.sort();
        let dump = Dump {
            tables: self.tables().collect(),
            relationships: self
                .table_order
                .iter()
                .flat_map(|qi| self.relationships(qi))
                .collect(),
            routines: routine_keys
                .into_iter()
                .flat_map(|qi| &self.routines[qi])
                .collect(),
        };
        serde_json::to_string(&dump).unwrap_or_else(|_| "{}".to_string())
    }
}

fn is_view(t: &DocTable) -> bool {
    !matches!(t.kind.as_str(), "r" | "p")
}

/// The cache's table from the document's, with its comments taken out of `descriptions` (by oid and
/// attnum, 0 for the relation).
fn table(t: DocTable, pk_cols: Vec<String>, descriptions: &mut HashMap<(u32, i16), String>) -> Table {
    let oid = t.oid;
    Table {
        is_view: is_view(&t),
        schema: t.schema,
        name: t.name,
        description: descriptions.remove(&(oid, 0)),
        insertable: t.insertable,
        updatable: t.updatable,
        deletable: t.deletable,
        pk_cols,
        columns: t
            .columns
            .into_iter()
            .map(|c| Column {
                name: c.name,
                description: descriptions.remove(&(oid, c.attnum)),
                nullable: c.nullable,
                data_type: c.data_type,
                nominal_type: c.nominal_type,
                max_len: c.max_len,
                default: c.default,
                enum_values: c.enum_values,
                generated: c.generated,
            })
            .collect(),
    }
}
