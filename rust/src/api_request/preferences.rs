//! The `Prefer` header (RFC 7240) and the `Preference-Applied` answer.

use super::types::{
    PreferCount, PreferHandling, PreferMissing, PreferResolution, PreferReturn, PreferTransaction,
    Preferences,
};
use crate::error::{ApiError, ApiResult};

const RESOLUTION: [(&str, PreferResolution); 2] = [
    ("resolution=merge-duplicates", PreferResolution::MergeDuplicates),
    ("resolution=ignore-duplicates", PreferResolution::IgnoreDuplicates),
];
const RETURN: [(&str, PreferReturn); 3] = [
    ("return=representation", PreferReturn::Representation),
    ("return=minimal", PreferReturn::Minimal),
    ("return=headers-only", PreferReturn::HeadersOnly),
];
const COUNT: [(&str, PreferCount); 3] = [
    ("count=exact", PreferCount::Exact),
    ("count=planned", PreferCount::Planned),
    ("count=estimated", PreferCount::Estimated),
];
const TX: [(&str, PreferTransaction); 2] = [
    ("tx=commit", PreferTransaction::Commit),
    ("tx=rollback", PreferTransaction::Rollback),
];
const MISSING: [(&str, PreferMissing); 2] = [
    ("missing=default", PreferMissing::Default),
    ("missing=null", PreferMissing::Null),
];
const HANDLING: [(&str, PreferHandling); 2] = [
    ("handling=strict", PreferHandling::Strict),
    ("handling=lenient", PreferHandling::Lenient),
];

fn first<T: Copy>(prefs: &[&str], table: &[(&str, T)]) -> Option<T> {
    prefs
        .iter()
        .find_map(|p| table.iter().find(|(text, _)| text == p).map(|&(_, v)| v))
}

