//! A reload's merge of a query's result read again for some objects only (`columns.sql` or
//! `routines.sql` with their `only`, after their change queries in `queries/changes/` named them; see
//! `introspect.reread_catalog`).
//!
//! A result is a list of items, each of one relation or function, in one of the two shapes the queries
//! send: one array per field with a `rel` field (`{"rel": [...], "f": [...]}`, null for none; see
//! `document.rs`), or an array of objects with an `oid` field. The merge keeps the earlier result's items
//! of the objects that are still there and did not change, and adds the fresh result's: what a whole read
//! would give, in another order (the cache sorts them). Items are copied as JSON, never interpreted.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::fast_hash::HashSet;

/// The objects a change query found (`queries/changes/*.sql`): all those there now, and those read again.
#[derive(Deserialize)]
struct Changes {
    present: Vec<i64>,
    changed: Vec<i64>,
}

/// `previous` without the items of objects that changed or are gone, plus `fresh` (the changed objects'
/// items), in the same shape. An error when a result is neither shape, the two differ, or arrays by field
/// have other fields: the caller then reads the whole result again.
pub fn merge_changed(previous: &[u8], fresh: &[u8], changes: &[u8]) -> Result<Vec<u8>, String> {
    let changes: Changes =
        serde_json::from_slice(changes).map_err(|e| format!("the objects that changed: {e}"))?;
    let changed: HashSet<i64> = changes.changed.into_iter().collect();
    let kept: HashSet<i64> = changes
        .present
        .into_iter()
        .filter(|id| !changed.contains(id))
        .collect();
    if starts_with(previous, b'[') || starts_with(fresh, b'[') {
        merge_objects(previous, fresh, &kept)
    } else {
        merge_arrays(previous, fresh, &kept)
    }
}

fn starts_with(json: &[u8], byte: u8) -> bool {
    json.iter().find(|b| !b.is_ascii_whitespace()) == Some(&byte)
}

/// Arrays by field, keyed by `rel`.
fn merge_arrays(previous: &[u8], fresh: &[u8], kept: &HashSet<i64>) -> Result<Vec<u8>, String> {
    type Arrays<'a> = Option<BTreeMap<String, Vec<&'a RawValue>>>;
    let parse = |json, what| -> Result<Arrays<'_>, String> {
        serde_json::from_slice(json).map_err(|e| format!("{what} is not a list of arrays by field: {e}"))
    };
    let previous = parse(previous, "the earlier result")?;
    let fresh = parse(fresh, "the fresh result")?;

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
    Ok(write_arrays(&merged))
}

/// The `rel` of each item, checking that every field has one value per item.
fn rel_ids(arrays: &BTreeMap<String, Vec<&RawValue>>, what: &str) -> Result<Vec<i64>, String> {
    let rels = arrays
        .get("rel")
        .ok_or_else(|| format!("{what} has no `rel` field"))?;
    if arrays.values().any(|items| items.len() != rels.len()) {
        return Err(format!("the arrays of {what} differ in length"));
    }
    rels.iter().map(|rel| id(rel, what)).collect()
}

fn write_arrays(arrays: &BTreeMap<String, Vec<&RawValue>>) -> Vec<u8> {
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
        out.push(b':');
        write_items(&mut out, items);
    }
    out.push(b'}');
    out
}

/// An array of objects, keyed by `oid`.
fn merge_objects(previous: &[u8], fresh: &[u8], kept: &HashSet<i64>) -> Result<Vec<u8>, String> {
    #[derive(Deserialize)]
    struct Keyed<'a> {
        #[serde(borrow)]
        oid: &'a RawValue,
    }
    let parse = |json, what| -> Result<Vec<&RawValue>, String> {
        let items: Option<Vec<&RawValue>> =
            serde_json::from_slice(json).map_err(|e| format!("{what} is not an array of objects: {e}"))?;
        Ok(items.unwrap_or_default())
    };
    let oid = |item: &RawValue, what: &str| -> Result<i64, String> {
        let keyed: Keyed = serde_json::from_str(item.get())
            .map_err(|e| format!("{what} has an item without an `oid`: {e}"))?;
        id(keyed.oid, what)
    };
    let mut merged = Vec::new();
    for item in parse(previous, "the earlier result")? {
        if kept.contains(&oid(item, "the earlier result")?) {
            merged.push(item);
        }
    }
    for item in parse(fresh, "the fresh result")? {
        oid(item, "the fresh result")?;
        merged.push(item);
    }
    let mut out = Vec::with_capacity(merged.iter().map(|v| v.get().len() + 1).sum::<usize>() + 2);
    write_items(&mut out, &merged);
    Ok(out)
}

