//! Where the API is served, as the document states it: `openapi-server-proxy-uri` when set (a
//! proxy in front of the server), else the server's own host and port.

/// Scheme, host, port and base path of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    pub scheme: String,
    pub host: String,
    pub port: u16,
    /// Starts with `/`.
    pub base_path: String,
}

impl ServerUrl {
    /// `host:port`, as Swagger 2.0's `host`.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The absolute URL, as an OpenAPI 3 server: the port only when it is not the scheme's own.
    pub fn url(&self) -> String {
        let default_port = matches!((self.scheme.as_str(), self.port), ("http", 80) | ("https", 443));
        let port = if default_port {
            String::new()
        } else {
            format!(":{}", self.port)
        };
        let path = self.base_path.trim_end_matches('/');
        format!("{}://{}{port}{path}", self.scheme, self.host)
    }
}

/// The server URL from `openapi-server-proxy-uri` (when it parses as an absolute `http(s)` URI),
/// else from `server-host`/`server-port` (PostgREST's special hosts such as `!4` shown as
/// `0.0.0.0`) and the base path the API is mounted at.
pub fn server_url(proxy_uri: Option<&str>, host: &str, port: u16, base_path: &str) -> ServerUrl {
    if let Some(url) = proxy_uri.and_then(parse_proxy) {
        return url;
    }
    let host = match host {
        "*" | "*4" | "!4" | "*6" | "!6" => "0.0.0.0",
        h => h,
    };
    let base_path = if base_path.is_empty() { "/" } else { base_path };
    ServerUrl {
        scheme: "http".into(),
        host: host.into(),
        port,
        base_path: base_path.into(),
    }
}

fn parse_proxy(uri: &str) -> Option<ServerUrl> {
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (h, p.parse().ok()?),
        _ => (authority, default_port),
    };
    if host.is_empty() {
        return None;
    }
    Some(ServerUrl {
        scheme,
        host: host.into(),
        port,
        base_path: path.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_uri_wins() {
        let url = server_url(Some("https://api.example.org/rest/v1"), "!4", 3000, "");
        assert_eq!(url.authority(), "api.example.org:443");
        assert_eq!(url.base_path, "/rest/v1");
        assert_eq!(url.url(), "https://api.example.org/rest/v1");
        let url = server_url(Some("http://localhost:8080"), "!4", 3000, "");
        assert_eq!((url.port, url.base_path.as_str()), (8080, "/"));
        assert_eq!(url.url(), "http://localhost:8080");
    }

    #[test]
    fn falls_back_to_the_server() {
        let url = server_url(None, "!4", 3000, "/rest/v1");
        assert_eq!(url.authority(), "0.0.0.0:3000");
        assert_eq!(url.url(), "http://0.0.0.0:3000/rest/v1");
        assert_eq!(server_url(Some("ftp://x"), "127.0.0.1", 1, "").host, "127.0.0.1");
    }
}
