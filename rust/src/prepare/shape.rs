//! Request shapes: a request's method, path, headers and query string with its filter values taken out.
//! Every request of one shape has the same SQL, the same headers and the same response rules; only the
//! bound values differ. So the core parses, plans and builds a shape once (a [`Template`]) and answers
//! the next request of that shape by putting its values into the template's parameters: `GET
//! /items?id=eq.N` is parsed and planned once, whatever N is.
//!
//! A template is built from the request with each value replaced by a sentinel that no client sends, and
//! is kept only when it proves the values are plain bound parameters: every sentinel comes back as whole
//! parameters and nowhere else (not in the SQL, not in a header but `Content-Location`, which is
//! rebuilt from the request's own query string). Only operators that bind their value as written are
//! taken out: `like`'s `*` becomes `%`, `in.(…)` is a list and `is.` a keyword, so those values stay in
//! the shape as sent, and so do `limit`, `offset`, `select` and the rest. On `GET /rpc/fn` the plain
//! arguments are taken out too (`?id=42`), but not a value that PostgREST would read as a filter.

use super::{prepare, Prepared};
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::ops::Range;

use crate::api_request::query_params::{encode_into, url_decode, RESERVED, RESERVED_EMBEDDABLE};
use crate::api_request::RequestHead;
use crate::plan::call_plan::has_operator;
use crate::schema_cache::SchemaCache;
use crate::settings::Settings;

/// Methods whose request body the core never reads: their shape is the whole request.
const METHODS: [&str; 3] = ["GET", "HEAD", "DELETE"];

/// A request with its filter values taken out.
#[derive(Debug)]
pub struct Shape {
    /// Method, path, the headers the core reads and the query string without the values.
    pub key: String,
    /// Where each value sits in the raw (percent-encoded) query string, in order.
    operands: Vec<Range<usize>>,
}

impl Shape {
    /// The shape of `head`, or `None` when the core reads the request's body or a part holds a NUL byte
    /// (the key's separator).
    pub fn of(head: &RequestHead<'_>) -> Option<Shape> {
        if !METHODS.contains(&head.method) {
            return None;
        }
        let headers = [
            head.accept,
            head.prefer,
            head.range,
            head.content_type,
            head.accept_profile,
            head.content_profile,
        ];
        let mut key = String::with_capacity(head.path.len() + head.query.len() + 64);
        for part in [head.method, head.path] {
            key.push_str(part);
            key.push('\0');
        }
        for header in headers {
            match header {
                None => key.push('-'),
                Some(value) => {
                    key.push('+');
                    key.push_str(value);
                }
            }
            key.push('\0');
        }
        let query = head.query;
        let call = head.method != "DELETE" && head.path.starts_with("/rpc/");
        let mut operands = Vec::new();
        let (mut start, mut copied) = (0, 0);
        while start <= query.len() {
            let end = query.as_bytes()[start..]
                .iter()
                .position(|&b| b == b'&' || b == b';')
                .map_or(query.len(), |at| start + at);
            let pair = &query[start..end];
            let cut = operand_start(pair).or_else(|| call.then(|| argument_start(pair)).flatten());
            if let Some(cut) = cut {
                key.push_str(&query[copied..start + cut]);
                operands.push(start + cut..end);
                copied = end;
            }
            start = end + 1;
        }
        key.push_str(&query[copied..]);
        let has_nul = [head.path, query]
            .iter()
            .chain(headers.iter().flatten())
            .any(|part| part.contains('\0'));
        (!has_nul).then_some(Shape { key, operands })
    }

    /// Where each value sits in the raw query string.
    pub fn operands(&self) -> &[Range<usize>] {
        &self.operands
    }

    /// The request's values, percent-decoded (as bytes: the parameter reads them as UTF-8, the
    /// `Content-Location` encodes them again); `None` when one holds a NUL byte, which `prepare` refuses.
    pub fn values(&self, query: &str) -> Option<Vec<Vec<u8>>> {
        let values: Vec<Vec<u8>> = self
            .operands
            .iter()
            .map(|range| url_decode(&query[range.clone()]))
            .collect();
        (!values.iter().any(|value| value.contains(&0))).then_some(values)
    }
}

