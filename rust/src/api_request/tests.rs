//! Whole-request tests: the stages of `parse` together, and the property that no input panics.

use proptest::prelude::*;

use super::*;

fn head<'a>(method: &'a str, path: &'a str, query: &'a str) -> RequestHead<'a> {
    RequestHead {
        method,
        path,
        query,
        ..RequestHead::default()
    }
}

fn settings() -> Settings {
    Settings {
        db_schemas: vec!["v1".into(), "v2".into()],
        ..Settings::default()
    }
}

#[test]
fn parses_a_read() {
    let mut h = head(
        "GET",
        "/items",
        "select=id,tasks(name)&id=gt.1&order=id.desc&limit=10",
    );
    h.range = Some("0-4");
    h.accept = Some("text/csv");
    h.prefer = Some("count=exact");
    let r = parse(&h, b"", &settings()).unwrap();
    assert_eq!(
        (r.method, r.resource.clone()),
        (Method::Get, Resource::Relation("items".into()))
    );
    assert_eq!((r.schema.as_str(), r.negotiated_by_profile), ("v1", true));
    assert_eq!(r.query.select.len(), 2);
    assert_eq!(r.query.filters.len(), 1);
    assert_eq!(
        r.query.canonical,
        "id=gt.1&limit=10&order=id.desc&select=id%2Ctasks%28name%29"
    );
    assert_eq!(
        r.range_header,
        Some(RowRange {
            offset: 0,
            limit: Some(5)
        })
    );
    assert_eq!(r.accept, vec![MediaType::Csv]);
    assert_eq!(r.preferences.count, Some(PreferCount::Exact));
    assert_eq!(r.payload, None);
    assert_eq!(r.content_type, MediaType::Json);
}

#[test]
fn parses_writes_and_calls() {
    let r = parse(&head("POST", "/items", "columns=a"), br#"[{"a":1}]"#, &settings()).unwrap();
    assert!(matches!(r.payload, Some(Payload::Json { is_array: true, .. })));
    let r = parse(&head("POST", "/rpc/fn", ""), b"", &settings()).unwrap();
    assert_eq!(
        r.payload,
        Some(Payload::Json {
            raw: "{}".into(),
            keys: vec![],
            is_array: false,
            is_empty_array: false
        })
    );
    let r = parse(&head("GET", "/rpc/fn", "a=1&b=eq.2"), b"", &settings()).unwrap();
    assert_eq!(r.query.params.len(), 2);
    let r = parse(&head("DELETE", "/items", "id=eq.1"), b"ignored", &settings()).unwrap();
    assert_eq!(r.payload, None);
    let mut h = head("POST", "/rpc/fn", "");
    h.content_type = Some("text/plain");
    let r = parse(&h, b"hi", &settings()).unwrap();
    assert_eq!(r.payload, Some(Payload::Raw(b"hi".to_vec())));
}

#[test]
fn range_header_is_only_for_get() {
    let mut h = head("HEAD", "/items", "");
    h.range = Some("1-0");
    assert_eq!(parse(&h, b"", &settings()).unwrap().range_header, None);
    h.method = "GET";
    let e = parse(&h, b"", &settings()).unwrap_err();
    assert_eq!((e.status, e.code), (416, "PGRST103"));
}

#[test]
fn errors_come_in_postgrest_order() {
    let s = settings();
    let cases = [
        (head("TRACE", "/a/b/c", "id=x"), "PGRST125"),
        (
            RequestHead {
                accept_profile: Some("nope"),
                ..head("TRACE", "/items", "id=x")
            },
            "PGRST106",
        ),
        (head("TRACE", "/items", "id=x"), "PGRST117"),
        (head("DELETE", "/rpc/fn", "id=x"), "PGRST101"),
        (head("GET", "/items", "id=x&limit=-1"), "PGRST100"),
        (head("GET", "/items", "limit=-1"), "PGRST103"),
        (head("PUT", "/items", "limit=1"), "PGRST114"),
        (
            RequestHead {
                prefer: Some("handling=strict,x"),
                ..head("POST", "/items", "")
            },
            "PGRST102",
        ),
        (
            RequestHead {
                prefer: Some("handling=strict,x"),
                ..head("GET", "/items", "")
            },
            "PGRST122",
        ),
    ];
    for (h, code) in cases {
        assert_eq!(parse(&h, b"", &s).unwrap_err().code, code, "{h:?}");
    }
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".*",
        "[a-z(),.:!\"\\\\*=&;%+ {}>-]{0,40}",
        "(select|order|or|and|not.or|a.limit|offset|id|columns|on_conflict)=[a-z(),.:!\"*0-9 {}>-]{0,30}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn never_panics(
        method in prop_oneof![Just("GET".to_owned()), Just("POST".to_owned()), Just("PATCH".to_owned()), "[A-Z]{0,7}"],
        path in prop_oneof![Just("/items".to_owned()), Just("/rpc/fn".to_owned()), "(/[a-z%0-9]{0,4}){0,3}"],
        query in proptest::collection::vec(any_text(), 0..4),
        accept in proptest::option::of(any_text()),
        prefer in proptest::option::of(any_text()),
        range in proptest::option::of("[0-9]{0,3}-?[0-9]{0,3}|.*"),
        content_type in proptest::option::of(prop_oneof![Just("text/csv".to_owned()), Just("application/x-www-form-urlencoded".to_owned()), any_text()]),
        profile in proptest::option::of(prop_oneof![Just("v2".to_owned()), any_text()]),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let query = query.join("&");
        let h = RequestHead {
            method: &method,
            path: &path,
            query: &query,
            accept: accept.as_deref(),
            prefer: prefer.as_deref(),
            range: range.as_deref(),
            content_type: content_type.as_deref(),
            accept_profile: profile.as_deref(),
            content_profile: profile.as_deref(),
        };
        if let Err(e) = parse(&h, &body, &settings()) {
            prop_assert!((400..500).contains(&e.status), "{e:?}");
            prop_assert!(e.code.starts_with("PGRST1"), "{e:?}");
        }
    }

    #[test]
    fn quiet_parses_decide_like_loud_ones(query in proptest::collection::vec(any_text(), 1..4)) {
        // Messages never steer a parse: the quiet pass alone accepts exactly what a pass recording every
        // message accepts, with the same result.
        use super::parsec::passes::{with, Passes};
        let query = query.join("&");
        let h = head("GET", "/items", &query);
        let outcome = |passes| {
            with(passes, || parse(&h, b"", &settings()).map(|r| format!("{r:?}")).map_err(|e| e.code))
        };
        prop_assert_eq!(outcome(Passes::QuietOnly), outcome(Passes::LoudOnly));
    }

    #[test]
    fn grammar_never_panics(value in ".*", key in ".*") {
        let _ = parse_filter(&key, &value);
        let _ = query_params::parse_query(&format!("select={value}&order={value}&or={value}&{key}={value}"), false);
    }
}
