//! PostgreSQL types as OpenAPI/JSON Schema types, and column defaults as JSON values, the way
//! PostgREST maps them: numbers and booleans by name, `json`/`jsonb` untyped (any JSON), arrays as
//! `array`, and everything else (dates, uuids, enums, ranges, …) as `string`.

use serde_json::Value;

/// The JSON type of a formatted PostgreSQL type, or None for `json`/`jsonb` (any value).
pub fn json_type(data_type: &str) -> Option<&'static str> {
    match data_type {
        "boolean" => Some("boolean"),
        "smallint" | "integer" | "bigint" => Some("integer"),
        "numeric" | "real" | "double precision" => Some("number"),
        "json" | "jsonb" => None,
        t if t.ends_with("[]") => Some("array"),
        _ => Some("string"),
    }
}

/// The element type of an array type (`text[]` → `text`).
pub fn element_type(data_type: &str) -> Option<&str> {
    data_type.strip_suffix("[]")
}

/// A column default as a JSON value, when PostgreSQL's text for it is a constant: `42`, `true`,
/// `'abc'::text` (the cast of a string constant is dropped). Expressions (`nextval(…)`, `now()`)
/// have no JSON value and give None.
pub fn default_value(data_type: &str, default: &str) -> Option<Value> {
    if json_type(data_type) == Some("string") {
        let constant = default
            .strip_suffix(&format!("::{data_type}"))
            .map(|d| d.trim_matches('\''))
            .unwrap_or(default);
        return serde_json::from_str(&format!("\"{constant}\"")).ok();
    }
    serde_json::from_str(default).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_types() {
        assert_eq!(json_type("integer"), Some("integer"));
        assert_eq!(json_type("double precision"), Some("number"));
        assert_eq!(json_type("jsonb"), None);
        assert_eq!(json_type("text[]"), Some("array"));
        assert_eq!(json_type("test.mood"), Some("string"));
        assert_eq!(element_type("int4range[]"), Some("int4range"));
    }

    #[test]
    fn decodes_constant_defaults() {
        assert_eq!(default_value("integer", "42"), Some(Value::from(42)));
        assert_eq!(default_value("boolean", "true"), Some(Value::from(true)));
        assert_eq!(default_value("text", "'abc'::text"), Some(Value::from("abc")));
        assert_eq!(default_value("integer", "nextval('s'::regclass)"), None);
        // PostgREST quotes whatever text a string-typed default has, expressions included.
        assert_eq!(
            default_value("timestamp with time zone", "now()"),
            Some(Value::from("now()"))
        );
    }
}
