//! The row window of each read level: `limit`/`offset`, the `Range` header and `db-max-rows`.

use crate::api_request::RowRange;
use crate::plan::read_plan::is_to_one;
use crate::plan::types::ReadPlanTree;

/// `db-max-rows` also bounds every to-many embed (never to-one ones).
pub fn cap_to_many(tree: &mut ReadPlanTree, max_rows: Option<u64>) {
    for child in &mut tree.children {
        if !is_to_one(child.node.rel_to_parent.as_ref()) {
            child.node.range = restrict(child.node.range, max_rows);
        }
        cap_to_many(child, max_rows);
    }
}

/// The rows both windows include (PostgREST's `rangeIntersection`); for the top level, whose windows are
/// never negative.
pub fn intersect(a: RowRange, b: RowRange) -> RowRange {
    let end = |r: RowRange| r.limit.map(|l| r.offset.saturating_add(l));
    let offset = a.offset.max(b.offset);
    let end = match (end(a), end(b)) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    };
    RowRange {
        offset,
        limit: end.map(|e| e.saturating_sub(offset).max(0)),
    }
}

/// Apply `db-max-rows` to a window (an embed's negative limit stays: PostgreSQL refuses it, as
/// PostgREST's).
pub fn restrict(range: RowRange, max_rows: Option<u64>) -> RowRange {
    let max_rows = max_rows.map(|m| i64::try_from(m).unwrap_or(i64::MAX));
    let limit = match (range.limit, max_rows) {
        (Some(l), Some(m)) => Some(l.min(m)),
        (l, m) => l.or(m),
    };
    RowRange {
        offset: range.offset,
        limit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(offset: i64, limit: Option<i64>) -> RowRange {
        RowRange { offset, limit }
    }

    #[test]
    fn intersects_windows() {
        assert_eq!(intersect(r(2, Some(3)), r(0, Some(20))), r(2, Some(3)));
        assert_eq!(intersect(r(0, None), r(10, None)), r(10, None));
        assert_eq!(intersect(r(0, Some(5)), r(10, Some(5))), r(10, Some(0)));
        assert_eq!(intersect(r(0, None), r(0, Some(i64::MAX))), r(0, Some(i64::MAX)));
    }

    #[test]
    fn restricts_to_max_rows() {
        assert_eq!(restrict(r(0, None), Some(2)), r(0, Some(2)));
        assert_eq!(restrict(r(0, Some(1)), Some(2)), r(0, Some(1)));
        assert_eq!(restrict(r(3, Some(10)), None), r(3, Some(10)));
        assert_eq!(restrict(r(0, Some(-2)), Some(2)), r(0, Some(-2)));
        assert_eq!(restrict(r(0, None), Some(u64::MAX)), r(0, Some(i64::MAX)));
    }
}
