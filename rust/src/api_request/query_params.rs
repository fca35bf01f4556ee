//! The query string: splitting, decoding, dispatching each key to its grammar, and the canonical form.

use super::filter::{parse_filter, parse_tree_path};
use super::logic::parse_logic;
use super::order::parse_order;
use super::parsec::Parser;
use super::select::parse_select;
use super::types::{EmbedPath, QueryParams};
use crate::error::ApiResult;

/// Keys that only mean something at the top level.
pub const RESERVED: [&str; 3] = ["select", "columns", "on_conflict"];
/// Keys that may be prefixed by an embed path (`clients.projects.order`).
pub const RESERVED_EMBEDDABLE: [&str; 5] = ["order", "limit", "offset", "and", "or"];

/// One `key[=value]` pair, decoded. `value` is `None` when there was no `=`.
#[derive(Debug, Clone)]
pub struct RawParam {
    key_bytes: Vec<u8>,
    value_bytes: Option<Vec<u8>>,
    pub key: String,
    pub value: Option<String>,
}

/// Splits on `&` and `;` and decodes `%XX` and `+`, as the HTTP library PostgREST uses does.
pub fn split_query(query: &str) -> Vec<RawParam> {
    let query = query.strip_prefix('?').unwrap_or(query);
    if query.is_empty() {
        return Vec::new();
    }
    query
        .split(['&', ';'])
        .map(|pair| {
            let (k, v) = match pair.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (pair, None),
            };
            let key_bytes = url_decode(k);
            let value_bytes = v.map(url_decode);
            RawParam {
                key: String::from_utf8_lossy(&key_bytes).into_owned(),
                value: value_bytes
                    .as_deref()
                    .map(|b| String::from_utf8_lossy(b).into_owned()),
                key_bytes,
                value_bytes,
            }
        })
        .collect()
}

