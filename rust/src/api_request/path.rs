//! The HTTP method and the resource named by the path.

use super::types::{Method, Resource};
use crate::error::{ApiError, ApiResult};

fn decode_segment(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// `/` → root, `/name` → relation, `/rpc/name` → routine; anything else is 404 PGRST125.
/// Segments are percent-decoded (`+` stays a plus, as in any URL path).
pub fn parse_resource(path: &str) -> ApiResult<Resource> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let segments: Vec<String> = if path.is_empty() {
        Vec::new()
    } else {
        path.split('/').map(decode_segment).collect()
    };
    match segments.as_slice() {
        [] => Ok(Resource::Root),
        [name] => Ok(Resource::Relation(name.clone())),
        [rpc, name] if rpc == "rpc" => Ok(Resource::Routine(name.clone())),
        _ => Err(ApiError::new(
            404,
            "PGRST125",
            "Invalid path specified in request URL",
        )),
    }
}

/// Checks the method against the resource: functions take GET/HEAD/POST/OPTIONS (else 405 PGRST101),
/// the root GET/HEAD/OPTIONS, relations every supported method; anything else is 405 PGRST117.
pub fn parse_method(method: &str, resource: &Resource) -> ApiResult<Method> {
    let known = match method {
        "GET" => Some(Method::Get),
        "HEAD" => Some(Method::Head),
        "POST" => Some(Method::Post),
        "PATCH" => Some(Method::Patch),
        "PUT" => Some(Method::Put),
        "DELETE" => Some(Method::Delete),
        "OPTIONS" => Some(Method::Options),
        _ => None,
    };
    let unsupported = || ApiError::new(405, "PGRST117", format!("Unsupported HTTP method: {method}"));
    match (resource, known) {
        (Resource::Routine(_), Some(m @ (Method::Get | Method::Head | Method::Post | Method::Options))) => {
            Ok(m)
        }
        (Resource::Routine(_), _) => Err(ApiError::new(
            405,
            "PGRST101",
            format!("Cannot use the {method} method on RPC"),
        )),
        (Resource::Root, Some(m @ (Method::Get | Method::Head | Method::Options))) => Ok(m),
        (Resource::Root, _) => Err(unsupported()),
        (Resource::Relation(_), Some(m)) => Ok(m),
        (Resource::Relation(_), None) => Err(unsupported()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources() {
        let ok = [
            ("/", Resource::Root),
            ("", Resource::Root),
            ("/items", Resource::Relation("items".into())),
            (
                "/%D9%85%D9%88%D8%A7%D8%B1%D8%AF",
                Resource::Relation("موارد".into()),
            ),
            ("/my%20table", Resource::Relation("my table".into())),
            ("/a+b", Resource::Relation("a+b".into())),
            ("/rpc/fn", Resource::Routine("fn".into())),
            ("/rpc", Resource::Relation("rpc".into())),
            ("/%FF", Resource::Relation("\u{fffd}".into())),
        ];
        for (path, want) in ok {
            assert_eq!(parse_resource(path), Ok(want), "{path}");
        }
        for path in ["/a/b", "/a/b/c", "/items/", "/rpc/fn/x", "//"] {
            let e = parse_resource(path).unwrap_err();
            assert_eq!(
                (e.status, e.code, e.message.as_str()),
                (404, "PGRST125", "Invalid path specified in request URL")
            );
        }
    }

    #[test]
    fn methods() {
        let rel = Resource::Relation("t".into());
        let rpc = Resource::Routine("f".into());
        for (m, want) in [
            ("GET", Method::Get),
            ("HEAD", Method::Head),
            ("POST", Method::Post),
            ("PATCH", Method::Patch),
            ("PUT", Method::Put),
            ("DELETE", Method::Delete),
            ("OPTIONS", Method::Options),
        ] {
            assert_eq!(parse_method(m, &rel), Ok(want));
        }
        for m in ["GET", "HEAD", "POST", "OPTIONS"] {
            assert!(parse_method(m, &rpc).is_ok());
            assert!(parse_method(m, &Resource::Root).is_ok() || m == "POST");
        }
        for m in ["PATCH", "PUT", "DELETE"] {
            let e = parse_method(m, &rpc).unwrap_err();
            assert_eq!((e.status, e.code), (405, "PGRST101"));
            assert_eq!(e.message, format!("Cannot use the {m} method on RPC"));
        }
        let e = parse_method("TRACE", &rel).unwrap_err();
        assert_eq!(
            (e.status, e.code, e.message.as_str()),
            (405, "PGRST117", "Unsupported HTTP method: TRACE")
        );
        let e = parse_method("POST", &Resource::Root).unwrap_err();
        assert_eq!(e.code, "PGRST117");
        assert_eq!(parse_method("get", &rel).unwrap_err().code, "PGRST117");
    }
}
