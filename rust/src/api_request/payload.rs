//! The request body: JSON is only scanned for its top-level keys (PostgreSQL reads the text itself);
//! form and CSV bodies are converted to JSON; some RPC bodies pass through raw.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::media::to_mime;
use super::query_params::split_query;
use super::types::{MediaType, Payload};
use crate::error::{ApiError, ApiResult};

fn invalid_body(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "PGRST102", message)
}

const INVALID_JSON: &str = "Empty or invalid json";
const KEYS_MUST_MATCH: &str = "All object keys must match";

/// How deeply a value may nest inside a row (or an RPC argument). PostgreSQL parses the JSON text itself,
/// recursively: a value nested tens of thousands deep exhausts its stack (`54001`, a 500), so such a body
/// is refused here as invalid JSON instead. serde_json already stops the containers it visits at 128
/// levels; this bounds the values the scan only skips over, which serde_json would skip at any depth.
const MAX_VALUE_DEPTH: usize = 100;

/// Builds the payload for a body-carrying request. `columns` is `?columns=`, which (for JSON) makes the
/// keys known up front so the body is passed through unscanned, as PostgREST does.
pub fn parse_payload(
    body: &[u8],
    content_type: &MediaType,
    is_routine: bool,
    columns: Option<&[String]>,
) -> ApiResult<Payload> {
    match content_type {
        MediaType::Json => json_payload(body, is_routine, columns),
        MediaType::Csv => csv_payload(body),
        MediaType::UrlEncoded => Ok(form_payload(body, is_routine)),
        MediaType::TextPlain | MediaType::TextXml | MediaType::OctetStream if is_routine => {
            Ok(Payload::Raw(body.to_vec()))
        }
        other => Err(invalid_body(format!(
            "Content-Type not acceptable: {}",
            to_mime(other)
        ))),
    }
}

fn json_payload(body: &[u8], is_routine: bool, columns: Option<&[String]>) -> ApiResult<Payload> {
    let text = std::str::from_utf8(body).map_err(|_| invalid_body(INVALID_JSON))?;
    if let Some(columns) = columns {
        // Unscanned, but still bounded: the top-level array and row objects plus the values' own depth.
        if !nesting_within(text, MAX_VALUE_DEPTH + 2) {
            return Err(invalid_body(INVALID_JSON));
        }
        let trimmed = text.trim_start();
        let is_array = trimmed.starts_with('[');
        let is_empty_array = is_array && trimmed[1..].trim_start().starts_with(']');
        return Ok(Payload::Json {
            raw: text.to_owned(),
            keys: columns.to_vec(),
            is_array,
            is_empty_array,
        });
    }
    if is_routine && text.is_empty() {
        return Ok(Payload::Json {
            raw: "{}".into(),
            keys: Vec::new(),
            is_array: false,
            is_empty_array: false,
        });
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let shape = TopLevel.deserialize(&mut de).and_then(|s| de.end().map(|()| s));
    match shape.map_err(|_| invalid_body(INVALID_JSON))? {
        Shape::Object(keys) => Ok(Payload::Json {
            raw: text.to_owned(),
            keys,
            is_array: false,
            is_empty_array: false,
        }),
        Shape::Array {
            keys: Some(keys),
            len,
        } => Ok(Payload::Json {
            raw: text.to_owned(),
            keys,
            is_array: true,
            is_empty_array: len == 0,
        }),
        Shape::Array { keys: None, .. } => Err(invalid_body(KEYS_MUST_MATCH)),
        // PostgREST treats any other JSON value as an empty array.
        Shape::Scalar => Ok(Payload::Json {
            raw: "[]".into(),
            keys: Vec::new(),
            is_array: true,
            is_empty_array: true,
        }),
    }
}

enum Shape {
    Object(Vec<String>),
    /// `keys` is `None` when an element is not an object or the key sets differ.
    Array {
        keys: Option<Vec<String>>,
        len: usize,
    },
    Scalar,
}

struct TopLevel;

impl<'de> DeserializeSeed<'de> for TopLevel {
    type Value = Shape;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        d.deserialize_any(TopLevel)
    }
}