/// Where a pair's operand begins, for `key=[not.]<operator>.<value>` with an operator whose value the
/// SQL binds as written.
fn operand_start(pair: &str) -> Option<usize> {
    let value_start = pair.find('=')? + 1;
    let value = &pair[value_start..];
    let rest = value.strip_prefix("not.").unwrap_or(value);
    let dot = rest.find('.')?;
    let bound_as_written = matches!(
        &rest[..dot],
        "eq" | "neq"
            | "gt"
            | "gte"
            | "lt"
            | "lte"
            | "isdistinct"
            | "match"
            | "imatch"
            | "cs"
            | "cd"
            | "ov"
            | "fts"
            | "plfts"
            | "phfts"
            | "wfts"
    );
    bound_as_written.then_some(pair.len() - rest.len() + dot + 1)
}

/// Where a function argument's value begins, for `GET /rpc/fn?name=<value>`: a plain key (no embed path,
/// no encoding, not a reserved word) and a value PostgREST does not read as a filter. That split depends
/// on the value, so a value that starts like an operator stays in the shape as sent.
fn argument_start(pair: &str) -> Option<usize> {
    let (key, value) = pair.split_once('=')?;
    let reserved = RESERVED.contains(&key) || RESERVED_EMBEDDABLE.contains(&key);
    let plain = !key.is_empty() && !key.contains(['.', '%', '+']) && !reserved;
    (plain && !has_operator(&String::from_utf8_lossy(&url_decode(value)))).then_some(key.len() + 1)
}

/// A sentinel's raw (query string) and decoded forms: control characters and a long tag, so that
/// nothing a client sends is mistaken for one. The raw form is also how `Content-Location` encodes it.
fn sentinel(index: usize) -> (String, String) {
    (
        format!("%01{SENTINEL_TAG}{index}%01"),
        format!("\u{1}{SENTINEL_TAG}{index}\u{1}"),
    )
}

const SENTINEL_TAG: &str = "restpg-shape-";

fn mentions_sentinel(text: &[u8]) -> bool {
    let tag = SENTINEL_TAG.as_bytes();
    text.windows(tag.len()).any(|w| w == tag)
}

/// A value read as the query string parser reads it: UTF-8, invalid sequences replaced.
fn as_text(bytes: &[u8]) -> Cow<'_, [u8]> {
    match String::from_utf8_lossy(bytes) {
        Cow::Borrowed(_) => Cow::Borrowed(bytes),
        Cow::Owned(text) => Cow::Owned(text.into_bytes()),
    }
}

/// A piece of `Content-Location`: the template's text, or where a request value goes.
#[derive(Debug)]
enum Piece {
    Text(String),
    Value(usize),
}

/// `value` cut at each sentinel (in its raw form); `None` when a sentinel's tag is left in the text.
fn pieces(value: &str, sentinels: &[String]) -> Option<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut rest = value;
    while let Some(at) = rest.find(SENTINEL_TAG).map(|at| at.saturating_sub(3)) {
        let index = sentinels
            .iter()
            .position(|raw| rest[at..].starts_with(raw.as_str()))?;
        pieces.push(Piece::Text(rest[..at].to_owned()));
        pieces.push(Piece::Value(index));
        rest = &rest[at + sentinels[index].len()..];
    }
    pieces.push(Piece::Text(rest.to_owned()));
    Some(pieces)
}

/// One shape's prepared request, with the values as slots.
#[derive(Debug)]
pub struct Template {
    prepared: Prepared,
    /// Per parameter: the index of the request value it takes, or `None` for the template's own.
    slots: Vec<Option<usize>>,
    /// The `Content-Location` header's index and its value in pieces, when it holds request values.
    location: Option<(usize, Vec<Piece>)>,
}

