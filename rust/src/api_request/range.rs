//! Row windows: `limit`/`offset` per embed level and the `Range` header.
//!
//! PostgREST models both as integer intervals and intersects them; the rules below are that arithmetic:
//! a negative offset only shifts the window's end (so `offset=-4` alone is a no-op), `limit=0` is
//! allowed, any other empty window is 416 PGRST103. Only the top level's window is checked that way: an
//! embedded level's `limit` and `offset` go to SQL as they came (`LIMIT 0` is an empty embed whatever the
//! offset; a negative one fails in PostgreSQL, 400 `2201W` or `2201X`, when the embed is read).

use std::collections::BTreeMap;

use super::query_params::modifier_path;
use super::types::{EmbedPath, RowRange};
use crate::error::{ApiError, ApiResult};

const NEGATIVE_LIMIT: &str = "Limit should be greater than or equal to zero.";
const LOWER_GT_UPPER: &str =
    "The lower boundary must be lower than or equal to the upper boundary in the Range header.";

fn not_satisfiable(details: &str) -> ApiError {
    ApiError::new(416, "PGRST103", "Requested range not satisfiable").details(details)
}

/// An integer as Haskell's `read` accepts it: optional blanks around an optional `-` and digits.
/// Anything else means the parameter is ignored, as in PostgREST. Huge values saturate.
fn read_integer(s: &str) -> Option<i128> {
    let s = s.trim();
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.bytes().fold(0i128, |acc, b| {
        acc.saturating_mul(10)
            .saturating_add(i128::from(b - b'0'))
            .min(i128::from(u64::MAX))
    });
    Some(if negative { -magnitude } else { magnitude })
}

