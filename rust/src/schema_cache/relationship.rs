//! Relationship inference, following PostgREST's rules:
//!
//! 1. every foreign key gives a many-to-one relationship on the referencing table, or a one-to-one
//!    when its columns are exactly (as a set) the primary key or a unique constraint of that table;
//! 2. views inherit those through their key dependencies: view → table, table → view, view → view;
//! 3. many-to-many through every junction (table or view) with two different many-to-one foreign keys
//!    whose columns all belong to the junction's primary key (extra primary key columns allowed);
//! 4. the inverse of each: one-to-many for many-to-one, the parent side of one-to-one;
//! 5. only relationships whose tables and junction are exposed are kept;
//! 6. computed relationships (see `routine.rs`) replace the detected relationships from the same
//!    table to a foreign table with the function's qualified name.

use super::fast_hash::{HashMap, HashSet};

use super::document::DocConstraint;
use super::types::{Cardinality, ColumnPair, Junction, QualifiedIdentifier, Relationship, Table};
use super::view_keys::{KeyDepKind, ViewKeyDependency};

/// Key dependencies by (table, constraint, kind).
type DepsByKey<'a> = HashMap<(&'a QualifiedIdentifier, &'a str, KeyDepKind), Vec<&'a ViewKeyDependency>>;

/// A relationship before its inverse is added: always seen from the referencing side.
struct Forward {
    table: QualifiedIdentifier,
    foreign_table: QualifiedIdentifier,
    constraint: String,
    /// (column of `table`, column of `foreign_table`)
    columns: Vec<ColumnPair>,
    one_to_one: bool,
    table_is_view: bool,
    foreign_table_is_view: bool,
}

/// Every relationship between exposed tables, grouped by the table they are seen from.
pub fn infer(
    tables: &HashMap<QualifiedIdentifier, Table>,
    constraints: &[DocConstraint],
    key_deps: &[ViewKeyDependency],
    computed: Vec<Relationship>,
) -> HashMap<QualifiedIdentifier, Vec<Relationship>> {
    let mut forward = foreign_key_relationships(constraints);
    let mut deps_by_key: DepsByKey = HashMap::default();
    for dep in key_deps {
        deps_by_key
            .entry((&dep.table, dep.constraint.as_str(), dep.kind))
            .or_default()
            .push(dep);
    }
    let view_rels: Vec<Forward> = forward
        .iter()
        .flat_map(|rel| view_relationships(rel, &deps_by_key))
        .collect();
    forward.extend(view_rels);

    let exposed = |qi: &QualifiedIdentifier| tables.contains_key(qi);
    let mut all: Vec<Relationship> = Vec::new();
    for rel in &forward {
        all.push(Relationship::ForeignKey {
            table: rel.table.clone(),
            foreign_table: rel.foreign_table.clone(),
            is_self: rel.table == rel.foreign_table,
            cardinality: if rel.one_to_one {
                Cardinality::O2O {
                    constraint: rel.constraint.clone(),
                    columns: rel.columns.clone(),
                    is_parent: false,
                }
            } else {
                Cardinality::M2O {
                    constraint: rel.constraint.clone(),
                    columns: rel.columns.clone(),
                }
            },
            table_is_view: rel.table_is_view,
            foreign_table_is_view: rel.foreign_table_is_view,
        });
        let swapped: Vec<ColumnPair> = rel.columns.iter().map(|(a, b)| (b.clone(), a.clone())).collect();
        all.push(Relationship::ForeignKey {
            table: rel.foreign_table.clone(),
            foreign_table: rel.table.clone(),
            is_self: rel.table == rel.foreign_table,
            cardinality: if rel.one_to_one {
                Cardinality::O2O {
                    constraint: rel.constraint.clone(),
                    columns: swapped,
                    is_parent: true,
                }
            } else {
                Cardinality::O2M {
                    constraint: rel.constraint.clone(),
                    columns: swapped,
                }
            },
            table_is_view: rel.foreign_table_is_view,
            foreign_table_is_view: rel.table_is_view,
        });
    }
    all.extend(many_to_many(tables, &forward).into_iter().filter(|r| {
        matches!(r, Relationship::ForeignKey { cardinality: Cardinality::M2M(j), .. } if exposed(&j.table))
    }));

    // Looked up by reference: cloning the two names of each of ~60,000 relationships at 10,000 tables to
    // ask was a good part of the inference's allocations.
    let overridden: HashSet<(&QualifiedIdentifier, &QualifiedIdentifier)> = computed
        .iter()
        .filter_map(|r| match r {
            Relationship::Computed { function, table, .. } => Some((table, function)),
            Relationship::ForeignKey { .. } => None,
        })
        .collect();
    all.retain(|rel| match rel {
        Relationship::ForeignKey {
            table, foreign_table, ..
        } => !overridden.contains(&(table, foreign_table)),
        Relationship::Computed { .. } => true,
    });
    drop(overridden);
    let mut by_table: HashMap<QualifiedIdentifier, Vec<Relationship>> = HashMap::default();
    for rel in all.into_iter().chain(computed) {
        let (table, foreign_table) = match &rel {
            Relationship::ForeignKey {
                table, foreign_table, ..
            }
            | Relationship::Computed {
                table, foreign_table, ..
            } => (table, foreign_table),
        };
        if !(exposed(table) && exposed(foreign_table)) {
            continue;
        }
        // The table's name is copied once, for its entry, not once per relationship.
        match by_table.get_mut(table) {
            Some(list) => list.push(rel),
            None => {
                let key = table.clone();
                by_table.insert(key, vec![rel]);
            }
        }
    }
    by_table
}