/// True when no `[`/`{` outside strings nests deeper than `limit`: one pass over the bytes, no parsing
/// (the `?columns=` path leaves validation to PostgreSQL, but not a depth that exhausts its stack).
/// Bulk inserts take this path with bodies of megabytes, so the pass looks at eight bytes at a time and
/// jumps to the next one that matters instead of stepping a state machine through every byte.
fn nesting_within(text: &str, limit: usize) -> bool {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(found) = find(bytes, at, quote_or_bracket) {
        match bytes[found] {
            b'"' => {
                at = after_string(bytes, found + 1);
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return false;
                }
            }
            _ => depth = depth.saturating_sub(1),
        }
        at = found + 1;
    }
    true
}

/// The index just past the string whose contents start at `at` (the end of `bytes` if it is unclosed).
fn after_string(bytes: &[u8], mut at: usize) -> usize {
    while let Some(found) = find(bytes, at, quote_or_backslash) {
        if bytes[found] == b'"' {
            return found + 1;
        }
        at = found + 2; // a backslash and the character it escapes
    }
    bytes.len()
}

/// The first index at or after `at` whose byte `matches` marks, reading words of eight bytes (the last one
/// padded with spaces, which no matcher marks).
fn find(bytes: &[u8], mut at: usize, matches: fn(u64) -> u64) -> Option<usize> {
    while at < bytes.len() {
        let word = match bytes.get(at..at + 8) {
            Some(chunk) => u64::from_le_bytes(chunk.try_into().expect("eight bytes")),
            None => {
                let mut tail = [b' '; 8];
                tail[..bytes.len() - at].copy_from_slice(&bytes[at..]);
                u64::from_le_bytes(tail)
            }
        };
        let marks = matches(word);
        if marks != 0 {
            return Some(at + marks.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    None
}

// Bytewise tests on a little-endian word: each matcher sets the high bit of its byte in the result for a
// byte it looks for. Above the first match a borrow may set more, so only the lowest mark is used.

const fn splat(byte: u8) -> u64 {
    u64::from_ne_bytes([byte; 8])
}

/// Marks the zero bytes of `word`.
const fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(splat(0x01)) & !word & splat(0x80)
}

/// `"`, `[`, `]`, `{`, `}`. Clearing bit 5 folds `{` onto `[` and `}` onto `]`, and nothing else onto either.
fn quote_or_bracket(word: u64) -> u64 {
    let folded = word & splat(!0x20);
    zero_bytes(word ^ splat(b'"')) | zero_bytes(folded ^ splat(b'[')) | zero_bytes(folded ^ splat(b']'))
}

/// `"` and `\`: what ends or escapes a string's run of ordinary characters.
fn quote_or_backslash(word: u64) -> u64 {
    zero_bytes(word ^ splat(b'"')) | zero_bytes(word ^ splat(b'\\'))
}

fn object_keys<'de, A: MapAccess<'de>>(mut map: A) -> Result<Vec<String>, A::Error> {
    let mut keys: Vec<String> = Vec::new();
    while let Some(key) = map.next_key::<String>()? {
        map.next_value_seed(Skip(MAX_VALUE_DEPTH))?;
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    Ok(keys)
}

impl<'de> Visitor<'de> for TopLevel {
    type Value = Shape;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Shape, A::Error> {
        object_keys(map).map(Shape::Object)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let mut first: Option<(Vec<String>, BTreeSet<String>)> = None;
        let mut uniform = true;
        let mut len = 0;
        while let Some(element) = seq.next_element_seed(ElementKeys)? {
            len += 1;
            match (element, &first) {
                (None, _) => uniform = false,
                (Some(keys), None) => {
                    let set = keys.iter().cloned().collect();
                    first = Some((keys, set));
                }
                (Some(keys), Some((_, set))) => {
                    uniform &= keys.len() == set.len() && keys.iter().all(|k| set.contains(k));
                }
            }
        }
        let keys = match (uniform, first) {
            (true, Some((keys, _))) => Some(keys),
            (true, None) => Some(Vec::new()),
            (false, _) => None,
        };
        Ok(Shape::Array { keys, len })
    }
    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
    fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
}

/// An array element: its keys if it is an object, `None` otherwise (still fully validated).
struct ElementKeys;

impl<'de> DeserializeSeed<'de> for ElementKeys {
    type Value = Option<Vec<String>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ElementKeys)
    }
}

impl<'de> Visitor<'de> for ElementKeys {
    type Value = Option<Vec<String>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        object_keys(map).map(Some)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element_seed(Skip(MAX_VALUE_DEPTH))?.is_some() {}
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Skips one value, nesting at most `.0` more levels deep (object keys go through `IgnoredAny`).
struct Skip(usize);

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.deeper::<A::Error>()?;
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(Skip(inner))?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.deeper::<A::Error>()?;
        while seq.next_element_seed(Skip(inner))?.is_some() {}
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

impl Skip {
    fn deeper<E: de::Error>(self) -> Result<usize, E> {
        self.0
            .checked_sub(1)
            .ok_or_else(|| E::custom("JSON value nested too deeply"))
    }
}

fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// `a=1&b=2` → `{"a":"1","b":"2"}`; a repeated key keeps its last value.
/// A form body as a JSON object of strings. A repeated key keeps its last value, except in a call,
/// where it becomes an array of every value in order: the plan feeds those to a VARIADIC parameter
/// (PostgREST's `toRpcParams`). A form value is otherwise always a string, so an array is unambiguous.
fn form_payload(body: &[u8], is_routine: bool) -> Payload {
    let text = String::from_utf8_lossy(body);
    let mut pairs: Vec<(String, Vec<String>)> = Vec::new();
    for p in split_query(&text) {
        let value = p.value.unwrap_or_default();
        match pairs.iter_mut().find(|(k, _)| *k == p.key) {
            Some((_, values)) if is_routine => values.push(value),
            Some((_, values)) => *values = vec![value],
            None => pairs.push((p.key, vec![value])),
        }
    }
    let fields: Vec<String> = pairs
        .iter()
        .map(|(k, values)| match values.as_slice() {
            [one] => format!("{}:{}", json_string(k), json_string(one)),
            many => {
                let items: Vec<String> = many.iter().map(|v| json_string(v)).collect();
                format!("{}:[{}]", json_string(k), items.join(","))
            }
        })
        .collect();
    Payload::Converted {
        json: format!("{{{}}}", fields.join(",")),
        keys: pairs.into_iter().map(|(k, _)| k).collect(),
    }
}

/// RFC 4180 records: `,` separated, `"` quoted with `""` escapes, CRLF or LF line ends.
fn csv_records(text: &str) -> ApiResult<Vec<Vec<String>>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted_field = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if field.is_empty() && !quoted_field => {
                quoted_field = true;
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(ch) => field.push(ch),
                        None => {
                            return Err(invalid_body(
                                "Could not parse CSV body: unterminated quoted field",
                            ))
                        }
                    }
                }
            }
            ',' => {
                record.push(std::mem::take(&mut field));
                quoted_field = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                quoted_field = false;
            }
            ch => field.push(ch),
        }
    }
    if !field.is_empty() || quoted_field || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

