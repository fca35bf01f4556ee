//! View key dependencies: which view columns carry the columns of a base table's primary key or of a
//! foreign key (either side), following views of views down to the tables. They give views their
//! primary keys and their relationships.

use super::fast_hash::HashMap;

use super::document::{DocConstraint, DocView};
use super::types::QualifiedIdentifier;
use super::view_rule::target_entries;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyDepKind {
    /// The view carries the table's primary key.
    Pk,
    /// The view carries the referencing columns of a foreign key.
    Fk,
    /// The view carries the referenced columns of a foreign key.
    FkRef,
}

#[derive(Debug, Clone)]
pub struct ViewKeyDependency {
    pub table: QualifiedIdentifier,
    pub view: QualifiedIdentifier,
    pub constraint: String,
    pub kind: KeyDepKind,
    /// For each key column in key order: (table column, every view column that shows it).
    pub columns: Vec<(String, Vec<String>)>,
}

/// The longest chain of views we follow; PostgreSQL forbids cycles, this only bounds the work.
const MAX_VIEW_DEPTH: usize = 64;

/// Key dependencies of the views in `exposed_views` (by oid); `views` also holds the views they read from.
pub fn view_key_dependencies(
    views: &[DocView],
    constraints: &[DocConstraint],
    exposed_views: &[u32],
) -> Vec<ViewKeyDependency> {
    // view oid -> attnum -> origin column
    let origins: HashMap<u32, HashMap<i16, (u32, i16)>> = views
        .iter()
        .map(|v| {
            let entries = target_entries(&v.rule)
                .into_iter()
                .filter(|e| e.orig_rel != 0)
                .map(|e| (e.resno, (e.orig_rel, e.orig_col)))
                .collect();
            (v.oid, entries)
        })
        .collect();
    let resolve = |mut rel: u32, mut col: i16| -> Option<(u32, i16)> {
        for _ in 0..MAX_VIEW_DEPTH {
            match origins.get(&rel) {
                Some(cols) => (rel, col) = *cols.get(&col)?,
                None => return Some((rel, col)),
            }
        }
        None
    };
    // Constraints by the relation they constrain, and foreign keys by the relation they reference.
    let mut by_rel: HashMap<u32, Vec<&DocConstraint>> = HashMap::default();
    let mut by_foreign_rel: HashMap<u32, Vec<&DocConstraint>> = HashMap::default();
    for con in constraints {
        by_rel.entry(con.rel).or_default().push(con);
        if let (Some(rel), "f") = (con.foreign_rel, con.kind.as_str()) {
            by_foreign_rel.entry(rel).or_default().push(con);
        }
    }
    let mut deps = Vec::new();
    for view in views.iter().filter(|v| exposed_views.contains(&v.oid)) {
        // (base relation, attnum) -> view columns showing it, in view column order
        let mut shown: HashMap<(u32, i16), Vec<String>> = HashMap::default();
        for (i, name) in view.columns.iter().enumerate() {
            let Ok(attnum) = i16::try_from(i + 1) else { break };
            if let Some(base) = resolve(view.oid, attnum) {
                shown.entry(base).or_default().push(name.clone());
            }
        }
        if shown.is_empty() {
            continue;
        }
        let view_qi = QualifiedIdentifier::new(&view.schema, &view.name);
        let mut rels: Vec<u32> = shown.keys().map(|(rel, _)| *rel).collect();
        rels.sort_unstable();
        rels.dedup();
        for rel in rels {
            for con in by_rel.get(&rel).into_iter().flatten() {
                let kind = match con.kind.as_str() {
                    "p" => KeyDepKind::Pk,
                    "f" => KeyDepKind::Fk,
                    _ => continue,
                };
                if let Some(columns) = carried(&shown, con.rel, &con.attnums, &con.columns) {
                    let table = QualifiedIdentifier::new(&con.schema, &con.table);
                    deps.push(dependency(table, &view_qi, con, kind, columns));
                }
            }
            for con in by_foreign_rel.get(&rel).into_iter().flatten() {
                if let (Some(attnums), Some(names), Some(schema), Some(table)) = (
                    &con.foreign_attnums,
                    &con.foreign_columns,
                    &con.foreign_schema,
                    &con.foreign_table,
                ) {
                    if let Some(columns) = carried(&shown, rel, attnums, names) {
                        let table = QualifiedIdentifier::new(schema, table);
                        deps.push(dependency(table, &view_qi, con, KeyDepKind::FkRef, columns));
                    }
                }
            }
        }
    }
    deps
}

fn dependency(
    table: QualifiedIdentifier,
    view: &QualifiedIdentifier,
    con: &DocConstraint,
    kind: KeyDepKind,
    columns: Vec<(String, Vec<String>)>,
) -> ViewKeyDependency {
    ViewKeyDependency {
        table,
        view: view.clone(),
        constraint: con.name.clone(),
        kind,
        columns,
    }
}

/// The view columns for every key column, or None when the view misses one of them.
fn carried(
    shown: &HashMap<(u32, i16), Vec<String>>,
    rel: u32,
    attnums: &[i16],
    names: &[String],
) -> Option<Vec<(String, Vec<String>)>> {
    if attnums.is_empty() || attnums.len() != names.len() {
        return None;
    }
    attnums
        .iter()
        .zip(names)
        .map(|(attnum, name)| Some((name.clone(), shown.get(&(rel, *attnum))?.clone())))
        .collect()
}