/// A value as a `bigint`: a larger window is the same window, and PostgreSQL would reject it.
fn bigint(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// A top-level value: never below zero.
fn to_nonneg(v: i128) -> i64 {
    bigint(v.max(0))
}

/// The window for one level from its `limit` and `offset` values (`embedded`: not the top level).
fn window(limit: Option<i128>, offset: Option<i128>, embedded: bool) -> ApiResult<RowRange> {
    if embedded {
        // PostgREST's window of an embed is `offset .. offset + limit - 1`, sent as `LIMIT limit OFFSET
        // offset` without a check.
        return Ok(RowRange {
            offset: bigint(offset.unwrap_or(0)),
            limit: limit.map(bigint),
        });
    }
    let offset = offset.unwrap_or(0);
    let lower = offset.max(0);
    match limit {
        None => Ok(RowRange {
            offset: to_nonneg(lower),
            limit: None,
        }),
        Some(limit) => {
            let upper = offset.saturating_add(limit) - 1;
            if upper >= lower {
                Ok(RowRange {
                    offset: to_nonneg(lower),
                    limit: Some(to_nonneg(upper - lower + 1)),
                })
            } else if upper == -1 {
                // `limit=0` (its window ends just before row 0): an empty page, not an error
                Ok(RowRange {
                    offset: 0,
                    limit: Some(0),
                })
            } else {
                Err(not_satisfiable(NEGATIVE_LIMIT))
            }
        }
    }
}

/// `limit`/`offset` parameters (any embed level) to windows keyed by embed path.
pub fn query_ranges(pairs: &[(&str, &str)]) -> ApiResult<BTreeMap<EmbedPath, RowRange>> {
    let mut levels: BTreeMap<EmbedPath, (Option<i128>, Option<i128>)> = BTreeMap::new();
    for &(key, value) in pairs {
        let last = key.rsplit('.').next().unwrap_or(key);
        if last != "limit" && last != "offset" {
            continue;
        }
        let Some(n) = read_integer(value) else { continue };
        let level = levels.entry(modifier_path(key)).or_default();
        // A repeated key: the last one wins, as in the map PostgREST builds from the list.
        let slot = if last == "limit" {
            &mut level.0
        } else {
            &mut level.1
        };
        *slot = Some(n);
    }
    levels
        .into_iter()
        .map(|(path, (limit, offset))| {
            let embedded = !path.is_empty();
            Ok((path, window(limit, offset, embedded)?))
        })
        .collect()
}

/// The `Range` header (`0-19`, `10-`, optionally `items=0-19`); only GET honours it. Malformed values
/// are ignored, a reversed range is 416.
pub fn range_header(value: Option<&str>) -> ApiResult<Option<RowRange>> {
    let Some(value) = value else { return Ok(None) };
    let value = value.trim();
    let value = value.strip_prefix("items=").unwrap_or(value);
    let Some((lower, upper)) = value.split_once('-') else {
        return Ok(None);
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if lower.is_empty() || !digits(lower) || !digits(upper) {
        return Ok(None);
    }
    let lower = read_integer(lower).unwrap_or(0);
    let upper = if upper.is_empty() {
        None
    } else {
        read_integer(upper)
    };
    match upper {
        Some(upper) if upper < lower => Err(not_satisfiable(LOWER_GT_UPPER)),
        Some(upper) => Ok(Some(RowRange {
            offset: to_nonneg(lower),
            limit: Some(to_nonneg(upper - lower + 1)),
        })),
        None => Ok(Some(RowRange {
            offset: to_nonneg(lower),
            limit: None,
        })),
    }
}

/// The header window intersected with the top-level `limit`/`offset` must not be empty (unless
/// `limit=0` asked for an empty page), or PostgREST answers 416.
pub fn check_intersection(header: Option<RowRange>, top: Option<RowRange>) -> ApiResult<()> {
    let (Some(header), Some(top)) = (header, top) else {
        return Ok(());
    };
    if top.limit == Some(0) {
        return Ok(());
    }
    let end = |r: RowRange| r.limit.map(|l| i128::from(r.offset) + i128::from(l)); // exclusive
    let lower = header.offset.max(top.offset);
    let upper = match (end(header), end(top)) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    match upper {
        Some(upper) if upper <= i128::from(lower) => Err(not_satisfiable(NEGATIVE_LIMIT)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(offset: i64, limit: Option<i64>) -> RowRange {
        RowRange { offset, limit }
    }

    #[test]
    fn limit_and_offset() {
        type Case<'a> = (&'a [(&'a str, &'a str)], Vec<(Vec<&'a str>, RowRange)>);
        let cases: Vec<Case<'_>> = vec![
            (&[("limit", "3"), ("offset", "2")], vec![(vec![], r(2, Some(3)))]),
            (&[("limit", "0")], vec![(vec![], r(0, Some(0)))]),
            (&[("offset", "-4")], vec![(vec![], r(0, None))]),
            (&[("offset", "0")], vec![(vec![], r(0, None))]),
            (
                &[("limit", "10"), ("offset", "-4")],
                vec![(vec![], r(0, Some(6)))],
            ),
            (&[("limit", "abc")], vec![]),
            (&[("limit", " 7 ")], vec![(vec![], r(0, Some(7)))]),
            (
                &[("projects.limit", "2"), ("projects.offset", "1")],
                vec![(vec!["projects"], r(1, Some(2)))],
            ),
            (
                &[("projects.tasks.limit", "1")],
                vec![(vec!["projects", "tasks"], r(0, Some(1)))],
            ),
            (
                &[("limit", "99999999999999999999999")],
                vec![(vec![], r(0, Some(i64::MAX)))],
            ),
        ];
        for (pairs, want) in cases {
            let want: BTreeMap<EmbedPath, RowRange> = want
                .into_iter()
                .map(|(p, r)| (p.into_iter().map(String::from).collect(), r))
                .collect();
            assert_eq!(query_ranges(pairs), Ok(want), "{pairs:?}");
        }
    }

    #[test]
    fn an_embedded_window_is_sent_as_it_came() {
        let embedded =
            |pairs: &[(&str, &str)]| query_ranges(pairs).map(|ranges| ranges[&vec!["a".to_owned()]]);
        assert_eq!(
            embedded(&[("a.limit", "0"), ("a.offset", "5")]),
            Ok(r(5, Some(0)))
        );
        assert_eq!(embedded(&[("a.limit", "-2")]), Ok(r(0, Some(-2))));
        assert_eq!(embedded(&[("a.offset", "-4")]), Ok(r(-4, None)));
        assert_eq!(
            embedded(&[("a.limit", "3"), ("a.offset", "-1")]),
            Ok(r(-1, Some(3)))
        );
        assert_eq!(
            embedded(&[("a.offset", "-99999999999999999999999")]),
            Ok(r(i64::MIN, None))
        );
        // The top level's `limit=0` with an offset is an empty window PostgREST refuses.
        let e = query_ranges(&[("limit", "0"), ("offset", "5")]).unwrap_err();
        assert_eq!((e.status, e.details.as_str()), (416, Some(NEGATIVE_LIMIT)));
    }

    #[test]
    fn negative_limit_is_not_satisfiable() {
        for pairs in [&[("limit", "-1")][..], &[("limit", "2"), ("offset", "-5")]] {
            let e = query_ranges(pairs).unwrap_err();
            assert_eq!(
                (e.status, e.code, e.message.as_str()),
                (416, "PGRST103", "Requested range not satisfiable")
            );
            assert_eq!(e.details.as_str(), Some(NEGATIVE_LIMIT));
        }
    }

    #[test]
    fn range_header_values() {
        assert_eq!(range_header(Some("0-19")), Ok(Some(r(0, Some(20)))));
        assert_eq!(range_header(Some("10-")), Ok(Some(r(10, None))));
        assert_eq!(range_header(Some("items=5-5")), Ok(Some(r(5, Some(1)))));
        assert_eq!(range_header(Some("bytes=0-1")), Ok(None));
        assert_eq!(range_header(Some("-5")), Ok(None));
        assert_eq!(range_header(Some("a-b")), Ok(None));
        assert_eq!(range_header(None), Ok(None));
        let e = range_header(Some("1-0")).unwrap_err();
        assert_eq!((e.status, e.code), (416, "PGRST103"));
        assert_eq!(e.details.as_str(), Some(LOWER_GT_UPPER));
    }

    #[test]
    fn header_and_limit_must_overlap() {
        assert!(check_intersection(Some(r(0, Some(5))), Some(r(2, Some(10)))).is_ok());
        assert!(check_intersection(Some(r(0, Some(5))), Some(r(0, Some(0)))).is_ok());
        assert!(check_intersection(Some(r(10, None)), Some(r(0, None))).is_ok());
        let e = check_intersection(Some(r(0, Some(5))), Some(r(10, None))).unwrap_err();
        assert_eq!(e.details.as_str(), Some(NEGATIVE_LIMIT));
    }
}