/// Decodes `%XX` and `+` as [`split_query`] does (which then reads the bytes as UTF-8, lossily).
pub fn url_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() && hex(bytes[i + 1]).is_some() && hex(bytes[i + 2]).is_some() => {
                out.push(hex(bytes[i + 1]).unwrap_or(0) * 16 + hex(bytes[i + 2]).unwrap_or(0));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// PostgREST's canonical query string (for `Content-Location`): pairs sorted by key, values of a
/// repeated key joined with `,`, every byte but ASCII alphanumerics and `-_.~` percent-encoded.
pub fn canonical(params: &[RawParam]) -> String {
    let mut sorted: Vec<&RawParam> = params.iter().collect();
    sorted.sort_by(|a, b| a.key_bytes.cmp(&b.key_bytes)); // stable: repeated keys keep their order
    let mut out = String::new();
    let mut i = 0;
    while i < sorted.len() {
        if !out.is_empty() {
            out.push('&');
        }
        let key = &sorted[i].key_bytes;
        encode_into(&mut out, key);
        out.push('=');
        let mut first = true;
        while i < sorted.len() && &sorted[i].key_bytes == key {
            if !first {
                out.push(',');
            }
            first = false;
            encode_into(&mut out, sorted[i].value_bytes.as_deref().unwrap_or_default());
            i += 1;
        }
    }
    out
}

/// Appends `bytes` as [`canonical`] encodes a key or a value.
pub fn encode_into(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

fn last_segment(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// Parses the query string. With `rpc_read` (GET/HEAD on a function) non-reserved pairs are kept raw in
/// `params`: only the plan knows which are arguments; it sends the others through [`parse_filter`].
pub fn parse_query(query: &str, rpc_read: bool) -> ApiResult<QueryParams> {
    let raw = split_query(query);
    let pairs: Vec<(&str, &str)> = raw
        .iter()
        .filter_map(|p| p.value.as_deref().map(|v| (p.key.as_str(), v)))
        .collect();
    let lookup = |needle: &str| {
        raw.iter()
            .find(|p| p.key == needle)
            .and_then(|p| p.value.as_deref())
    };
    let is_a = |key: &str, words: &[&str]| words.contains(&last_segment(key));

    let mut qp = QueryParams {
        canonical: canonical(&raw),
        ..QueryParams::default()
    };
    // Errors are reported in PostgREST's order: order, logic, columns, select, filters, on_conflict.
    for &(k, v) in pairs.iter().filter(|(k, _)| is_a(k, &["order"])) {
        qp.order.push(parse_order(k, v)?);
    }
    for &(k, v) in pairs.iter().filter(|(k, _)| is_a(k, &["and", "or"])) {
        qp.logic.push(parse_logic(k, v)?);
    }
    if let Some(v) = lookup("columns") {
        qp.columns = Some(parse_column_list("columns parameter", v)?);
    }
    if let Some(v) = lookup("select") {
        qp.select = parse_select(v)?;
    }
    let filters = pairs
        .iter()
        .filter(|(k, _)| !is_a(k, &RESERVED_EMBEDDABLE) && !RESERVED.contains(k));
    for &(k, v) in filters {
        if rpc_read {
            // Still validate the key's shape now, so a malformed key fails like any filter key would.
            parse_tree_path(k)?;
            qp.params.push((k.to_owned(), v.to_owned()));
        } else {
            qp.filters.push(parse_filter(k, v)?);
        }
    }
    if let Some(v) = lookup("on_conflict") {
        qp.on_conflict = Some(parse_column_list("on_conflict parameter", v)?);
    }
    qp.ranges = super::range::query_ranges(&pairs)?;
    Ok(qp)
}

fn parse_column_list(what: &str, value: &str) -> ApiResult<Vec<String>> {
    Parser::run(
        value,
        format_args!("failed to parse {what} ({value})"),
        super::grammar::columns,
    )
    .map_err(super::grammar::syntax_error)
}

/// The embed path of a modifier key such as `clients.projects.limit`.
pub fn modifier_path(key: &str) -> EmbedPath {
    match parse_tree_path(key) {
        Ok((path, _)) => path,
        Err(_) => {
            let mut parts: Vec<String> = key.split('.').map(str::to_owned).collect();
            parts.pop();
            parts
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_matches_postgrest() {
        let cases = [
            ("a=1&c=3&b=2&d", "a=1&b=2&c=3&d="),
            ("", ""),
            ("select=id,name&id=eq.1", "id=eq.1&select=id%2Cname"),
            ("a=2&a=1", "a=2,1"),
            ("name=eq.a+b&x=%C3%A9", "name=eq.a%20b&x=%C3%A9"),
            ("b=1;a=2", "a=2&b=1"),
            ("k=a~b-c_d.e*", "k=a~b-c_d.e%2A"),
        ];
        for (q, want) in cases {
            assert_eq!(canonical(&split_query(q)), want, "{q}");
        }
    }

    #[test]
    fn decodes_percent_and_plus() {
        let p = split_query("gt.2025+00:00=%7C%26%zz%4");
        assert_eq!(p[0].key, "gt.2025 00:00");
        assert_eq!(p[0].value.as_deref(), Some("|&%zz%4"));
        let p = split_query("%FF=1");
        assert_eq!(p[0].key, "\u{fffd}");
    }

    #[test]
    fn dispatches_keys() {
        let q = parse_query(
            "select=id&id=eq.1&clients.projects.id=gt.2&order=id.desc&clients.order=name&or=(a.eq.1)\
             &clients.not.and=(b.eq.2)&limit=5&clients.offset=2&columns=a,b&on_conflict=a&novalue",
            false,
        )
        .unwrap();
        assert_eq!(q.select.len(), 1);
        assert_eq!(q.filters.len(), 2);
        assert_eq!(q.filters[1].0, vec!["clients".to_owned(), "projects".to_owned()]);
        assert_eq!(q.order.len(), 2);
        assert_eq!(q.order[1].0, vec!["clients".to_owned()]);
        assert_eq!(q.logic.len(), 2);
        assert_eq!(q.columns, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(q.on_conflict, Some(vec!["a".to_owned()]));
        assert_eq!(q.ranges.len(), 2);
        assert!(q.params.is_empty());
    }

    #[test]
    fn keeps_rpc_read_params_raw() {
        let q = parse_query("a=1&b=eq.2&select=x&order=x", true).unwrap();
        assert_eq!(
            q.params,
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "eq.2".to_owned())
            ]
        );
        assert!(q.filters.is_empty());
        assert!(parse_query("a=1", false).is_err());
    }

    #[test]
    fn rejects_blank_columns() {
        let e = parse_query("columns=", false).unwrap_err();
        assert_eq!(
            e.message,
            "\"failed to parse columns parameter ()\" (line 1, column 1)"
        );
        assert_eq!(
            e.details.as_str(),
            Some("unexpected end of input expecting field name (* or [a..z0..9_$])")
        );
        let e = parse_query("on_conflict=", false).unwrap_err();
        assert_eq!(
            e.message,
            "\"failed to parse on_conflict parameter ()\" (line 1, column 1)"
        );
    }

    #[test]
    fn reports_the_first_error_in_postgrest_order() {
        let e = parse_query("id=zz&order=id.x", false).unwrap_err();
        assert!(e.message.contains("failed to parse order"), "{}", e.message);
        let e = parse_query("or=()&select=(", false).unwrap_err();
        assert!(e.message.contains("logic tree"), "{}", e.message);
    }
}
