//! Media types from `Accept` (ordered by preference) and `Content-Type`.
//!
//! Negotiation against what a resource can produce happens in `plan`; here each offered type is only
//! classified, and unknown ones keep their text for PGRST107's message and custom media handlers.

use super::types::MediaType;

/// Splits a media type into lower-cased type and subtype and its `key=value` parameters (names
/// lower-cased). Trailing garbage after the recognised part is ignored, as PostgREST does.
/// Lower-cased type, subtype and parameters.
type MediaParts = (String, String, Vec<(String, String)>);

fn tokenize(s: &str) -> Option<MediaParts> {
    let is_type_char = |c: char| c.is_alphanumeric() || ".*".contains(c);
    let is_sub_char = |c: char| c.is_alphanumeric() || ".*+-".contains(c);
    let (main, rest) = s.split_once('/')?;
    if main.is_empty() || !main.chars().all(is_type_char) {
        return None;
    }
    let sub_len = rest.find(|c| !is_sub_char(c)).unwrap_or(rest.len());
    if sub_len == 0 {
        return None;
    }
    let (sub, mut rest) = rest.split_at(sub_len);
    let mut params = Vec::new();
    while let Some((key, value, after)) = key_value(rest) {
        params.push((key.to_lowercase(), value));
        rest = after;
    }
    Some((main.to_lowercase(), sub.to_lowercase(), params))
}

/// `; key=value` or `; key="quoted"`, returning what follows.
fn key_value(s: &str) -> Option<(&str, String, &str)> {
    let s = s.trim_start().strip_prefix(';')?.trim_start();
    let key_len = s
        .find(|c: char| !(c.is_alphanumeric() || c == '-'))
        .unwrap_or(s.len());
    if key_len == 0 {
        return None;
    }
    let (key, rest) = s.split_at(key_len);
    let rest = rest.trim_start().strip_prefix('=')?.trim_start();
    if let Some(quoted) = rest.strip_prefix('"') {
        let end = quoted.find('"')?;
        return Some((key, quoted[..end].to_owned(), &quoted[end + 1..]));
    }
    let len = rest
        .find(|c: char| !(c.is_alphanumeric() || "|-".contains(c)))
        .unwrap_or(rest.len());
    if len == 0 {
        return None;
    }
    Some((key, rest[..len].to_owned(), &rest[len..]))
}

/// Classifies one media type (`Content-Type` or one `Accept` entry).
pub fn decode_media_type(text: &str) -> MediaType {
    let Some((main, sub, params)) = tokenize(text) else {
        return MediaType::Other(text.to_owned());
    };
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let stripped = param("nulls") == Some("stripped");
    let plan = |text: bool| {
        let for_media = decode_media_type(param("for").unwrap_or("application/json"));
        let given: Vec<&str> = param("options")
            .map(|o| o.split('|').collect())
            .unwrap_or_default();
        let options = ["analyze", "verbose", "settings", "buffers", "wal"]
            .into_iter()
            .filter(|o| given.contains(o))
            .map(str::to_owned)
            .collect();
        MediaType::Plan {
            text,
            for_media: Some(Box::new(for_media)),
            options,
        }
    };
    match (main.as_str(), sub.as_str()) {
        ("application", "json") => MediaType::Json,
        ("application", "geo+json") => MediaType::GeoJson,
        ("text", "csv") => MediaType::Csv,
        ("text", "plain") => MediaType::TextPlain,
        ("text", "xml") => MediaType::TextXml,
        ("application", "openapi+json") => MediaType::OpenApi,
        ("application", "x-www-form-urlencoded") => MediaType::UrlEncoded,
        ("application", "octet-stream") => MediaType::OctetStream,
        ("application", "vnd.pgrst.plan" | "vnd.pgrst.plan+text") => plan(true),
        ("application", "vnd.pgrst.plan+json") => plan(false),
        ("application", "vnd.pgrst.object+json" | "vnd.pgrst.object") => MediaType::SingularJson {
            nulls_stripped: stripped,
        },
        ("application", "vnd.pgrst.array+json" | "vnd.pgrst.array") if stripped => {
            MediaType::ArrayJsonStripped
        }
        ("application", "vnd.pgrst.array+json" | "vnd.pgrst.array") => MediaType::Json,
        ("*", "*") => MediaType::Any,
        _ => MediaType::Other(text.to_owned()),
    }
}

/// The mime text PostgREST prints for a media type (Content-Type without charset, PGRST107, PGRST102).
pub fn to_mime(media: &MediaType) -> String {
    match media {
        MediaType::Json => "application/json".into(),
        MediaType::ArrayJsonStripped => "application/vnd.pgrst.array+json;nulls=stripped".into(),
        MediaType::GeoJson => "application/geo+json".into(),
        MediaType::Csv => "text/csv".into(),
        MediaType::TextPlain => "text/plain".into(),
        MediaType::TextXml => "text/xml".into(),
        MediaType::OpenApi => "application/openapi+json".into(),
        MediaType::SingularJson { nulls_stripped: true } => {
            "application/vnd.pgrst.object+json;nulls=stripped".into()
        }
        MediaType::SingularJson {
            nulls_stripped: false,
        } => "application/vnd.pgrst.object+json".into(),
        MediaType::UrlEncoded => "application/x-www-form-urlencoded".into(),
        MediaType::OctetStream => "application/octet-stream".into(),
        MediaType::Any => "*/*".into(),
        MediaType::Other(text) => text.clone(),
        MediaType::Plan {
            text,
            for_media,
            options,
        } => {
            let format = if *text { "text" } else { "json" };
            let for_mime = for_media
                .as_deref()
                .map_or_else(|| "application/json".to_owned(), to_mime);
            let mut s = format!("application/vnd.pgrst.plan+{format}; for=\"{for_mime}\"");
            if !options.is_empty() {
                s.push_str("; options=");
                s.push_str(&options.join("|"));
            }
            s
        }
    }
}

