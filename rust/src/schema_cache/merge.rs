//! A reload's merge of a query's result read again for some relations only (`columns.sql` with its
//! `only`, after `queries/changes/columns.sql` named them; see `introspect.reread_catalog`).
//!
//! The results are lists sent as one array per field with a `rel` field (`{"rel": [...], "f": [...]}`,
//! or null for none; see `document.rs`). The merge keeps the earlier result's items of the relations
//! that are still there and did not change, and adds the fresh result's: what a whole read would give,
//! in another order (the cache sorts them). The items are copied as JSON, never interpreted.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::fast_hash::HashSet;

/// `{"field": [item, ...], ...}` or null, each item as its JSON.
type Arrays<'a> = Option<BTreeMap<String, Vec<&'a RawValue>>>;

/// The relations a change query found (`queries/changes/*.sql`): all of them now, and those read again.
#[derive(Deserialize)]
struct Changes {
    rels: Vec<i64>,
    changed: Vec<i64>,
}

/// `previous` without the items of relations that changed or are gone, plus `fresh` (the changed
/// relations' items): the same list format, null when empty. An error when a result is not such a list,
/// or the two have other fields: the caller then reads the whole result again.
pub fn merge_by_relation(previous: &[u8], fresh: &[u8], changes: &[u8]) -> Result<Vec<u8>, String> {
    let changes: Changes =
        serde_json::from_slice(changes).map_err(|e| format!("the relations that changed: {e}"))?;
    let previous = parse(previous, "the earlier result")?;
    let fresh = parse(fresh, "the fresh result")?;
    let changed: HashSet<i64> = changes.changed.into_iter().collect();
    let kept: HashSet<i64> = changes
        .rels
        .into_iter()
        .filter(|rel| !changed.contains(rel))
        .collect();

    let mut merged: BTreeMap<String, Vec<&RawValue>> = BTreeMap::new();
    if let Some(previous) = &previous {
        let rels = rel_ids(previous, "the earlier result")?;
        for (field, items) in previous {
            let kept_items = items.iter().zip(&rels).filter(|(_, rel)| kept.contains(rel));
            merged.insert(field.clone(), kept_items.map(|(item, _)| *item).collect());
        }
    }
    if let Some(fresh) = &fresh {
        rel_ids(fresh, "the fresh result")?;
        if previous.is_some() && !fresh.keys().eq(merged.keys()) {
            return Err("the fresh result has other fields than the earlier one".to_string());
        }
        for (field, items) in fresh {
            merged
                .entry(field.clone())
                .or_default()
                .extend(items.iter().copied());
        }
    }
    Ok(write(&merged))
}

fn parse<'a>(json: &'a [u8], what: &str) -> Result<Arrays<'a>, String> {
    serde_json::from_slice(json).map_err(|e| format!("{what} is not a list of arrays by field: {e}"))
}

/// The `rel` of each item, checking that every field has one value per item.
fn rel_ids(arrays: &BTreeMap<String, Vec<&RawValue>>, what: &str) -> Result<Vec<i64>, String> {
    let rels = arrays
        .get("rel")
        .ok_or_else(|| format!("{what} has no `rel` field"))?;
    if arrays.values().any(|items| items.len() != rels.len()) {
        return Err(format!("the arrays of {what} differ in length"));
    }
    rels.iter()
        .map(|rel| {
            rel.get()
                .parse::<i64>()
                .map_err(|_| format!("{what} has a `rel` that is no relation's oid: {}", rel.get()))
        })
        .collect()
}

fn write(arrays: &BTreeMap<String, Vec<&RawValue>>) -> Vec<u8> {
    if arrays.values().all(Vec::is_empty) {
        return b"null".to_vec();
    }
    let mut out = Vec::with_capacity(arrays.values().flatten().map(|v| v.get().len() + 1).sum());
    out.push(b'{');
    for (i, (field, items)) in arrays.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, field).expect("writing to a Vec cannot fail");
        out.extend_from_slice(b":[");
        for (j, item) in items.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            out.extend_from_slice(item.get().as_bytes());
        }
        out.push(b']');
    }
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(previous: &str, fresh: &str, changes: &str) -> String {
        let bytes = merge_by_relation(previous.as_bytes(), fresh.as_bytes(), changes.as_bytes()).unwrap();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn keeps_the_unchanged_relations_and_adds_the_fresh_items() {
        let previous = r#"{"rel":[1,2,2,3],"name":["a","b","c","d"],"enum":[[],["x"],[],null]}"#;
        let fresh = r#"{"rel":[2,4],"name":["b2","e"],"enum":[["y"],[]]}"#;
        // 1 kept, 2 read again, 3 gone, 4 new.
        let changes = r#"{"rels":[1,2,4],"changed":[2,4]}"#;
        assert_eq!(
            merged(previous, fresh, changes),
            r#"{"enum":[[],["y"],[]],"name":["a","b2","e"],"rel":[1,2,4]}"#
        );
    }

    #[test]
    fn null_when_nothing_is_left_and_either_side_may_be_null() {
        let previous = r#"{"rel":[1],"name":["a"]}"#;
        assert_eq!(merged(previous, "null", r#"{"rels":[],"changed":[]}"#), "null");
        assert_eq!(
            merged(
                "null",
                r#"{"rel":[5],"name":["n"]}"#,
                r#"{"rels":[5],"changed":[5]}"#
            ),
            r#"{"name":["n"],"rel":[5]}"#
        );
        assert_eq!(
            merged(previous, "null", r#"{"rels":[1],"changed":[]}"#),
            r#"{"name":["a"],"rel":[1]}"#
        );
        assert_eq!(merged("null", "null", r#"{"rels":[],"changed":[]}"#), "null");
    }

    #[test]
    fn refuses_what_it_cannot_merge_exactly() {
        let changes = r#"{"rels":[1],"changed":[1]}"#;
        for (previous, fresh) in [
            (r#"{"rel":[1],"name":["a"]}"#, r#"{"rel":[1],"title":["a"]}"#),
            (r#"{"rel":[1,2],"name":["a"]}"#, "null"),
            (r#"{"name":["a"]}"#, "null"),
            (r#"{"rel":["x"],"name":["a"]}"#, "null"),
            ("[1]", "null"),
        ] {
            assert!(merge_by_relation(previous.as_bytes(), fresh.as_bytes(), changes.as_bytes()).is_err());
        }
        assert!(merge_by_relation(b"null", b"null", b"{}").is_err());
    }
}