/// A header row and data rows → a JSON array of objects; the text `NULL` is SQL null.
fn csv_payload(body: &[u8]) -> ApiResult<Payload> {
    let text =
        std::str::from_utf8(body).map_err(|_| invalid_body("Could not parse CSV body: invalid UTF-8"))?;
    let mut records = csv_records(text)?.into_iter();
    let header = records
        .next()
        .ok_or_else(|| invalid_body("Could not parse CSV body: missing header row"))?;
    let mut rows = Vec::new();
    for record in records {
        if record.len() != header.len() {
            return Err(invalid_body("All lines must have same number of fields"));
        }
        let fields: Vec<String> = header
            .iter()
            .zip(&record)
            .map(|(k, v)| {
                let value = if v == "NULL" {
                    "null".to_owned()
                } else {
                    json_string(v)
                };
                format!("{}:{value}", json_string(k))
            })
            .collect();
        rows.push(format!("{{{}}}", fields.join(",")));
    }
    let mut keys: Vec<String> = Vec::new();
    for k in header {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    Ok(Payload::Converted {
        json: format!("[{}]", rows.join(",")),
        keys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(body: &str) -> ApiResult<Payload> {
        parse_payload(body.as_bytes(), &MediaType::Json, false, None)
    }

    fn keys(p: &Payload) -> Vec<String> {
        match p {
            Payload::Json { keys, .. } | Payload::Converted { keys, .. } => keys.clone(),
            Payload::Raw(_) => vec![],
        }
    }

    #[test]
    fn scans_json_keys() {
        let p = json(r#" {"id": 1, "body": {"nested": [1, {"x": 2}]}} "#).unwrap();
        assert_eq!(keys(&p), vec!["id", "body"]);
        let p = json(r#"[{"a":1,"b":2},{"b":3,"a":4}]"#).unwrap();
        assert!(matches!(
            &p,
            Payload::Json {
                is_array: true,
                is_empty_array: false,
                ..
            }
        ));
        assert_eq!(keys(&p), vec!["a", "b"]);
        // An escaped key is the key it spells, whichever row has it.
        let p = json(r#"[{"a\u0062":1,"c":2},{"ab":3,"\u0063":4},{"c":5,"ab":6,"ab":7}]"#).unwrap();
        assert_eq!(keys(&p), vec!["ab", "c"]);
        assert!(json(r#"[{"ab":1},{"a\u0063":2}]"#).is_err());
        let p = json("[]").unwrap();
        assert!(matches!(
            &p,
            Payload::Json {
                is_array: true,
                is_empty_array: true,
                ..
            }
        ));
        let p = json("123").unwrap();
        assert_eq!(
            p,
            Payload::Json {
                raw: "[]".into(),
                keys: vec![],
                is_array: true,
                is_empty_array: true
            }
        );
    }

    #[test]
    fn rejects_bad_json() {
        for (body, message) in [
            ("}{ x = 2", INVALID_JSON),
            ("", INVALID_JSON),
            ("{\"a\":1} x", INVALID_JSON),
            (r#"[{"id": 100}, 123, "x", {"id": 111}]"#, KEYS_MUST_MATCH),
            (
                r#"[{"id": 100, "body": "x"}, {"id": 111, "body": "y", "owner": "me"}]"#,
                KEYS_MUST_MATCH,
            ),
            (r#"[1, 2]"#, KEYS_MUST_MATCH),
            (r#"[{"a":1}, {"a":1,"a":2,"b":3}]"#, KEYS_MUST_MATCH),
        ] {
            let e = json(body).unwrap_err();
            assert_eq!(
                (e.status, e.code, e.message.as_str()),
                (400, "PGRST102", message),
                "{body}"
            );
        }
        let e = parse_payload(b"\xff", &MediaType::Json, false, None).unwrap_err();
        assert_eq!(e.message, INVALID_JSON);
    }

    #[test]
    fn bounds_the_depth_of_skipped_values() {
        let nested = |depth: usize| format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
        let within = format!(r#"{{"id": 1, "payload": {}}}"#, nested(MAX_VALUE_DEPTH));
        assert_eq!(keys(&json(&within).unwrap()), ["id", "payload"]);
        let rows = format!(r#"[{{"payload": [{}]}}]"#, nested(MAX_VALUE_DEPTH - 1));
        assert!(json(&rows).is_ok());
        for body in [
            format!(r#"{{"id": 1, "payload": {}}}"#, nested(MAX_VALUE_DEPTH + 1)),
            format!(r#"{{"payload": {}}}"#, nested(50_000)),
            format!(r#"[{{"payload": {}}}]"#, nested(50_000)),
            format!(r#"[[{}]]"#, "[".repeat(50_000) + &"]".repeat(50_000)),
        ] {
            let e = json(&body).unwrap_err();
            assert_eq!(
                (e.status, e.code, e.message.as_str()),
                (400, "PGRST102", INVALID_JSON)
            );
        }
    }

    #[test]
    fn empty_rpc_body_is_an_empty_object() {
        let p = parse_payload(b"", &MediaType::Json, true, None).unwrap();
        assert_eq!(
            p,
            Payload::Json {
                raw: "{}".into(),
                keys: vec![],
                is_array: false,
                is_empty_array: false
            }
        );
    }

    #[test]
    fn columns_still_bound_the_nesting_depth() {
        let columns = ["payload".to_owned()];
        let deep = format!(
            r#"[{{"payload": {}1{}}}]"#,
            "[".repeat(50_000),
            "]".repeat(50_000)
        );
        let err = json_payload(deep.as_bytes(), false, Some(&columns)).unwrap_err();
        assert_eq!((err.status, err.code), (400, "PGRST102"));
        let quoted = format!(r#"[{{"payload": "{}"}}]"#, "[{".repeat(50_000));
        assert!(json_payload(quoted.as_bytes(), false, Some(&columns)).is_ok());
        let escaped = r#"[{"payload": "a \" [[[ \\"}]"#;
        assert!(nesting_within(escaped, 3));
    }

    /// The nesting scan as a plain state machine over every byte: what the skipping scan must agree with.
    fn nesting_within_stepwise(text: &str, limit: usize) -> bool {
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        for byte in text.bytes() {
            if in_string {
                match byte {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match byte {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > limit {
                        return false;
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        true
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 5000, ..Default::default() })]

        /// Texts made of the bytes that matter (quotes, escapes, brackets), bytes one bit away from them,
        /// a multi-byte character and filler, ending anywhere: inside a string, after a trailing
        /// backslash, deep or shallow, within or across words of eight bytes.
        #[test]
        fn the_skipping_nesting_scan_agrees_with_the_stepwise_one(
            text in "[\"\\\\\\[\\]{}a é|Z^~\\x02]{0,80}",
            limit in 0usize..6,
        ) {
            proptest::prop_assert_eq!(nesting_within(&text, limit), nesting_within_stepwise(&text, limit));
        }
    }

    #[test]
    fn columns_skip_the_scan() {
        let cols = vec!["a".to_owned()];
        let p = parse_payload(b" [ ] ", &MediaType::Json, false, Some(&cols)).unwrap();
        assert_eq!(
            p,
            Payload::Json {
                raw: " [ ] ".into(),
                keys: cols,
                is_array: true,
                is_empty_array: true
            }
        );
    }

    #[test]
    fn converts_forms() {
        let p = parse_payload(
            b"name=a+b&id=%31&name=c&flag",
            &MediaType::UrlEncoded,
            false,
            None,
        )
        .unwrap();
        assert_eq!(
            p,
            Payload::Converted {
                json: r#"{"name":"c","id":"1","flag":""}"#.into(),
                keys: vec!["name".into(), "id".into(), "flag".into()]
            }
        );
    }

    #[test]
    fn converts_csv() {
        let body = "a,b,\"c,d\"\r\n1,NULL,\"x \"\"y\"\"\nz\"\n,,\n";
        let p = parse_payload(body.as_bytes(), &MediaType::Csv, false, None).unwrap();
        assert_eq!(
            p,
            Payload::Converted {
                json: r#"[{"a":"1","b":null,"c,d":"x \"y\"\nz"},{"a":"","b":"","c,d":""}]"#.into(),
                keys: vec!["a".into(), "b".into(), "c,d".into()],
            }
        );
        let e = parse_payload(b"a,b\nfoo,bar\nbaz", &MediaType::Csv, false, None).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            ("PGRST102", "All lines must have same number of fields")
        );
        assert!(parse_payload(b"a\n\"x", &MediaType::Csv, false, None).is_err());
        assert!(parse_payload(b"", &MediaType::Csv, false, None).is_err());
    }

    #[test]
    fn raw_bodies_only_for_rpc() {
        for ct in [MediaType::TextPlain, MediaType::TextXml, MediaType::OctetStream] {
            assert_eq!(
                parse_payload(b"\x00hi", &ct, true, None),
                Ok(Payload::Raw(b"\x00hi".to_vec()))
            );
            let e = parse_payload(b"hi", &ct, false, None).unwrap_err();
            assert_eq!(
                e.message,
                format!("Content-Type not acceptable: {}", to_mime(&ct))
            );
        }
        let e = parse_payload(b"x", &MediaType::Other("application/x-foo".into()), true, None).unwrap_err();
        assert_eq!(e.message, "Content-Type not acceptable: application/x-foo");
    }
}