fn id(value: &RawValue, what: &str) -> Result<i64, String> {
    value
        .get()
        .parse::<i64>()
        .map_err(|_| format!("{what} has an id that is no oid: {}", value.get()))
}

fn write_items(out: &mut Vec<u8>, items: &[&RawValue]) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item.get().as_bytes());
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(previous: &str, fresh: &str, changes: &str) -> String {
        let bytes = merge_changed(previous.as_bytes(), fresh.as_bytes(), changes.as_bytes()).unwrap();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn keeps_the_unchanged_relations_and_adds_the_fresh_items() {
        let previous = r#"{"rel":[1,2,2,3],"name":["a","b","c","d"],"enum":[[],["x"],[],null]}"#;
        let fresh = r#"{"rel":[2,4],"name":["b2","e"],"enum":[["y"],[]]}"#;
        // 1 kept, 2 read again, 3 gone, 4 new.
        let changes = r#"{"present":[1,2,4],"changed":[2,4]}"#;
        assert_eq!(
            merged(previous, fresh, changes),
            r#"{"enum":[[],["y"],[]],"name":["a","b2","e"],"rel":[1,2,4]}"#
        );
    }

    #[test]
    fn null_when_nothing_is_left_and_either_side_may_be_null() {
        let previous = r#"{"rel":[1],"name":["a"]}"#;
        let nothing = r#"{"present":[],"changed":[]}"#;
        assert_eq!(merged(previous, "null", nothing), "null");
        let fresh = r#"{"rel":[5],"name":["n"]}"#;
        let five = r#"{"present":[5],"changed":[5]}"#;
        assert_eq!(merged("null", fresh, five), r#"{"name":["n"],"rel":[5]}"#);
        let one = r#"{"present":[1],"changed":[]}"#;
        assert_eq!(merged(previous, "null", one), r#"{"name":["a"],"rel":[1]}"#);
        assert_eq!(merged("null", "null", nothing), "null");
    }

    #[test]
    fn merges_arrays_of_objects_by_oid() {
        let previous = r#"[{"oid":1,"name":"f","params":[{"oid":9}]}, {"oid":2,"name":"g"}, {"oid":3}]"#;
        let fresh = r#"[{"oid":2,"name":"g2"},{"oid":4,"name":"h"}]"#;
        let changes = r#"{"present":[1,2,4],"changed":[2,4]}"#;
        assert_eq!(
            merged(previous, fresh, changes),
            r#"[{"oid":1,"name":"f","params":[{"oid":9}]},{"oid":2,"name":"g2"},{"oid":4,"name":"h"}]"#
        );
        assert_eq!(merged("[]", "[]", r#"{"present":[],"changed":[]}"#), "[]");
        assert_eq!(merged(previous, "null", r#"{"present":[],"changed":[]}"#), "[]");
    }

    #[test]
    fn refuses_what_it_cannot_merge_exactly() {
        let changes = r#"{"present":[1],"changed":[1]}"#;
        for (previous, fresh) in [
            (r#"{"rel":[1],"name":["a"]}"#, r#"{"rel":[1],"title":["a"]}"#),
            (r#"{"rel":[1,2],"name":["a"]}"#, "null"),
            (r#"{"name":["a"]}"#, "null"),
            (r#"{"rel":["x"],"name":["a"]}"#, "null"),
            (r#"{"rel":[1],"name":["a"]}"#, r#"[{"oid":1}]"#),
            (r#"[{"name":"f"}]"#, "[]"),
            (r#"[{"oid":"f"}]"#, "[]"),
            ("[1]", "[]"),
        ] {
            let result = merge_changed(previous.as_bytes(), fresh.as_bytes(), changes.as_bytes());
            assert!(result.is_err(), "{previous} + {fresh}");
        }
        assert!(merge_changed(b"null", b"null", b"{}").is_err());
    }
}