/// The leading number of a q-value, as Haskell's `reads` takes it; anything unreadable is 1.
fn read_q(s: &str) -> f64 {
    let bytes = s.as_bytes();
    let mut end = usize::from(bytes.first() == Some(&b'-'));
    let digits_from = end;
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    if end == digits_from {
        return 1.0;
    }
    if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
        end += 1;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
    }
    s[..end].parse().unwrap_or(1.0)
}

/// `Accept` in preference order: q-value first, then specificity (parameters minus wildcards), then
/// position. Spaces are ignored and parameters after `q` dropped, like the HTTP library PostgREST uses.
pub fn parse_accept(header: Option<&str>) -> Vec<MediaType> {
    let Some(header) = header else { return Vec::new() };
    let mut entries: Vec<(String, f64, i64)> = header
        .split(',')
        .map(|item| item.replace(' ', ""))
        .filter(|item| !item.is_empty())
        .map(|item| {
            let (media, q) = match item.find(";q=") {
                Some(i) => {
                    let q = &item[i + 3..];
                    (
                        item[..i].to_owned(),
                        read_q(q.split(';').next().unwrap_or_default()),
                    )
                }
                None => (item.clone(), 1.0),
            };
            let specificity = media.matches(';').count() as i64 - media.matches('*').count() as i64;
            (media, q, specificity)
        })
        .collect();
    entries.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.2.cmp(&a.2)));
    entries
        .iter()
        .map(|(media, _, _)| decode_media_type(media))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_media_types() {
        let plan = |text, for_media: MediaType, options: &[&str]| MediaType::Plan {
            text,
            for_media: Some(Box::new(for_media)),
            options: options.iter().map(|s| s.to_string()).collect(),
        };
        let cases = [
            ("application/json", MediaType::Json),
            ("application/json; charset=utf-8", MediaType::Json),
            ("Application/JSON", MediaType::Json),
            ("application/geo+json", MediaType::GeoJson),
            ("text/csv", MediaType::Csv),
            ("text/plain", MediaType::TextPlain),
            ("text/xml", MediaType::TextXml),
            ("application/openapi+json", MediaType::OpenApi),
            ("application/x-www-form-urlencoded", MediaType::UrlEncoded),
            ("application/octet-stream", MediaType::OctetStream),
            ("*/*", MediaType::Any),
            (
                "application/vnd.pgrst.object+json",
                MediaType::SingularJson {
                    nulls_stripped: false,
                },
            ),
            (
                "application/vnd.pgrst.object",
                MediaType::SingularJson {
                    nulls_stripped: false,
                },
            ),
            (
                "application/VND.PGRST.OBJECT+JSON",
                MediaType::SingularJson {
                    nulls_stripped: false,
                },
            ),
            (
                "application/vnd.pgrst.object+json;nulls=stripped",
                MediaType::SingularJson { nulls_stripped: true },
            ),
            (
                "application/vnd.pgrst.array+json;nulls=stripped",
                MediaType::ArrayJsonStripped,
            ),
            (
                "application/vnd.pgrst.array;nulls=stripped",
                MediaType::ArrayJsonStripped,
            ),
            ("application/vnd.pgrst.array+json", MediaType::Json),
            ("application/vnd.pgrst.plan", plan(true, MediaType::Json, &[])),
            (
                "application/vnd.pgrst.plan+text",
                plan(true, MediaType::Json, &[]),
            ),
            (
                "application/vnd.pgrst.plan+json; for=\"text/csv\"",
                plan(false, MediaType::Csv, &[]),
            ),
            (
                "application/vnd.pgrst.plan; for=\"text/xml\"; options=verbose|analyze",
                plan(true, MediaType::TextXml, &["analyze", "verbose"]),
            ),
            (
                "application/vnd.twkb",
                MediaType::Other("application/vnd.twkb".into()),
            ),
            ("application/*", MediaType::Other("application/*".into())),
            ("garbage", MediaType::Other("garbage".into())),
        ];
        for (text, want) in cases {
            assert_eq!(decode_media_type(text), want, "{text}");
        }
    }

    #[test]
    fn renders_mime_text() {
        for text in [
            "application/json",
            "text/csv",
            "application/vnd.pgrst.object+json;nulls=stripped",
            "application/vnd.pgrst.plan+json; for=\"text/csv\"; options=analyze|wal",
            "application/vnd.twkb",
        ] {
            assert_eq!(to_mime(&decode_media_type(text)), text);
        }
    }

    #[test]
    fn orders_accept_by_quality_then_specificity() {
        use MediaType::*;
        let cases: Vec<(&str, Vec<MediaType>)> = vec![
            ("text/csv;q=0.5, application/json", vec![Json, Csv]),
            ("*/*;q=0.8, text/csv", vec![Csv, Any]),
            ("*/*, text/csv", vec![Csv, Any]),
            (
                "text/plain;q=0.9;charset=x, text/xml;q=0.9",
                vec![TextPlain, TextXml],
            ),
            ("application/json;q=abc, text/csv", vec![Json, Csv]),
            (
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                vec![
                    Other("text/html".into()),
                    Other("application/xhtml+xml".into()),
                    Other("application/xml".into()),
                    Any,
                ],
            ),
            ("application/json; version=1", vec![Json]),
            ("", vec![]),
        ];
        for (header, want) in cases {
            assert_eq!(parse_accept(Some(header)), want, "{header}");
        }
        assert_eq!(parse_accept(None), vec![]);
    }
}
