//! Schema selection with `Accept-Profile` (reads) and `Content-Profile` (writes).

use super::RequestHead;
use crate::error::{ApiError, ApiResult};
use crate::settings::Settings;

/// The schema a request runs against and whether it was negotiated (so `Content-Profile` is echoed):
/// a profile header was sent, or more than one schema is exposed. Unknown schema → 406 PGRST106.
pub fn negotiate_schema(head: &RequestHead<'_>, settings: &Settings) -> ApiResult<(String, bool)> {
    let profile = match head.method {
        "POST" | "PATCH" | "PUT" | "DELETE" => head.content_profile,
        _ => head.accept_profile,
    };
    match profile {
        Some(p) if settings.db_schemas.iter().any(|s| s == p) => Ok((p.to_owned(), true)),
        Some(p) => Err(
            ApiError::new(406, "PGRST106", format!("Invalid schema: {p}")).hint(format!(
                "Only the following schemas are exposed: {}",
                settings.db_schemas.join(", ")
            )),
        ),
        None => {
            let default = settings
                .db_schemas
                .first()
                .cloned()
                .unwrap_or_else(|| "public".to_owned());
            Ok((default, settings.db_schemas.len() != 1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(schemas: &[&str]) -> Settings {
        Settings {
            db_schemas: schemas.iter().map(|s| s.to_string()).collect(),
            ..Settings::default()
        }
    }

    fn head<'a>(method: &'a str, accept: Option<&'a str>, content: Option<&'a str>) -> RequestHead<'a> {
        RequestHead {
            method,
            accept_profile: accept,
            content_profile: content,
            ..RequestHead::default()
        }
    }

    #[test]
    fn picks_the_header_by_method() {
        let s = settings(&["v1", "v2"]);
        assert_eq!(
            negotiate_schema(&head("GET", None, None), &s),
            Ok(("v1".into(), true))
        );
        assert_eq!(
            negotiate_schema(&head("GET", Some("v2"), Some("v1")), &s),
            Ok(("v2".into(), true))
        );
        assert_eq!(
            negotiate_schema(&head("HEAD", Some("v2"), None), &s),
            Ok(("v2".into(), true))
        );
        assert_eq!(
            negotiate_schema(&head("OPTIONS", Some("v2"), None), &s),
            Ok(("v2".into(), true))
        );
        for m in ["POST", "PATCH", "PUT", "DELETE"] {
            assert_eq!(
                negotiate_schema(&head(m, Some("v1"), Some("v2")), &s),
                Ok(("v2".into(), true)),
                "{m}"
            );
        }
        let one = settings(&["public"]);
        assert_eq!(
            negotiate_schema(&head("GET", None, None), &one),
            Ok(("public".into(), false))
        );
        assert_eq!(
            negotiate_schema(&head("GET", Some("public"), None), &one),
            Ok(("public".into(), true))
        );
    }

    #[test]
    fn rejects_unknown_schemas() {
        let e = negotiate_schema(&head("GET", Some("v3"), None), &settings(&["v1", "v2"])).unwrap_err();
        assert_eq!(
            (e.status, e.code, e.message.as_str()),
            (406, "PGRST106", "Invalid schema: v3")
        );
        assert_eq!(
            e.hint.as_str(),
            Some("Only the following schemas are exposed: v1, v2")
        );
    }
}