impl Template {
    /// Prepares `shape` with sentinels for its values; `None` when that fails or when the result does not
    /// show every value as a plain bound parameter (the shape is then prepared request by request).
    pub fn build(
        cache: &SchemaCache,
        settings: &Settings,
        head: &RequestHead<'_>,
        shape: &Shape,
    ) -> Option<Template> {
        let mut query = String::with_capacity(head.query.len() + 24 * shape.operands.len());
        let (mut raw, mut decoded) = (Vec::new(), Vec::new());
        let mut copied = 0;
        for (index, range) in shape.operands.iter().enumerate() {
            let (raw_form, value) = sentinel(index);
            query.push_str(&head.query[copied..range.start]);
            query.push_str(&raw_form);
            raw.push(raw_form);
            decoded.push(value);
            copied = range.end;
        }
        query.push_str(&head.query[copied..]);
        let sentinel_head = RequestHead {
            query: &query,
            ..*head
        };
        let prepared = prepare(cache, settings, &sentinel_head, b"").ok()?;

        let mut slots = Vec::with_capacity(prepared.params.len());
        let mut used = vec![false; decoded.len()];
        for param in &prepared.params {
            let slot = match param {
                Some(bytes) if mentions_sentinel(bytes) => {
                    let index = decoded.iter().position(|d| d.as_bytes() == bytes.as_slice())?;
                    used[index] = true;
                    Some(index)
                }
                _ => None,
            };
            slots.push(slot);
        }
        if used.contains(&false) {
            return None; // a value that is not a parameter: it shaped something else
        }
        // `Content-Location` is the only other place a value may go: the canonical query string.
        let location = match prepared
            .headers
            .iter()
            .position(|(name, value)| name == "Content-Location" && mentions_sentinel(value.as_bytes()))
        {
            Some(index) => Some((index, pieces(&prepared.headers[index].1, &raw)?)),
            None => None,
        };
        let mut texts = vec![
            prepared.sql.as_str(),
            prepared.schema.as_str(),
            prepared.search_path.as_str(),
        ];
        texts.extend(prepared.count_sql.as_deref());
        texts.extend(prepared.content_type.as_deref());
        texts.extend(prepared.timezone.as_deref());
        texts.extend(
            prepared
                .function_settings
                .iter()
                .flat_map(|(k, v)| [k.as_str(), v.as_str()]),
        );
        for (i, (name, value)) in prepared.headers.iter().enumerate() {
            texts.push(name);
            if location.as_ref().map(|(at, _)| *at) != Some(i) {
                texts.push(value);
            }
        }
        if texts.iter().any(|text| mentions_sentinel(text.as_bytes())) {
            return None;
        }
        Some(Template {
            prepared,
            slots,
            location,
        })
    }

    /// The prepared request with the sentinels still in the slots: what every request of the shape shares.
    pub fn prepared(&self) -> &Prepared {
        &self.prepared
    }

    /// True when the shape has no values: the template is the request.
    pub fn is_whole(&self) -> bool {
        self.slots.iter().all(Option::is_none) && self.location.is_none()
    }

    /// A request's parameters: the template's, with the request's `values` ([`Shape::values`]) in the slots.
    pub fn params<'v>(&'v self, values: &'v [Vec<u8>]) -> Vec<Option<Cow<'v, [u8]>>> {
        self.prepared
            .params
            .iter()
            .zip(&self.slots)
            .map(|(own, slot)| match slot {
                Some(index) => Some(as_text(&values[*index])),
                None => own.as_deref().map(Cow::Borrowed),
            })
            .collect()
    }

    /// The request's `Content-Location`, `(header index, value)`, when it holds request values.
    pub fn content_location(&self, values: &[Vec<u8>]) -> Option<(usize, String)> {
        let (index, pieces) = self.location.as_ref()?;
        let mut out = String::with_capacity(64);
        for piece in pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Value(i) => encode_into(&mut out, &values[*i]),
            }
        }
        Some((*index, out))
    }

    /// The whole prepared request with `values` ([`Shape::values`]).
    pub fn instantiate(&self, values: &[Vec<u8>]) -> Prepared {
        let params = self
            .params(values)
            .into_iter()
            .map(|p| p.map(Cow::into_owned))
            .collect();
        let mut prepared = Prepared {
            params,
            ..self.prepared.clone()
        };
        if let Some((index, value)) = self.content_location(values) {
            prepared.headers[index].1 = value;
        }
        prepared
    }
}