fn header_value<T: PartialEq>(table: &[(&'static str, T)], v: &T) -> &'static str {
    table
        .iter()
        .find(|(_, x)| x == v)
        .map(|(text, _)| *text)
        .unwrap_or_default()
}

/// Parses the (comma-joined) `Prefer` headers. `tx=` is honoured only when `tx_allow_override`
/// (`db-tx-end` is one of the `*-allow-override` values), but it is never reported as invalid.
pub fn parse_preferences(header: Option<&str>, tx_allow_override: bool) -> Preferences {
    let prefs: Vec<&str> = match header {
        Some(h) if !h.is_empty() => h.split(',').map(str::trim).collect(),
        _ => Vec::new(),
    };
    let known = |p: &str| {
        RESOLUTION.iter().any(|(t, _)| *t == p)
            || RETURN.iter().any(|(t, _)| *t == p)
            || COUNT.iter().any(|(t, _)| *t == p)
            || TX.iter().any(|(t, _)| *t == p)
            || MISSING.iter().any(|(t, _)| *t == p)
            || HANDLING.iter().any(|(t, _)| *t == p)
            || p.starts_with("timezone=")
            || p.starts_with("max-affected=")
    };
    Preferences {
        resolution: first(&prefs, &RESOLUTION),
        missing: first(&prefs, &MISSING),
        representation: first(&prefs, &RETURN),
        count: first(&prefs, &COUNT),
        transaction: if tx_allow_override {
            first(&prefs, &TX)
        } else {
            None
        },
        handling: first(&prefs, &HANDLING),
        timezone: prefs
            .iter()
            .find_map(|p| p.strip_prefix("timezone="))
            .map(str::to_owned),
        max_affected: prefs
            .iter()
            .find_map(|p| p.strip_prefix("max-affected="))
            .and_then(|v| v.trim().parse::<i64>().ok())
            .and_then(|n| u64::try_from(n).ok()),
        invalid: prefs
            .iter()
            .filter(|p| !known(p))
            .map(|p| (*p).to_owned())
            .collect(),
    }
}

/// `handling=strict` turns unrecognised preferences into 400 PGRST122.
pub fn check_strict(prefs: &Preferences) -> ApiResult<()> {
    if prefs.handling == Some(PreferHandling::Strict) && !prefs.invalid.is_empty() {
        return Err(
            ApiError::new(400, "PGRST122", "Invalid preferences given with handling=strict")
                .details(format!("Invalid preferences: {}", prefs.invalid.join(", "))),
        );
    }
    Ok(())
}

/// A category of preference, for deciding which ones were honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreferenceKind {
    Resolution,
    Missing,
    Return,
    Count,
    Transaction,
    Handling,
    Timezone,
    MaxAffected,
}

/// The `Preference-Applied` value: the given preferences that `honoured` accepts, in PostgREST's
/// order, joined with `, `; `None` when there are none. As in PostgREST, `max-affected` is only echoed
/// together with `handling=strict`.
pub fn preference_applied(prefs: &Preferences, honoured: impl Fn(PreferenceKind) -> bool) -> Option<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |kind: PreferenceKind, value: Option<String>| {
        if let Some(v) = value {
            if honoured(kind) {
                out.push(v);
            }
        }
    };
    push(
        PreferenceKind::Resolution,
        prefs.resolution.map(|v| header_value(&RESOLUTION, &v).to_owned()),
    );
    push(
        PreferenceKind::Missing,
        prefs.missing.map(|v| header_value(&MISSING, &v).to_owned()),
    );
    push(
        PreferenceKind::Return,
        prefs.representation.map(|v| header_value(&RETURN, &v).to_owned()),
    );
    push(
        PreferenceKind::Count,
        prefs.count.map(|v| header_value(&COUNT, &v).to_owned()),
    );
    push(
        PreferenceKind::Transaction,
        prefs.transaction.map(|v| header_value(&TX, &v).to_owned()),
    );
    push(
        PreferenceKind::Handling,
        prefs.handling.map(|v| header_value(&HANDLING, &v).to_owned()),
    );
    push(
        PreferenceKind::Timezone,
        prefs.timezone.as_ref().map(|tz| format!("timezone={tz}")),
    );
    let strict = prefs.handling == Some(PreferHandling::Strict);
    push(
        PreferenceKind::MaxAffected,
        prefs
            .max_affected
            .filter(|_| strict)
            .map(|n| format!("max-affected={n}")),
    );
    (!out.is_empty()).then(|| out.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_recognised_value_per_category_wins() {
        let p = parse_preferences(
            Some("return=representation, count=exact,return=minimal, resolution=merge-duplicates,missing=default,handling=lenient,timezone=America/Los_Angeles,max-affected=5,count=planned"),
            false,
        );
        assert_eq!(p.representation, Some(PreferReturn::Representation));
        assert_eq!(p.count, Some(PreferCount::Exact));
        assert_eq!(p.resolution, Some(PreferResolution::MergeDuplicates));
        assert_eq!(p.missing, Some(PreferMissing::Default));
        assert_eq!(p.handling, Some(PreferHandling::Lenient));
        assert_eq!(p.timezone.as_deref(), Some("America/Los_Angeles"));
        assert_eq!(p.max_affected, Some(5));
        assert!(p.invalid.is_empty());
    }

    #[test]
    fn every_value_is_recognised() {
        type Check = fn(&Preferences) -> bool;
        let cases: [(&str, Check); 5] = [
            ("return=headers-only", |p: &Preferences| {
                p.representation == Some(PreferReturn::HeadersOnly)
            }),
            ("count=estimated", |p: &Preferences| {
                p.count == Some(PreferCount::Estimated)
            }),
            ("resolution=ignore-duplicates", |p: &Preferences| {
                p.resolution == Some(PreferResolution::IgnoreDuplicates)
            }),
            ("missing=null", |p: &Preferences| {
                p.missing == Some(PreferMissing::Null)
            }),
            ("handling=strict", |p: &Preferences| {
                p.handling == Some(PreferHandling::Strict)
            }),
        ];
        for (h, check) in cases {
            assert!(check(&parse_preferences(Some(h), false)), "{h}");
        }
    }

    #[test]
    fn tx_needs_override_but_is_never_invalid() {
        let p = parse_preferences(Some("tx=rollback"), false);
        assert_eq!((p.transaction, p.invalid.len()), (None, 0));
        let p = parse_preferences(Some("tx=rollback"), true);
        assert_eq!(p.transaction, Some(PreferTransaction::Rollback));
    }

    #[test]
    fn strict_handling_rejects_unknown_preferences() {
        let p = parse_preferences(Some("handling=strict,something, else,count=none"), false);
        let e = check_strict(&p).unwrap_err();
        assert_eq!((e.status, e.code), (400, "PGRST122"));
        assert_eq!(e.message, "Invalid preferences given with handling=strict");
        assert_eq!(
            e.details.as_str(),
            Some("Invalid preferences: something, else, count=none")
        );
        assert!(check_strict(&parse_preferences(Some("handling=lenient, anything"), false)).is_ok());
        assert!(check_strict(&parse_preferences(Some("handling=strict, return=minimal"), false)).is_ok());
    }

    #[test]
    fn preference_applied_in_postgrest_order() {
        let p = parse_preferences(
            Some("max-affected=3,timezone=UTC,handling=strict,tx=commit,count=exact,return=minimal,missing=null,resolution=merge-duplicates"),
            true,
        );
        assert_eq!(
            preference_applied(&p, |_| true).as_deref(),
            Some("resolution=merge-duplicates, missing=null, return=minimal, count=exact, tx=commit, handling=strict, timezone=UTC, max-affected=3")
        );
        assert_eq!(
            preference_applied(&p, |k| k == PreferenceKind::Count).as_deref(),
            Some("count=exact")
        );
        let lenient = parse_preferences(Some("max-affected=3"), false);
        assert_eq!(preference_applied(&lenient, |_| true), None);
        assert_eq!(
            preference_applied(&parse_preferences(None, false), |_| true),
            None
        );
    }
}