fn foreign_key_relationships(constraints: &[DocConstraint]) -> Vec<Forward> {
    // Column sets of the primary and unique keys of each relation.
    let mut unique_keys: HashMap<u32, Vec<HashSet<&str>>> = HashMap::default();
    for con in constraints.iter().filter(|c| c.kind == "p" || c.kind == "u") {
        unique_keys
            .entry(con.rel)
            .or_default()
            .push(con.columns.iter().map(String::as_str).collect());
    }
    constraints
        .iter()
        .filter(|c| c.kind == "f")
        .filter_map(|con| {
            let foreign_columns = con.foreign_columns.as_ref()?;
            let fk_cols: HashSet<&str> = con.columns.iter().map(String::as_str).collect();
            let one_to_one = unique_keys
                .get(&con.rel)
                .is_some_and(|keys| keys.contains(&fk_cols));
            Some(Forward {
                table: QualifiedIdentifier::new(&con.schema, &con.table),
                foreign_table: QualifiedIdentifier::new(
                    con.foreign_schema.as_ref()?,
                    con.foreign_table.as_ref()?,
                ),
                constraint: con.name.clone(),
                columns: con
                    .columns
                    .iter()
                    .cloned()
                    .zip(foreign_columns.iter().cloned())
                    .collect(),
                one_to_one,
                // Only tables have foreign keys.
                table_is_view: false,
                foreign_table_is_view: false,
            })
        })
        .collect()
}

/// The relationships a table-to-table foreign key gives to the views over either table.
fn view_relationships(rel: &Forward, deps_by_key: &DepsByKey<'_>) -> Vec<Forward> {
    let deps = |table: &QualifiedIdentifier, kind: KeyDepKind| -> Vec<&ViewKeyDependency> {
        deps_by_key
            .get(&(table, rel.constraint.as_str(), kind))
            .cloned()
            .unwrap_or_default()
    };
    let referencing = deps(&rel.table, KeyDepKind::Fk);
    let referenced = deps(&rel.foreign_table, KeyDepKind::FkRef);
    let make = |table: &QualifiedIdentifier,
                foreign_table: &QualifiedIdentifier,
                columns,
                table_is_view,
                ft_is_view| {
        Forward {
            table: table.clone(),
            foreign_table: foreign_table.clone(),
            constraint: rel.constraint.clone(),
            columns,
            one_to_one: rel.one_to_one,
            table_is_view,
            foreign_table_is_view: ft_is_view,
        }
    };
    let mut out = Vec::new();
    for dep in &referencing {
        for view_cols in expand(&dep.columns) {
            let columns = view_cols
                .iter()
                .cloned()
                .zip(rel.columns.iter().map(|(_, f)| f.clone()))
                .collect();
            out.push(make(&dep.view, &rel.foreign_table, columns, true, false));
        }
    }
    for dep in &referenced {
        for view_cols in expand(&dep.columns) {
            let columns = rel
                .columns
                .iter()
                .map(|(t, _)| t.clone())
                .zip(view_cols.iter().cloned())
                .collect();
            out.push(make(&rel.table, &dep.view, columns, false, true));
        }
    }
    for source in &referencing {
        for source_cols in expand(&source.columns) {
            for target in &referenced {
                for target_cols in expand(&target.columns) {
                    let columns = source_cols
                        .iter()
                        .cloned()
                        .zip(target_cols.iter().cloned())
                        .collect();
                    out.push(make(&source.view, &target.view, columns, true, true));
                }
            }
        }
    }
    out
}

/// Every choice of one view column per key column (a view may show a key column several times).
fn expand(columns: &[(String, Vec<String>)]) -> Vec<Vec<String>> {
    columns.iter().fold(vec![Vec::new()], |acc, (_, choices)| {
        acc.iter()
            .flat_map(|prefix| {
                choices.iter().map(move |c| {
                    let mut next = prefix.clone();
                    next.push(c.clone());
                    next
                })
            })
            .collect()
    })
}

fn many_to_many(tables: &HashMap<QualifiedIdentifier, Table>, forward: &[Forward]) -> Vec<Relationship> {
    let mut by_junction: HashMap<&QualifiedIdentifier, Vec<&Forward>> = HashMap::default();
    for rel in forward.iter().filter(|r| !r.one_to_one) {
        by_junction.entry(&rel.table).or_default().push(rel);
    }
    let mut junctions: Vec<_> = by_junction
        .into_iter()
        .filter(|(_, rels)| rels.len() > 1)
        .collect();
    junctions.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = Vec::new();
    for (junction, rels) in junctions {
        let Some(pk) = tables
            .get(junction)
            .map(|t| t.pk_cols.iter().map(String::as_str).collect::<HashSet<_>>())
        else {
            continue;
        };
        for source in &rels {
            for target in &rels {
                if source.constraint == target.constraint {
                    continue;
                }
                let covered = source
                    .columns
                    .iter()
                    .chain(&target.columns)
                    .all(|(jcol, _)| pk.contains(jcol.as_str()));
                if !covered {
                    continue;
                }
                let swap = |cols: &[ColumnPair]| cols.iter().map(|(j, t)| (t.clone(), j.clone())).collect();
                out.push(Relationship::ForeignKey {
                    table: source.foreign_table.clone(),
                    foreign_table: target.foreign_table.clone(),
                    is_self: source.foreign_table == target.foreign_table,
                    cardinality: Cardinality::M2M(Junction {
                        table: junction.clone(),
                        constraint_source: source.constraint.clone(),
                        constraint_target: target.constraint.clone(),
                        cols_source: swap(&source.columns),
                        cols_target: swap(&target.columns),
                    }),
                    table_is_view: source.foreign_table_is_view,
                    foreign_table_is_view: target.foreign_table_is_view,
                });
            }
        }
    }
    out
}