/// A bounded map from shape keys to what a caller keeps per shape (`None`: the shape has no template).
/// Shapes are few in a real workload; a flood of distinct ones (every `limit` from 1 to a million, or a
/// function's argument with many values) costs memory only up to the bound, and evicts the oldest shape
/// one at a time, so that no request pays for dropping thousands at once.
pub struct Shapes<T> {
    entries: HashMap<String, Option<T>>,
    /// Keys in insertion order: the front is evicted first.
    order: VecDeque<String>,
    capacity: usize,
}

impl<T: Clone> Shapes<T> {
    pub fn new(capacity: usize) -> Self {
        Shapes {
            entries: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// The entry of `key`: `None` when the shape was never seen.
    pub fn get(&self, key: &str) -> Option<&Option<T>> {
        self.entries.get(key)
    }

    /// Keeps `entry` for `key`; returns the entry evicted to make room, for the caller to drop.
    pub fn insert(&mut self, key: String, entry: Option<T>) -> Option<Option<T>> {
        if let Some(slot) = self.entries.get_mut(&key) {
            *slot = entry; // two requests of a new shape prepared it side by side
            return None;
        }
        let mut evicted = None;
        while self.entries.len() >= self.capacity {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            evicted = self.entries.remove(&oldest);
        }
        self.order.push_back(key.clone());
        self.entries.insert(key, entry);
        evicted
    }

    /// The entry of `key`, from `build` the first time.
    pub fn get_or_build(&mut self, key: &str, build: impl FnOnce() -> Option<T>) -> Option<T> {
        if let Some(entry) = self.get(key) {
            return entry.clone();
        }
        let entry = build();
        self.insert(key.to_owned(), entry.clone());
        entry
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// [`prepare`] through a cache of templates: what `Engine.prepare` does, without Python.
pub fn prepare_shaped(
    cache: &SchemaCache,
    settings: &Settings,
    shapes: &mut Shapes<std::sync::Arc<Template>>,
    head: &RequestHead<'_>,
    body: &[u8],
) -> crate::error::ApiResult<Prepared> {
    if let Some(shape) = Shape::of(head) {
        let build = || Template::build(cache, settings, head, &shape).map(std::sync::Arc::new);
        if let (Some(template), Some(values)) =
            (shapes.get_or_build(&shape.key, build), shape.values(head.query))
        {
            return Ok(template.instantiate(&values));
        }
    }
    prepare(cache, settings, head, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head<'a>(method: &'a str, query: &'a str) -> RequestHead<'a> {
        RequestHead {
            method,
            path: "/items",
            query,
            ..RequestHead::default()
        }
    }

    #[test]
    fn takes_out_the_values_of_plain_operators() {
        let a = Shape::of(&head("GET", "id=eq.1&select=id,name&name=not.like.a*")).unwrap();
        let b = Shape::of(&head("GET", "id=eq.22&select=id,name&name=not.like.a*")).unwrap();
        assert_eq!(a.key, b.key);
        assert_eq!(
            a.values("id=eq.1&select=id,name&name=not.like.a*").unwrap(),
            [b"1"]
        );
        let nul = "id=eq.a%00b&select=id";
        assert_eq!(Shape::of(&head("GET", nul)).unwrap().values(nul), None);
        let c = Shape::of(&head("GET", "id=not.gte.%C3%A9;x=in.(1,2)&y=lt.")).unwrap();
        let query = "id=not.gte.%C3%A9;x=in.(1,2)&y=lt.";
        assert_eq!(c.values(query).unwrap(), ["é".as_bytes(), b""]);
        assert!(c.key.ends_with("id=not.gte.;x=in.(1,2)&y=lt."), "{}", c.key);
    }

    #[test]
    fn keeps_what_the_sql_depends_on() {
        let key = |q| Shape::of(&head("GET", q)).unwrap().key;
        assert_ne!(key("limit=1"), key("limit=2"));
        assert_ne!(key("id=in.(1)"), key("id=in.(2)"));
        assert_ne!(key("id=is.null"), key("id=is.true"));
        assert_ne!(key("id=eq.1"), key("id=gt.1"));
        assert_ne!(key("a=eq.1&b=eq.1"), key("a=eq.1;b=eq.1"));
        let other = |h: RequestHead<'_>| Shape::of(&h).unwrap().key;
        let base = head("GET", "id=eq.1");
        assert_ne!(
            key("id=eq.1"),
            other(RequestHead {
                prefer: Some(""),
                ..base
            })
        );
        assert_ne!(
            key("id=eq.1"),
            other(RequestHead {
                method: "HEAD",
                ..base
            })
        );
        assert_ne!(
            other(RequestHead {
                accept: Some("a"),
                ..base
            }),
            other(RequestHead {
                range: Some("a"),
                ..base
            })
        );
    }

    #[test]
    fn only_bodiless_methods_have_a_shape() {
        assert!(Shape::of(&head("POST", "id=eq.1")).is_none());
        assert!(Shape::of(&head("PATCH", "id=eq.1")).is_none());
        assert!(Shape::of(&head("DELETE", "id=eq.1")).is_some());
        assert!(Shape::of(&head("GET", "id=eq.1%00\0")).is_none());
    }

    #[test]
    fn takes_out_a_calls_plain_arguments() {
        let call = |method, query| {
            let head = RequestHead {
                method,
                path: "/rpc/fn",
                query,
                ..RequestHead::default()
            };
            let shape = Shape::of(&head).unwrap();
            (
                shape.key.rsplit('\0').next().unwrap().to_owned(),
                shape.values(query).unwrap(),
            )
        };
        let (key, values) = call("GET", "a=1&b=x%20y&c=eq.3&d=in.(1)&e=not.x&limit=2&t.x=1&%61=1&f");
        assert_eq!(key, "a=&b=&c=eq.&d=in.(1)&e=not.x&limit=2&t.x=1&%61=1&f");
        assert_eq!(values, [b"1".to_vec(), b"x y".to_vec(), b"3".to_vec()]);
        let (key, _) = call("GET", "a=fts(english).x&b=");
        assert_eq!(key, "a=fts(english).x&b=");
        assert_eq!(call("DELETE", "a=1").0, "a=1");
        assert_eq!(Shape::of(&head("GET", "a=1")).unwrap().operands().len(), 0);
    }

    #[test]
    fn cuts_the_location_at_each_sentinel() {
        let raw: Vec<String> = (0..11).map(|i| sentinel(i).0).collect();
        let value = format!("/t?a=eq.{}&b=eq.{}", raw[10], raw[1]);
        let cut = pieces(&value, &raw).unwrap();
        assert_eq!(
            format!("{cut:?}"),
            r#"[Text("/t?a=eq."), Value(10), Text("&b=eq."), Value(1), Text("")]"#
        );
        assert!(pieces("/t?a=restpg-shape-1", &raw).is_none());
        assert!(pieces("/t?a=%01restpg-shape-99%01", &raw).is_none());
    }

    #[test]
    fn evicts_the_oldest_shape_when_full() {
        let mut shapes = Shapes::new(2);
        assert_eq!(shapes.get_or_build("a", || Some(1)), Some(1));
        assert_eq!(shapes.get_or_build("a", || Some(2)), Some(1));
        assert_eq!(shapes.get_or_build("b", || None), None);
        assert_eq!(shapes.len(), 2);
        assert_eq!(shapes.get_or_build("c", || Some(3)), Some(3));
        assert_eq!(shapes.len(), 2);
        assert!(shapes.get("a").is_none() && shapes.get("b").is_some());
        assert_eq!(shapes.insert("d".into(), Some(4)), Some(None)); // "b" goes
        assert_eq!(shapes.insert("d".into(), Some(5)), None); // a second insert replaces
        assert_eq!(shapes.get("d"), Some(&Some(5)));
        assert_eq!(shapes.len(), 2);
    }
}
